// Exchange accepted domains: the domains this organisation receives mail for.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace policy {

enum class DomainType : std::uint8_t { Authoritative, InternalRelay, ExternalRelay };
std::optional<DomainType> parse_domain_type(std::string_view text);  // authoritative | internal_relay | external_relay
std::string_view domain_type_name(DomainType t);

struct AcceptedDomain {
    std::string domain;              // normalised: lower case, A-labels, no trailing dot
    bool include_subdomains = false; // written "*.contoso.com": contoso.com and every subdomain
    DomainType type = DomainType::Authoritative;
    std::string to_string() const;  // "*.contoso.com" or "contoso.com"
};

// Lower-cases, removes one trailing dot, converts U-labels to A-labels
// (IDNA 2008). nullopt when the text is not a usable domain name (empty,
// empty labels, a label over 63 octets, over 253 octets, bytes that are
// neither LDH nor valid UTF-8).
std::optional<std::string> normalize_domain(std::string_view domain);

// For a non-ASCII name that normalize_domain() accepts only through UTS #46
// mapping ("ｃｏｎｔｏｓｏ.test", "contoso。test", a soft hyphen inside, Unicode
// upper case): the text as written (ASCII lower-cased, no trailing dot),
// which an MTA that does not map (Postfix with smtputf8_enable = no,
// sendmail) routes as it is, to a foreign next hop. nullopt for ASCII
// names, names already in IDNA 2008 form, and names that are not names.
std::optional<std::string> unmapped_form(std::string_view domain);

class AcceptedDomains {
public:
    // "o365info.com" or "*.contoso.com". Returns false and sets *error when
    // the pattern does not parse.
    bool add(std::string_view pattern, DomainType type, std::string* error = nullptr);

    // The most specific entry covering the domain: an exact entry beats a
    // wildcard; among wildcards the longest wins. `domain` is normalised first.
    std::optional<AcceptedDomain> match(std::string_view domain) const;

    // Authoritative or internal relay: a domain we are the sender of.
    bool is_ours(std::string_view domain) const;

    const std::vector<AcceptedDomain>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

private:
    std::vector<AcceptedDomain> entries_;
};

}  // namespace policy
