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
    // RFC 3207 section 4's reply, not Exchange's "451 5.7.3": a 4xx code with
    // a class-5 enhanced code, which Postfix refuses as malformed.
    {"require_tls", "530", "5.7.0", "Must issue a STARTTLS command first"},
    {"anonymous_no_submit", "530", "5.7.57",
     "SMTP; Client was not authenticated to send anonymous mail during MAIL FROM"},
    {"authenticated_no_submit", "550", "5.7.1", "Client does not have permissions to submit to this server"},
    {"message_too_large", "552", "5.3.4", "Message size exceeds fixed maximum message size"},
    {"header_too_large", "552", "5.3.4", "Header size exceeds fixed maximum size"},
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

std::string percent_escaped(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        if (ch == '%') out += '%';
        out += ch;
    }
    return out;
}

std::string check_reply(const Reply& r) {
    const std::string shown = r.to_string().substr(0, 80);
    const std::string_view c = r.code;
    if (c.size() != 3 || (c[0] != '4' && c[0] != '5') || c[1] < '0' || c[1] > '5' || !is_digit(c[2]))
        return "reply '" + shown + "' must start with a 4xx or 5xx code (RFC 5321 section 4.2)";
    if (r.xcode.empty())
        return "reply '" + shown + "' has no enhanced status code after " + r.code +
               " (RFC 2034: e.g. " + std::string(1, c[0]) + ".7.1)";
    if (!is_enhanced_code(r.xcode))
        return "reply '" + shown + "': '" + r.xcode +
               "' is not an enhanced status code (RFC 3463: class.subject.detail)";
    if (r.xcode[0] != c[0])
        return "reply '" + shown + "': enhanced code class " + std::string(1, r.xcode[0]) +
               " does not match reply code " + r.code + " (Postfix drops the milter on such a reply)";
    if (r.text.empty()) return "reply '" + shown + "' has no text";
    for (const char ch : r.text) {
        const auto u = static_cast<unsigned char>(ch);
        if (u == '\r' || u == '\n' || u == 0)
            return "reply '" + shown + "' contains CR, LF or NUL (a milter reply is one line)";
        if (u < 0x20 || u > 0x7e)
            return "reply '" + shown + "' contains a byte that is not printable US-ASCII";
    }
    const std::size_t line = r.code.size() + 1 + r.xcode.size() + 1 + r.text.size();
    if (line > kMaxReplyLine)
        return "reply is " + std::to_string(line) + " octets long, more than " +
               std::to_string(kMaxReplyLine) + " (RFC 5321 section 4.5.3.1.5)";
    if (percent_escaped(r.text).size() > kMaxMilterReplyText)
        return "reply text with its '%' doubled is longer than " + std::to_string(kMaxMilterReplyText) +
               " octets (libmilter's limit)";
    return {};
}

std::optional<Reply> Reply::parse(std::string_view text, std::string* error) {
    // Control bytes first, so that the message shows no line break.
    for (const char ch : text) {
        if (ch == '\r' || ch == '\n' || ch == '\0') {
            set_error(error, "reply contains CR, LF or NUL (a milter reply is one line)");
            return std::nullopt;
        }
    }
    const std::string shown(text.substr(0, 80));
    if (text.size() < 4 || text[3] != ' ') {
        set_error(error, "reply '" + shown + "' must be \"code enhanced-code text\", e.g. \"550 5.7.1 text\"");
        return std::nullopt;
    }
    Reply r;
    r.code = std::string(text.substr(0, 3));
    std::string_view rest = text.substr(4);
    const auto space = rest.find(' ');
    r.xcode = std::string(rest.substr(0, space));
    if (space != std::string_view::npos) r.text = std::string(rest.substr(space + 1));
    if (auto problem = check_reply(r); !problem.empty()) {
        set_error(error, std::move(problem));
        return std::nullopt;
    }
    return r;
}

Reply Reply::with_detail(std::string_view separator, std::string_view detail) const {
    Reply out = *this;
    std::string clean;
    for (const char ch : detail) {
        const auto u = static_cast<unsigned char>(ch);
        if (u == '\t' || u == '\r' || u == '\n') clean += ' ';
        else clean += (u >= 0x20 && u <= 0x7e) ? ch : '?';
    }
    while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    if (clean.empty()) return out;
    out.text += separator;
    // What check_reply() allows: the whole line, and the text once escaped.
    const auto fits = [&](std::string_view more) {
        const std::string longer = out.text + std::string(more);
        return code.size() + 1 + xcode.size() + 1 + longer.size() <= kMaxReplyLine &&
               percent_escaped(longer).size() <= kMaxMilterReplyText;
    };
    if (fits(clean)) {
        out.text += clean;
    } else {
        constexpr std::string_view kEllipsis = "...";
        std::size_t keep = 0;
        while (keep < clean.size() && fits(clean.substr(0, keep + 1) + std::string(kEllipsis))) ++keep;
        out.text += clean.substr(0, keep);
        out.text += kEllipsis;
    }
    return check_reply(out).empty() ? out : *this;
}

const Reply& internal_error_reply() {
    static const Reply r{"451", "4.3.0", "Temporary local problem, try again later"};
    return r;
}

const Reply& shutting_down_reply() {
    static const Reply r{"421", "4.3.2", "Service shutting down, try again later"};
    return r;
}

// RFC 3463 section 3.5: X.3.2 "System not accepting network messages".
const Reply& busy_reply() {
    static const Reply r{"451", "4.3.2", "Service busy, try again later"};
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
