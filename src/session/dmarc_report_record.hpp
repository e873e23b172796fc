// What one DMARC evaluation leaves for the aggregate report (RFC 9990), as a
// pure function of plain values: the session only hands the result to the
// runtime's recorder.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim.hpp"
#include "auth/dmarc.hpp"
#include "auth/spf.hpp"
#include "session/auth_decisions.hpp"
#include "state/dmarc_evaluation.hpp"

namespace session {

struct EvaluationFacts {
    std::string reporter;       // authserv-id
    std::string source_ip;      // "" for a connection without an IP
    std::string envelope_from;  // MAIL FROM domain, "" for the null reverse-path
    std::string helo;           // the HELO name when SPF checked it for the null reverse-path
    std::string envelope_to;    // first recipient's domain
    bool spf_checked = false;
    std::string spf_domain;
    bool spf_scope_helo = false;
    auth::SpfResult spf_result = auth::SpfResult::None;
    std::vector<auth::DkimSignatureResult> dkim;
};

// RFC 9990 section 3.1.1: the disposition reported is what was done with
// the message ("pass" when it passed under an enforcing policy), and a
// reason is given whenever that differs from what the policy asked:
// policy_test_mode for t=y, local_policy when [dmarc] reject_action or
// quarantine_action chose another action, other for a temporary deferral.
state::DmarcEvaluation dmarc_evaluation(const EvaluationFacts& facts, const auth::DmarcVerdict& verdict,
                                        const DmarcDecision& decision);

// Messages sent by the report command itself ([dmarc.reports] from as the
// envelope sender) are not recorded: reports about reports would loop.
bool is_own_report(std::string_view mail_from_address, std::string_view report_sender);

}  // namespace session
