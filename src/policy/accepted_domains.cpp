#include "policy/accepted_domains.hpp"

#include <algorithm>

#include <idn2.h>

#include <memory>

namespace policy {

std::optional<DomainType> parse_domain_type(std::string_view text) {
    if (text == "authoritative") return DomainType::Authoritative;
    if (text == "internal_relay") return DomainType::InternalRelay;
    if (text == "external_relay") return DomainType::ExternalRelay;
    return std::nullopt;
}

std::string_view domain_type_name(DomainType t) {
    switch (t) {
    case DomainType::Authoritative: return "authoritative";
    case DomainType::InternalRelay: return "internal_relay";
    case DomainType::ExternalRelay: return "external_relay";
    }
    return "unknown";
}

std::string AcceptedDomain::to_string() const {
    return include_subdomains ? "*." + domain : domain;
}

namespace {

// RFC 3629 section 4: well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { ++i; continue; }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
        else return false;
        for (std::size_t k = 1; k <= n; ++k) {
            if (i + k >= s.size()) return false;
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

bool is_ldh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

struct Idn2Free {
    void operator()(char* p) const { idn2_free(p); }
};

}  // namespace

std::optional<std::string> normalize_domain(std::string_view domain) {
    // A fully qualified name may end with the root's dot ("example.com.");
    // MTAs strip it before routing, so it must not make a domain look foreign.
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    if (domain.empty() || domain.size() > 1024) return std::nullopt;

    std::string lowered;
    lowered.reserve(domain.size());
    bool ascii = true;
    for (const char ch : domain) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x80) ascii = false;
        lowered += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : ch;
    }

    std::string result;
    if (ascii) {
        result = std::move(lowered);
    } else {
        if (!valid_utf8(lowered)) return std::nullopt;
        // IDNA 2008 with UTS #46 non-transitional processing, as current
        // browsers and MTAs with SMTPUTF8 do: "ß" stays distinct from "ss".
        char* out = nullptr;
        const int rc = idn2_to_ascii_8z(lowered.c_str(), &out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        const std::unique_ptr<char, Idn2Free> owned(out);
        if (rc != IDN2_OK || !out) return std::nullopt;
        result = out;
        for (char& ch : result)
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        if (!result.empty() && result.back() == '.') result.pop_back();
    }

    // RFC 1035 section 2.3.4 and RFC 5321 section 4.5.3.1.2 limits.
    if (result.empty() || result.size() > 253) return std::nullopt;
    std::size_t label_len = 0;
    for (const char ch : result) {
        if (ch == '.') {
            if (label_len == 0) return std::nullopt;
            label_len = 0;
            continue;
        }
        if (!is_ldh(ch)) return std::nullopt;
        if (++label_len > 63) return std::nullopt;
    }
    if (label_len == 0) return std::nullopt;
    return result;
}

std::optional<std::string> unmapped_form(std::string_view domain) {
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    const bool ascii = std::all_of(domain.begin(), domain.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii || !valid_utf8(domain)) return std::nullopt;
    const auto mapped = normalize_domain(domain);
    if (!mapped) return std::nullopt;
    // The name as IDNA 2008 writes it back in Unicode (RFC 5891 section
    // 5.5): when the text differs from it beyond ASCII case, UTS #46 had to
    // map something (fullwidth forms, an ideographic full stop, a soft
    // hyphen, Unicode upper case, a compatibility character).
    char* out = nullptr;
    const int rc = idn2_to_unicode_8z8z(mapped->c_str(), &out, 0);
    const std::unique_ptr<char, Idn2Free> owned(out);
    std::string lowered(domain);
    for (char& ch : lowered)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    if (rc == IDN2_OK && out && lowered == out) return std::nullopt;
    return lowered;
}

bool AcceptedDomains::add(std::string_view pattern, DomainType type, std::string* error) {
    const std::string shown(pattern);
    AcceptedDomain entry;
    entry.type = type;
    if (pattern.size() >= 2 && pattern.substr(0, 2) == "*.") {
        entry.include_subdomains = true;
        pattern.remove_prefix(2);
    }
    const auto normalized = normalize_domain(pattern);
    if (!normalized) {
        if (error)
            *error = "accepted domain '" + shown +
                     "' is not a domain name (expected example.com or *.example.com)";
        return false;
    }
    entry.domain = *normalized;
    for (const auto& existing : entries_) {
        if (existing.domain == entry.domain && existing.include_subdomains == entry.include_subdomains) {
            if (error) *error = "accepted domain '" + shown + "' is listed twice";
            return false;
        }
    }
    entries_.push_back(std::move(entry));
    return true;
}

std::optional<AcceptedDomain> AcceptedDomains::match(std::string_view domain) const {
    // Ours only through UTS #46 mapping: the MTA routes it as written.
    if (unmapped_form(domain)) return std::nullopt;
    const auto normalized = normalize_domain(domain);
    if (!normalized) return std::nullopt;
    const std::string& d = *normalized;
    const AcceptedDomain* best = nullptr;
    bool best_exact = false;
    for (const auto& e : entries_) {
        bool covered = false;
        bool exact = false;
        if (d == e.domain) {
            covered = true;
            exact = !e.include_subdomains;
        } else if (e.include_subdomains && d.size() > e.domain.size() + 1 &&
                   d.compare(d.size() - e.domain.size(), e.domain.size(), e.domain) == 0 &&
                   d[d.size() - e.domain.size() - 1] == '.') {
            covered = true;
        }
        if (!covered) continue;
        // An exact entry beats any wildcard; among wildcards (and "*.x"
        // matching x itself) the longest domain is the most specific.
        if (!best || (exact && !best_exact) ||
            (exact == best_exact && e.domain.size() > best->domain.size())) {
            best = &e;
            best_exact = exact;
        }
    }
    if (!best) return std::nullopt;
    return *best;
}

bool AcceptedDomains::is_ours(std::string_view domain) const {
    const auto m = match(domain);
    return m && (m->type == DomainType::Authoritative || m->type == DomainType::InternalRelay);
}

}  // namespace policy
