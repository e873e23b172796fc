#include "policy/address.hpp"

#include <algorithm>

#include "policy/accepted_domains.hpp"
#include "policy/ip_address.hpp"
#include "util/ascii.hpp"

namespace policy {

namespace {

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// RFC 5322 section 3.2.3 atext, plus RFC 6532's UTF-8 (any byte >= 0x80).
bool is_atext(unsigned char c) {
    if (c >= 0x80) return true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

// "[192.0.2.1]" / "[IPv6:2001:db8::1]" (RFC 5321 section 4.1.3) in a
// canonical form, so that one host cannot hide behind two spellings.
std::optional<std::string> normalize_literal(std::string_view literal) {
    if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return std::nullopt;
    const auto ip = IpAddress::parse(literal.substr(1, literal.size() - 2));
    if (!ip) return std::nullopt;
    return ip->is_v4() ? "[" + ip->to_string() + "]" : "[IPv6:" + ip->to_string() + "]";
}

// A routing domain as the MTA would see it: an address literal, a
// normalised name, or, when it is neither, its lower-cased text. The last
// can never match an accepted domain, so an address that routes through
// junk is treated as foreign (fail closed) rather than as local.
std::string routing_form(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        if (auto lit = normalize_literal(host)) return *lit;
        return util::ascii_lower(host);
    }
    if (auto d = normalize_domain(host)) return *d;
    return util::ascii_lower(host);
}

void add_unique(std::vector<std::string>& v, std::string s) {
    if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(std::move(s));
}

// A name that is ours only through UTS #46 mapping is routed by the MTA as
// written, to a foreign next hop: both forms are routing domains, so the
// relay check sees the foreign one and the sender check the look-alike.
void add_routing_forms(std::vector<std::string>& out, std::string_view host) {
    add_unique(out, routing_form(host));
    if (auto raw = unmapped_form(host)) add_unique(out, std::move(*raw));
}

bool has_routing_char(std::string_view s) {
    return s.find_first_of("@%!") != std::string_view::npos;
}

// A host found inside a local part may itself hold routing characters
// ("u%a!b@d"): every piece of it is a host the MTA could route to.
void add_host(std::vector<std::string>& out, std::string_view host) {
    if (!has_routing_char(host)) {
        add_routing_forms(out, host);
        return;
    }
    std::size_t start = 0;
    while (start <= host.size()) {
        const auto end = host.find_first_of("@%!", start);
        const auto piece = host.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        add_routing_forms(out, piece);
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
}

// The routing hidden in an (unquoted) local part, the way Postfix's
// trivial-rewrite and sendmail's rulesets peel it:
// - '@' (from a quoted local part, resolve_dequoted_address=yes): the
//   rightmost one splits user@host;
// - '%' (allow_percent_hack=yes): the rightmost one splits user%host;
// - '!' (swap_bangpath=yes, UUCP): the leftmost one splits host!user.
// Every host found is reported; the remaining user part is not a domain.
void scan_local_part(std::vector<std::string>& out, std::string_view local) {
    for (int guard = 0; guard < 512 && has_routing_char(local); ++guard) {
        std::size_t pos = local.rfind('@');
        if (pos == std::string_view::npos) pos = local.rfind('%');
        if (pos != std::string_view::npos) {
            add_host(out, local.substr(pos + 1));
            local = local.substr(0, pos);
            continue;
        }
        pos = local.find('!');
        add_host(out, local.substr(0, pos));
        local = local.substr(pos + 1);
    }
}

// Removes quotes and backslash escapes (RFC 5321 section 4.1.2
// Quoted-string). Returns nullopt when quotes are unbalanced or an escape
// ends the text.
std::optional<std::string> unquote(std::string_view s, bool* quoted) {
    std::string out;
    bool in_quotes = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
            in_quotes = !in_quotes;
            *quoted = true;
        } else if (c == '\\') {
            if (i + 1 >= s.size()) return std::nullopt;
            out += s[++i];
            *quoted = true;
        } else {
            out += c;
        }
    }
    if (in_quotes) return std::nullopt;
    return out;
}

// Finds `wanted` outside quoted strings and address literals, scanning from
// the right (rightmost) or the left. npos if absent.
std::size_t find_unquoted(std::string_view s, char wanted, bool rightmost) {
    std::size_t found = std::string_view::npos;
    bool in_quotes = false;
    int bracket = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\\' && in_quotes) { ++i; continue; }
        if (c == '"' && bracket == 0) { in_quotes = !in_quotes; continue; }
        if (in_quotes) continue;
        if (c == '[') ++bracket;
        else if (c == ']') --bracket;
        else if (c == wanted && bracket == 0) {
            found = i;
            if (!rightmost) return found;
        }
    }
    return found;
}

