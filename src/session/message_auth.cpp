// End of message: SPF, DKIM and DMARC verdicts into one Authentication-Results
// header (RFC 8601), forged ones removed, DMARC policy enforced.
#include <algorithm>
#include <set>

#include "auth/arc.hpp"
#include "auth/authres.hpp"
#include "auth/dkim.hpp"
#include "auth/dmarc.hpp"
#include "auth/org_domain.hpp"
#include "auth/spf.hpp"
#include "dns/resolver.hpp"
#include "state/dmarc_evaluation.hpp"
#include "policy/address.hpp"
#include "session/auth_decisions.hpp"
#include "session/counters.hpp"
#include "session/dmarc_report_record.hpp"
#include "session/session.hpp"
#include "session/session_message.hpp"
#include "util/ascii.hpp"

namespace session {

namespace {

// The domain part of an address, or the address itself when it has no '@'.
std::string domain_of(const policy::SmtpPath& path) { return path.domain; }

// RFC 8601 section 2.7.1: header.b carries enough of the signature to tell
// several apart; eight characters is what common verifiers write.
std::string b_prefix(const std::string& b) { return b.substr(0, 8); }

struct FromCheck {
    std::string domain;  // the single author domain
    std::string problem; // why it is not usable
};

// RFC 9989 (and RFC 7489 section 6.6.1): DMARC needs exactly one author
// domain. No From:, several From: headers, several mailboxes with different
// domains, or a value that does not parse cannot be evaluated.
FromCheck author_domain(const std::vector<std::pair<std::string, std::string>>& headers) {
    FromCheck check;
    int from_headers = 0;
    std::set<std::string> domains;
    for (const auto& [name, value] : headers) {
        if (!util::ascii_iequals(name, "From")) continue;
        ++from_headers;
        auto list = policy::parse_mailbox_list(value);
        if (!list.error.empty()) {
            check.problem = "From: header does not parse: " + list.error;
            return check;
        }
        for (const auto& mb : list.mailboxes) {
            if (mb.domain.empty()) {
                check.problem = "From: address without a domain";
                return check;
            }
            domains.insert(mb.domain);
        }
    }
    if (from_headers == 0) check.problem = "no From: header";
    else if (from_headers > 1) check.problem = "more than one From: header";
    else if (domains.empty()) check.problem = "From: header without an address";
    else if (domains.size() > 1) check.problem = "From: addresses in different domains";
    else check.domain = *domains.begin();
    return check;
}

}  // namespace

// Issue 14: the questions end of message will ask, asked now and all at
// once, so that a message waits for one round trip there rather than one
// per key and record in turn. The answers come through the same resolver
// and cache; the checks read them with dns::ask(). Charged to the
// message's budget now; nothing is asked ahead unless the budget left
// covers these questions and everything the checks may still ask without
// them, so that asking ahead never leaves a check short of budget.
void Session::start_message_lookups() {
    auto& m = *message_;
    const auto& cfg = *runtime_->config;
    if (!runtime_->resolver) return;
    std::vector<std::string> names;
    if (m.dkim) names = m.dkim->key_names();
    // The ARC keys (within kArcReservedQueries, counted in `later` below).
    if (m.arc && m.checks.runs(policy::MessageCheck::Dkim) && runtime_->arc)
        for (auto& name : m.arc->key_names())
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    std::uint32_t later = 0;  // the most the end of message may ask
    if (m.checks.runs(policy::MessageCheck::Dkim)) later += cfg.dkim.max_signatures;
    if (m.checks.runs(policy::MessageCheck::Dkim) && runtime_->arc) later += auth::kArcReservedQueries;
    if (m.checks.runs(policy::MessageCheck::Dmarc)) {
        later += auth::kDmarcMaxQueries;
        const auto from = author_domain(m.from_headers);
        if (from.problem.empty())
            if (const auto author = auth::normalize_dmarc_domain(from.domain)) names.push_back("_dmarc." + *author);
    }
    if (names.empty()) return;
    const std::uint32_t left = m.max_queries > m.queries_used ? m.max_queries - m.queries_used : 0;
    if (left < later + names.size()) return;
    const std::uint32_t used_before = m.queries_used;
    m.with_budget(runtime_->now, [&] {
        for (const auto& name : names) m.prefetch.start(*runtime_->resolver, name, dns::Type::TXT, m.budget, cfg.dns.timeout);
    });
    m.asked_for_later += m.queries_used - used_before;
}

Outcome Session::authenticate_message() {
    Outcome out;
    auto& m = *message_;
    const auto& cfg = *runtime_->config;
    std::vector<auth::AuthResult> results;
    summary_.clear();
    out.quarantine_reason = m.quarantine_reason;
    out.quarantine_refusal = m.quarantine_refusal;
    out.quarantine_class = m.quarantine_class;

    if (auto login = smtp_auth_result(rights_, cfg.milter.auth_user_in_header)) {
        results.push_back(std::move(*login));
        summary_ += " auth=pass";
    }
    const std::string note = skipped_checks_note(m.checks, rights_, connector_->name);
    if (!note.empty()) summary_ += " (" + note + ")";
    // Nothing was authenticated: RFC 8601 section 2.2's "none". The log
    // says why.
    if (!m.checks.skipped(policy::CheckSkip::LocalSubmission).empty()) summary_ += " checks skipped (local submission)";

    // SPF (checked at MAIL).
    const auth::SpfVerdict* spf = m.spf_mailfrom ? &*m.spf_mailfrom : nullptr;
    if (spf) {
        auth::AuthResult r;
        r.method = "spf";
        r.result = std::string(auth::spf_result_name(spf->result));
        if (!m.sender.null_path) r.properties.emplace_back("smtp.mailfrom", domain_of(m.sender));
        if (!helo_.empty()) r.properties.emplace_back("smtp.helo", helo_);
        results.push_back(std::move(r));
        summary_ += " spf=" + std::string(auth::spf_result_name(spf->result));
    }
    // DKIM: every signature verified, in order (RFC 8601 section 2.7.1).
    std::vector<auth::DkimSignatureResult> dkim;
    if (m.dkim) m.with_budget(runtime_->now, [&] { dkim = m.dkim->finish(m.budget); });
    if (m.checks.runs(policy::MessageCheck::Dkim)) {
        if (dkim.empty()) {
            count_dkim_none();
            results.push_back({"dkim", "none", "", {}, ""});
            summary_ += " dkim=none";
        }
        for (const auto& sig : dkim) {
            count_dkim_result(sig.result);
            auth::AuthResult r;
            r.method = "dkim";
            r.result = std::string(auth::dkim_result_name(sig.result));
            if (sig.result != auth::DkimResult::Pass && !sig.reason.empty()) r.reason = sig.reason;
            r.properties.emplace_back("header.d", sig.domain);
            r.properties.emplace_back("header.s", sig.selector);
            if (!sig.algorithm.empty()) r.properties.emplace_back("header.a", sig.algorithm);
            if (!sig.b.empty()) r.properties.emplace_back("header.b", b_prefix(sig.b));
            results.push_back(std::move(r));
            summary_ += " dkim=" + std::string(auth::dkim_result_name(sig.result)) + "(" + sig.domain + ")";
        }
    }
    // ARC (RFC 8617), verified with DKIM; DMARC's queries stay reserved.
    std::optional<auth::ArcVerdict> arc;
    if (m.checks.runs(policy::MessageCheck::Dkim) && runtime_->arc) {
        arc.emplace();  // a message without header fields: none
        if (m.arc)
            m.with_budget(
                runtime_->now, [&] { arc = m.arc->finish(m.budget); },
                m.checks.runs(policy::MessageCheck::Dmarc) ? auth::kDmarcMaxQueries : 0);
        results.push_back(arc_result(*arc, connect_.client));
        count_arc_result(arc->result);
        summary_ += " arc=" + std::string(auth::arc_result_name(arc->result));
        if (arc->result == auth::ArcResult::Fail) summary_ += " (" + arc->reason + ")";
    }
    // DMARC.
    if (m.checks.runs(policy::MessageCheck::Dmarc)) {
        auto from = author_domain(m.from_headers);
        if (!from.problem.empty()) {
            summary_ += " dmarc=permerror (" + from.problem + ")";
            count_dmarc_result(auth::DmarcResult::PermError);
            results.push_back({"dmarc", "permerror", from.problem, {}, ""});
            switch (decide_bad_from(cfg.dmarc)) {
                case CheckAction::Reject:
                    return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::BadFrom), from.problem,
                                                          policy::ReasonClass::Dmarc),
                                  "EOM");
                case CheckAction::Defer:
                    return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::DmarcTempError),
                                                          from.problem, policy::ReasonClass::Dmarc),
                                  "EOM");
                case CheckAction::Quarantine:
                    out.quarantine_reason = "unusable From: header: " + from.problem;
                    out.quarantine_refusal = connector_->replies.get(policy::ReplyId::BadFrom);
                    out.quarantine_class = policy::ReasonClass::Dmarc;
                    break;
                case CheckAction::Deliver: break;
            }
        } else {
            auth::DmarcInput in;
            in.from_domain = from.domain;
            if (m.sender.null_path) {
                in.spf_domain = helo_;
                in.spf_result = m.spf_helo ? m.spf_helo->result : spf ? spf->result : auth::SpfResult::None;
            } else {
                in.spf_domain = domain_of(m.sender);
                in.spf_result = spf ? spf->result : auth::SpfResult::None;
            }
            in.dkim = dkim;
            auth::DmarcVerdict v;
            m.with_budget(runtime_->now, [&] { v = runtime_->dmarc->evaluate(in, m.budget); });
            const auto& forwarders = connector_->trusted_forwarders;
            const bool trusted_forwarder =
                connect_.client && std::any_of(forwarders.begin(), forwarders.end(), [&](const policy::IpRange& r) {
                    return r.contains(*connect_.client);
                });
            apply_dmarc_override(v, arc, cfg.arc.trusted_arc_sealers, trusted_forwarder);
            results.push_back(dmarc_result(v, from.domain));
            count_dmarc_result(dmarc_reported_result(v));
            summary_ += " dmarc=" + std::string(auth::dmarc_result_name(dmarc_reported_result(v))) +
                        (v.result == auth::DmarcResult::Fail
                             ? " dis=" + std::string(auth::dmarc_policy_name(v.disposition))
                             : "") +
                        (v.override_reason != auth::DmarcOverride::None
                             ? " override=" + std::string(auth::dmarc_override_name(v.override_reason)) + " (" +
                                   v.override_comment + ")"
                             : "");
            const DmarcDecision decision = decide_dmarc(cfg.dmarc, v, from.domain);
            // RFC 9990: every evaluation under a record that asks for
            // aggregate reports is recorded, whatever it leads to.
            if (runtime_->dmarc_reports && !v.rua.empty() && !v.policy_domain.empty() &&
                !is_own_report(m.sender.address(), cfg.dmarc.reports.from)) {
                EvaluationFacts facts;
                facts.reporter = runtime_->authserv_id;
                if (connect_.client) facts.source_ip = connect_.client->to_string();
                facts.envelope_from = m.sender.null_path ? std::string() : domain_of(m.sender);
                if (!m.recipients.empty()) facts.envelope_to = m.recipients.front().domain;
                facts.spf_checked = m.sender.null_path ? (m.spf_helo.has_value() || spf != nullptr) : spf != nullptr;
                facts.spf_scope_helo = m.sender.null_path;
                if (m.sender.null_path) facts.helo = helo_;
                facts.spf_domain = in.spf_domain;
                facts.spf_result = in.spf_result;
                facts.dkim = dkim;
                runtime_->dmarc_reports->record(dmarc_evaluation(facts, v, decision));
            }
            switch (decision.action) {
                case DmarcAction::Defer:
                    return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::DmarcTempError),
                                                          decision.reason, policy::ReasonClass::Dmarc),
                                  "EOM");
                case DmarcAction::Reject: {
                    const auto reply =
                        connector_->replies.get(policy::ReplyId::DmarcReject).with_detail(" ", from.domain);
                    return finish(policy::Verdict::refuse(reply, decision.reason, policy::ReasonClass::Dmarc), "EOM");
                }
                case DmarcAction::Quarantine:
                    out.quarantine_reason = decision.reason;
                    out.quarantine_refusal =
                        connector_->replies.get(policy::ReplyId::DmarcReject).with_detail(" ", from.domain);
                    out.quarantine_class = policy::ReasonClass::Dmarc;
                    break;
                case DmarcAction::Deliver: break;
            }
        }
    }

    // Forged headers first, from the highest index down (indexes of the
    // ones before stay valid while deleting).
    auto forged = m.forged_authres;
    std::sort(forged.rbegin(), forged.rend());
    for (int index : forged) out.header_edits.push_back({HeaderEdit::Kind::Delete, "Authentication-Results", "", index});
    if (!forged.empty()) summary_ += " removed " + std::to_string(forged.size()) + " forged Authentication-Results";
    // Received-SPF (optional) then Authentication-Results, both at the top;
    // inserted in this order, A-R ends up first, above the MTA's Received:.
    if (cfg.spf.received_spf_header && m.spf_mailfrom && !m.spf_mailfrom->received_spf.empty())
        out.header_edits.push_back({HeaderEdit::Kind::Insert, "Received-SPF", m.spf_mailfrom->received_spf, 0});
    out.header_edits.push_back({HeaderEdit::Kind::Insert, "Authentication-Results",
                                authentication_results_value(runtime_->authserv_id, results, note), 0});
    return out;
}

}  // namespace session
