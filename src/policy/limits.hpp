// Connection and message-rate limits shared by all sessions. Thread-safe;
// time comes from the caller so that tests need no clock.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/connector.hpp"

namespace policy {

// Which connection limit refused a connection (None: admitted).
enum class ConnectionLimit : std::uint8_t { None, Total, PerSource, PercentagePerSource };
// The setting's name, as in connector-milter.conf(5).
std::string_view limit_name(ConnectionLimit limit);

// Exchange: MaxInboundConnectionPercentagePerSource is a share of
// MaxInboundConnection (2% of 5000 = 100 by default), at least one. Null
// when either setting is unlimited.
std::optional<std::uint64_t> percentage_share(const Connector& connector);

// What one source and the connector as a whole hold before a new
// connection is counted.
struct ConnectionCounts {
    std::uint64_t total = 0;
    std::uint64_t from_source = 0;
};

// The limit a new connection would exceed with `counts` open already, in
// the order Exchange names them: total, per source, percentage per source.
ConnectionLimit exceeded_limit(const Connector& connector, const ConnectionCounts& counts);

class ConnectionTracker {
public:
    // Counts a new connection on `connector` from `source`. Returns false
    // (and counts nothing) when it would exceed max_inbound_connection,
    // max_inbound_connection_per_source, or the percentage of
    // max_inbound_connection per source. `counts` (optional) receives what
    // was open before, `refused_by` the limit that refused.
    bool open(const Connector& connector, std::string_view source, ConnectionCounts* counts = nullptr,
              ConnectionLimit* refused_by = nullptr);
    void close(const Connector& connector, std::string_view source);
    std::uint32_t total(std::string_view connector_name) const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::uint32_t, std::less<>> per_connector_;
    std::map<std::string, std::uint32_t, std::less<>> per_source_;  // key: connector '\0' source
};

// message_rate_limit messages per minute per key (client IP, login, or one
// key for all), as a sliding one-minute window.
class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;
    // Returns true and counts the message when it is within the limit.
    // `in_window` (optional) receives the messages counted in the minute
    // before this one.
    bool admit(const Connector& connector, std::string_view key, Clock::time_point now,
               std::uint64_t* in_window = nullptr);

private:
    std::mutex mutex_;
    std::map<std::string, std::vector<Clock::time_point>, std::less<>> windows_;
};

}  // namespace policy