PathParse fail(std::string why) {
    PathParse p;
    p.error = std::move(why);
    return p;
}

// A domain after '@' in a path or a source route: literal or name.
std::optional<std::string> path_domain(std::string_view d, bool* literal, std::string* error) {
    if (d.empty()) {
        *error = "empty domain after '@'";
        return std::nullopt;
    }
    if (d.front() == '[') {
        *literal = true;
        auto lit = normalize_literal(d);
        if (!lit) *error = "'" + std::string(d) + "' is not an IPv4 or IPv6 address literal";
        return lit;
    }
    *literal = false;
    auto name = normalize_domain(d);
    if (!name) *error = "'" + std::string(d) + "' is not a valid domain name";
    return name;
}

}  // namespace

std::string SmtpPath::address() const {
    if (null_path) return {};
    std::string local;
    const bool needs_quotes =
        local_part.empty() ||
        std::any_of(local_part.begin(), local_part.end(),
                    [](char c) { return !is_atext(static_cast<unsigned char>(c)) && c != '.'; }) ||
        local_part.front() == '.' || local_part.back() == '.' || local_part.find("..") != std::string::npos;
    if (needs_quotes && !domain.empty()) {
        local = "\"";
        for (const char c : local_part) {
            if (c == '"' || c == '\\') local += '\\';
            local += c;
        }
        local += '"';
    } else {
        local = local_part;
    }
    return domain.empty() ? local : local + "@" + domain;
}

std::string Mailbox::address() const {
    return domain.empty() ? local_part : local_part + "@" + domain;
}

SmtpPath Mailbox::as_path() const {
    SmtpPath path;
    path.local_part = local_part;
    path.domain = domain;
    path.domain_is_literal = !domain.empty() && domain.front() == '[';
    if (!domain.empty()) path.routing_domains.push_back(domain);
    scan_local_part(path.routing_domains, path.local_part);
    return path;
}

