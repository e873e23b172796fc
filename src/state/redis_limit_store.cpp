#include "state/redis_limit_store.hpp"

#include <unistd.h>

#include <random>

#include "metrics/catalogue.hpp"

namespace state {

namespace {

// The scripts are never destroyed: the client's I/O thread reads them
// (the EVAL retry after NOSCRIPT) and may still run while the process's
// static objects are destroyed at exit.

// KEYS[1]: the connector's leases, KEYS[2]: the source's leases on it.
// ARGV: lease name, lease time (ms), max_inbound_connection,
// max_inbound_connection_per_source, the percentage share (-1: none),
// observe only ("1": count and compare, add nothing).
// Returns {refused by (0 none, 1 total, 2 per source, 3 percentage),
// leases of the connector, leases of the source}, counted before this one.
const RedisScript& open_script() {
    static const RedisScript& script = *new RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local total = redis.call('ZCARD', KEYS[1])
local source = redis.call('ZCARD', KEYS[2])
local max_total = tonumber(ARGV[3])
local max_source = tonumber(ARGV[4])
local share = tonumber(ARGV[5])
local refused = 0
if max_total >= 0 and total + 1 > max_total then refused = 1
elseif max_source >= 0 and source + 1 > max_source then refused = 2
elseif share >= 0 and source + 1 > share then refused = 3 end
if refused == 0 and ARGV[6] ~= '1' then
  local expiry = now + tonumber(ARGV[2])
  redis.call('ZADD', KEYS[1], expiry, ARGV[1])
  redis.call('ZADD', KEYS[2], expiry, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return {refused, total, source}
)lua");
    return script;
}

// KEYS: the two sets of a lease; ARGV[1]: its name.
const RedisScript& close_script() {
    static const RedisScript& script = *new RedisScript(R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
)lua");
    return script;
}

// KEYS: the two sets of each lease in turn; ARGV[1]: lease time (ms), then
// the leases' names. ZADD without XX: a lease Redis lost (a restart, or a
// session admitted by this host's counters during an outage) counts again.
const RedisScript& renew_script() {
    static const RedisScript& script = *new RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
for i = 2, #ARGV do
  local k1 = KEYS[2 * i - 3]
  local k2 = KEYS[2 * i - 2]
  redis.call('ZADD', k1, expiry, ARGV[i])
  redis.call('ZADD', k2, expiry, ARGV[i])
  redis.call('PEXPIRE', k1, ARGV[1])
  redis.call('PEXPIRE', k2, ARGV[1])
end
return #ARGV - 1
)lua");
    return script;
}

// policy::RateLimiter's sliding window: a message counts for one minute;
// one made exactly a minute ago no longer does.
// KEYS[1]: the key's admission times. ARGV: limit, window (ms), a unique
// name for this message, observe only.
// Returns {admitted (1) or not (0), messages counted in the window before}.
const RedisScript& rate_script() {
    static const RedisScript& script = *new RedisScript(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[1]) then return {0, n} end
if ARGV[4] ~= '1' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
end
return {1, n}
)lua");
    return script;
}

constexpr std::int64_t kWindowMs = 60'000;  // policy::RateLimiter's minute

// Connector names may hold ':'; keys keep them unambiguous.
std::string escaped(std::string_view name) {
    std::string out;
    for (const char ch : name) {
        if (ch == '%') out += "%25";
        else if (ch == ':') out += "%3A";
        else out += ch;
    }
    return out;
}

std::string limit_arg(std::optional<std::uint64_t> limit) { return limit ? std::to_string(*limit) : "-1"; }

std::string describe(const RedisReply& r) {
    switch (r.type) {
        case RedisReply::Type::Nil: return "nil";
        case RedisReply::Type::Integer: return "integer " + std::to_string(r.integer);
        case RedisReply::Type::Status: return "status";
        case RedisReply::Type::Error: {
            std::string text;
            for (const char ch : r.text.substr(0, 120)) text += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
            return "error \"" + text + "\"";
        }
        case RedisReply::Type::String: return "string of " + std::to_string(r.text.size()) + " octets";
        case RedisReply::Type::Array: return "array of " + std::to_string(r.elements.size());
    }
    return "?";
}

// The scripts answer arrays of `size` integers; anything else is a server
// we cannot trust with the decision.
bool integers(const RedisResult& result, std::size_t size, std::vector<long long>* out, std::string* why) {
    if (!result.ok) {
        *why = result.error;
        return false;
    }
    const RedisReply& r = result.reply;
    bool fits = r.type == RedisReply::Type::Array && r.elements.size() == size;
    for (std::size_t i = 0; fits && i < size; ++i)
        fits = r.elements[i].type == RedisReply::Type::Integer && r.elements[i].integer >= 0;
    if (!fits) {
        *why = "unexpected reply: " + describe(r);
        if (r.type == RedisReply::Type::Array)
            for (const auto& e : r.elements)
                if (e.type != RedisReply::Type::Integer) { *why += " holding " + describe(e); break; }
        return false;
    }
    out->clear();
    for (const auto& e : r.elements) out->push_back(e.integer);
    return true;
}

