// ASCII case folding: the one home for it. Mail protocols compare domain
// names, header names, keywords and macro values case-insensitively in ASCII
// only (RFC 5321 section 2.4, RFC 5322 section 1.2.2); bytes outside A-Z are
// compared as they are, so '@' never equals '`' nor '[' equals '{'.
#pragma once
#include <string>
#include <string_view>

namespace util {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

}  // namespace util
