// DMARC evaluation as RFC 9989 defines it (it obsoletes RFC 7489): policy
// discovery and Organizational Domains by the bounded DNS Tree Walk
// (section 4.10), relaxed/strict Identifier Alignment of SPF and DKIM
// (section 4.4), and the p/sp/np/t tags. [dmarc] discovery = "psl" keeps
// RFC 7489's public-suffix-list behaviour (section 3.2 and 6.6.3 there).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/dkim.hpp"
#include "auth/dmarc_record.hpp"
#include "auth/spf.hpp"
#include "auth/options.hpp"
#include "dns/resolver.hpp"

namespace auth {

class PublicSuffixList;

// The most DNS queries one evaluation makes: RFC 9989 section 4.10's DNS
// Tree Walk asks at most eight names, plus one existence check for np=
// (section 4.7). The SPF check keeps this much of the message's query
// budget free for it.
inline constexpr std::uint32_t kDmarcMaxQueries = 9;

struct DmarcInput {
    std::string from_domain;  // the Author Domain (RFC5322.From), one domain
    // The domain SPF checked for the MAIL FROM identity (the HELO name for
    // the null sender, RFC 7208 section 2.4) and its result.
    std::string spf_domain;
    SpfResult spf_result = SpfResult::None;
    std::vector<DkimSignatureResult> dkim;
};

enum class DmarcResult : std::uint8_t { Pass, Fail, None, TempError, PermError };
// "pass", "fail", ...: the RFC 8601 keyword, for headers and logs.
std::string_view dmarc_result_name(DmarcResult result);

// Why the receiver did not apply the policy the result called for: the
// RFC 9990 (and RFC 7489 Appendix C) PolicyOverrideType values this
// product uses.
enum class DmarcOverride : std::uint8_t { None, TrustedForwarder, LocalPolicy };
// "trusted_forwarder", "local_policy" ("" for None): the report's words.
std::string_view dmarc_override_name(DmarcOverride o);

struct DmarcVerdict {
    DmarcResult result = DmarcResult::None;
    // As published in the record that applied ("" when absent); `policy`
    // is "none" when the record has no usable p= (section 4.7).
    std::string policy, subdomain_policy, np;
    std::string applied_policy;  // which of p/sp/np applied here: its value
    bool testing = false;        // t=y
    // What the policy asks after t= (section 4.7 "t": one level lower);
    // None unless result is Fail. dmarc_policy_name() names it.
    DmarcPolicy disposition = DmarcPolicy::None;
    // The fail would perhaps have been a pass had an SPF or DKIM temperror
    // not happened (an aligned identifier had a temperror).
    bool fail_only_due_to_temperror = false;
    std::string from_domain, policy_domain, organizational_domain;
    std::string reason;

    // What an aggregate report (RFC 9990 section 3) needs of the record
    // that applied; set whenever a record was found.
    std::string rua;                 // as published; "" = no aggregate reports asked
    std::string fo;                  // as published, "" when absent
    bool strict_dkim = false;        // adkim=s
    bool strict_spf = false;         // aspf=s
    char psd = 'u';                  // psd=y|n|u
    DmarcDiscovery discovery = DmarcDiscovery::TreeWalk;  // how the record was found
    // The Identifier Alignment tests (section 4.4) as the report's
    // policy_evaluated states them. With rua= both are evaluated even when
    // DKIM alone already passed.
    bool dkim_aligned = false;
    bool spf_aligned = false;
    // Set by the session after evaluation when local policy delivered a
    // fail with disposition none (trusted forwarder, trusted ARC sealer);
    // `override_comment` says which (for the header and the aggregate
    // report's reason comment).
    DmarcOverride override_reason = DmarcOverride::None;
    std::string override_comment;
};

class DmarcEvaluator {
public:
    // Throws std::runtime_error when discovery = "psl" and the list cannot
    // be loaded.
    DmarcEvaluator(std::shared_ptr<dns::Resolver> resolver, DmarcOptions options);
    ~DmarcEvaluator();
    DmarcEvaluator(const DmarcEvaluator&) = delete;
    DmarcEvaluator& operator=(const DmarcEvaluator&) = delete;

    // Thread-safe; all DNS questions go through `budget`.
    DmarcVerdict evaluate(const DmarcInput& input, dns::Budget& budget) const;

private:
    std::shared_ptr<dns::Resolver> resolver_;
    DmarcOptions options_;
    std::unique_ptr<PublicSuffixList> psl_;  // only in psl mode
};

}  // namespace auth
