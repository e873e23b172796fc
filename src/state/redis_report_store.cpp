#include "state/redis_report_store.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "state/redis_limit_store.hpp"

namespace state {

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kHour = 3600;
// A batch's mark outlives any retry of it by far.
constexpr std::int64_t kBatchMarkSeconds = kDay;
// String values longer than these are shortened before encoding (a rua=
// lists several URIs; nothing else in a report row is that long).
constexpr std::size_t kMaxRuaBytes = 2048;
constexpr std::size_t kMaxValueBytes = 512;
constexpr std::size_t kMaxDkimOutcomes = 64;
constexpr char kRowVersion[] = "r1";

// KEYS[1]: the batch's mark; then, per (day, policy domain): its hash and
// its day's index of domains. ARGV[1]: the mark's lifetime (s); then per
// (day, domain): the keys' expiry (epoch s), the domain, the number of
// rows, and that many (row, count) pairs.
// Returns 1 when counted, 0 when the batch had been counted before.
// Never destroyed: the client's I/O thread reads it (the EVAL retry after
// NOSCRIPT) and the recorder may still write while static objects go.
const RedisScript& append_script() {
    static const RedisScript& script = *new RedisScript(R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local a = 2
for g = 2, #KEYS, 2 do
  local expire_at, domain, rows = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  for r = 1, rows do
    redis.call('HINCRBY', KEYS[g], ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  redis.call('SADD', KEYS[g + 1], domain)
  redis.call('EXPIREAT', KEYS[g], expire_at)
  redis.call('EXPIREAT', KEYS[g + 1], expire_at)
end
return 1
)lua");
    return script;
}

// The batches' names need only be unique among every writer's: 128 random
// bits, hex.
std::string random_name() {
    std::random_device random;
    std::string out;
    char part[9];
    for (int i = 0; i < 4; ++i) {
        std::snprintf(part, sizeof part, "%08x", static_cast<unsigned>(random()));
        out += part;
    }
    return out;
}

std::int64_t floor_to(std::int64_t t, std::int64_t unit) { return t >= 0 ? t - t % unit : t - (unit + t % unit) % unit; }

// YYYY-MM-DD of the UTC day that starts at `day`.
std::string day_name(std::int64_t day) {
    const std::time_t t = static_cast<std::time_t>(day);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return out;
}

void put(std::string* out, std::string_view value) {
    *out += std::to_string(value.size());
    *out += ':';
    *out += value;
}

std::string shortened(const std::string& s, std::size_t limit) { return s.size() <= limit ? s : s.substr(0, limit); }

// Reads one "LENGTH:BYTES" item from untrusted text.
bool take(std::string_view* in, std::string_view* value) {
    const auto colon = in->find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 6) return false;
    std::size_t size = 0;
    const auto [end, ec] = std::from_chars(in->data(), in->data() + colon, size);
    if (ec != std::errc() || end != in->data() + colon || size > in->size() - colon - 1) return false;
    *value = in->substr(colon + 1, size);
    in->remove_prefix(colon + 1 + size);
    return true;
}

bool take_string(std::string_view* in, std::string* out) {
    std::string_view v;
    if (!take(in, &v)) return false;
    out->assign(v);
    return true;
}

bool take_char(std::string_view* in, char* out) {
    std::string_view v;
    if (!take(in, &v) || v.size() != 1) return false;
    *out = v[0];
    return true;
}

bool take_number(std::string_view* in, std::int64_t* out) {
    std::string_view v;
    if (!take(in, &v) || v.empty()) return false;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
    return ec == std::errc() && end == v.data() + v.size();
}

bool take_flag(std::string_view* in, bool* out) {
    std::string_view v;
    if (!take(in, &v) || (v != "0" && v != "1")) return false;
    *out = v == "1";
    return true;
}

// A reply as untrusted input: what SSCAN and HSCAN answer is
// [cursor, [items...]], anything else is an error that says what came.
const char* type_name(RedisReply::Type t) {
    switch (t) {
        case RedisReply::Type::Nil: return "nil";
        case RedisReply::Type::Integer: return "an integer";
        case RedisReply::Type::Status: return "a status";
        case RedisReply::Type::Error: return "an error";
        case RedisReply::Type::String: return "a string";
        case RedisReply::Type::Array: return "an array";
    }
    return "?";
}

bool scan_reply(const RedisResult& result, const std::string& command, std::string* cursor,
                const std::vector<RedisReply>** items, std::string* error) {
    if (!result.ok) {
        *error = command + ": " + result.error;
        return false;
    }
    const RedisReply& r = result.reply;
    if (r.type == RedisReply::Type::Error) {
        *error = command + ": redis answered: " + r.text.substr(0, 200);
        return false;
    }
    if (r.type != RedisReply::Type::Array || r.elements.size() != 2 ||
        r.elements[0].type != RedisReply::Type::String || r.elements[1].type != RedisReply::Type::Array) {
        *error = command + ": unexpected reply (" + std::string(type_name(r.type)) + ", not [cursor, items])";
        return false;
    }
    const std::string& c = r.elements[0].text;
    if (c.empty() || c.size() > 20 || !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        *error = command + ": unexpected cursor in the reply";
        return false;
    }
    for (const auto& item : r.elements[1].elements)
        if (item.type != RedisReply::Type::String) {
            *error = command + ": unexpected reply: " + type_name(item.type) + " among the items";
            return false;
        }
    *cursor = c;
    *items = &r.elements[1].elements;
    return true;
}

}  // namespace