PathParse parse_smtp_path(std::string_view arg) {
    for (const char c : arg) {
        if (c == '\0') return fail("address contains a NUL byte");
        if (is_control(static_cast<unsigned char>(c))) return fail("address contains a control character");
    }
    while (!arg.empty() && arg.front() == ' ') arg.remove_prefix(1);
    while (!arg.empty() && arg.back() == ' ') arg.remove_suffix(1);
    // RFC 5321 section 4.5.3.1.3: the path, brackets included, is at most 256 octets.
    if (arg.size() > kMaxPathLength)
        return fail("address is longer than " + std::to_string(kMaxPathLength) + " octets");

    std::string_view text = arg;
    const bool open = !text.empty() && text.front() == '<';
    const bool close = !text.empty() && text.back() == '>' && (text.size() > 1 || !open);
    if (open != close) return fail("unbalanced angle brackets");
    if (open) text = text.substr(1, text.size() - 2);
    if (text.empty()) {
        if (!open) return fail("empty address");
        PathParse p;
        p.path = SmtpPath{};
        p.path->null_path = true;
        return p;
    }

    // Balanced quotes and brackets, no stray angle brackets or spaces
    // outside quoted strings.
    {
        bool in_quotes = false;
        int bracket = 0;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char c = text[i];
            if (in_quotes) {
                if (c == '\\') {
                    if (++i >= text.size()) return fail("backslash at the end of a quoted string");
                } else if (c == '"') {
                    in_quotes = false;
                }
                continue;
            }
            if (c == '"') {
                if (bracket) return fail("quote inside an address literal");
                in_quotes = true;
            } else if (c == '[') {
                if (bracket++) return fail("nested '[' in an address literal");
            } else if (c == ']') {
                if (--bracket < 0) return fail("']' without '['");
            } else if (c == '<' || c == '>') {
                return fail("unbalanced angle brackets");
            } else if (c == ' ' && !bracket) {
                return fail("space outside a quoted string");
            } else if (c == '\\') {
                return fail("backslash outside a quoted string");
            }
        }
        if (in_quotes) return fail("unbalanced quotes");
        if (bracket) return fail("unbalanced '[' in an address literal");
    }

    SmtpPath path;
    std::vector<std::string> route;

    // RFC 5321 section 4.1.2 A-d-l, the obsolete source route "@a,@b:user@c"
    // (appendix C). MTAs may still honour it, so every hop is reported.
    if (text.front() == '@') {
        const std::size_t colon = find_unquoted(text, ':', false);
        if (colon == std::string_view::npos) return fail("source route without ':'");
        std::string_view hops = text.substr(0, colon);
        text = text.substr(colon + 1);
        while (!hops.empty()) {
            const std::size_t comma = find_unquoted(hops, ',', false);
            std::string_view hop = hops.substr(0, comma);
            hops = comma == std::string_view::npos ? std::string_view{} : hops.substr(comma + 1);
            if (hop.size() < 2 || hop.front() != '@') return fail("malformed source route");
            bool literal = false;
            std::string error;
            const auto d = path_domain(hop.substr(1), &literal, &error);
            if (!d) return fail("source route: " + error);
            route.push_back(*d);
            if (auto raw = unmapped_form(hop.substr(1))) route.push_back(std::move(*raw));
            if (comma == std::string_view::npos) break;
            if (hops.empty()) return fail("malformed source route");
        }
        if (text.empty()) return fail("source route without a mailbox");
    }

    const std::size_t at = find_unquoted(text, '@', true);
    const std::string_view raw_local = at == std::string_view::npos ? text : text.substr(0, at);
    bool quoted = false;
    auto local = unquote(raw_local, &quoted);
    if (!local) return fail("unbalanced quotes in the local part");
    path.local_part = std::move(*local);
    path.local_part_quoted = quoted;

    if (at != std::string_view::npos) {
        if (path.local_part.empty()) return fail("empty local part");
        std::string error;
        const auto d = path_domain(text.substr(at + 1), &path.domain_is_literal, &error);
        if (!d) return fail(error);
        path.domain = *d;
        path.routing_domains.push_back(path.domain);
        if (auto raw = unmapped_form(text.substr(at + 1))) add_unique(path.routing_domains, std::move(*raw));
    } else if (path.local_part.empty()) {
        return fail("empty local part");
    }

    for (auto& hop : route) add_unique(path.routing_domains, std::move(hop));
    // An unquoted '@' left in the local part ("a@b@c") is routing too; the
    // rightmost '@' was taken as the separator, as Postfix does.
    scan_local_part(path.routing_domains, path.local_part);

    PathParse p;
    p.path = std::move(path);
    return p;
}

// ---------------------------------------------------------------------------
// RFC 5322 mailbox-list / address-list (section 3.4), with the obsolete
// syntax of section 4.4 that must still be accepted.

