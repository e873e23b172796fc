#include "auth/authres_claim.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "auth/authres.hpp"
#include "util/ascii.hpp"

namespace auth {
namespace {

// RFC 2047 section 2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
// Decoded whatever the charset: the bytes are what a reader displays.
std::optional<std::string> decode_q(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        c = util::ascii_lower(c);
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '_') {
            out += ' ';  // RFC 2047 section 4.2 (2)
        } else if (c == '=' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::string> decode_b(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (const char c : text) {
        if (c == '=') break;
        const int v = value(c);
        if (v < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xff);
        }
    }
    return out;
}

std::string decode_encoded_words(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto start = s.find("=?", i);
        if (start == std::string_view::npos) break;
        out.append(s.substr(i, start - i));
        // charset ? encoding ? text ?=, none of them containing '?'.
        const auto q1 = s.find('?', start + 2);
        const auto q2 = q1 == std::string_view::npos ? q1 : s.find('?', q1 + 1);
        const auto end = q2 == std::string_view::npos ? q2 : s.find("?=", q2 + 1);
        std::optional<std::string> decoded;
        if (end != std::string_view::npos && q2 == q1 + 2) {
            const char encoding = util::ascii_lower(s[q1 + 1]);
            const auto text = s.substr(q2 + 1, end - q2 - 1);
            if (encoding == 'q') decoded = decode_q(text);
            else if (encoding == 'b') decoded = decode_b(text);
        }
        if (!decoded) {
            out.append(s.substr(start, 2));
            i = start + 2;
            continue;
        }
        out += *decoded;
        i = end + 2;
    }
    if (i < s.size()) out.append(s.substr(i));
    return out;
}

enum class Comments { Drop, DropClosed, Unwrap };

// The index of the ')' closing the comment opened at `open`, nested comments
// included, and quoted-pairs (RFC 5322 section 3.2.2) when `escapes` (some
// readers take a backslash as an ordinary character); npos when unclosed.
std::size_t comment_end(std::string_view s, std::size_t open, bool escapes) {
    int depth = 0;
    for (std::size_t i = open; i < s.size(); ++i) {
        if (s[i] == '\\' && escapes) {
            ++i;
        } else if (s[i] == '(') {
            ++depth;
        } else if (s[i] == ')' && --depth == 0) {
            return i;
        }
    }
    return std::string_view::npos;
}

std::string without_comments(std::string_view s, Comments mode, bool escapes) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (mode == Comments::Unwrap) {
            if (c == '(' || c == ')') out += ' ';
            else out += c;
            continue;
        }
        if (c != '(') {
            out += c;
            continue;
        }
        const auto end = comment_end(s, i, escapes);
        if (end != std::string_view::npos) {
            i = end;  // the whole comment goes; the tokens around it join
        } else if (mode == Comments::Drop) {
            break;    // an unclosed comment runs to the end
        }
        // DropClosed: only the unclosed '(' itself goes.
    }
    return out;
}

// Code point of the UTF-8 sequence at s[i] (and its length), or nullopt when
// the bytes there are not a well-formed sequence of two or three bytes.
std::optional<std::pair<std::uint32_t, std::size_t>> utf8_at(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const auto cont = [&](std::size_t k) { return k < s.size() && (b(k) & 0xc0) == 0x80; };
    if ((b(i) & 0xe0) == 0xc0 && cont(i + 1))
        return std::pair{((b(i) & 0x1fu) << 6) | (b(i + 1) & 0x3fu), std::size_t{2}};
    if ((b(i) & 0xf0) == 0xe0 && cont(i + 1) && cont(i + 2))
        return std::pair{((b(i) & 0x0fu) << 12) | ((b(i + 1) & 0x3fu) << 6) | (b(i + 2) & 0x3fu),
                         std::size_t{3}};
    return std::nullopt;
}