std::string encode_row(const DmarcEvaluation& in) {
    DmarcEvaluation e = in;
    for (std::string* s : {&e.organizational_domain, &e.source_ip, &e.header_from, &e.envelope_from, &e.helo,
                           &e.envelope_to, &e.spf_domain, &e.spf_scope, &e.spf_result, &e.p, &e.sp, &e.np, &e.fo,
                           &e.discovery, &e.dmarc_result, &e.disposition, &e.reason_type, &e.reason_comment})
        *s = shortened(*s, kMaxValueBytes);
    e.rua = shortened(e.rua, kMaxRuaBytes);
    if (e.dkim.size() > kMaxDkimOutcomes) e.dkim.resize(kMaxDkimOutcomes);
    for (;;) {
        std::string out = kRowVersion;
        put(&out, std::to_string(floor_to(e.time, kHour)));
        for (const std::string* s : {&e.organizational_domain, &e.rua, &e.source_ip, &e.header_from,
                                     &e.envelope_from, &e.helo, &e.envelope_to, &e.spf_domain, &e.spf_scope,
                                     &e.spf_result, &e.p, &e.sp, &e.np, &e.fo})
            put(&out, *s);
        for (const char c : {e.testing, e.adkim, e.aspf, e.psd}) put(&out, std::string_view(&c, 1));
        for (const std::string* s : {&e.discovery, &e.dmarc_result}) put(&out, *s);
        put(&out, e.dkim_aligned ? "1" : "0");
        put(&out, e.spf_aligned ? "1" : "0");
        for (const std::string* s : {&e.disposition, &e.reason_type, &e.reason_comment}) put(&out, *s);
        put(&out, std::to_string(e.dkim.size()));
        for (const auto& d : e.dkim) {
            put(&out, shortened(d.domain, kMaxValueBytes));
            put(&out, shortened(d.selector, kMaxValueBytes));
            put(&out, shortened(d.result, kMaxValueBytes));
        }
        // Too long only with many long DKIM results: the last ones go.
        if (out.size() <= RedisReportStore::kMaxRowBytes || e.dkim.empty()) return out;
        e.dkim.pop_back();
    }
}

