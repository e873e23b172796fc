#include "log/record.hpp"

#include <cstdio>

namespace daemon_log {

namespace {

// The text format's quoting, unchanged since the first release: '"' and
// '\' escaped, control characters shown as '?', so that one decision is
// one line.
std::string text_quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += '?';
            continue;
        }
        out += c;
    }
    out += '"';
    return out;
}

// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629
// section 4: no overlong forms, no surrogates, nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(0);
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
    if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        if (b0 == 0xe0) lo = 0xa0;
        if (b0 == 0xed) hi = 0x9f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        if (b0 == 0xf0) lo = 0x90;
        if (b0 == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
    return n;
}

}  // namespace

std::string json_string(std::string_view text) {
    std::string out = "\"";
    out.reserve(text.size() + 2);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(text.substr(i));
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(text.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char escaped[8];
                    std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
                    out += escaped;
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
    return out;
}

std::string render(const Record& record, Format format) {
    std::string line;
    line.reserve(256);
    if (format == Format::Json) {
        line += "{\"queue_id\":";
        line += json_string(record.queue_id);
        for (const auto& f : record.fields) {
            line += ",\"";
            line += f.key;
            line += "\":";
            line += json_string(f.value);
        }
        line += '}';
        return line;
    }
    line += record.queue_id;
    line += ':';
    for (const auto& f : record.fields) {
        line += ' ';
        line += f.key;
        line += '=';
        switch (f.style) {
            case TextStyle::Bare: line += f.value; break;
            case TextStyle::Quoted: line += text_quoted(f.value); break;
            case TextStyle::Bracketed:
                line += '[';
                line += f.value;
                line += ']';
                break;
        }
    }
    return line;
}

}  // namespace daemon_log
