// One DMARC evaluation as an aggregate report (RFC 9990 section 3) needs it:
// what the daemon records for every message whose DMARC Policy Record asks
// for aggregate reports (rua=), and what `connector-milter report` groups
// into <record> elements. Plain values only: every store keeps them as they
// are, and the report command validates them when it writes the XML.
#pragma once
#include <cstdint>
#include <functional>
#include <tuple>
#include <string>
#include <vector>

namespace state {

// One DKIM-Signature's result (RFC 9990 auth_results/dkim).
struct DkimOutcome {
    std::string domain;    // d=
    std::string selector;  // s=
    std::string result;    // RFC 8601 section 2.7.1 keyword: pass, fail, policy, ...
    bool operator==(const DkimOutcome&) const = default;
    bool operator<(const DkimOutcome& o) const {
        return std::tie(domain, selector, result) < std::tie(o.domain, o.selector, o.result);
    }
};

struct DmarcEvaluation {
    std::int64_t time = 0;        // seconds since the epoch (UTC); 0: the recorder stamps it
    std::string reporter;         // the host that evaluated ([milter] authserv_id)
    std::string policy_domain;    // where the DMARC Policy Record was found (the report's domain)
    std::string organizational_domain;  // of the policy domain, as far as the evaluation learnt it
    std::string rua;              // the record's rua= as published
    std::string source_ip;        // the SMTP client
    std::string header_from;      // RFC5322.From domain
    std::string envelope_from;    // RFC5321.MailFrom domain; "" for the null reverse-path
    std::string helo;             // the HELO/EHLO name when SPF checked it (null reverse-path), else ""
    std::string envelope_to;      // the first RFC5321.RcptTo domain
    std::string spf_domain;       // the domain SPF checked ("" when SPF did not run)
    std::string spf_scope;        // "mfrom" or "helo"
    std::string spf_result;       // RFC 8601 section 2.7.2 keyword
    std::vector<DkimOutcome> dkim;
    // The policy published (RFC 9989 section 4.7); "" where the tag was absent.
    std::string p, sp, np, fo;
    char testing = 'n';           // t=
    char adkim = 'r';
    char aspf = 'r';
    char psd = 'u';
    std::string discovery;        // "treewalk" or "psl"
    std::string dmarc_result;     // pass, fail, temperror, ... (as in Authentication-Results)
    bool dkim_aligned = false;    // policy_evaluated/dkim
    bool spf_aligned = false;     // policy_evaluated/spf
    std::string disposition;      // none, pass, quarantine, reject: what was done
    std::string reason_type;      // "" or an RFC 9990 PolicyOverrideType
    std::string reason_comment;
};

// Where sessions hand their evaluations. Implementations never block the
// caller on I/O: a session runs on a milter worker thread with the MTA
// waiting for its reply.
class EvaluationSink {
public:
    virtual ~EvaluationSink() = default;
    virtual void record(DmarcEvaluation evaluation) = 0;
};

}  // namespace state
