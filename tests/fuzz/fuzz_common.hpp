// Helpers shared by the fuzz targets: an accepted-domain oracle written
// independently of policy::AcceptedDomains, so that the no-relay invariant
// is checked against the config's meaning rather than against the code that
// implements it.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fuzz {

inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// One accepted domain as the config text states it: "contoso.com" or
// "*.contoso.net" (the domain itself and every subdomain).
struct DomainRule {
    std::string domain;
    bool wildcard = false;
};

// True when `domain` (any case, at most one trailing dot) is covered by a
// rule. Address literals ("[192.0.2.1]") are never accepted domains.
inline bool domain_accepted(std::string_view domain, const std::vector<DomainRule>& rules) {
    std::string d = lower(domain);
    if (!d.empty() && d.back() == '.') d.pop_back();
    if (d.empty() || d.front() == '[') return false;
    for (const auto& r : rules) {
        if (d == r.domain) return true;
        if (r.wildcard && d.size() > r.domain.size() + 1 &&
            d.compare(d.size() - r.domain.size(), r.domain.size(), r.domain) == 0 &&
            d[d.size() - r.domain.size() - 1] == '.')
            return true;
    }
    return false;
}

// A violated invariant: print it and abort so that libFuzzer keeps the input.
[[noreturn]] inline void violation(const std::string& what) {
    std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

// Printable rendering of fuzzed bytes for violation messages.
inline std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    return out;
}

// A fuzz input as a message: "Name: value" lines (folds kept in the value;
// a line without a colon, and its folds, ignored), an empty line, then the
// body. Returns the header fields; `body` gets the rest of the input.
inline std::vector<std::pair<std::string, std::string>> split_message(std::string_view text, std::string_view& body) {
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t pos = 0;
    bool open = false;  // a field that folds may continue
    while (pos < text.size()) {
        const std::size_t eol = text.find('\n', pos);
        const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
        const std::string_view line = text.substr(pos, next - pos);
        pos = next;
        if (line == "\n" || line == "\r\n") break;
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            if (open) headers.back().second += line;
            continue;
        }
        const auto colon = line.find(':');
        open = colon != std::string_view::npos && colon != 0;
        if (open) headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
    body = text.substr(pos);
    return headers;
}

}  // namespace fuzz
