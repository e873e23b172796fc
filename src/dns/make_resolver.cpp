// The resolver stack of the daemon: static zone first, then libunbound.
#include "dns/make_resolver.hpp"

#include <exception>

#include "dns/unbound_resolver.hpp"
#include "util/ascii.hpp"

namespace dns {
namespace {

// Stands in for libunbound when it could not be set up: every question is
// a temporary failure (temperror), never a made-up NXDOMAIN.
class FailingResolver final : public Resolver {
public:
    Answer query(std::string_view name, Type type, Budget&) override {
        Answer a;
        a.status = type == Type::SPF ? Status::NoData : Status::ServFail;
        a.canonical_name = util::dns_name_key(name);
        return a;
    }
};

}  // namespace

LayeredResolver::LayeredResolver(std::shared_ptr<const StaticZone> zone, std::shared_ptr<Resolver> next)
    : zone_(std::move(zone)), next_(std::move(next)) {}

Answer LayeredResolver::query(std::string_view name, Type type, Budget& budget) {
    if (zone_ && zone_->has_name(name)) {
        Answer a = zone_->answer(name, type);
        // The zone's CNAME points outside it: the target is asked of the
        // DNS, as a server restarts the query at the target (RFC 1034
        // section 3.6.2). A name the zone holds can only be NXDOMAIN that way.
        if (a.status == Status::NxDomain && next_ && type != Type::SPF)
            return next_->query(a.canonical_name, type, budget);
        return a;
    }
    if (next_) return next_->query(name, type, budget);
    Answer a = zone_ ? zone_->answer(name, type) : Answer{};
    if (!zone_) a.status = type == Type::SPF ? Status::NoData : Status::NxDomain;
    return a;
}

std::unique_ptr<PendingAnswer> LayeredResolver::start(std::string_view name, Type type, Budget& budget) {
    if (zone_ && zone_->has_name(name)) {
        Answer a = zone_->answer(name, type);
        if (a.status == Status::NxDomain && next_ && type != Type::SPF)  // as in query()
            return next_->start(a.canonical_name, type, budget);
        return ready_answer(std::move(a));
    }
    if (next_) return next_->start(name, type, budget);
    return ready_answer(query(name, type, budget));
}

std::shared_ptr<Resolver> make_resolver(const Options& settings, std::vector<ZoneError>& errors) {
    std::shared_ptr<const StaticZone> zone;
    if (!settings.static_zone.empty())
        zone = std::make_shared<const StaticZone>(StaticZone::load(settings.static_zone, errors));
    if (settings.offline) return std::make_shared<StaticResolver>(zone);

    UnboundOptions options;
    options.timeout = settings.timeout;
    options.nameservers = settings.nameservers;
    options.trust_anchor_file = settings.trust_anchor_file;
    std::shared_ptr<Resolver> network;
    try {
        network = std::make_shared<UnboundResolver>(options);
    } catch (const std::exception& e) {
        errors.push_back(ZoneError{"[dns]", 0, e.what()});
        network = std::make_shared<FailingResolver>();
    }
    if (!zone) return network;
    return std::make_shared<LayeredResolver>(zone, network);
}

}  // namespace dns
