// Every metric the daemon exports: one place for the names, help texts and
// label names, as connector-milter.conf(5) lists them. Names follow the
// Prometheus conventions: one prefix (connector_milter_), base units
// (seconds), "_total" for counters. Labels have bounded values only: a
// connector's name (from the configuration), a stage, an action, a result,
// a reason class; never a domain, an address or a user.
//
// Modules resolve the children they count into once (at set-up, or when a
// configuration is loaded) and keep the references: see registry.hpp.
#pragma once
#include "metrics/registry.hpp"

namespace metrics {

inline constexpr const char* kPrefix = "connector_milter_";

struct Catalogue {
    // connector_milter_build_info{version} 1
    GaugeFamily& build_info;
    // Sessions (one SMTP connection each) per connector: opened (a
    // connector took it), active now, refused at connect (no connector,
    // connection limits; connector "(none)" when none matched).
    CounterFamily& sessions_opened;
    GaugeFamily& sessions_active;
    CounterFamily& sessions_refused;
    // What the session answered, per connector x stage x action
    // (continue, reject, tempfail, quarantine). Continue is counted at
    // connect, helo, mail, rcpt, eoh and eom, not for each header line or
    // body chunk.
    CounterFamily& decisions;
    // Every answer other than continue, per connector x reason class x
    // action (policy::ReasonClass: relay, sender, size, rate, ...).
    CounterFamily& decision_reasons;
    // Verdicts of the checks: SPF per identity (mailfrom, helo), DKIM per
    // signature ("none": a message without one), DMARC per message.
    CounterFamily& spf_results;
    CounterFamily& dkim_results;
    CounterFamily& dmarc_results;
    // ARC chain results (RFC 8617: none, pass, fail) per message verified.
    CounterFamily& arc_results;
    // DNS block list answers per provider x result (listed, unlisted,
    // failed), one per provider asked, when a session first reads them.
    CounterFamily& dnsbl_results;
    // Batches of MTA commands the native engine answered 451 4.3.2 because
    // [milter] work_queue_limit batches already waited for a worker (the
    // "worker pool saturated" log line says the same, at most once a second).
    CounterFamily& work_queue_full;
    // DKIM signatures we made (result "made") or could not make ("failed":
    // an unusable key or a signing error), per algorithm ("none" when no
    // key could be chosen).
    CounterFamily& dkim_signatures;
    // Time the session spent deciding one event (its DNS included), per
    // stage: stage="eom" is the end-of-message latency the MTA waits for.
    // Header lines and body chunks are not timed: they ask no DNS, and
    // timing each would cost more than the rest of the counting together
    // (tests/bench/metrics_cost).
    HistogramFamily& stage_duration;
    // DNS (dns/counters.hpp): questions that left the process (libunbound),
    // answers from our cache, answers per status (ok, nxdomain, nodata,
    // servfail, timeout) of those that left, and questions not asked
    // because the message's query or time budget was spent.
    CounterFamily& dns_queries;
    CounterFamily& dns_cache_hits;
    CounterFamily& dns_answers;
    CounterFamily& dns_budget_exhausted;
    // The engine's own tempfails, before any session work, other than
    // work_queue_full: descriptors (over the descriptor budget),
    // draining (shutting down).
    CounterFamily& engine_tempfails;
    // The native engine's worker pool: threads, threads running a batch,
    // batches waiting ([milter] workers, work_queue_limit).
    GaugeFamily& worker_pool_threads;
    GaugeFamily& worker_pool_busy;
    GaugeFamily& worker_pool_queued;
    // Configuration loads at SIGUSR1 (result ok or failed), and when the
    // running configuration was loaded (Unix time) and its age.
    CounterFamily& config_reloads;
    GaugeFamily& config_loaded_timestamp;
    ComputedGauge& config_age;
    // DMARC evaluations for aggregate reports (state/report_recorder):
    // stored, or lost because the queue was full or the store failed.
    CounterFamily& dmarc_report_records;
    // [cluster] (state/redis_limit_store): the decisions asked of Redis
    // per result (ok; error: an error reply, a reply of the wrong shape or
    // a broken connection; timeout; not_connected: failed at once between
    // reconnection attempts), and the decisions taken without it per
    // on_unavailable (local, tempfail).
    CounterFamily& redis_requests;
    CounterFamily& redis_fallbacks;
};

Registry& registry();
const Catalogue& catalogue();

// The running configuration was loaded now (start, successful reload).
void config_loaded_now();

}  // namespace metrics
