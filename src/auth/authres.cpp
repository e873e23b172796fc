#include "auth/authres.hpp"
#include "util/ascii.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace auth {
namespace {

// ---------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------

bool is_ctl(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// RFC 2045 section 5.1: tspecials.
bool is_tspecial(char c) {
    switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
        return true;
    default:
        return false;
    }
}

// RFC 2045 token character: printable US-ASCII except SPACE and tspecials.
bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && !is_tspecial(c);
}

// RFC 5322 section 3.2.3 atext.
bool is_atext(char c) {
    if (is_alnum(c)) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
        return true;
    default:
        return false;
    }
}

// RFC 5321 section 4.1.2 Keyword = Let-dig [Ldh-str]: letters, digits and
// inner hyphens. RFC 8601 uses it for method, result, ptype and property.
bool is_keyword(std::string_view s) {
    if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

// method = Keyword [ "/" method-version ] (RFC 8601 section 2.2), written
// without CFWS around the slash.
bool is_method(std::string_view s) {
    const auto slash = s.find('/');
    if (slash == std::string_view::npos) return is_keyword(s);
    const auto version = s.substr(slash + 1);
    return is_keyword(s.substr(0, slash)) && !version.empty() &&
           std::all_of(version.begin(), version.end(), is_digit);
}

// RFC 6376 section 3.5 domain-name: sub-domains of Let-dig [Ldh-str].
bool is_domain_name(std::string_view s, bool allow_underscore) {
    if (s.empty()) return false;
    std::size_t start = 0;
    while (true) {
        const auto dot = s.find('.', start);
        const auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty()) return false;
        const auto ok = [&](char c) { return is_alnum(c) || c == '-' || (allow_underscore && c == '_'); };
        if (!std::all_of(label.begin(), label.end(), ok)) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// RFC 5322 dot-atom over the characters `ok` accepts.
template <typename Pred>
bool is_dot_atom(std::string_view s, Pred ok) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (const char c : s) {
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!ok(c)) {
            return false;
        }
        prev = c;
    }
    return true;
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

// Drops every control byte: nothing a sender controls (HELO name, MAIL FROM
// domain, DKIM selector, ...) can end the header line or start a new one.
std::string without_controls(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s)
        if (!is_ctl(static_cast<unsigned char>(c))) out.push_back(c);
    return out;
}

// Characters we write unquoted as a token. Deliberately narrower than RFC
// 2045 allows: '+' '/' '=' (base64 in header.b) and the rarer token
// characters are quoted because widely used parsers get them wrong.
bool is_plain_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return is_alnum(c) || c == '.' || c == '-' || c == '_';
    });
}

// [local-part] "@" domain-name written unquoted (RFC 8601 section 2.2
// pvalue), again with a conservative local-part alphabet.
bool is_plain_address(std::string_view s) {
    const auto at = s.rfind('@');
    if (at == std::string_view::npos) return false;
    const auto local = s.substr(0, at);
    const auto domain = s.substr(at + 1);
    const bool local_ok = local.empty() || is_dot_atom(local, [](char c) {
        return is_alnum(c) || c == '+' || c == '-' || c == '_';
    });
    return local_ok && is_domain_name(domain, false);
}

