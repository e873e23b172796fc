// End of message: SPF, DKIM and DMARC verdicts into one Authentication-Results
// header (RFC 8601), forged ones removed, DMARC policy enforced.
#include <algorithm>
#include <set>

#include "auth/authres.hpp"
#include "auth/dkim.hpp"
#include "auth/dmarc.hpp"
#include "auth/spf.hpp"
#include "dns/resolver.hpp"
#include "policy/address.hpp"
#include "session/session.hpp"
#include "session/session_message.hpp"

namespace session {

namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20) || x == y;
           });
}

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
        if (!iequal(name, "From")) continue;
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

Outcome Session::authenticate_message() {
    Outcome out;
    auto& m = *message_;
    const auto& cfg = *runtime_->config;
    std::vector<auth::AuthResult> results;
    summary_.clear();
    out.quarantine_reason = m.quarantine_reason;

    if (local_ != policy::LocalSubmission::No) {
        // Nothing was authenticated: RFC 8601 section 2.2's "none". The log
        // says why.
        summary_ = " checks skipped (local submission)";
    } else if (!m.checked) {
        // Sessions with Bypass-Anti-Spam (authenticated users, externally
        // secured servers) are not checked; the header says how they came in.
        auth::AuthResult r;
        r.method = "auth";
        r.result = "pass";
        r.comment = rights_.externally_secured ? "externally secured connector" : "SMTP AUTH";
        if (rights_.authenticated && cfg.milter.auth_user_in_header)
            r.properties.emplace_back("smtp.auth", rights_.login);
        results.push_back(std::move(r));
        summary_ = rights_.externally_secured ? " auth=pass (externally secured)" : " auth=pass";
    } else {
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
        if (m.dkim) m.with_budget([&] { dkim = m.dkim->finish(); });
        if (runtime_->dkim && cfg.dkim.enabled) {
            if (dkim.empty()) {
                results.push_back({"dkim", "none", "", {}, ""});
                summary_ += " dkim=none";
            }
            for (const auto& sig : dkim) {
                auth::AuthResult r;
                r.method = "dkim";
                r.result = sig.result;
                if (sig.result != "pass" && !sig.reason.empty()) r.reason = sig.reason;
                r.properties.emplace_back("header.d", sig.domain);
                r.properties.emplace_back("header.s", sig.selector);
                if (!sig.algorithm.empty()) r.properties.emplace_back("header.a", sig.algorithm);
                if (!sig.b.empty()) r.properties.emplace_back("header.b", b_prefix(sig.b));
                results.push_back(std::move(r));
                summary_ += " dkim=" + sig.result + "(" + sig.domain + ")";
            }
        }
        // DMARC.
        if (runtime_->dmarc && cfg.dmarc.enabled) {
            auto from = author_domain(m.headers);
            if (!from.problem.empty()) {
                summary_ += " dmarc=permerror (" + from.problem + ")";
                results.push_back({"dmarc", "permerror", from.problem, {}, ""});
                if (cfg.dmarc.bad_from_action == config::Action::Reject ||
                    cfg.dmarc.bad_from_action == config::Action::TempFail) {
                    auto reply = connector_->replies.get(cfg.dmarc.bad_from_action == config::Action::Reject
                                                             ? policy::ReplyId::BadFrom
                                                             : policy::ReplyId::DmarcTempError);
                    return finish(policy::Verdict::refuse(reply, from.problem), "EOM");
                }
                if (cfg.dmarc.bad_from_action == config::Action::Quarantine)
                    out.quarantine_reason = "unusable From: header: " + from.problem;
            } else {
                auth::DmarcInput in;
                in.from_domain = from.domain;
                if (m.sender.null_path) {
                    in.spf_domain = helo_;
                    in.spf_result = m.spf_helo ? std::string(auth::spf_result_name(m.spf_helo->result))
                                    : spf    ? std::string(auth::spf_result_name(spf->result))
                                             : "none";
                } else {
                    in.spf_domain = domain_of(m.sender);
                    in.spf_result = spf ? std::string(auth::spf_result_name(spf->result)) : "none";
                }
                in.dkim = dkim;
                auth::DmarcVerdict v;
                m.with_budget([&] { v = runtime_->dmarc->evaluate(in, m.budget); });
                auth::AuthResult r;
                r.method = "dmarc";
                r.result = v.result;
                if (!v.policy.empty()) {
                    r.comment = "p=" + v.policy;
                    if (!v.subdomain_policy.empty()) r.comment += " sp=" + v.subdomain_policy;
                    r.comment += " dis=" + v.disposition;
                }
                r.properties.emplace_back("header.from", v.from_domain.empty() ? from.domain : v.from_domain);
                results.push_back(std::move(r));
                summary_ += " dmarc=" + v.result + (v.result == "fail" ? " dis=" + v.disposition : "");
                // The author domain's policy could not be learnt: with a policy
                // of reject it may have been a forgery, so ask the sender to
                // retry rather than deliver it unchecked.
                if (v.result == "temperror" && cfg.dmarc.defer_on_temperror) {
                    return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::DmarcTempError),
                                                          "DMARC temperror for " + from.domain + ": " + v.reason),
                                  "EOM");
                }
                if (v.result == "fail") {
                    // A fail that a temporary SPF or DKIM error may have caused
                    // is deferred rather than rejected (the sender retries).
                    if (v.fail_only_due_to_temperror && cfg.dmarc.defer_on_temperror) {
                        return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::DmarcTempError),
                                                              "DMARC fail for " + from.domain +
                                                                  " only because of a temporary error"),
                                      "EOM");
                    }
                    config::Action action = config::Action::Accept;
                    if (v.disposition == "reject") action = cfg.dmarc.reject_action;
                    else if (v.disposition == "quarantine") action = cfg.dmarc.quarantine_action;
                    if (action == config::Action::Reject) {
                        const auto reply =
                            connector_->replies.get(policy::ReplyId::DmarcReject).with_detail(" ", from.domain);
                        return finish(policy::Verdict::refuse(reply, "DMARC policy of " + v.policy_domain +
                                                                         ": " + v.reason),
                                      "EOM");
                    }
                    if (action == config::Action::TempFail) {
                        return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::DmarcTempError),
                                                              "DMARC fail for " + from.domain),
                                      "EOM");
                    }
                    if (action == config::Action::Quarantine)
                        out.quarantine_reason = "DMARC policy of " + from.domain;
                }
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
    std::string value = auth::format_authentication_results(runtime_->authserv_id, results);
    if (value.size() > 100) value = auth::format_authentication_results(runtime_->authserv_id, results, "\n\t");
    out.header_edits.push_back({HeaderEdit::Kind::Insert, "Authentication-Results", std::move(value), 0});
    return out;
}

}  // namespace session