namespace {

struct Token {
    enum class Kind : std::uint8_t { Atom, Quoted, Literal, Special } kind;
    std::string text;  // unquoted text for Quoted; the character for Special
};

// Splits the header value into tokens, dropping whitespace, folding and
// comments (nested, RFC 5322 section 3.2.2). Returns an error sentence or "".
std::string tokenize(std::string_view v, std::vector<Token>& out) {
    std::size_t i = 0;
    while (i < v.size()) {
        const auto c = static_cast<unsigned char>(v[i]);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { ++i; continue; }
        if (c == '(') {
            int depth = 0;
            for (; i < v.size(); ++i) {
                const char d = v[i];
                if (d == '\\') { ++i; continue; }
                if (d == '(') ++depth;
                else if (d == ')' && --depth == 0) break;
            }
            if (i >= v.size()) return "unterminated comment";
            ++i;
            continue;
        }
        if (c == '"') {
            std::string text;
            ++i;
            bool closed = false;
            for (; i < v.size(); ++i) {
                const char d = v[i];
                if (d == '\\') {
                    if (++i >= v.size()) break;
                    text += v[i];
                } else if (d == '"') {
                    closed = true;
                    ++i;
                    break;
                } else if (d == '\r' || d == '\n') {
                    continue;  // folding inside a quoted string
                } else {
                    text += d;
                }
            }
            if (!closed) return "unterminated quoted string";
            out.push_back({Token::Kind::Quoted, std::move(text)});
            continue;
        }
        if (c == '[') {
            const auto end = v.find(']', i);
            if (end == std::string_view::npos) return "unterminated domain literal";
            std::string text;
            for (std::size_t k = i; k <= end; ++k)
                if (v[k] != ' ' && v[k] != '\t' && v[k] != '\r' && v[k] != '\n') text += v[k];
            if (text.find('[', 1) != std::string::npos || text.find('\\') != std::string::npos)
                return "malformed domain literal";
            out.push_back({Token::Kind::Literal, std::move(text)});
            i = end + 1;
            continue;
        }
        if (is_atext(c)) {
            const std::size_t start = i;
            while (i < v.size() && is_atext(static_cast<unsigned char>(v[i]))) ++i;
            out.push_back({Token::Kind::Atom, std::string(v.substr(start, i - start))});
            continue;
        }
        switch (c) {
        case '<': case '>': case '@': case ',': case ';': case ':': case '.':
            out.push_back({Token::Kind::Special, std::string(1, static_cast<char>(c))});
            ++i;
            continue;
        default:
            if (c == 0) return "NUL byte in header";
            if (is_control(c)) return "control character in header";
            return std::string("unexpected character '") + static_cast<char>(c) + "'";
        }
    }
    return {};
}

class MailboxParser {
public:
    explicit MailboxParser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

    std::string parse(std::vector<Mailbox>& out) {
        // address-list; obs-addr-list allows empty elements (",,").
        bool any = false;
        while (pos_ < t_.size()) {
            if (special(',')) { ++pos_; continue; }
            if (auto e = address(out); !e.empty()) return e;
            any = true;
            if (pos_ < t_.size() && !special(',')) return "expected ',' between addresses";
        }
        if (!any) return "no address";
        return {};
    }

private:
    bool special(char c, std::size_t at) const {
        return at < t_.size() && t_[at].kind == Token::Kind::Special && t_[at].text[0] == c;
    }
    bool special(char c) const { return special(c, pos_); }
    bool word(std::size_t at) const {
        return at < t_.size() && (t_[at].kind == Token::Kind::Atom || t_[at].kind == Token::Kind::Quoted);
    }

    // address = mailbox / group. Decide by what ends the leading phrase.
    std::string address(std::vector<Mailbox>& out) {
        std::size_t k = pos_;
        while (word(k) || special('.', k)) ++k;
        if (special(':', k) && k > pos_) return group(out, k);
        return mailbox(out);
    }

    std::string group(std::vector<Mailbox>& out, std::size_t colon) {
        pos_ = colon + 1;
        // group-list = mailbox-list / CFWS / obs-group-list
        while (pos_ < t_.size() && !special(';')) {
            if (special(',')) { ++pos_; continue; }
            if (auto e = mailbox(out); !e.empty()) return e;
            if (pos_ < t_.size() && !special(',') && !special(';')) return "expected ',' or ';' in a group";
        }
        if (!special(';')) return "group without ';'";
        ++pos_;
        return {};
    }

