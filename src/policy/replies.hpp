// Every SMTP reply the policy can give, with Exchange's texts as defaults.
// Each is overridable per connector ([connector.replies] in the config).
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

    // "550 5.7.54 text": code 4xx/5xx, optional enhanced code whose class
    // digit equals the code's, text without CR/LF/NUL (milter replies cannot
    // carry bare line breaks), at most 512 octets in all.
    static std::optional<Reply> parse(std::string_view text, std::string* error = nullptr);
    friend bool operator==(const Reply&, const Reply&) = default;
};

enum class ReplyId : std::size_t {
    NoConnector,             // 421 4.3.2 Service not available
    RequireTls,              // 451 5.7.3 STARTTLS is required to send mail
    AnonymousNoSubmit,       // 530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM
    AuthenticatedNoSubmit,   // 550 5.7.1 Client does not have permissions to submit to this server
    MessageTooLarge,         // 552 5.3.4 Message size exceeds fixed maximum message size
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
