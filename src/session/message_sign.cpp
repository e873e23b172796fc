// DKIM signing of one message (RFC 6376 section 5), decided by the
// connector and the principal (policy/signing.hpp), keys chosen by the
// signing table from the From: address (or the envelope sender).
//
// What is signed is the message as it will be delivered: the headers the
// MTA sent us minus the forged Authentication-Results we remove; the
// headers we add (our Authentication-Results, Received-SPF) are added
// after the signature is computed and are not in the signed list.
#include <algorithm>

#include "auth/dkim.hpp"
#include "auth/dkim_signer.hpp"
#include "policy/address.hpp"
#include "policy/signing.hpp"
#include "session/counters.hpp"
#include "session/session.hpp"
#include "session/session_message.hpp"
#include "util/ascii.hpp"

namespace session {

namespace {

// The value of tag `name` in a DKIM-Signature (RFC 6376 section 3.2
// tag-list), white space removed; empty when absent.
std::string tag_value(std::string_view value, std::string_view name) {
    while (!value.empty()) {
        const std::size_t semi = value.find(';');
        std::string_view spec = value.substr(0, semi);
        value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
        const std::size_t eq = spec.find('=');
        if (eq == std::string_view::npos) continue;
        std::string tag;
        for (char c : spec.substr(0, eq))
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') tag += c;
        if (tag != name) continue;
        std::string out;
        for (char c : spec.substr(eq + 1))
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
        return out;
    }
    return {};
}

}  // namespace

std::string Session::signing_plan(std::string_view address) const {
    if (!runtime_->signer || !connector_) return {};
    const auto& opts = runtime_->config->dkim_signing;
    const bool builtin_local = connector_ == &runtime_->config->connectors.builtin_local();
    const bool connector_signs = builtin_local ? opts.sign_local_submissions : connector_->dkim_sign;
    const auto decision = policy::decide_signing(*connector_, connector_signs, rights_, local_);
    if (!decision.sign) return "not signed: " + decision.why;
    const std::size_t at = address.rfind('@');
    if (at == std::string_view::npos) return "would sign, but \"" + std::string(address) + "\" has no domain";
    const auto selection = auth::choose_signing_keys(opts, address.substr(0, at), address.substr(at + 1));
    if (!selection.error.empty())
        return "signing fails (failure_action " +
               std::string(opts.on_failure == auth::DkimSignFailure::TempFail ? "tempfail" : "accept") +
               "): " + selection.error;
    if (selection.choices.empty()) return "not signed: no signing table entry for " + std::string(address);
    std::string out = "would sign as";
    std::string why;
    for (std::size_t i = 0; i < selection.choices.size(); ++i) {
        const auto& c = selection.choices[i];
        out += (i ? " + d=" : " d=") + c.domain + " s=" + c.key->selector + " a=" +
               std::string(auth::dkim_sign_algorithm(c.key->type));
        if (!c.identity.empty()) out += " i=" + c.identity;
        why += (i ? "; " : "") + c.why;
        if (!c.identity_dropped.empty()) why += "; " + c.identity_dropped;
    }
    return out + " (" + why + "; " + decision.why + ")";
}

void Session::plan_signing() {
    auto& m = *message_;
    if (!runtime_->signer || !connector_) return;
    const auto& opts = runtime_->config->dkim_signing;
    const bool builtin_local = connector_ == &runtime_->config->connectors.builtin_local();
    const bool connector_signs = builtin_local ? opts.sign_local_submissions : connector_->dkim_sign;
    const auto decision = policy::decide_signing(*connector_, connector_signs, rights_, local_);
    m.sign_wanted = decision.sign;
    m.sign_why = decision.why;
}

void Session::start_signing() {
    auto& m = *message_;
    if (!m.sign_wanted) return;
    const auto& opts = runtime_->config->dkim_signing;
    // The address whose domain signs: From: by default (RFC 7489 section
    // 3.1.1, DMARC alignment), else the envelope sender.
    std::string local, domain;
    if (opts.identity == auth::DkimSignIdentity::EnvelopeFrom) {
        if (!m.sender.null_path) {
            local = m.sender.local_part;
            domain = m.sender.domain;
        }
    } else if (!m.from_headers.empty()) {
        const auto list = policy::parse_mailbox_list(m.from_headers.front().second);
        if (list.error.empty() && !list.mailboxes.empty()) {
            local = list.mailboxes.front().local_part;
            domain = list.mailboxes.front().domain;
        }
    }
    if (domain.empty()) {
        m.sign_skipped = opts.identity == auth::DkimSignIdentity::EnvelopeFrom ? "no envelope sender domain"
                                                                              : "no usable From: address";
        m.sign_headers = {};
        return;
    }
    auto selection = auth::choose_signing_keys(opts, local, domain);
    if (!selection.error.empty()) {
        m.sign_problem = selection.error;
        m.sign_headers = {};
        return;
    }
    if (selection.choices.empty()) {
        m.sign_skipped = "no signing table entry for " + local + "@" + domain;
        m.sign_headers = {};
        return;
    }
    m.sign_choices = std::move(selection.choices);
    m.signer = runtime_->signer->start(queue_id_, m.sign_choices, m.sign_headers);
    // A signature of ours already present (the message passes us twice)
    // is checked against our own public keys; a valid one is not made again.
    bool ours = false;
    for (const auto& [name, value] : m.sign_headers) {
        if (!util::ascii_iequals(name, "DKIM-Signature")) continue;
        const std::string d = util::dns_name_key(tag_value(value, "d"));
        const std::string s = util::ascii_lower(tag_value(value, "s"));
        for (const auto& c : m.sign_choices)
            if (c.domain == d && c.key->selector == s) ours = true;
    }
    if (ours && runtime_->own_signatures) {
        m.own_check = runtime_->own_signatures->start(queue_id_);
        for (const auto& [name, value] : m.sign_headers) m.own_check->header(name, value);
        m.own_check->end_of_headers();
    }
    m.sign_headers = {};  // the signature makers and own_check hold what they need
}

void Session::sign_body(std::string_view chunk) {
    auto& m = *message_;
    if (m.signer) m.signer->body(chunk);
    if (m.own_check) m.own_check->body(chunk);
}

Outcome Session::sign_message(Outcome outcome) {
    auto& m = *message_;
    if (!m.sign_wanted) return outcome;
    const auto& opts = runtime_->config->dkim_signing;
    std::vector<auth::DkimSignature> made;
    std::string problem = m.sign_problem;
    if (!problem.empty()) count_dkim_signature("", false);  // no key to sign with
    if (m.signer) {
        made = m.signer->finish();
        m.signer.reset();
    }
    // Our own valid signatures already present: those keys do not sign again.
    std::vector<std::string> already;
    if (m.own_check) {
        auto budget = dns::Budget::unlimited();
        for (const auto& r : m.own_check->finish(budget))
            if (r.result == auth::DkimResult::Pass)
                already.push_back(util::dns_name_key(r.domain) + "/" + util::ascii_lower(r.selector));
        m.own_check.reset();
    }
    std::vector<std::string> lines;
    for (auto& sig : made) {
        std::string id = "d=" + sig.domain + " s=" + sig.selector + " a=" + sig.algorithm;
        if (!sig.identity.empty()) id += " i=" + sig.identity;
        if (std::find(already.begin(), already.end(), sig.domain + "/" + sig.selector) != already.end()) {
            lines.push_back("not signed again: " + id + " (the message carries our valid signature)");
            continue;
        }
        if (!sig.error.empty()) {
            count_dkim_signature(sig.algorithm, false);
            if (problem.empty()) problem = id + ": " + sig.error;
            continue;
        }
        count_dkim_signature(sig.algorithm, true);
        lines.push_back("signed " + id + " (" + sig.why + ")");
        outcome.header_edits.push_back({HeaderEdit::Kind::Insert, "DKIM-Signature", std::move(sig.header_value), 0});
    }
    if (!problem.empty()) {
        if (opts.on_failure == auth::DkimSignFailure::TempFail) {
            // Nothing leaves unsigned by accident: the MTA keeps the message
            // and tries again (RFC 3463 4.3.0).
            return finish(policy::Verdict::refuse(policy::internal_error_reply(),
                                                  "DKIM signing failed: " + problem +
                                                      " (dkim_signing.failure_action = tempfail)",
                                                  policy::ReasonClass::Dkim),
                          "EOM");
        }
        // failure_action = accept: delivered without the failed signature
        // (the others, if any, are kept).
        lines.push_back("DKIM signing failed, delivered without that signature "
                        "(dkim_signing.failure_action = accept): " + problem);
    }
    if (lines.empty() && !m.sign_skipped.empty()) lines.push_back("not signed: " + m.sign_skipped);
    for (const auto& line : lines) {
        policy::Verdict note;
        note.reason = line + "; " + m.sign_why;
        log_line("SIGN", note);
        summary_ += " " + line.substr(0, line.find(' ', line.find("a=")));
    }
    return outcome;
}

}  // namespace session
