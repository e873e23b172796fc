#include "state/limit_store.hpp"

namespace state {

std::string LimitCheck::describe() const {
    std::string out = limit.empty() ? std::string("no limit") : limit;
    if (!limit.empty()) out += ": " + std::to_string(count) + " counted";
    out += " (" + store + ")";
    return out;
}

void describe_connection_limit(const policy::Connector& connector, const policy::ConnectionCounts& counts,
                               policy::ConnectionLimit refused_by, LimitCheck* check) {
    using policy::ConnectionLimit;
    const auto value_of = [&](ConnectionLimit which) -> std::optional<std::uint64_t> {
        switch (which) {
            case ConnectionLimit::None: break;
            case ConnectionLimit::Total: return connector.max_inbound_connection;
            case ConnectionLimit::PerSource: return connector.max_inbound_connection_per_source;
            case ConnectionLimit::PercentagePerSource: return policy::percentage_share(connector);
        }
        return std::nullopt;
    };
    const auto count_of = [&](ConnectionLimit which) {
        return which == ConnectionLimit::Total ? counts.total : counts.from_source;
    };
    ConnectionLimit shown = refused_by;
    if (shown == ConnectionLimit::None) {
        // Admitted: the limit with the least room left.
        std::uint64_t least_room = UINT64_MAX;
        for (const auto which : {ConnectionLimit::Total, ConnectionLimit::PerSource,
                                 ConnectionLimit::PercentagePerSource}) {
            const auto value = value_of(which);
            if (!value) continue;
            const std::uint64_t used = count_of(which);
            const std::uint64_t room = *value > used ? *value - used : 0;
            if (room < least_room) {
                least_room = room;
                shown = which;
            }
        }
    }
    if (shown == ConnectionLimit::None) return;
    check->limit = std::string(policy::limit_name(shown));
    if (shown == ConnectionLimit::PercentagePerSource)
        check->limit += "=" + std::to_string(*connector.max_inbound_connection_percentage_per_source) + "% of " +
                        std::to_string(*connector.max_inbound_connection);
    else
        check->limit += "=" + std::to_string(*value_of(shown));
    check->count = count_of(shown);
}

void describe_rate_limit(const policy::Connector& connector, std::uint64_t in_window, LimitCheck* check) {
    if (!connector.message_rate_limit) return;
    check->limit = "message_rate_limit=" + std::to_string(*connector.message_rate_limit) + "/min";
    check->count = in_window;
}

LimitCheck LocalLimitStore::open_connection(const policy::Connector& connector, std::string_view source,
                                            ConnectionLease* lease) {
    LimitCheck check;
    policy::ConnectionCounts counts;
    policy::ConnectionLimit refused_by = policy::ConnectionLimit::None;
    if (connections_.open(connector, source, &counts, &refused_by)) {
        lease->id = 1;
        lease->shared = false;
    } else {
        check.outcome = LimitCheck::Outcome::OverLimit;
    }
    describe_connection_limit(connector, counts, refused_by, &check);
    return check;
}

void LocalLimitStore::close_connection(const policy::Connector& connector, std::string_view source,
                                       ConnectionLease& lease) {
    if (lease.id == 0) return;
    connections_.close(connector, source);
    lease.id = 0;
}

LimitCheck LocalLimitStore::admit_message(const policy::Connector& connector, std::string_view key,
                                          std::chrono::steady_clock::time_point now) {
    LimitCheck check;
    std::uint64_t in_window = 0;
    if (!rates_.admit(connector, key, now, &in_window)) check.outcome = LimitCheck::Outcome::OverLimit;
    describe_rate_limit(connector, in_window, &check);
    return check;
}

}  // namespace state
