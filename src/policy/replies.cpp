#include "policy/replies.hpp"

#include <array>

namespace policy {

std::string Reply::to_string() const {
    std::string out = code;
    if (!xcode.empty()) out += " " + xcode;
    if (!text.empty()) out += " " + text;
    return out;
}

namespace {

void set_error(std::string* error, std::string message) {
    if (error) *error = std::move(message);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 3463 section 2: class ".subject.detail", subject 1-3 digits, detail 1-3 digits.
bool is_enhanced_code(std::string_view s) {
    if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
    std::size_t i = 2;
    for (int part = 0; part < 2; ++part) {
        std::size_t digits = 0;
        while (i < s.size() && is_digit(s[i])) { ++i; ++digits; }
        if (digits < 1 || digits > 3) return false;
        if (part == 0) {
            if (i >= s.size() || s[i] != '.') return false;
            ++i;
        }
    }
    return i == s.size();
}

struct ReplyEntry {
    std::string_view key;
    std::string_view code;
    std::string_view xcode;
    std::string_view text;
};

// Exchange 2016/2019's reply texts (the values its receive connectors send).
constexpr std::array<ReplyEntry, kReplyCount> kReplies{{
    {"no_connector", "421", "4.3.2", "Service not available"},
    {"require_tls", "451", "5.7.3", "STARTTLS is required to send mail"},
    {"anonymous_no_submit", "530", "5.7.57",
     "SMTP; Client was not authenticated to send anonymous mail during MAIL FROM"},
    {"authenticated_no_submit", "550", "5.7.1", "Client does not have permissions to submit to this server"},
    {"message_too_large", "552", "5.3.4", "Message size exceeds fixed maximum message size"},
    {"rate_limited", "421", "4.4.2",
     "Message submission rate for this client has exceeded the configured limit"},
    {"too_many_connections", "421", "4.3.2",
     "The maximum number of concurrent connections has exceeded a limit, closing transmission channel"},
    {"too_many_recipients", "452", "4.5.3", "Too many recipients"},
    {"relay_denied", "550", "5.7.54", "SMTP; Unable to relay recipient in non-accepted domain"},
    {"sender_denied", "550", "5.7.1", "Client does not have permissions to send as this sender"},
    {"anonymous_sender_denied", "550", "5.7.1",
     "Anonymous client does not have permissions to send as this sender"},
    {"ehlo_requires_domain", "501", "5.0.0", "EHLO requires domain address"},
    {"invalid_address", "501", "5.1.3", "Invalid address"},
    {"spf_fail", "550", "5.7.23", "SPF validation failed"},
    {"spf_permerror", "550", "5.7.24", "SPF validation error"},
    {"spf_temperror", "451", "4.7.24", "SPF validation error: temporary DNS failure, try again later"},
    {"dmarc_reject", "550", "5.7.1", "Rejected by DMARC policy for"},
    {"dmarc_temperror", "451", "4.7.5", "DMARC could not be evaluated because of a temporary error, try again later"},
    {"bad_from", "550", "5.7.1", "Message needs exactly one From: address domain"},
}};

const std::array<Reply, kReplyCount>& default_table() {
    static const std::array<Reply, kReplyCount> table = [] {
        std::array<Reply, kReplyCount> t;
        for (std::size_t i = 0; i < kReplyCount; ++i)
            t[i] = Reply{std::string(kReplies[i].code), std::string(kReplies[i].xcode),
                         std::string(kReplies[i].text)};
        return t;
    }();
    return table;
}

}  // namespace

std::optional<Reply> Reply::parse(std::string_view text, std::string* error) {
    const std::string shown(text.substr(0, 80));
    if (text.size() > 512) {
        set_error(error, "reply is longer than 512 octets");
        return std::nullopt;
    }
    for (const char ch : text) {
        if (ch == '\r' || ch == '\n' || ch == '\0') {
            set_error(error, "reply '" + shown + "' contains CR, LF or NUL");
            return std::nullopt;
        }
    }
    // RFC 5321 section 4.2: Reply-code = %x32-35 %x30-35 %x30-39; a policy
    // refusal must be a 4xx or 5xx.
    if (text.size() < 3 || (text[0] != '4' && text[0] != '5') || !is_digit(text[1]) ||
        !is_digit(text[2]) || (text.size() > 3 && text[3] != ' ')) {
        set_error(error, "reply '" + shown + "' must start with a 4xx or 5xx code followed by a space");
        return std::nullopt;
    }
    Reply r;
    r.code = std::string(text.substr(0, 3));
    std::string_view rest = text.size() > 3 ? text.substr(4) : std::string_view{};
    const auto space = rest.find(' ');
    const std::string_view first_word = rest.substr(0, space);
    if (!first_word.empty() && is_digit(first_word[0]) && first_word.find('.') != std::string_view::npos) {
        if (!is_enhanced_code(first_word)) {
            set_error(error, "reply '" + shown + "': '" + std::string(first_word) +
                                 "' is not an enhanced status code (RFC 3463: class.subject.detail)");
            return std::nullopt;
        }
        if (first_word[0] != r.code[0]) {
            set_error(error, "reply '" + shown + "': enhanced code class " + std::string(1, first_word[0]) +
                                 " does not match reply code " + r.code);
            return std::nullopt;
        }
        r.xcode = std::string(first_word);
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    r.text = std::string(rest);
    if (r.text.empty()) {
        set_error(error, "reply '" + shown + "' has no text");
        return std::nullopt;
    }
    return r;
}

const Reply& default_reply(ReplyId id) {
    return default_table()[static_cast<std::size_t>(id) % kReplyCount];
}

std::string_view reply_key(ReplyId id) {
    const auto i = static_cast<std::size_t>(id);
    return i < kReplyCount ? kReplies[i].key : std::string_view{"unknown"};
}

std::optional<ReplyId> parse_reply_key(std::string_view key) {
    for (std::size_t i = 0; i < kReplyCount; ++i)
        if (kReplies[i].key == key) return static_cast<ReplyId>(i);
    return std::nullopt;
}

const Reply& ReplyTable::get(ReplyId id) const {
    const auto i = static_cast<std::size_t>(id);
    if (i < kReplyCount && overrides_[i]) return *overrides_[i];
    return default_reply(id);
}

void ReplyTable::set(ReplyId id, Reply reply) {
    const auto i = static_cast<std::size_t>(id);
    if (i < kReplyCount) overrides_[i] = std::move(reply);
}

}  // namespace policy