// metrics: redis_requests_total{result}, redis_fallbacks_total{on_unavailable}.
struct RedisCounters {
    metrics::Counter& ok;
    metrics::Counter& error;
    metrics::Counter& timeout;
    metrics::Counter& not_connected;
    metrics::Counter& local;
    metrics::Counter& tempfail;
};

const RedisCounters& counters() {
    const auto& c = metrics::catalogue();
    static const RedisCounters r{c.redis_requests.with({"ok"}),        c.redis_requests.with({"error"}),
                                 c.redis_requests.with({"timeout"}),   c.redis_requests.with({"not_connected"}),
                                 c.redis_fallbacks.with({"local"}),    c.redis_fallbacks.with({"tempfail"})};
    return r;
}

// One decision asked of Redis; `usable`: its reply could decide.
void count_request(const RedisResult& result, bool usable) {
    const auto& c = counters();
    if (usable) c.ok.inc();
    else if (result.timed_out) c.timeout.inc();
    else if (result.not_connected) c.not_connected.inc();
    else c.error.inc();
}

std::string instance_name() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "host");
    std::random_device random;
    const std::uint64_t nonce = (static_cast<std::uint64_t>(random()) << 32) ^ random();
    char tail[64];
    std::snprintf(tail, sizeof tail, ":%ld:%016llx", static_cast<long>(getpid()),
                  static_cast<unsigned long long>(nonce));
    return escaped(host) + tail;
}

}  // namespace

RedisOptions cluster_redis_options(const config::ClusterSettings& settings, std::string password) {
    RedisOptions options;
    options.host = settings.host;
    options.port = settings.port;
    options.unix_path = settings.unix_path;
    options.database = settings.database;
    options.password = std::move(password);
    options.timeout = settings.timeout;
    options.reconnect_interval = settings.reconnect_interval;
    return options;
}

RedisLimitStore::RedisLimitStore(const config::ClusterSettings& settings, std::string password,
                                 std::function<void(daemon_log::Level, std::string_view)> log, bool observe_only)
    : settings_(settings), observe_only_(observe_only), log_(std::move(log)), instance_(instance_name()) {
    RedisOptions options = cluster_redis_options(settings, std::move(password));
    options.log = log_;
    if (!observe_only_) {
        options.periodic = [this] { renew_leases(); };
        options.period = settings.lease_renewal;
    }
    client_ = std::make_unique<RedisClient>(std::move(options));
}

RedisLimitStore::~RedisLimitStore() {
    // The thread first: it calls renew_leases().
    client_.reset();
}

std::string RedisLimitStore::connection_key(const policy::Connector& connector) const {
    return settings_.key_prefix + "conn:" + escaped(connector.name);
}

std::optional<LimitCheck> RedisLimitStore::unavailable(const std::string& why) {
    note_unavailable(why);
    if (settings_.on_unavailable != config::ClusterSettings::OnUnavailable::TempFail) {
        counters().local.inc();
        return std::nullopt;
    }
    counters().tempfail.inc();
    LimitCheck check;
    check.outcome = LimitCheck::Outcome::Unavailable;
    check.store = "redis";
    check.error = why;
    return check;
}

void RedisLimitStore::decided_locally(const std::string& why, LimitCheck* local) {
    local->store = "local (redis unavailable: " + why + ")";
    local->error = why;
}

void RedisLimitStore::note_unavailable(const std::string& why) {
    if (unavailable_.exchange(true)) return;
    if (!log_) return;
    if (settings_.on_unavailable == config::ClusterSettings::OnUnavailable::Local)
        log_(daemon_log::Level::Warning, "cluster: redis cannot answer (" + why +
                                             "): connection and rate limits are counted on this host alone "
                                             "until it does (cluster.on_unavailable = local)");
    else
        log_(daemon_log::Level::Warning, "cluster: redis cannot answer (" + why +
                                             "): sessions and messages that a shared limit applies to are "
                                             "refused with 451 4.3.0 until it does (cluster.on_unavailable = tempfail)");
}

void RedisLimitStore::note_available() {
    if (!unavailable_.exchange(false)) return;
    if (log_) log_(daemon_log::Level::Info, "cluster: redis answers again: limits are shared again");
}

