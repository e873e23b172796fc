// Connector selection exactly as Exchange does it: among enabled connectors
// whose binding matches the local end, the one whose smallest range that
// contains the client is smallest wins.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "policy/connector.hpp"
#include "policy/local_submission.hpp"

namespace policy {

// How one connector fared for one connection (for `explain` and the logs).
struct CandidateReport {
    const Connector* connector = nullptr;
    bool enabled = true;
    const Binding* matched_binding = nullptr;   // null: no binding matched
    std::optional<IpRange> smallest_range;      // smallest remote range containing the client
    std::string verdict;                        // "chosen", "lost to X: /24 is wider than /32", "no binding matches 10.0.0.50:587", ...
};

struct Selection {
    const Connector* chosen = nullptr;  // null: 421 4.3.2 Service not available
    std::vector<CandidateReport> candidates;
    // Non-empty when the choice depends on a local address or port the MTA
    // did not send: a connector with a specific binding that contains the
    // client would have beaten `chosen` (or been the only match) if its
    // binding matched. Names that connector and binding, for the log.
    std::string undecidable;
};

class ConnectorMap {
public:
    ConnectorMap() = default;
    explicit ConnectorMap(std::vector<Connector> connectors);

    // Exchange refuses two connectors with an identical binding whose remote
    // ranges are equal or overlap without one containing the other. Returns
    // one message per conflict ("connector 'A' (file:12) and 'B' (file:30)
    // both bind 0.0.0.0:25 and their ranges 10.0.0.0/24 and 10.0.0.128-10.0.1.5 overlap").
    // Two enabled connectors that bind "local" conflict whatever their
    // ranges: local submissions have no client address to tell them apart.
    static std::vector<std::string> find_conflicts(const std::vector<Connector>& connectors);

    // Pairs of enabled connectors where a specific binding and a wildcard
    // binding share a port: which one serves a client depends on the MTA
    // sending {daemon_addr} and {daemon_port}. One message per pair.
    std::vector<std::string> address_dependent_choices() const;

    // Ties: a specific-address (or daemon-name) binding beats a wildcard one
    // unless the wildcard's range is strictly smaller; then configuration order.
    Selection select(const LocalEndpoint& local, const IpAddress& client) const;

    // For a local submission: the first enabled connector that binds
    // "local" (remote ranges are not consulted: there is no network
    // client), otherwise builtin_local_submission_connector(). Never null.
    Selection select_local() const;
    const Connector& builtin_local() const { return builtin_local_; }

    const std::vector<Connector>& connectors() const { return connectors_; }
    const Connector* find(std::string_view name) const;

private:
    std::vector<Connector> connectors_;
    Connector builtin_local_ = builtin_local_submission_connector();
};

}  // namespace policy
