#include "report/aggregate.hpp"

namespace report {

RowKey row_key(const state::DmarcEvaluation& e) {
    RowKey k;
    k.source_ip = e.source_ip;
    k.header_from = e.header_from;
    k.envelope_from = e.envelope_from;
    k.envelope_to = e.envelope_to;
    k.helo = e.helo;
    k.spf_domain = e.spf_domain;
    k.spf_scope = e.spf_scope;
    k.spf_result = e.spf_result;
    k.dkim = e.dkim;
    k.disposition = e.disposition;
    k.dkim_aligned = e.dkim_aligned;
    k.spf_aligned = e.spf_aligned;
    k.reason_type = e.reason_type;
    k.reason_comment = e.reason_comment;
    return k;
}

void Aggregator::add(const state::DmarcEvaluation& e, std::uint64_t count) {
    if (open_ && e.policy_domain != current_.policy_domain) finish();
    if (!open_) {
        current_ = DomainReport{};
        current_.policy_domain = e.policy_domain;
        open_ = true;
    }
    if (current_.messages == 0 || e.time >= current_.latest) {
        current_.latest = e.time;
        current_.organizational_domain = e.organizational_domain;
        current_.rua = e.rua;
        current_.policy = {e.p, e.sp, e.np, e.fo, e.testing, e.adkim, e.aspf, e.psd, e.discovery};
    }
    current_.rows[row_key(e)] += count;
    current_.messages += count;
}

void Aggregator::finish() {
    if (!open_) return;
    open_ = false;
    done_(std::move(current_));
    current_ = DomainReport{};
}

}  // namespace report