bool decode_row(std::string_view in, DmarcEvaluation* e) {
    if (in.substr(0, sizeof kRowVersion - 1) != kRowVersion) return false;
    in.remove_prefix(sizeof kRowVersion - 1);
    if (!take_number(&in, &e->time)) return false;
    for (std::string* s : {&e->organizational_domain, &e->rua, &e->source_ip, &e->header_from, &e->envelope_from,
                           &e->helo, &e->envelope_to, &e->spf_domain, &e->spf_scope, &e->spf_result, &e->p, &e->sp,
                           &e->np, &e->fo})
        if (!take_string(&in, s)) return false;
    for (char* c : {&e->testing, &e->adkim, &e->aspf, &e->psd})
        if (!take_char(&in, c)) return false;
    for (std::string* s : {&e->discovery, &e->dmarc_result})
        if (!take_string(&in, s)) return false;
    if (!take_flag(&in, &e->dkim_aligned) || !take_flag(&in, &e->spf_aligned)) return false;
    for (std::string* s : {&e->disposition, &e->reason_type, &e->reason_comment})
        if (!take_string(&in, s)) return false;
    std::int64_t n = 0;
    if (!take_number(&in, &n) || n < 0 || n > static_cast<std::int64_t>(kMaxDkimOutcomes)) return false;
    e->dkim.assign(static_cast<std::size_t>(n), DkimOutcome{});
    for (auto& d : e->dkim)
        if (!take_string(&in, &d.domain) || !take_string(&in, &d.selector) || !take_string(&in, &d.result))
            return false;
    return in.empty();
}

RedisReportStore::RedisReportStore(const config::ClusterSettings& settings, std::string password,
                                   std::uint32_t retention_days,
                                   std::function<void(daemon_log::Level, std::string_view)> log)
    : prefix_(settings.key_prefix + "dmarc:"),
      retention_days_(retention_days),
      log_(std::move(log)),
      instance_(random_name()) {
    RedisOptions options = cluster_redis_options(settings, std::move(password));
    // Writes happen on the recorder's thread and reads in the report
    // command, never while a session waits: a batch may take longer than
    // the limit checks' timeout.
    options.timeout = std::max(settings.timeout, std::chrono::milliseconds(2000));
    options.log = log_;
    client_ = std::make_unique<RedisClient>(std::move(options));
}

RedisReportStore::~RedisReportStore() = default;

bool RedisReportStore::append(const std::vector<DmarcEvaluation>& batch, std::string* error) {
    const std::string name = instance_ + ":" + std::to_string(next_batch_++);
    return append_batch(name, batch, error);
}

bool RedisReportStore::append_batch(const std::string& name, const std::vector<DmarcEvaluation>& batch,
                                    std::string* error, bool* duplicate) {
    if (duplicate) *duplicate = false;
    if (batch.empty()) return true;
    // (day, domain) -> row -> count, so that identical evaluations of a
    // batch cost one HINCRBY.
    std::map<std::pair<std::int64_t, std::string>, std::map<std::string, std::uint64_t>> groups;
    for (const auto& e : batch) ++groups[{floor_to(e.time, kDay), e.policy_domain}][encode_row(e)];
    std::vector<std::string> keys{prefix_ + "batch:" + name};
    std::vector<std::string> args{std::to_string(kBatchMarkSeconds)};
    for (const auto& [group, rows] : groups) {
        const std::string day = day_name(group.first);
        keys.push_back(prefix_ + day + ":" + group.second);
        keys.push_back(prefix_ + "domains:" + day);
        args.push_back(std::to_string(group.first + kDay + static_cast<std::int64_t>(retention_days_) * kDay));
        args.push_back(group.second);
        args.push_back(std::to_string(rows.size()));
        for (const auto& [row, count] : rows) {
            args.push_back(row);
            args.push_back(std::to_string(count));
        }
    }
    RedisResult result;
    // A call without a reply (a timeout, a lost connection) may have been
    // counted or not: once more under the same name, which the script
    // counts at most once.
    for (int attempt = 0; attempt < 2; ++attempt) {
        result = client_->call_script(append_script(), keys, args);
        if (result.ok) break;
    }
    if (!result.ok) {
        if (error) *error = "redis: " + result.error;
        return false;
    }
    if (result.reply.type == RedisReply::Type::Error) {
        if (error) *error = "redis answered: " + result.reply.text.substr(0, 200);
        return false;
    }
    if (result.reply.type != RedisReply::Type::Integer || (result.reply.integer != 0 && result.reply.integer != 1)) {
        if (error) *error = std::string("redis: unexpected reply to the batch (") + type_name(result.reply.type) + ")";
        return false;
    }
    if (duplicate) *duplicate = result.reply.integer == 0;
    return true;
}

