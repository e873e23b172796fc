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

constexpr bool ascii_istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

// A DNS name as every module compares it (RFC 4343: case-insensitive in
// ASCII): lower case, without the root's trailing dot.
inline std::string dns_name_key(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    return ascii_lower(name);
}

}  // namespace util
