// The end-of-message authentication decisions as pure functions of plain
// values: what the Authentication-Results header says, and what a DMARC
// verdict leads to under the configured actions. No session, no DNS: unit
// tests drive them directly, the session only applies what they return.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/arc.hpp"
#include "auth/authres.hpp"
#include "auth/dmarc.hpp"
#include "auth/spf.hpp"
#include "config/settings.hpp"
#include "policy/ip_address.hpp"
#include "policy/message_checks.hpp"
#include "policy/replies.hpp"
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

// The arc resinfo (RFC 8617 section 10.1, the "arc" method of the RFC 8601
// registry): arc=pass|fail|none; a comment with the newest instance and its
// sealer ("i=2 as.d=lists.example"); for a fail, the reason; and
// smtp.remote-ip, the address of the client that handed us the sealed
// message (section 10 suggests recording it, as the next sealer's AAR
// would); header.oldest-pass when older message signatures no longer
// validate (section 5.2 step 5).
auth::AuthResult arc_result(const auth::ArcVerdict& v, const std::optional<policy::IpAddress>& client);

// Local policy over a DMARC fail (RFC 9989 section 5.3 and RFC 7489 section
// 6.7 let the receiver deviate; RFC 8617 section 7.2 is ARC's use case):
// when the fail has a disposition other than none and
// - the client is one of the connector's trusted_forwarders, or
// - the ARC chain passes and a seal by one of `trusted_sealers` (the newest
//   such set) carries ARC-Authentication-Results with dmarc=pass for the
//   same author domain (header.from, when it names one),
// the disposition becomes none, and override_reason/override_comment say
// why (trusted_forwarder / local_policy). A temperror-caused fail is left
// alone (the sender retries). Returns whether it overrode.
bool apply_dmarc_override(auth::DmarcVerdict& v, const std::optional<auth::ArcVerdict>& arc,
                          const std::vector<std::string>& trusted_sealers, bool from_trusted_forwarder);

// The DMARC result as written in the header. A fail that an SPF or DKIM
// temperror may have caused (an aligned identifier had a temperror) is
// "temperror": the evaluation did not reach a final result and a later
// attempt may give one (RFC 7489 section 11.2, the dmarc results of the
// RFC 8601 registry), whatever action the configuration takes on it.
auth::DmarcResult dmarc_reported_result(const auth::DmarcVerdict& v);

// The dmarc resinfo: result, "(p=... sp=... dis=...)" and header.from.
auth::AuthResult dmarc_result(const auth::DmarcVerdict& v, std::string_view author_domain);

// What a check's verdict does to the message, after the configured
// actions ([spf] *_action, [dmarc] *_action, bad_from_action).
enum class CheckAction : std::uint8_t { Deliver, Quarantine, Reject, Defer };
using DmarcAction = CheckAction;

// One mapping for every configured action: Reject refuses, TempFail
// defers, Quarantine holds the message, Header and Accept deliver (the
// verdict is only reported in Authentication-Results).
CheckAction check_action(config::Action action);

struct DmarcDecision {
    DmarcAction action = DmarcAction::Deliver;
    std::string reason;  // for the log line or the quarantine reason; "" for Deliver
};

// [spf] settings applied to one SPF verdict (RFC 7208 section 8):
// fail/softfail/temperror/permerror_action; pass, neutral and none deliver.
// Reject refuses with `reply` (550 5.7.23 for fail, 5.7.24 for permerror,
// RFC 7372), and a fail's explanation (RFC 7208 section 6.2) is appended
// to it; Defer answers 451 4.7.24 whatever the result.
struct SpfDecision {
    CheckAction action = CheckAction::Deliver;
    policy::ReplyId reply = policy::ReplyId::SpfFail;
    std::string reason;       // "SPF MAIL FROM example.org: fail (...)"; "" for Deliver
    std::string explanation;  // non-empty only for a refused fail with an exp= text
};
// `which`: the identity checked, "MAIL FROM", "HELO" or "HELO (null sender)".
SpfDecision decide_spf(const config::SpfSettings& settings, const auth::SpfVerdict& v, std::string_view which);

// [dmarc] bad_from_action for a message without exactly one usable author
// domain (RFC 9989 needs one): Reject uses the bad_from reply, TempFail the
// DMARC temperror one.
CheckAction decide_bad_from(const config::DmarcSettings& settings);

// An Authentication-Results header value longer than this is folded before
// each resinfo: RFC 5322 section 2.1.1 asks for lines of at most 78
// characters; the authserv-id and one short result fit on the first line.
inline constexpr std::size_t kAuthResFoldAbove = 100;

// The value of our Authentication-Results header: one line when it is
// short, folded with "\n\t" before each resinfo otherwise (the MTA turns
// "\n" into its line ending).
std::string authentication_results_value(std::string_view authserv_id, const std::vector<auth::AuthResult>& results,
                                         std::string_view note);

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
