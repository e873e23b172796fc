#include "metrics/catalogue.hpp"

#include <atomic>
#include <chrono>
#include <string>

#include "config.h"

namespace metrics {

namespace {

std::string named(const char* suffix) { return std::string(kPrefix) + suffix; }

// When the running configuration was loaded, in seconds since the epoch; 0
// before the first load.
std::atomic<double> g_config_loaded{0};

double seconds_since_epoch() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// From 0.5 ms (a stage without DNS) to 10 s (past the MTA's patience:
// Postfix's milter_command_timeout is 30 s, sendmail's 10 s).
const std::vector<double> kStageBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};

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
        r.counter(named("arc_results_total"), "ARC chain results (RFC 8617) per message verified: none, pass, fail",
                  {"result"}, ShowZero::No),
        r.counter(named("dnsbl_results_total"),
                  "DNS block list answers (RFC 5782) per provider and result: listed, unlisted, failed",
                  {"provider", "result"}),
        r.counter(named("work_queue_full_total"),
                  "Batches of MTA commands answered 451 4.3.2 because the worker pool's queue was full "
                  "([milter] work_queue_limit; native engine)",
                  {}),
        r.counter(named("dkim_signatures_total"), "DKIM signatures (RFC 6376) made or failed, per algorithm",
                  {"algorithm", "result"}, ShowZero::No),
        r.histogram(named("stage_duration_seconds"), "Time spent deciding one event, DNS included, per SMTP stage",
                    {"stage"}, kStageBounds),
        r.counter(named("dns_queries_total"), "DNS questions sent upstream (libunbound)", {}),
        r.counter(named("dns_cache_hits_total"), "DNS questions answered from the daemon's cache", {}),
        r.counter(named("dns_answers_total"), "Answers to the DNS questions sent upstream, per status", {"status"}),
        r.counter(named("dns_budget_exhausted_total"),
                  "DNS questions not asked: the message's query or time budget was spent", {}),
        r.counter(named("engine_tempfails_total"),
                  "Tempfails of the milter engine before any session work (descriptors, draining)",
                  {"reason"}),
        r.gauge(named("worker_pool_threads"), "Threads of the native engine's worker pool", {}),
        r.gauge(named("worker_pool_busy"), "Worker threads running a batch of MTA commands now", {}),
        r.gauge(named("worker_pool_queued"), "Batches of MTA commands waiting for a worker thread", {}),
        r.counter(named("config_reloads_total"), "Configuration reloads (SIGUSR1) per result", {"result"}),
        r.gauge(named("config_loaded_timestamp_seconds"), "When the running configuration was loaded (Unix time)",
                {}),
        r.computed_gauge(named("config_age_seconds"), "Age of the running configuration",
                         [] {
                             const double loaded = g_config_loaded.load();
                             return loaded > 0 ? seconds_since_epoch() - loaded : 0.0;
                         }),
        r.counter(named("dmarc_report_records_total"),
                  "DMARC evaluations for aggregate reports: stored, lost to a full queue (queue_full) or to a "
                  "failing report store (store_error)",
                  {"result"}),
        r.counter(named("redis_requests_total"),
                  "Connection and rate decisions asked of Redis ([cluster]) per result: ok, error, timeout, "
                  "not_connected",
                  {"result"}),
        r.counter(named("redis_fallbacks_total"),
                  "Connection and rate decisions taken without Redis ([cluster]) per on_unavailable: local, tempfail",
                  {"on_unavailable"}),
    };
    c.work_queue_full.with({});  // shown from the start, at 0
    c.build_info.with({PACKAGE_VERSION}).set(1);
    // Every child of the families without labels or with a fixed set of
    // values exists from the start, at zero.
    for (const char* stage : {"connect", "helo", "mail", "rcpt", "eoh", "eom"}) c.stage_duration.with({stage});
    c.dns_queries.with({});
    c.dns_cache_hits.with({});
    for (const char* status : {"ok", "nxdomain", "nodata", "servfail", "timeout"}) c.dns_answers.with({status});
    c.dns_budget_exhausted.with({});
    for (const char* reason : {"descriptors", "descriptors_closed", "draining"}) c.engine_tempfails.with({reason});
    c.worker_pool_threads.with({});
    c.worker_pool_busy.with({});
    c.worker_pool_queued.with({});
    for (const char* result : {"ok", "failed"}) c.config_reloads.with({result});
    c.config_loaded_timestamp.with({});
    for (const char* result : {"stored", "queue_full", "store_error"}) c.dmarc_report_records.with({result});
    for (const char* result : {"ok", "error", "timeout", "not_connected"}) c.redis_requests.with({result});
    for (const char* mode : {"local", "tempfail"}) c.redis_fallbacks.with({mode});
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

void config_loaded_now() {
    const double now = seconds_since_epoch();
    g_config_loaded.store(now);
    catalogue().config_loaded_timestamp.with({}).set(static_cast<std::int64_t>(now));
}

}  // namespace metrics
