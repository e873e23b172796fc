#include "policy/connector_map.hpp"
#include "util/ascii.hpp"


#include <tuple>

namespace policy {

ConnectorMap::ConnectorMap(std::vector<Connector> connectors) : connectors_(std::move(connectors)) {}

namespace {

std::string describe(const Connector& c) {
    std::string s = "connector '" + c.name + "'";
    if (!c.origin.empty()) s += " (" + c.origin + ")";
    return s;
}

std::string describe(const LocalEndpoint& local) {
    std::string s;
    if (local.address) {
        s = local.address->is_v4() ? local.address->to_string() : "[" + local.address->to_string() + "]";
    } else {
        s = "?";
    }
    s += ":" + (local.port ? std::to_string(*local.port) : std::string("?"));
    if (!local.daemon_name.empty()) s += " (daemon name " + local.daemon_name + ")";
    return s;
}

// Range sizes for people: "/24" for a CIDR block, the range text otherwise.
std::string describe_range(const IpRange& r) {
    return r.to_string();
}

struct Rank {
    uint128 span;
    bool wildcard;
    std::size_t order;
    auto key() const { return std::tie(span, wildcard, order); }
};

// Exchange: "the combination of bindings and remote IP ranges must be
// unique". Nesting is allowed: it is how a specific connector carves hosts
// out of a general one. Returns the first conflict between a and b, or "".
std::string first_conflict(const Connector& a, const Connector& b) {
    for (const auto& ba : a.bindings) {
        for (const auto& bb : b.bindings) {
            if (!(ba == bb)) continue;
            if (ba.kind() == Binding::Kind::Local) {
                if (!a.enabled || !b.enabled) continue;
                return describe(a) + " and " + describe(b) +
                       " both bind local: local submissions have no client address to choose between them";
            }
            for (const auto& ra : a.remote_ranges) {
                for (const auto& rb : b.remote_ranges) {
                    const bool equal = ra == rb;
                    const bool partial = ra.overlaps(rb) && !ra.contains(rb) && !rb.contains(ra);
                    if (!equal && !partial) continue;
                    return describe(a) + " and " + describe(b) + " both bind " + ba.to_string() +
                           (equal ? " with the same remote range " + ra.to_string()
                                  : " and their ranges " + ra.to_string() + " and " + rb.to_string() +
                                        " overlap");
                }
            }
        }
    }
    return {};
}

}  // namespace

std::vector<std::string> ConnectorMap::find_conflicts(const std::vector<Connector>& connectors) {
    std::vector<std::string> conflicts;
    for (std::size_t i = 0; i < connectors.size(); ++i) {
        for (std::size_t j = i + 1; j < connectors.size(); ++j) {
            std::string conflict = first_conflict(connectors[i], connectors[j]);
            if (!conflict.empty()) conflicts.push_back(std::move(conflict));
        }
    }
    return conflicts;
}

std::vector<std::string> ConnectorMap::address_dependent_choices() const {
    std::vector<std::string> found;
    for (const auto& specific : connectors_) {
        if (!specific.enabled) continue;
        for (const auto& a : specific.bindings) {
            if (a.kind() != Binding::Kind::Address) continue;
            for (const auto& wide : connectors_) {
                if (!wide.enabled || &wide == &specific) continue;
                for (const auto& w : wide.bindings) {
                    if (w.kind() != Binding::Kind::Wildcard || w.port() != a.port() ||
                        w.address().family() != a.address().family())
                        continue;
                    found.push_back(describe(specific) + " binds " + a.to_string() + " and " + describe(wide) +
                                    " binds " + w.to_string() +
                                    ": the choice needs {daemon_addr} and {daemon_port} from the MTA");
                }
            }
        }
    }
    return found;
}

Selection ConnectorMap::select(const LocalEndpoint& local, const IpAddress& client) const {
    Selection selection;
    selection.candidates.reserve(connectors_.size());
    std::optional<Rank> best_rank;
    std::size_t best_index = 0;
    std::vector<std::optional<Rank>> ranks(connectors_.size());

    for (std::size_t i = 0; i < connectors_.size(); ++i) {
        const Connector& c = connectors_[i];
        CandidateReport report;
        report.connector = &c;
        report.enabled = c.enabled;
        if (!c.enabled) {
            report.verdict = "disabled";
            selection.candidates.push_back(std::move(report));
            continue;
        }
        // Prefer a specific binding over a wildcard when both match.
        for (const auto& b : c.bindings) {
            if (!b.matches(local)) continue;
            if (!report.matched_binding || (report.matched_binding->kind() == Binding::Kind::Wildcard &&
                                            b.kind() != Binding::Kind::Wildcard))
                report.matched_binding = &b;
        }
        if (!report.matched_binding) {
            report.verdict = "no binding matches " + describe(local);
            selection.candidates.push_back(std::move(report));
            continue;
        }
        for (const auto& r : c.remote_ranges) {
            if (r.contains(client) && (!report.smallest_range || r.span() < report.smallest_range->span()))
                report.smallest_range = r;
        }
        if (!report.smallest_range) {
            report.verdict = "client " + client.to_string() + " is in none of its remote ranges";
            selection.candidates.push_back(std::move(report));
            continue;
        }
        const Rank rank{report.smallest_range->span(),
                        report.matched_binding->kind() == Binding::Kind::Wildcard, i};
        ranks[i] = rank;
        if (!best_rank || rank.key() < best_rank->key()) {
            best_rank = rank;
            best_index = i;
        }
        selection.candidates.push_back(std::move(report));
    }

    // Issue 12: a specific binding that cannot be judged because the MTA did
    // not send the local address or port must not silently lose to a wider
    // connector: if it would have won, the choice is undecidable.
    if (!local.address || !local.port) {
        for (std::size_t i = 0; i < connectors_.size() && selection.undecidable.empty(); ++i) {
            const Connector& c = connectors_[i];
            if (!c.enabled || ranks[i]) continue;
            for (const auto& b : c.bindings) {
                if (b.kind() != Binding::Kind::Address) continue;
                if (local.port && *local.port != b.port()) continue;
                if (local.address && *local.address != b.address()) continue;
                std::optional<IpRange> smallest;
                for (const auto& r : c.remote_ranges)
                    if (r.contains(client) && (!smallest || r.span() < smallest->span())) smallest = r;
                if (!smallest) continue;
                const Rank rank{smallest->span(), false, i};
                if (best_rank && !(rank.key() < best_rank->key())) continue;
                selection.undecidable = "connector '" + c.name + "' binds " + b.to_string() +
                                        " and contains client " + client.to_string() + ", but the MTA sent " +
                                        describe(local);
                break;
            }
        }
    }

    if (!best_rank) return selection;
    selection.chosen = &connectors_[best_index];
    const CandidateReport& winner = selection.candidates[best_index];
    const std::string winner_name = "'" + connectors_[best_index].name + "'";
    for (std::size_t i = 0; i < connectors_.size(); ++i) {
        if (!ranks[i]) continue;
        CandidateReport& report = selection.candidates[i];
        if (i == best_index) {
            report.verdict = "chosen: binding " + report.matched_binding->to_string() + ", range " +
                             describe_range(*report.smallest_range) + " contains " + client.to_string();
            continue;
        }
        const Rank& rank = *ranks[i];
        if (rank.span != best_rank->span) {
            report.verdict = "lost to " + winner_name + ": its range " + describe_range(*report.smallest_range) +
                             " is wider than " + describe_range(*winner.smallest_range);
        } else if (rank.wildcard != best_rank->wildcard) {
            report.verdict = "lost to " + winner_name + ": ranges are the same size and " + winner_name +
                             " has a specific binding (" + winner.matched_binding->to_string() +
                             ") while this one matched a wildcard";
        } else {
            report.verdict = "lost to " + winner_name + ": equally specific, " + winner_name +
                             " comes first in the configuration";
        }
    }
    return selection;
}

Selection ConnectorMap::select_local() const {
    Selection selection;
    for (const Connector& c : connectors_) {
        CandidateReport report;
        report.connector = &c;
        report.enabled = c.enabled;
        for (const auto& b : c.bindings)
            if (b.kind() == Binding::Kind::Local) report.matched_binding = &b;
        if (!c.enabled) {
            report.verdict = "disabled";
        } else if (!report.matched_binding) {
            report.verdict = "does not bind local";
        } else if (selection.chosen) {
            report.verdict = "binds local too, but '" + selection.chosen->name + "' comes first";
        } else {
            report.verdict = "chosen: binds local";
            selection.chosen = &c;
        }
        selection.candidates.push_back(std::move(report));
    }
    if (!selection.chosen) {
        CandidateReport report;
        report.connector = &builtin_local_;
        report.matched_binding = &builtin_local_.bindings.front();
        report.verdict = "chosen: no connector binds local";
        selection.chosen = &builtin_local_;
        selection.candidates.push_back(std::move(report));
    }
    return selection;
}

const Connector* ConnectorMap::find(std::string_view name) const {
    for (const auto& c : connectors_)
        if (util::ascii_iequals(c.name, name))
            return &c;
    return nullptr;
}

}  // namespace policy
