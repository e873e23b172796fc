#include "session/auth_decisions.hpp"

#include <algorithm>

#include "util/ascii.hpp"

namespace session {

std::optional<auth::AuthResult> smtp_auth_result(const policy::SessionRights& rights, bool show_login) {
    // An externally secured connector or a mapped certificate gives rights
    // without a login: no "auth" result for them.
    if (!rights.authenticated) return std::nullopt;
    auth::AuthResult r;
    r.method = "auth";
    r.result = "pass";
    r.comment = "SMTP AUTH";
    if (show_login) r.properties.emplace_back("smtp.auth", rights.login);
    return r;
}

std::string skipped_checks_note(const policy::CheckPlan& plan, const policy::SessionRights& rights,
                                std::string_view connector_name) {
    const std::string connector = "connector \"" + std::string(connector_name) + "\"";
    if (const auto bypassed = plan.skipped(policy::CheckSkip::BypassAntiSpam); !bypassed.empty()) {
        // A user's own submission: auth=pass already says why nothing else
        // was checked (RFC 6409 section 8: the submission server trusts it).
        if (rights.authenticated) return {};
        return bypassed.to_string() + " not checked: " +
               (rights.externally_secured ? "externally secured session with " : "") +
               "Ms-Exch-Bypass-Anti-Spam on " + connector;
    }
    if (const auto left_out = plan.skipped(policy::CheckSkip::NotOnConnector); !left_out.empty())
        return left_out.to_string() + " not checked on " + connector;
    return {};
}

auth::AuthResult arc_result(const auth::ArcVerdict& v, const std::optional<policy::IpAddress>& client) {
    auth::AuthResult r;
    r.method = "arc";
    r.result = std::string(auth::arc_result_name(v.result));
    if (v.result == auth::ArcResult::None) return r;
    r.comment = "i=" + std::to_string(v.instances);
    if (v.result == auth::ArcResult::Pass && !v.sets.empty()) r.comment += " as.d=" + v.sets.back().seal_domain;
    if (v.result == auth::ArcResult::Fail) r.reason = v.reason;
    if (client) r.properties.emplace_back("smtp.remote-ip", client->to_string());
    if (v.result == auth::ArcResult::Pass && v.oldest_pass > 0)
        r.properties.emplace_back("header.oldest-pass", std::to_string(v.oldest_pass));
    return r;
}

namespace {

// The first dmarc=pass for `author_domain` in an ARC-Authentication-Results
// payload.
bool aar_shows_dmarc_pass(const std::string& payload, const std::string& author_domain) {
    const auto parsed = auth::parse_authentication_results(payload);
    if (!parsed) return false;
    for (const auto& r : parsed->results) {
        if (r.method != "dmarc" || !util::ascii_iequals(r.result, "pass")) continue;
        bool same_author = true;
        for (const auto& [name, value] : r.properties)
            if (name == "header.from") same_author = util::dns_name_key(value) == util::dns_name_key(author_domain);
        if (same_author) return true;
    }
    return false;
}

}  // namespace

bool apply_dmarc_override(auth::DmarcVerdict& v, const std::optional<auth::ArcVerdict>& arc,
                          const std::vector<std::string>& trusted_sealers, bool from_trusted_forwarder) {
    if (v.result != auth::DmarcResult::Fail || v.fail_only_due_to_temperror ||
        v.disposition == auth::DmarcPolicy::None)
        return false;
    if (from_trusted_forwarder) {
        v.override_reason = auth::DmarcOverride::TrustedForwarder;
        v.override_comment = "client is a trusted forwarder";
    } else if (arc && arc->result == auth::ArcResult::Pass) {
        for (auto set = arc->sets.rbegin(); set != arc->sets.rend(); ++set) {
            const std::string sealer = util::dns_name_key(set->seal_domain);
            if (std::find(trusted_sealers.begin(), trusted_sealers.end(), sealer) == trusted_sealers.end()) continue;
            if (!aar_shows_dmarc_pass(set->authentication_results, v.from_domain)) continue;
            v.override_reason = auth::DmarcOverride::LocalPolicy;
            v.override_comment = "arc=pass, trusted sealer " + sealer + " (i=" + std::to_string(set->instance) +
                                 ") saw dmarc=pass";
            break;
        }
    }
    if (v.override_reason == auth::DmarcOverride::None) return false;
    v.disposition = auth::DmarcPolicy::None;
    return true;
}

auth::DmarcResult dmarc_reported_result(const auth::DmarcVerdict& v) {
    if (v.result == auth::DmarcResult::Fail && v.fail_only_due_to_temperror) return auth::DmarcResult::TempError;
    return v.result;
}

auth::AuthResult dmarc_result(const auth::DmarcVerdict& v, std::string_view author_domain) {
    auth::AuthResult r;
    r.method = "dmarc";
    r.result = std::string(auth::dmarc_result_name(dmarc_reported_result(v)));
    if (!v.policy.empty()) {
        r.comment = "p=" + v.policy;
        if (!v.subdomain_policy.empty()) r.comment += " sp=" + v.subdomain_policy;
        r.comment += " dis=" + std::string(auth::dmarc_policy_name(v.disposition));
    }
    if (v.override_reason != auth::DmarcOverride::None) {
        // RFC 8601 section 2.3 "policy" ptype: what the receiver applied
        // instead, and why in the reason.
        r.reason = "policy overridden: " + v.override_comment;
        r.properties.emplace_back("policy.override", std::string(auth::dmarc_override_name(v.override_reason)));
    }
    r.properties.emplace_back("header.from", v.from_domain.empty() ? std::string(author_domain) : v.from_domain);
    return r;
}

DmarcDecision decide_dmarc(const config::DmarcSettings& settings, const auth::DmarcVerdict& v,
                           std::string_view author_domain) {
    const std::string from(author_domain);
    // The author domain's policy could not be learnt: with a policy of
    // reject it may have been a forgery, so ask the sender to retry rather
    // than deliver it unchecked.
    if (v.result == auth::DmarcResult::TempError) {
        if (settings.defer_on_temperror) return {DmarcAction::Defer, "DMARC temperror for " + from + ": " + v.reason};
        return {};
    }
    if (v.result != auth::DmarcResult::Fail) return {};
    // A fail that a temporary SPF or DKIM error may have caused is deferred
    // rather than enforced (the sender retries).
    if (v.fail_only_due_to_temperror && settings.defer_on_temperror)
        return {DmarcAction::Defer, "DMARC fail for " + from + " only because of a temporary error"};
    config::Action action = config::Action::Accept;
    switch (v.disposition) {
        case auth::DmarcPolicy::Reject: action = settings.reject_action; break;
        case auth::DmarcPolicy::Quarantine: action = settings.quarantine_action; break;
        case auth::DmarcPolicy::None: break;
    }
    switch (check_action(action)) {
        case CheckAction::Reject: return {CheckAction::Reject, "DMARC policy of " + v.policy_domain + ": " + v.reason};
        case CheckAction::Defer: return {CheckAction::Defer, "DMARC fail for " + from};
        case CheckAction::Quarantine: return {CheckAction::Quarantine, "DMARC policy of " + from};
        case CheckAction::Deliver: break;
    }
    return {};
}

CheckAction check_action(config::Action action) {
    switch (action) {
        case config::Action::Reject: return CheckAction::Reject;
        case config::Action::TempFail: return CheckAction::Defer;
        case config::Action::Quarantine: return CheckAction::Quarantine;
        case config::Action::Accept:
        case config::Action::Header: return CheckAction::Deliver;
    }
    return CheckAction::Deliver;
}

SpfDecision decide_spf(const config::SpfSettings& settings, const auth::SpfVerdict& v, std::string_view which) {
    SpfDecision d;
    config::Action action = config::Action::Accept;
    switch (v.result) {
        case auth::SpfResult::Fail: action = settings.fail_action; break;
        case auth::SpfResult::SoftFail: action = settings.softfail_action; break;
        case auth::SpfResult::TempError:
            action = settings.temperror_action;
            d.reply = policy::ReplyId::SpfTempError;
            break;
        case auth::SpfResult::PermError:
            action = settings.permerror_action;
            d.reply = policy::ReplyId::SpfPermError;
            break;
        case auth::SpfResult::Pass:
        case auth::SpfResult::Neutral:
        case auth::SpfResult::None: return d;
    }
    d.action = check_action(action);
    if (d.action == CheckAction::Deliver) return d;
    if (d.action == CheckAction::Defer) d.reply = policy::ReplyId::SpfTempError;
    d.reason = "SPF " + std::string(which) + " " + v.identity + ": " + std::string(auth::spf_result_name(v.result));
    if (!v.comment.empty()) d.reason += " (" + v.comment + ")";
    if (d.action == CheckAction::Reject && v.result == auth::SpfResult::Fail) d.explanation = v.explanation;
    return d;
}

CheckAction decide_bad_from(const config::DmarcSettings& settings) { return check_action(settings.bad_from_action); }

std::string authentication_results_value(std::string_view authserv_id, const std::vector<auth::AuthResult>& results,
                                         std::string_view note) {
    std::string value = auth::format_authentication_results(authserv_id, results, "", note);
    if (value.size() > kAuthResFoldAbove) value = auth::format_authentication_results(authserv_id, results, "\n\t", note);
    return value;
}

}  // namespace session
