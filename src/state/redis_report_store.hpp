// DMARC evaluations counted in Redis ([dmarc.reports] store = "redis" with
// [cluster]), so that several MX hosts feed one aggregate report per
// domain and day (issue 17).
//
// Layout, under [cluster] key_prefix:
//   dmarc:domains:YYYY-MM-DD          set: the policy domains with evaluations that UTC day
//   dmarc:YYYY-MM-DD:POLICY-DOMAIN    hash: one field per distinct evaluation, its count
//   dmarc:batch:WRITER:N              string: marks a batch as counted (idempotence)
// A field holds everything an aggregate report states about an evaluation
// (RFC 9990 section 3.1.1: source, identifiers, results, disposition, the
// policy published) and the UTC hour it happened in; HINCRBY adds to it.
// Counting instead of keeping each evaluation bounds Redis's memory by the
// number of distinct report rows, not by the mail volume, and the report
// reads only those rows. Both keys expire (EXPIREAT) retention_days after
// their day ended: no pruning job.
//
// A batch is counted by one Lua script, atomically, after it marked the
// batch's name (this writer's random name and a sequence number) with
// SET NX: a batch written again (a reply lost to a timeout, then the retry)
// is not counted twice. One mark per batch instead of one per evaluation
// keeps the idempotence at a cost that does not grow with the mail volume.
//
// Periods are whole UTC hours: the report command's --since and --until
// must fall on the hour with this store.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"
#include "state/redis_client.hpp"
#include "state/report_store.hpp"

namespace state {

class RedisReportStore final : public ReportStore {
public:
    // An encoded evaluation (a hash field) is at most this long; longer
    // string values are shortened first (see encode_row()).
    static constexpr std::size_t kMaxRowBytes = 8 * 1024;
    // Fields asked per HSCAN: kMaxRowBytes each stays under the client's
    // reply limit (RedisClient::kMaxReplyBytes).
    static constexpr int kScanCount = 6;

    // `password` was read from settings.password_file by the caller.
    RedisReportStore(const config::ClusterSettings& settings, std::string password, std::uint32_t retention_days,
                     std::function<void(daemon_log::Level, std::string_view)> log);
    ~RedisReportStore() override;

    bool append(const std::vector<DmarcEvaluation>& batch, std::string* error) override;
    // The same with the batch's name given: a name already counted counts
    // nothing (true, with *duplicate set when given).
    bool append_batch(const std::string& name, const std::vector<DmarcEvaluation>& batch, std::string* error,
                      bool* duplicate = nullptr);
    bool scan(std::int64_t since, std::int64_t until, const std::function<void(const DmarcEvaluation&)>& visit,
              std::string* error) override;
    bool scan_counted(std::int64_t since, std::int64_t until, const CountedVisit& visit, std::string* error) override;
    // Keys expire by themselves.
    bool prune(std::int64_t before, std::uint64_t* removed, std::string* error) override;
    // The client reconnects by itself: a new store would only log the
    // outage again.
    bool reopen_after_error() const override { return false; }

private:
    bool scan_set(const std::string& key, std::vector<std::string>* members, std::string* error);
    bool scan_hash(const std::string& key, std::int64_t since, std::int64_t until, const std::string& policy_domain,
                   const CountedVisit& visit, std::string* error);

    const std::string prefix_;
    const std::uint32_t retention_days_;
    std::function<void(daemon_log::Level, std::string_view)> log_;
    std::string instance_;
    std::atomic<std::uint64_t> next_batch_{1};
    std::unique_ptr<RedisClient> client_;
};

// The hash field of an evaluation (its hour and everything a report row
// and its policy_published state; not the reporter, not the policy domain,
// which is in the key), and back. decode_row() takes untrusted text and
// returns false on anything it did not write.
std::string encode_row(const DmarcEvaluation& e);
bool decode_row(std::string_view text, DmarcEvaluation* e);

}  // namespace state
