// Where a domain's aggregate reports go: the mailto: URIs of its rua= tag
// (RFC 9989 section 4.7), the verification of destinations outside the
// domain (RFC 9990 section 5 "Verifying External Destinations"), and the
// administrator's suppression list.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace report {

struct Destination {
    std::string uri;      // as published
    std::string address;  // the mailto: address, percent-decoded
    std::string host;     // its domain, lower case
    // The "!size" suffix of RFC 7489 section 6.2 (k, m, g, t: powers of
    // two); RFC 9989 dropped it, but records still carry it.
    std::optional<std::uint64_t> max_size;
};

// The mailto: URIs of a rua= value, in order. Other schemes, and URIs that
// do not parse, are left out (RFC 9989 section 4.7: URIs of schemes not
// understood are ignored); `problems` says which and why.
std::vector<Destination> parse_rua(std::string_view rua, std::vector<std::string>* problems);

// Whether `d` is on the suppression list: an entry with '@' names one
// address, an entry without names a domain and its subdomains. Compared
// without case.
bool suppressed(const Destination& d, const std::vector<std::string>& suppress);

enum class Verification : std::uint8_t {
    Internal,    // the destination shares the policy domain's Organizational Domain
    Authorized,  // <policy-domain>._report._dmarc.<host> has a v=DMARC1 record
    Refused,     // no such record: the destination must be ignored
    TempError,   // DNS could not tell now (a later run may)
};

struct VerifiedDestinations {
    Verification verification = Verification::Refused;
    // What to send to: the destination itself, or the rua= of the
    // verification record when it names the same host (step 9).
    std::vector<Destination> destinations;
    std::string note;  // why refused, or what was overridden
};

// RFC 9990 section 5: a destination whose host is outside the policy
// domain's Organizational Domain is used only after a TXT record starting
// with v=DMARC1 is found at <policy-domain>._report._dmarc.<host>. A rua=
// in that record replaces the destination when every URI in it has the
// same host; when one names another host, neither is used.
VerifiedDestinations verify_destination(const Destination& d, std::string_view policy_domain,
                                        std::string_view organizational_domain, dns::Resolver& resolver);

}  // namespace report
