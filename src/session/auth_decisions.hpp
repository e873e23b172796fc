// The end-of-message authentication decisions as pure functions of plain
// values: what the Authentication-Results header says, and what a DMARC
// verdict leads to under the configured actions. No session, no DNS: unit
// tests drive them directly, the session only applies what they return.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authres.hpp"
#include "auth/dmarc.hpp"
#include "config/settings.hpp"
#include "policy/message_checks.hpp"
#include "policy/session_rights.hpp"

namespace session {

// RFC 8601 section 2.7.4: "auth" reports an SMTP AUTH (RFC 4954) login and
// nothing else. nullopt unless the session really logged in; the login goes
// in smtp.auth only when `show_login` ([milter] auth_user_in_header).
std::optional<auth::AuthResult> smtp_auth_result(const policy::SessionRights& rights, bool show_login);

// The comment written after the authserv-id when the connector or the
// session's rights kept checks from running, e.g.
//   spf, dkim, dmarc not checked: Ms-Exch-Bypass-Anti-Spam on connector "Anonymous Relay"
//   spf, dmarc not checked on connector "Anonymous Relay"
// and "" when every check that is enabled ran (checks disabled in
// [spf]/[dkim]/[dmarc] are simply absent, as before), when an SMTP AUTH
// login's Bypass-Anti-Spam skipped them (its auth=pass says it) and for a
// local submission (a bare "none"; the log line says why).
std::string skipped_checks_note(const policy::CheckPlan& plan, const policy::SessionRights& rights,
                                std::string_view connector_name);

// The DMARC result as written in the header. A fail that an SPF or DKIM
// temperror may have caused (an aligned identifier had a temperror) is
// "temperror": the evaluation did not reach a final result and a later
// attempt may give one (RFC 7489 section 11.2, the dmarc results of the
// RFC 8601 registry), whatever action the configuration takes on it.
auth::DmarcResult dmarc_reported_result(const auth::DmarcVerdict& v);

// The dmarc resinfo: result, "(p=... sp=... dis=...)" and header.from.
auth::AuthResult dmarc_result(const auth::DmarcVerdict& v, std::string_view author_domain);

enum class DmarcAction : std::uint8_t { Deliver, Quarantine, Reject, Defer };

struct DmarcDecision {
    DmarcAction action = DmarcAction::Deliver;
    std::string reason;  // for the log line or the quarantine reason; "" for Deliver
};

// [dmarc] settings applied to a verdict:
// - temperror, and a fail only due to a temperror, are deferred when
//   defer_on_temperror is set (the sender retries, nothing unchecked is
//   delivered); otherwise a temperror is delivered and such a fail is
//   handled as a fail;
// - a fail gets reject_action (p=reject) or quarantine_action
//   (p=quarantine); Header and Accept only report it.
DmarcDecision decide_dmarc(const config::DmarcSettings& settings, const auth::DmarcVerdict& v,
                           std::string_view author_domain);

}  // namespace session
