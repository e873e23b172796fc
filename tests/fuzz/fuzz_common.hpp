// Helpers shared by the fuzz targets: an accepted-domain oracle written
// independently of policy::AcceptedDomains, so that the no-relay invariant
// is checked against the config's meaning rather than against the code that
// implements it.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
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

}  // namespace fuzz
