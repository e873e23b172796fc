// Connection and message-rate limits shared by several MX hosts through
// Redis (issue 16, [cluster] in connector-milter.conf(5)).
//
// Connections: every open session is a lease, a member of two sorted sets
// (the connector's, and the source's on that connector) scored with its
// expiry. One Lua script drops expired leases, counts, compares with the
// connector's limits and adds the lease, atomically on the server, so two
// hosts cannot both take the last slot. This host renews its leases every
// lease_renewal; the leases of a host that died expire after lease_time.
//
// Rates: the same sliding one-minute window as policy::RateLimiter, kept
// as a sorted set of admission times per key and checked and counted by
// one script, with the server's clock (TIME) so hosts need not agree on
// theirs. A limit means the same with either store.
//
// This host's own counters (LocalLimitStore) count every session too: when
// Redis cannot answer, [cluster] on_unavailable = local decides with them
// at once, and the sessions admitted meanwhile are added to Redis by the
// next renewal when it is back. on_unavailable = tempfail refuses instead.
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "state/limit_store.hpp"
#include "state/redis_client.hpp"

namespace state {

// Where and how to reach the Redis of [cluster] (every store on it).
RedisOptions cluster_redis_options(const config::ClusterSettings& settings, std::string password);

class RedisLimitStore final : public LimitStore {
public:
    // `password` was read from settings.password_file by the caller.
    // `observe_only`: count and compare, never add (the `explain` command).
    RedisLimitStore(const config::ClusterSettings& settings, std::string password,
                    std::function<void(daemon_log::Level, std::string_view)> log, bool observe_only = false);
    ~RedisLimitStore() override;

    LimitCheck open_connection(const policy::Connector& connector, std::string_view source,
                               ConnectionLease* lease) override;
    void close_connection(const policy::Connector& connector, std::string_view source,
                          ConnectionLease& lease) override;
    bool may_wait() const override { return true; }
    LimitCheck admit_message(const policy::Connector& connector, std::string_view key,
                             std::chrono::steady_clock::time_point now) override;

private:
    struct Lease {
        std::string total_key;
        std::string source_key;
        std::string member;
    };
    // Runs on the client's I/O thread.
    void renew_leases();
    // A failed call: the fallback's decision (or Unavailable), logged once
    // per outage.
    void note_unavailable(const std::string& why);
    // Redis could not answer (`why`): logged once and counted; under
    // on_unavailable = tempfail the refusal to give, otherwise nullopt and
    // this host's own counters decide (then marked by decided_locally).
    std::optional<LimitCheck> unavailable(const std::string& why);
    static void decided_locally(const std::string& why, LimitCheck* local);
    void note_available();
    std::string connection_key(const policy::Connector& connector) const;

    const config::ClusterSettings settings_;
    const bool observe_only_;
    std::function<void(daemon_log::Level, std::string_view)> log_;
    LocalLimitStore local_;
    std::string instance_;  // this process's lease names: HOST:PID:RANDOM
    std::atomic<std::uint64_t> next_id_{1};
    std::mutex leases_mutex_;  // also orders renewals before later releases
    std::map<std::uint64_t, Lease> leases_;
    std::atomic<bool> unavailable_{false};
    std::unique_ptr<RedisClient> client_;  // last: its thread uses the above
};

}  // namespace state