bool RedisReportStore::scan_set(const std::string& key, std::vector<std::string>* members, std::string* error) {
    std::string cursor = "0";
    do {
        const RedisResult r = client_->call({"SSCAN", key, cursor, "COUNT", "100"});
        const std::vector<RedisReply>* items = nullptr;
        if (!scan_reply(r, "SSCAN " + key, &cursor, &items, error)) return false;
        for (const auto& item : *items) members->push_back(item.text);
    } while (cursor != "0");
    return true;
}

bool RedisReportStore::scan_hash(const std::string& key, std::int64_t since, std::int64_t until,
                                 const std::string& policy_domain, const CountedVisit& visit, std::string* error) {
    // SCAN may return a field twice when the hash grows meanwhile: each is
    // counted once.
    std::unordered_set<std::string> seen;
    std::string cursor = "0";
    do {
        const RedisResult r = client_->call({"HSCAN", key, cursor, "COUNT", std::to_string(kScanCount)});
        const std::vector<RedisReply>* items = nullptr;
        if (!scan_reply(r, "HSCAN " + key, &cursor, &items, error)) return false;
        if (items->size() % 2 != 0) {
            *error = "HSCAN " + key + ": unexpected reply: an odd number of items";
            return false;
        }
        for (std::size_t i = 0; i < items->size(); i += 2) {
            const std::string& field = (*items)[i].text;
            const std::string& value = (*items)[i + 1].text;
            if (!seen.insert(field).second) continue;
            DmarcEvaluation e;
            std::uint64_t count = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
            if (!decode_row(field, &e) || ec != std::errc() || end != value.data() + value.size() || count == 0) {
                *error = key + ": a field or count that connector-milter did not write (\"" +
                         field.substr(0, 60) + "\" = \"" + value.substr(0, 20) + "\")";
                return false;
            }
            if (e.time < since || e.time >= until) continue;
            e.policy_domain = policy_domain;
            visit(e, count);
        }
    } while (cursor != "0");
    return true;
}

bool RedisReportStore::scan_counted(std::int64_t since, std::int64_t until, const CountedVisit& visit,
                                    std::string* error) {
    std::string why;
    if (since % kHour != 0 || until % kHour != 0) {
        why = "the redis store counts evaluations by the hour: a period must begin and end on a whole UTC hour";
        if (error) *error = why;
        return false;
    }
    std::vector<std::int64_t> days;
    for (std::int64_t day = floor_to(since, kDay); day < until; day += kDay) days.push_back(day);
    // The domains, sorted: one domain's evaluations of every day, then the
    // next domain's (the order the Aggregator needs).
    std::set<std::string> domains;
    for (const auto day : days) {
        std::vector<std::string> members;
        if (!scan_set(prefix_ + "domains:" + day_name(day), &members, &why)) {
            if (error) *error = why;
            return false;
        }
        domains.insert(members.begin(), members.end());
    }
    for (const auto& domain : domains)
        for (const auto day : days)
            if (!scan_hash(prefix_ + day_name(day) + ":" + domain, since, until, domain, visit, &why)) {
                if (error) *error = why;
                return false;
            }
    return true;
}

bool RedisReportStore::scan(std::int64_t since, std::int64_t until,
                            const std::function<void(const DmarcEvaluation&)>& visit, std::string* error) {
    return scan_counted(
        since, until,
        [&](const DmarcEvaluation& e, std::uint64_t count) {
            for (std::uint64_t i = 0; i < count; ++i) visit(e);
        },
        error);
}

bool RedisReportStore::prune(std::int64_t, std::uint64_t* removed, std::string*) {
    if (removed) *removed = 0;
    return true;
}

}  // namespace state
