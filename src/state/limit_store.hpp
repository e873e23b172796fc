// Where connection counts and message rates are kept: in this process (the
// default), or in Redis when several MX hosts share one policy (issue 16,
// redis_limit_store.hpp). Sessions ask a LimitStore and get a LimitCheck
// that says what was decided, against which limit, which store and which
// count, so that the decision log and `explain` can show it.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "policy/connector.hpp"
#include "policy/limits.hpp"

namespace state {

struct LimitCheck {
    enum class Outcome : std::uint8_t {
        Admitted,
        OverLimit,    // the limit is reached: the connector's own reply
        Unavailable,  // the shared store could not answer and [cluster] on_unavailable = tempfail
    };
    Outcome outcome = Outcome::Admitted;
    // Which counters answered: "local", "redis", or "local (redis
    // unavailable: WHY)" when the shared store failed and this host's own
    // counters decided ([cluster] on_unavailable = local).
    std::string store = "local";
    // The limit refused by (or, when admitted, the tightest one checked),
    // as "NAME=VALUE"; empty when the connector sets none.
    std::string limit;
    // What that limit counted before this connection or message.
    std::uint64_t count = 0;
    // Why the shared store did not answer (Unavailable, or the fallback).
    std::string error;

    bool admitted() const { return outcome == Outcome::Admitted; }
    // "max_inbound_connection_per_source=3: 2 counted (redis)", for logs.
    std::string describe() const;
};

// What a session keeps of its counted connection to give it back at the end.
struct ConnectionLease {
    std::uint64_t id = 0;  // 0: nothing counted
    bool shared = false;   // the shared store holds it too
};

class LimitStore {
public:
    virtual ~LimitStore() = default;
    // Counts a new connection of `source` on `connector` unless a
    // connection limit refuses it; on admission `lease` says what to close.
    virtual LimitCheck open_connection(const policy::Connector& connector, std::string_view source,
                                       ConnectionLease* lease) = 0;
    virtual void close_connection(const policy::Connector& connector, std::string_view source,
                                  ConnectionLease& lease) = 0;
    // Counts one message under `key` (client IP, "user:LOGIN" or "*") unless
    // message_rate_limit messages were counted in the minute before `now`.
    virtual LimitCheck admit_message(const policy::Connector& connector, std::string_view key,
                                     std::chrono::steady_clock::time_point now) = 0;
    // Whether a call may wait (for a server's reply).
    virtual bool may_wait() const { return false; }
};

// This process's counters (policy::ConnectionTracker, policy::RateLimiter).
class LocalLimitStore final : public LimitStore {
public:
    LimitCheck open_connection(const policy::Connector& connector, std::string_view source,
                               ConnectionLease* lease) override;
    void close_connection(const policy::Connector& connector, std::string_view source,
                          ConnectionLease& lease) override;
    LimitCheck admit_message(const policy::Connector& connector, std::string_view key,
                             std::chrono::steady_clock::time_point now) override;
    std::uint32_t open_total(std::string_view connector_name) const { return connections_.total(connector_name); }

private:
    policy::ConnectionTracker connections_;
    policy::RateLimiter rates_;
};

// The limit a connection check reports: the one that refused, else the
// tightest the connector sets, with what it counted. Shared by the stores.
void describe_connection_limit(const policy::Connector& connector, const policy::ConnectionCounts& counts,
                               policy::ConnectionLimit refused_by, LimitCheck* check);
void describe_rate_limit(const policy::Connector& connector, std::uint64_t in_window, LimitCheck* check);

}  // namespace state
