#include "metrics/catalogue.hpp"

#include <string>

#include "config.h"

namespace metrics {

namespace {

std::string named(const char* suffix) { return std::string(kPrefix) + suffix; }

Catalogue make(Registry& r) {
    Catalogue c{
        r.gauge(named("build_info"), "connector-milter's version; always 1", {"version"}),
        r.counter(named("sessions_opened_total"), "SMTP sessions a connector took", {"connector"}),
        r.gauge(named("sessions_active"), "SMTP sessions open now", {"connector"}),
        r.counter(named("sessions_refused_total"),
                  "SMTP sessions refused at connect (no connector matched, connection limits)", {"connector"}),
        r.counter(named("decisions_total"), "Answers to the MTA per connector, SMTP stage and action",
                  {"connector", "stage", "action"}),
        r.counter(named("decision_reasons_total"),
                  "Answers other than continue per connector, reason class and action",
                  {"connector", "reason", "action"}, ShowZero::No),
        r.counter(named("spf_results_total"), "SPF results (RFC 7208) per identity checked",
                  {"identity", "result"}, ShowZero::No),
        r.counter(named("dkim_results_total"),
                  "DKIM results (RFC 6376) per signature verified; none for a message without one", {"result"},
                  ShowZero::No),
        r.counter(named("dmarc_results_total"), "DMARC results (RFC 7489) per message evaluated", {"result"},
                  ShowZero::No),
        r.counter(named("dnsbl_results_total"),
                  "DNS block list answers (RFC 5782) per provider and result: listed, unlisted, failed",
                  {"provider", "result"}),
        r.counter(named("work_queue_full_total"),
                  "Batches of MTA commands answered 451 4.3.2 because the worker pool's queue was full "
                  "([milter] work_queue_limit; native engine)",
                  {}),
        r.counter(named("dkim_signatures_total"), "DKIM signatures (RFC 6376) made or failed, per algorithm",
                  {"algorithm", "result"}, ShowZero::No),
    };
    c.work_queue_full.with({});  // shown from the start, at 0
    c.build_info.with({PACKAGE_VERSION}).set(1);
    return c;
}

}  // namespace

Registry& registry() {
    static Registry r;
    return r;
}

const Catalogue& catalogue() {
    static const Catalogue c = make(registry());
    return c;
}

}  // namespace metrics
