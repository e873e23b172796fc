#include "session/dmarc_report_record.hpp"

#include <algorithm>

#include "util/ascii.hpp"

namespace session {

namespace {

// RFC 9990 section 3.1.2.1 "DKIM Signatures in Aggregate Reports": at most
// 100 signatures per row, passing ones first. Our verifier stops at
// [dkim] max_signatures (at most 100) already; passes go first here.
constexpr std::size_t kMaxReportedSignatures = 100;

}  // namespace

bool is_own_report(std::string_view mail_from_address, std::string_view report_sender) {
    return !report_sender.empty() && util::ascii_iequals(mail_from_address, report_sender);
}

state::DmarcEvaluation dmarc_evaluation(const EvaluationFacts& facts, const auth::DmarcVerdict& v,
                                        const DmarcDecision& decision) {
    state::DmarcEvaluation e;
    e.reporter = facts.reporter;
    e.policy_domain = v.policy_domain;
    e.organizational_domain = v.organizational_domain.empty() ? v.policy_domain : v.organizational_domain;
    e.rua = v.rua;
    e.source_ip = facts.source_ip;
    e.header_from = v.from_domain;
    e.envelope_from = facts.envelope_from;
    e.helo = facts.helo;
    e.envelope_to = facts.envelope_to;
    if (facts.spf_checked) {
        e.spf_domain = facts.spf_domain;
        e.spf_scope = facts.spf_scope_helo ? "helo" : "mfrom";
        e.spf_result = std::string(auth::spf_result_name(facts.spf_result));
    }
    std::vector<const auth::DkimSignatureResult*> sigs;
    for (const auto& s : facts.dkim) sigs.push_back(&s);
    std::stable_partition(sigs.begin(), sigs.end(),
                          [](const auth::DkimSignatureResult* s) { return s->result == auth::DkimResult::Pass; });
    if (sigs.size() > kMaxReportedSignatures) sigs.resize(kMaxReportedSignatures);
    for (const auto* s : sigs) e.dkim.push_back({s->domain, s->selector, std::string(auth::dkim_result_name(s->result))});
    e.p = v.policy;
    e.sp = v.subdomain_policy;
    e.np = v.np;
    e.fo = v.fo;
    e.testing = v.testing ? 'y' : 'n';
    e.adkim = v.strict_dkim ? 's' : 'r';
    e.aspf = v.strict_spf ? 's' : 'r';
    e.psd = v.psd;
    e.discovery = v.discovery == auth::DmarcDiscovery::PublicSuffixList ? "psl" : "treewalk";
    e.dmarc_result = std::string(auth::dmarc_result_name(dmarc_reported_result(v)));
    e.dkim_aligned = v.dkim_aligned;
    e.spf_aligned = v.spf_aligned;

    // What the policy asked for this message (after t=y lowered it).
    const std::string asked =
        v.result == auth::DmarcResult::Fail ? std::string(auth::dmarc_policy_name(v.disposition)) : "none";
    switch (decision.action) {
        case CheckAction::Reject: e.disposition = "reject"; break;
        case CheckAction::Quarantine: e.disposition = "quarantine"; break;
        case CheckAction::Defer:
            // Neither delivered nor refused for good: the sender retries.
            e.disposition = "none";
            e.reason_type = "other";
            e.reason_comment = "deferred with a temporary error (the sender may retry): " + decision.reason;
            return e;
        case CheckAction::Deliver:
            e.disposition = v.result == auth::DmarcResult::Pass && !v.applied_policy.empty() && v.applied_policy != "none"
                                ? "pass"
                                : "none";
            break;
    }
    if (v.result != auth::DmarcResult::Fail) return e;
    // A trusted forwarder or trusted ARC sealer already lowered the
    // disposition to none (apply_dmarc_override): the report says which,
    // in RFC 9990's words, rather than nothing.
    if (v.override_reason != auth::DmarcOverride::None) {
        e.reason_type = std::string(auth::dmarc_override_name(v.override_reason));
        e.reason_comment = v.override_comment;
        return e;
    }
    if (v.testing && v.applied_policy != asked && e.disposition == asked) {
        e.reason_type = "policy_test_mode";
        e.reason_comment = "t=y: " + v.applied_policy + " applied as " + asked;
    } else if (e.disposition != asked) {
        e.reason_type = "local_policy";
        e.reason_comment = "the receiver's configuration applies " + e.disposition + " instead of " + asked;
    }
    return e;
}

}  // namespace session