bool is_unicode_space(std::uint32_t cp) {
    // Unicode White_Space outside ASCII (what a Unicode-aware trim skips).
    return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool is_invisible(std::uint32_t cp) {
    // Shown as nothing, so a reader displays the letters around them joined.
    return cp == 0xad || cp == 0x180e || (cp >= 0x200b && cp <= 0x200d) || cp == 0x2060 || cp == 0xfeff;
}

// What a compatibility mapping (NFKC, IDNA's UTS #46) makes of fullwidth
// forms and ideographic full stops; 0 when it is not one of them.
char ascii_of_wide(std::uint32_t cp) {
    if (cp == 0x3002 || cp == 0xff0e || cp == 0xff61) return '.';
    if (cp >= 0xff01 && cp <= 0xff5e) return static_cast<char>(cp - 0xfee0);
    return 0;
}

// The id region as tokens separated by single spaces.
std::string spaced(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        char mapped = static_cast<char>(c);
        if (c >= 0x80) {
            if (const auto seq = utf8_at(s, i)) {
                const auto [cp, length] = *seq;
                i += length - 1;
                if (is_invisible(cp)) continue;
                if (is_unicode_space(cp)) mapped = ' ';
                else if (const char a = ascii_of_wide(cp)) mapped = a;
                else {
                    out.append(s.substr(i - (length - 1), length));
                    continue;
                }
            } else if (c == 0xa0 || c == 0x85) {
                mapped = ' ';  // Latin-1 no-break space and NEL read as one byte
            } else if (c == 0xad) {
                continue;      // Latin-1 soft hyphen
            }
        } else if (c <= 0x20 || c == 0x7f || c == '(' || c == ')') {
            mapped = ' ';
        } else if (c == '"' || c == '\\') {
            continue;
        }
        if (mapped == ' ' && (out.empty() || out.back() == ' ')) continue;
        out += mapped;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string normalised(std::string_view id) {
    std::string out = util::ascii_lower(id);
    if (!out.empty() && out.back() == '.') out.pop_back();  // the root label, as in DNS
    return out;
}

void add_one(std::vector<std::string>& readings, std::string id) {
    if (!id.empty() && std::find(readings.begin(), readings.end(), id) == readings.end())
        readings.push_back(std::move(id));
}

// The id as compared (one root dot removed), and, for readers that trim
// every trailing dot, without any.
void add(std::vector<std::string>& readings, std::string_view id) {
    std::string n = normalised(id);
    std::string trimmed = n;
    while (!trimmed.empty() && trimmed.back() == '.') trimmed.pop_back();
    add_one(readings, std::move(n));
    add_one(readings, std::move(trimmed));
}

// Up to the first ';' that is not inside a comment or a quoted-string
// (quoted-pairs honoured): where a reader that follows the grammar's nesting
// ends the authserv-id.
std::string_view region_outside_comments(std::string_view value) {
    int depth = 0;
    bool quoted = false;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\\' && (depth > 0 || quoted)) ++i;
        else if (c == '"' && depth == 0) quoted = !quoted;
        else if (c == '(' && !quoted) ++depth;
        else if (c == ')' && !quoted && depth > 0) --depth;
        else if (c == ';' && depth == 0 && !quoted) return value.substr(0, i);
    }
    return value;
}

}  // namespace

std::vector<std::string> lenient_authserv_id_readings(std::string_view value) {
    std::vector<std::string> readings;
    std::vector<std::string> bases;
    for (const std::string_view region : {value.substr(0, value.find(';')), region_outside_comments(value)}) {
        bases.emplace_back(region);
        bases.push_back(decode_encoded_words(region));
    }
    for (const std::string& base : bases) {
        for (const auto& [mode, escapes] : {std::pair{Comments::Drop, true}, std::pair{Comments::Drop, false},
                                           std::pair{Comments::DropClosed, true},
                                           std::pair{Comments::DropClosed, false},
                                           std::pair{Comments::Unwrap, true}}) {
            const std::string tokens = spaced(without_comments(base, mode, escapes));
            if (tokens.empty()) {
                // This reader finds no authserv-id at all.
                if (std::find(readings.begin(), readings.end(), "") == readings.end()) readings.emplace_back();
                continue;
            }
            std::string joined = tokens;
            joined.erase(std::remove(joined.begin(), joined.end(), ' '), joined.end());
            add(readings, joined);
            add(readings, std::string_view(tokens).substr(0, tokens.find(' ')));
            // With comments unwrapped, a later token may be a comment's text
            // ("mx.example.net (via mx.example.com)"): only the first counts.
            if (mode != Comments::Unwrap) add(readings, std::string_view(tokens).substr(tokens.rfind(' ') + 1));
        }
    }
    return readings;
}

bool claims_authserv_id(std::string_view value, const std::vector<std::string>& ids) {
    std::vector<std::string> readings = lenient_authserv_id_readings(value);
    if (auto parsed = parse_authentication_results(value)) {
        add(readings, parsed->authserv_id);
    } else if (std::find(readings.begin(), readings.end(), "") != readings.end()) {
        // A header the grammar refuses and in which some reader finds no
        // authserv-id cannot be shown to be another host's.
        return true;
    }
    return std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
        const std::string mine = normalised(id);
        return !mine.empty() && std::find(readings.begin(), readings.end(), mine) != readings.end();
    });
}

}  // namespace auth
