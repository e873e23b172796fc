// Connection and message-rate limits shared by all sessions. Thread-safe;
// time comes from the caller so that tests need no clock.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "policy/connector.hpp"

namespace policy {

class ConnectionTracker {
public:
    // Counts a new connection on `connector` from `source`. Returns false
    // (and counts nothing) when it would exceed max_inbound_connection,
    // max_inbound_connection_per_source, or the percentage of
    // max_inbound_connection per source.
    bool open(const Connector& connector, std::string_view source);
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
    bool admit(const Connector& connector, std::string_view key, Clock::time_point now);

private:
    std::mutex mutex_;
    std::map<std::string, std::vector<Clock::time_point>, std::less<>> windows_;
};

}  // namespace policy