std::string quoted(std::string_view clean) {
    std::string out = "\"";
    for (const char c : clean) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

// A value (RFC 8601 `value` / `pvalue`): as-is when safe, else quoted.
std::string value_text(std::string_view raw, bool address_allowed) {
    const std::string clean = without_controls(raw);
    if (is_plain_token(clean) || (address_allowed && is_plain_address(clean))) return clean;
    return quoted(clean);
}

std::string comment_text(std::string_view raw) {
    const std::string clean = without_controls(raw);
    std::string out = "(";
    for (const char c : clean) {
        if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back(')');
    return out;
}

// Folding white space only (RFC 5322 section 3.2.2), ending in WSP so that
// the next line is a continuation line.
bool is_valid_fold(std::string_view fold) {
    if (fold.empty() || !is_wsp(fold.back())) return false;
    for (std::size_t i = 0; i < fold.size(); ++i) {
        const char c = fold[i];
        if (is_wsp(c)) continue;
        if (c == '\r' && i + 1 < fold.size() && fold[i + 1] == '\n') continue;
        if (c == '\n' && i + 1 < fold.size() && is_wsp(fold[i + 1])) continue;
        return false;
    }
    return true;
}

std::optional<std::string> resinfo_text(const AuthResult& r) {
    const std::string method = util::ascii_lower(without_controls(r.method));
    const std::string result = util::ascii_lower(without_controls(r.result));
    if (!is_method(method) || !is_keyword(result)) return std::nullopt;
    std::string out = method + "=" + result;
    if (!r.comment.empty()) out += " " + comment_text(r.comment);
    if (!r.reason.empty()) out += " reason=" + value_text(r.reason, false);
    for (const auto& [name, value] : r.properties) {
        const std::string clean = util::ascii_lower(without_controls(name));
        const auto dot = clean.find('.');
        if (dot == std::string::npos) continue;
        const std::string_view ptype = std::string_view(clean).substr(0, dot);
        const std::string_view property = std::string_view(clean).substr(dot + 1);
        if (!is_keyword(ptype) || !is_keyword(property)) continue;
        // header.b (RFC 6376 signature prefix) is base64 and may hold '/',
        // '+' or '=': always quoted, as RFC 8601's own examples do, so that a
        // prefix that happens to be a token reads the same as one that is not.
        const bool always_quote = clean == "header.b";
        out += " " + clean + "=" + (always_quote ? quoted(without_controls(value)) : value_text(value, true));
    }
    return out;
}

// ---------------------------------------------------------------------------
// Parsing (RFC 8601 section 2.2, with RFC 5322 CFWS)
// ---------------------------------------------------------------------------

class Parser {
public:
    explicit Parser(std::string_view s) : s_(s) {}

    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    std::size_t pos() const { return pos_; }
    const std::string& error() const { return error_; }

    bool fail(std::string message) {
        if (error_.empty()) error_ = message + " at offset " + std::to_string(pos_);
        return false;
    }

    // [CFWS]; comments' text appended to `comments` when given.
    bool skip_cfws(std::vector<std::string>* comments = nullptr) {
        while (!at_end()) {
            const char c = s_[pos_];
            if (is_wsp(c)) {
                ++pos_;
            } else if (c == '\r' || c == '\n') {
                // Folding: a line break only counts when a WSP follows it
                // (RFC 5322 section 3.2.2); anything else would be a new
                // header line.
                std::size_t p = pos_;
                if (s_[p] == '\r') {
                    ++p;
                    if (p >= s_.size() || s_[p] != '\n') return fail("bare CR");
                }
                ++p;
                if (p >= s_.size() || !is_wsp(s_[p])) return fail("line break not followed by white space");
                pos_ = p;
            } else if (c == '(') {
                std::string text;
                if (!comment(text)) return false;
                if (comments) comments->push_back(std::move(text));
            } else {
                break;
            }
        }
        return true;
    }

    // Keyword-ish run [A-Za-z0-9-], validated as a Keyword.
    std::optional<std::string> keyword(const char* what) {
        const std::size_t start = pos_;
        while (!at_end() && (is_alnum(s_[pos_]) || s_[pos_] == '-')) ++pos_;
        const auto word = s_.substr(start, pos_ - start);
        if (!is_keyword(word)) {
            pos_ = start;
            fail(std::string("expected ") + what);
            return std::nullopt;
        }
        return util::ascii_lower(word);
    }

    std::optional<std::string> quoted_string() {
        if (peek() != '"') {
            fail("expected '\"'");
            return std::nullopt;
        }
        ++pos_;
        std::string out;
        while (!at_end()) {
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            const Inner inner = quoted_pair_or_fold(out);
            if (inner == Inner::Consumed) continue;
            if (inner == Inner::DanglingBackslash) break;
            if (inner == Inner::BareLineBreak) {
                fail("line break inside quoted-string");
                return std::nullopt;
            }
            if (c == '\0') {
                fail("NUL inside quoted-string");
                return std::nullopt;
            }
            out.push_back(c);
            ++pos_;
        }
        fail("unterminated quoted-string");
        return std::nullopt;
    }

    // value = token / quoted-string (RFC 2045).
    std::optional<std::string> value() {
        if (peek() == '"') return quoted_string();
        const std::size_t start = pos_;
        while (!at_end() && is_token_char(s_[pos_])) ++pos_;
        if (pos_ == start) {
            fail("expected a token or quoted-string");
            return std::nullopt;
        }
        return std::string(s_.substr(start, pos_ - start));
    }

    // pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
    // (the trailing CFWS is left to the caller, which needs to see it as the
    // separator before the next propspec).
    std::optional<std::string> pvalue(std::vector<std::string>* comments) {
        if (!skip_cfws(comments)) return std::nullopt;
        std::optional<std::string> out;
        if (peek() == '"') {
            out = quoted_string();
            if (!out) return std::nullopt;
            if (peek() == '@') {  // quoted local-part
                ++pos_;
                const std::size_t start = pos_;
                while (!at_end() && (is_alnum(s_[pos_]) || s_[pos_] == '-' || s_[pos_] == '.' || s_[pos_] == '_')) ++pos_;
                const auto domain = s_.substr(start, pos_ - start);
                if (!is_domain_name(domain, true)) {
                    fail("bad domain-name after '@'");
                    return std::nullopt;
                }
                *out += "@" + std::string(domain);
            }
        } else {
            // A run of token characters, atext and '@'; then decide which
            // of the two unquoted forms it is.
            const std::size_t start = pos_;
            while (!at_end() && (is_token_char(s_[pos_]) || is_atext(s_[pos_]) || s_[pos_] == '@')) ++pos_;
            const auto run = s_.substr(start, pos_ - start);
            if (run.empty()) {
                fail("expected a property value");
                return std::nullopt;
            }
            const auto at = run.rfind('@');
            if (at != std::string_view::npos) {
                const auto local = run.substr(0, at);
                const auto domain = run.substr(at + 1);
                if (!(local.empty() || is_dot_atom(local, is_atext)) || !is_domain_name(domain, true)) {
                    pos_ = start;
                    fail("malformed local-part@domain value");
                    return std::nullopt;
                }
            }
            // Otherwise the run is a token, or token characters mixed with
            // '/', '=' and '?'. The latter is not RFC 8601 (it needs quoting)
            // but is what generators with the well-known unquoted header.b
            // bug write (base64); accepting it keeps such headers readable
            // and removable. ':' and the other tspecials still end the value.

            out = std::string(run);
        }
        return out;
    }

    bool expect(char c) {
        if (peek() != c) return fail(std::string("expected '") + c + "'");
        ++pos_;
        return true;
    }

    std::optional<int> digits() {
        const std::size_t start = pos_;
        long v = 0;
        while (!at_end() && is_digit(s_[pos_])) {
            if (v < 100000000) v = v * 10 + (s_[pos_] - '0');
            ++pos_;
        }
        if (pos_ == start) return std::nullopt;
        return static_cast<int>(v);
    }

private:
    // What quoted-strings and comments share (RFC 5322 section 3.2): a
    // quoted-pair, whose character is appended to `out`, and folding (a line
    // break followed by WSP), removed when unfolding while the WSP stays.
    enum class Inner : std::uint8_t { None, Consumed, DanglingBackslash, BareLineBreak };
    Inner quoted_pair_or_fold(std::string& out) {
        const char c = s_[pos_];
        if (c == '\\') {
            if (pos_ + 1 >= s_.size()) return Inner::DanglingBackslash;
            out.push_back(s_[pos_ + 1]);
            pos_ += 2;
            return Inner::Consumed;
        }
        if (c != '\r' && c != '\n') return Inner::None;
        std::size_t p = pos_;
        if (s_[p] == '\r') ++p;
        if (p < s_.size() && s_[p] == '\n' && p + 1 < s_.size() && is_wsp(s_[p + 1])) {
            pos_ = p + 1;
            return Inner::Consumed;
        }
        return Inner::BareLineBreak;
    }

    // comment = "(" *([FWS] ccontent) [FWS] ")", nested, quoted-pairs.
    bool comment(std::string& text) {
        int depth = 0;
        while (!at_end()) {
            const char c = s_[pos_];
            const Inner inner = quoted_pair_or_fold(text);
            if (inner == Inner::Consumed) continue;
            if (inner == Inner::DanglingBackslash) break;
            if (inner == Inner::BareLineBreak) return fail("line break inside comment");
            ++pos_;
            if (c == '(') {
                if (depth++ > 0) text.push_back(c);
            } else if (c == ')') {
                if (--depth == 0) return true;
                text.push_back(c);
            } else {
                text.push_back(c);
            }
        }
        return fail("unterminated comment");
    }

    std::string_view s_;
    std::size_t pos_ = 0;
    std::string error_;
};

// One resinfo after its ';'; `method` is the method keyword already read
// (and the CFWS after it consumed).
bool parse_resinfo(Parser& p, std::string method, AuthResult& out) {
    std::vector<std::string> comments;
    // method = Keyword [ [CFWS] "/" [CFWS] method-version ]
    if (p.peek() == '/') {
        p.expect('/');
        if (!p.skip_cfws(&comments)) return false;
        const auto version = p.digits();
        if (!version) return p.fail("expected a method-version");
        method += "/" + std::to_string(*version);
        if (!p.skip_cfws(&comments)) return false;
    }
    if (!p.expect('=')) return false;
    if (!p.skip_cfws(&comments)) return false;
    auto result = p.keyword("a result keyword");
    if (!result) return false;
    out.method = std::move(method);
    out.result = std::move(*result);

    bool separated = false;  // every reasonspec/propspec needs CFWS before it
    while (true) {
        const std::size_t before = p.pos();
        if (!p.skip_cfws(&comments)) return false;
        if (p.pos() != before) separated = true;
        if (p.at_end() || p.peek() == ';') break;
        if (!separated) return p.fail("expected white space, ';' or end");
        const auto name = p.keyword("a property");
        if (!name) return false;
        if (!p.skip_cfws(&comments)) return false;
        if (p.peek() == '.') {
            // propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
            p.expect('.');
            if (!p.skip_cfws(&comments)) return false;
            const auto property = p.keyword("a property name");
            if (!property) return false;
            if (!p.skip_cfws(&comments)) return false;
            if (!p.expect('=')) return false;
            auto v = p.pvalue(&comments);
            if (!v) return false;
            out.properties.emplace_back(*name + "." + *property, std::move(*v));
        } else if (p.peek() == '=') {
            p.expect('=');
            if (*name == "reason" && out.reason.empty() && out.properties.empty()) {
                // reasonspec = "reason" [CFWS] "=" [CFWS] value
                if (!p.skip_cfws(&comments)) return false;
                auto v = p.value();
                if (!v) return false;
                out.reason = std::move(*v);
            } else {
                // Not RFC 8601: a property without ptype. Skipped (see the
                // header) so that such headers still parse and can be judged
                // by their authserv-id.
                if (!p.pvalue(&comments)) return false;
            }
        } else {
            return p.fail("expected '.' or '='");
        }
        separated = false;
    }
    if (!comments.empty()) out.comment = comments.front();
    return true;
}

}  // namespace

std::string format_authentication_results(std::string_view authserv_id,
                                          const std::vector<AuthResult>& results,
                                          std::string_view fold, std::string_view note) {
    const std::string separator = is_valid_fold(fold) ? std::string(fold) : std::string(" ");
    std::string out = value_text(authserv_id, false);
    // RFC 8601 section 2.2: both no-result and resinfo open with [CFWS], so
    // a comment may follow the authserv-id; it then speaks for the whole
    // header rather than for one method's result.
    if (!without_controls(note).empty()) out += separator + comment_text(note);
    out += ";";
    bool first = true;
    for (const AuthResult& r : results) {
        const auto text = resinfo_text(r);
        if (!text) continue;
        if (!first) out += ";";
        out += first ? std::string(" ") : separator;
        out += *text;
        first = false;
    }
    if (first) out += " none";
    return out;
}

std::optional<ParsedAuthRes> parse_authentication_results(std::string_view value, std::string* error) {
    Parser p(value);
    ParsedAuthRes out;
    const auto failed = [&]() -> std::optional<ParsedAuthRes> {
        if (error) *error = p.error().empty() ? "parse error" : p.error();
        return std::nullopt;
    };

    // authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
    //                   ( no-result / 1*resinfo ) [CFWS]
    if (!p.skip_cfws()) return failed();
    auto id = p.value();
    if (!id) return failed();
    out.authserv_id = std::move(*id);
    {
        std::vector<std::string> comments;
        const std::size_t before = p.pos();
        if (!p.skip_cfws(&comments)) return failed();
        if (p.pos() != before && is_digit(p.peek())) {
            out.version = p.digits();
            if (!p.skip_cfws(&comments)) return failed();
        }
        if (!comments.empty()) out.note = std::move(comments.front());
    }
    if (p.at_end()) {
        p.fail("expected ';'");
        return failed();
    }
    while (!p.at_end()) {
        if (!p.expect(';')) return failed();
        if (!p.skip_cfws()) return failed();
        auto word = p.keyword("a method or \"none\"");
        if (!word) return failed();
        if (!p.skip_cfws()) return failed();
        if (p.peek() != '=' && p.peek() != '/') {
            // no-result = [CFWS] ";" [CFWS] "none": only as the sole entry.
            if (*word == "none" && out.results.empty() && !out.none && p.at_end()) {
                out.none = true;
                break;
            }
            p.fail("expected '='");
            return failed();
        }
        if (out.none) {
            p.fail("\"none\" must be the only result");
            return failed();
        }
        AuthResult r;
        if (!parse_resinfo(p, std::move(*word), r)) return failed();
        out.results.push_back(std::move(r));
    }
    if (error) error->clear();
    return out;
}

std::optional<std::string> authserv_id_of(std::string_view value) {
    Parser p(value);
    if (!p.skip_cfws()) return std::nullopt;
    auto id = p.value();
    if (!id || id->empty()) return std::nullopt;
    return id;
}

}  // namespace auth
