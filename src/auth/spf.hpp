// SPF (RFC 7208) verdicts for the MAIL FROM and HELO identities, computed by
// libspf2 over a DNS layer that asks our one dns::Resolver (cache, timeouts,
// per-message budget, static zone). The gaps libspf2 1.2.10 leaves are
// closed here (see spf.cpp): no type-99 queries, the void-lookup limit,
// temperror for a failing top-level lookup, permerror for unknown
// mechanisms and malformed macros (screened before libspf2's macro parser,
// CVE-2023-42118), and an explanation that points at no dead web site.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dns/resolver.hpp"
#include "policy/ip_address.hpp"

namespace auth {

enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
// (RFC 7208 section 2.6, RFC 8601 section 2.7.2).
std::string_view spf_result_name(SpfResult r);

struct SpfVerdict {
    SpfResult result = SpfResult::None;
    std::string identity;     // the domain checked (RFC 7208 section 2.3/2.4)
    std::string explanation;  // for Fail only (RFC 7208 section 6.2); no control bytes
    std::string comment;      // short human text for the A-R comment / logs
    std::string received_spf; // the Received-SPF header value (RFC 7208 section 9.1)
};

class SpfChecker {
public:
    explicit SpfChecker(std::shared_ptr<dns::Resolver> resolver);
    ~SpfChecker();
    SpfChecker(const SpfChecker&) = delete;
    SpfChecker& operator=(const SpfChecker&) = delete;

    // Thread-safe after construction. `mail_from` is the address without
    // <>; "" is the null sender, checked as postmaster@helo (RFC 7208
    // section 2.4). Every DNS query is charged to `budget`; when it runs
    // out the verdict is temperror.
    SpfVerdict check_mailfrom(const policy::IpAddress& client, std::string_view helo,
                              std::string_view mail_from, std::string_view receiving_host,
                              dns::Budget& budget) const;
    // The HELO identity (RFC 7208 section 2.3).
    SpfVerdict check_helo(const policy::IpAddress& client, std::string_view helo,
                          std::string_view receiving_host, dns::Budget& budget) const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

// The name whose TXT record a check of `domain` asks first (what
// check_helo asks for a HELO name), or nullopt when the check answers
// "none" without DNS (RFC 7208 section 4.3: not a multi-label FQDN). The
// session asks it ahead (dns/prefetch.hpp).
std::optional<std::string> spf_record_name(std::string_view domain);

// Exposed for tests: why a published SPF record is refused before it reaches
// libspf2's parser (empty when it may be parsed). `record` is the whole TXT
// text starting with "v=spf1".
std::string spf_record_screen_problem(std::string_view record);

}  // namespace auth
