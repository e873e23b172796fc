// A DMARC evaluation that passed through SPF and DKIM, aligned, for the
// report tests (report_test.cpp, redis_report_store_test.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "state/dmarc_evaluation.hpp"

namespace report_test {

inline state::DmarcEvaluation evaluation(std::string domain, std::string ip, std::int64_t time = 1000) {
    state::DmarcEvaluation e;
    e.time = time;
    e.policy_domain = std::move(domain);
    e.organizational_domain = e.policy_domain;
    e.rua = "mailto:dmarc@" + e.policy_domain;
    e.source_ip = std::move(ip);
    e.header_from = e.policy_domain;
    e.envelope_from = e.policy_domain;
    e.envelope_to = "example.net";
    e.spf_domain = e.policy_domain;
    e.spf_scope = "mfrom";
    e.spf_result = "pass";
    e.dkim = {{e.policy_domain, "s1", "pass"}};
    e.p = "reject";
    e.discovery = "treewalk";
    e.dmarc_result = "pass";
    e.dkim_aligned = e.spf_aligned = true;
    e.disposition = "pass";
    return e;
}

}  // namespace report_test