    // mailbox = name-addr / addr-spec
    std::string mailbox(std::vector<Mailbox>& out) {
        std::size_t k = pos_;
        while (word(k) || special('.', k)) ++k;
        // Not RFC 5322, but what mail readers do: a display name holding an
        // unquoted '@' ("From: a@outside.example <ceo@ours.example>") is
        // still a display name, and the angle address is the one shown and
        // replied to, so it is the one the sender check must see.
        if (!special('<', k) && (special('@', k) || special(':', k))) {
            std::size_t j = k;
            while (j < t_.size() && !special('<', j) && !special(',', j) && !special(';', j) && !special('>', j)) ++j;
            if (special('<', j)) k = j;
        }
        if (special('<', k)) {
            pos_ = k + 1;
            // obs-angle-addr: an obsolete route "@a,@b:" before the addr-spec.
            if (special('@')) {
                while (special('@') || special(',')) {
                    if (special(',')) { ++pos_; continue; }
                    ++pos_;
                    if (pos_ >= t_.size() || (t_[pos_].kind != Token::Kind::Atom && t_[pos_].kind != Token::Kind::Literal))
                        return "malformed route in angle address";
                    ++pos_;
                    while (special('.') && pos_ + 1 < t_.size() && t_[pos_ + 1].kind == Token::Kind::Atom) pos_ += 2;
                }
                if (!special(':')) return "malformed route in angle address";
                ++pos_;
            }
            if (special('>')) return "empty angle address <>";
            Mailbox m;
            if (auto e = addr_spec(m); !e.empty()) return e;
            if (!special('>')) return "expected '>'";
            ++pos_;
            out.push_back(std::move(m));
            return {};
        }
        Mailbox m;
        if (auto e = addr_spec(m); !e.empty()) return e;
        out.push_back(std::move(m));
        return {};
    }

    // addr-spec = local-part "@" domain; a bare local part is kept with an
    // empty domain (seen in locally submitted mail).
    std::string addr_spec(Mailbox& m) {
        if (!word(pos_)) return "expected an address";
        m.local_part = t_[pos_++].text;
        while (special('.')) {
            if (!word(pos_ + 1)) return "malformed local part";
            m.local_part += "." + t_[pos_ + 1].text;
            pos_ += 2;
        }
        if (!special('@')) {
            if (word(pos_)) return "unexpected word after the local part";
            return {};
        }
        ++pos_;
        if (pos_ >= t_.size()) return "empty domain after '@'";
        if (t_[pos_].kind == Token::Kind::Literal) {
            const auto lit = normalize_literal(t_[pos_].text);
            if (!lit) return "'" + t_[pos_].text + "' is not an address literal";
            m.domain = *lit;
            ++pos_;
            return {};
        }
        if (t_[pos_].kind != Token::Kind::Atom) return "empty domain after '@'";
        std::string domain = t_[pos_++].text;
        while (special('.')) {
            ++pos_;
            if (pos_ < t_.size() && t_[pos_].kind == Token::Kind::Atom) {
                domain += "." + t_[pos_++].text;
            } else {
                domain += ".";  // a trailing dot; normalize_domain removes one
                break;
            }
        }
        const auto d = normalize_domain(domain);
        if (!d) return "'" + domain + "' is not a valid domain name";
        m.domain = *d;
        return {};
    }

    std::vector<Token> t_;
    std::size_t pos_ = 0;
};

}  // namespace

MailboxListParse parse_mailbox_list(std::string_view header_value) {
    MailboxListParse result;
    std::vector<Token> tokens;
    if (auto e = tokenize(header_value, tokens); !e.empty()) {
        result.error = e;
        return result;
    }
    MailboxParser parser(std::move(tokens));
    if (auto e = parser.parse(result.mailboxes); !e.empty()) {
        result.mailboxes.clear();
        result.error = e;
    }
    return result;
}

}  // namespace policy
