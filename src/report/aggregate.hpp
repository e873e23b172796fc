// Grouping of recorded evaluations into the <record> elements of one
// aggregate report (RFC 9990 section 3.1.1): one per source IP and identical
// identifiers, results and disposition, with a count. One report per policy
// domain ("In the same report, there MUST be a single DMARC Policy Domain").
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "state/dmarc_evaluation.hpp"

namespace report {

// Everything a <record> states except the count.
struct RowKey {
    std::string source_ip;
    std::string header_from, envelope_from, envelope_to;
    std::string helo;  // set when SPF checked the HELO name (null reverse-path)
    std::string spf_domain, spf_scope, spf_result;
    std::vector<state::DkimOutcome> dkim;
    std::string disposition;
    bool dkim_aligned = false, spf_aligned = false;
    std::string reason_type, reason_comment;

    auto tie() const {
        return std::tie(source_ip, header_from, envelope_from, envelope_to, helo, spf_domain, spf_scope, spf_result,
                        dkim, disposition, dkim_aligned, spf_aligned, reason_type, reason_comment);
    }
    bool operator<(const RowKey& o) const { return tie() < o.tie(); }
    bool operator==(const RowKey& o) const { return tie() == o.tie(); }
};

RowKey row_key(const state::DmarcEvaluation& e);

// The policy published, as the report's policy_published states it.
struct PublishedPolicy {
    std::string p, sp, np, fo;
    char testing = 'n', adkim = 'r', aspf = 'r', psd = 'u';
    std::string discovery;
};

struct DomainReport {
    std::string policy_domain;
    std::string organizational_domain;
    // The latest evaluation's record (a policy changed during the period is
    // reported as it was last seen, with the rua= of that time).
    PublishedPolicy policy;
    std::string rua;
    std::int64_t latest = 0;
    std::map<RowKey, std::uint64_t> rows;
    std::uint64_t messages = 0;
};

// Feeds evaluations in the store's order (one policy domain after the
// other) and hands over each domain's report when the next domain starts
// and at finish(): only one domain's rows are held at a time.
class Aggregator {
public:
    using Done = std::function<void(DomainReport&&)>;
    explicit Aggregator(Done done) : done_(std::move(done)) {}
    // `count` identical evaluations (a store may keep them as one).
    void add(const state::DmarcEvaluation& e, std::uint64_t count = 1);
    void finish();

private:
    Done done_;
    DomainReport current_;
    bool open_ = false;
};

}  // namespace report