LimitCheck RedisLimitStore::open_connection(const policy::Connector& connector, std::string_view source,
                                            ConnectionLease* lease) {
    // This host's count first: when it alone reaches a limit, so does the
    // farm, and Redis need not be asked.
    ConnectionLease local_lease;
    LimitCheck local = local_.open_connection(connector, source, &local_lease);
    if (!local.admitted()) {
        local.store = "local";
        return local;
    }
    const std::uint64_t id = next_id_++;
    Lease entry;
    entry.total_key = connection_key(connector);
    entry.source_key = entry.total_key + ":" + std::string(source);
    entry.member = instance_ + ":" + std::to_string(id);
    const RedisResult result = client_->call_script(
        open_script(), {entry.total_key, entry.source_key},
        {entry.member, std::to_string(settings_.lease_time.count()), limit_arg(connector.max_inbound_connection),
         limit_arg(connector.max_inbound_connection_per_source), limit_arg(policy::percentage_share(connector)),
         observe_only_ ? "1" : "0"});
    std::vector<long long> answer;
    std::string why;
    if (integers(result, 3, &answer, &why) && answer[0] > 3) {
        why = "unexpected reply: refusal code " + std::to_string(answer[0]);
        answer.clear();
    }
    count_request(result, !answer.empty());
    if (answer.empty()) {
        if (auto refusal = unavailable(why)) {
            local_.close_connection(connector, source, local_lease);
            return *refusal;
        }
        // This host's counters decided; Redis learns of the session at the
        // first renewal after it is back.
        decided_locally(why, &local);
        if (!observe_only_) {
            const std::lock_guard lock(leases_mutex_);
            leases_.emplace(id, std::move(entry));
        }
        lease->id = id;
        lease->shared = false;
        return local;
    }
    note_available();
    LimitCheck check;
    check.store = "redis";
    policy::ConnectionCounts counts;
    counts.total = static_cast<std::uint64_t>(answer[1]);
    counts.from_source = static_cast<std::uint64_t>(answer[2]);
    const auto refused_by = static_cast<policy::ConnectionLimit>(answer[0]);
    describe_connection_limit(connector, counts, refused_by, &check);
    if (refused_by != policy::ConnectionLimit::None) {
        local_.close_connection(connector, source, local_lease);
        check.outcome = LimitCheck::Outcome::OverLimit;
        return check;
    }
    if (!observe_only_) {
        const std::lock_guard lock(leases_mutex_);
        leases_.emplace(id, std::move(entry));
    }
    lease->id = id;
    lease->shared = true;
    return check;
}

void RedisLimitStore::close_connection(const policy::Connector& connector, std::string_view source,
                                       ConnectionLease& lease) {
    if (lease.id == 0) return;
    ConnectionLease local_lease{1, false};
    local_.close_connection(connector, source, local_lease);
    const std::lock_guard lock(leases_mutex_);
    const auto it = leases_.find(lease.id);
    lease.id = 0;
    if (it == leases_.end()) return;
    // Under the mutex: a renewal that saw this lease went out before this.
    client_->send_script(close_script(), {it->second.total_key, it->second.source_key}, {it->second.member});
    leases_.erase(it);
}

void RedisLimitStore::renew_leases() {
    const std::lock_guard lock(leases_mutex_);
    // Bounded script calls: a few hundred leases each.
    constexpr std::size_t kPerCall = 256;
    std::vector<std::string> keys;
    std::vector<std::string> args;
    const auto flush = [&] {
        if (args.size() > 1) client_->send_script(renew_script(), keys, args);
        keys.clear();
        args.assign(1, std::to_string(settings_.lease_time.count()));
    };
    flush();
    for (const auto& [id, lease] : leases_) {
        keys.push_back(lease.total_key);
        keys.push_back(lease.source_key);
        args.push_back(lease.member);
        if (args.size() > kPerCall) flush();
    }
    flush();
}

LimitCheck RedisLimitStore::admit_message(const policy::Connector& connector, std::string_view key,
                                          std::chrono::steady_clock::time_point now) {
    if (!connector.message_rate_limit) return local_.admit_message(connector, key, now);
    const std::string member = instance_ + ":m" + std::to_string(next_id_++);
    const RedisResult result = client_->call_script(
        rate_script(), {settings_.key_prefix + "rate:" + escaped(connector.name) + ":" + std::string(key)},
        {std::to_string(*connector.message_rate_limit), std::to_string(kWindowMs), member,
         observe_only_ ? "1" : "0"});
    std::vector<long long> answer;
    std::string why;
    if (integers(result, 2, &answer, &why) && answer[0] > 1) {
        why = "unexpected reply: admission code " + std::to_string(answer[0]);
        answer.clear();
    }
    count_request(result, !answer.empty());
    if (answer.empty()) {
        if (auto refusal = unavailable(why)) {
            describe_rate_limit(connector, 0, &*refusal);
            return *refusal;
        }
        LimitCheck local = local_.admit_message(connector, key, now);
        decided_locally(why, &local);
        return local;
    }
    note_available();
    LimitCheck check;
    check.store = "redis";
    describe_rate_limit(connector, static_cast<std::uint64_t>(answer[1]), &check);
    if (answer[0] == 0) {
        check.outcome = LimitCheck::Outcome::OverLimit;
        return check;
    }
    // Counted here too, for the fallback; this host's own window cannot be
    // fuller than the farm's unless Redis lost its data.
    const LimitCheck local = local_.admit_message(connector, key, now);
    if (!local.admitted()) {
        LimitCheck refused = local;
        refused.store = "local";
        return refused;
    }
    return check;
}

}  // namespace state
