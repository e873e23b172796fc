// Every SMTP reply the policy can give, with Exchange's texts as defaults.
// Each is overridable per connector ([connector.replies] in the config).
//
// Every reply, default, override or built at run time, must be one that both
// MTAs take from a milter; check_reply() holds the union of their rules.  A
// reply Postfix refuses is worse than a wrong text: Postfix logs "malformed
// reply", answers 451 4.3.5 itself and stops asking the milter for the rest
// of the session, so with milter_default_action = accept every connector rule
// is skipped (issue 11, item 1).
#pragma once
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace policy {

struct Reply {
    std::string code;      // "550"
    std::string xcode;     // "5.7.54" (RFC 3463); may be empty
    std::string text;      // "SMTP; Unable to relay recipient in non-accepted domain"

    bool permanent() const { return !code.empty() && code[0] == '5'; }
    std::string to_string() const;  // "550 5.7.54 SMTP; Unable to relay ..."

    // "550 5.7.54 text", accepted only when check_reply() finds no problem.
    static std::optional<Reply> parse(std::string_view text, std::string* error = nullptr);

    // This reply with untrusted text (an SPF explanation from DNS, a domain
    // from a header) appended after `separator`: bytes outside printable
    // US-ASCII become '?', and the detail is cut (ending in "...") so that
    // the whole still passes check_reply().  Unchanged when nothing fits.
    Reply with_detail(std::string_view separator, std::string_view detail) const;
    friend bool operator==(const Reply&, const Reply&) = default;
};

// Limits of check_reply().
// RFC 5321 section 4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
inline constexpr std::size_t kMaxReplyLine = 510;
// libmilter's smfi_setreply refuses a text longer than 980 octets (MAXREPLYLEN
// in libmilter/smfi.c), counted after percent_escaped().
inline constexpr std::size_t kMaxMilterReplyText = 980;

// Why Postfix or sendmail would refuse `reply` from a milter; empty when both
// take it.  The union of their rules:
//  - code: three digits, the first 4 or 5 (libmilter smfi_setreply, sendmail
//    milter.c, Postfix milter8.c), the second 0-5 (RFC 5321 section 4.2);
//  - enhanced code: required (RFC 2034 section 3: both MTAs announce
//    ENHANCEDSTATUSCODES, so every reply carries one), class.subject.detail
//    with 1-3 digits each (RFC 3463 section 2, libmilter's check), and its
//    class equal to the code's first digit (Postfix milter8.c: otherwise
//    "malformed reply" and the milter is dropped for the session);
//  - text: not empty, printable US-ASCII only (RFC 5321 section 4.2
//    textstring; no CR, LF or NUL: libmilter refuses line breaks, and the
//    multi-line form is not offered), at most kMaxMilterReplyText octets once
//    '%' is doubled, and the whole line at most kMaxReplyLine octets.
std::string check_reply(const Reply& reply);

// The text as the milter sends it: sendmail uses a milter's reply as a
// printf format (usrerr) and refuses a lone '%' (MILTER_CHECK_REPLYCODE);
// Postfix turns "%%" back into "%".  So every '%' is doubled.
std::string percent_escaped(std::string_view text);

// Replies of the milter itself, not of a connector (not configurable).
const Reply& internal_error_reply();   // 451 4.3.0: an exception or an unusable reply
const Reply& shutting_down_reply();    // 421 4.3.2: new connections during the drain
const Reply& busy_reply();             // 451 4.3.2: the native engine's worker pool is saturated

enum class ReplyId : std::size_t {
    NoConnector,             // 421 4.3.2 Service not available
    RequireTls,              // 530 5.7.0 Must issue a STARTTLS command first (RFC 3207)
    AnonymousNoSubmit,       // 530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM
    AuthenticatedNoSubmit,   // 550 5.7.1 Client does not have permissions to submit to this server
    MessageTooLarge,         // 552 5.3.4 Message size exceeds fixed maximum message size
    HeaderTooLarge,          // 552 5.3.4 Header size exceeds fixed maximum size
    RateLimited,             // 421 4.4.2 Message submission rate for this client has exceeded the configured limit
    TooManyConnections,      // 421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel
    TooManyRecipients,       // 452 4.5.3 Too many recipients
    RelayDenied,             // 550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain
    SenderDenied,            // 550 5.7.1 Client does not have permissions to send as this sender
    AnonymousSenderDenied,   // 550 5.7.1 Anonymous client does not have permissions to send as this sender
    EhloRequiresDomain,      // 501 5.0.0 EHLO requires domain address
    InvalidAddress,          // 501 5.1.3 Invalid address
    SpfFail,                 // 550 5.7.23 SPF validation failed (RFC 7372), the domain's explanation appended
    SpfPermError,            // 550 5.7.24 SPF validation error (RFC 7372)
    SpfTempError,            // 451 4.7.24 SPF validation error: temporary DNS failure, try again later
    DmarcReject,             // 550 5.7.1 Rejected by DMARC policy for (the domain is appended)
    DmarcTempError,          // 451 4.7.5 DMARC could not be evaluated (temporary error), try again later
    BadFrom,                 // 550 5.7.1 Message needs exactly one From: address domain (RFC 5322, DMARC)
    Count
};
inline constexpr std::size_t kReplyCount = static_cast<std::size_t>(ReplyId::Count);

const Reply& default_reply(ReplyId id);
// The key used in the config's [connector.replies] table: "relay_denied", ...
std::string_view reply_key(ReplyId id);
std::optional<ReplyId> parse_reply_key(std::string_view key);

class ReplyTable {
public:
    const Reply& get(ReplyId id) const;
    void set(ReplyId id, Reply reply);
private:
    std::array<std::optional<Reply>, kReplyCount> overrides_;
};

}  // namespace policy
