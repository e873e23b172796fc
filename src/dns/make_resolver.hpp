// Builds the resolver the daemon uses from the [dns] settings.
#pragma once
#include <memory>
#include <vector>

#include "dns/options.hpp"
#include "dns/resolver.hpp"
#include "dns/static_zone.hpp"

namespace dns {

// The static zone (if `static_zone` is set) answers every name it holds,
// for free (no budget charge: nothing leaves the process); other names go
// to libunbound, or are NXDOMAIN when `offline` is true (then the zone is
// served like a StaticResolver, which charges the budget per query so that
// offline tests see the production budget behaviour).
// Problems (zone lines, nameserver addresses, trust anchor file) are
// appended to `errors`; the resolver returned then still works with what
// was valid, and names it cannot ask about answer ServFail. Never null.
std::shared_ptr<Resolver> make_resolver(const Options& settings, std::vector<ZoneError>& errors);

// The layer itself, for tests and for callers that build their own parts.
class LayeredResolver final : public Resolver {
public:
    // `next` may be null: names outside the zone are then NXDOMAIN.
    LayeredResolver(std::shared_ptr<const StaticZone> zone, std::shared_ptr<Resolver> next);
    Answer query(std::string_view name, Type type, Budget& budget) override;
    // The zone's answers are ready at once; other names are asked of `next`.
    std::unique_ptr<PendingAnswer> start(std::string_view name, Type type, Budget& budget) override;

private:
    std::shared_ptr<const StaticZone> zone_;
    std::shared_ptr<Resolver> next_;
};

}  // namespace dns
