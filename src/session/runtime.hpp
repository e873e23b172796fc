// What sessions share. A Runtime belongs to one config snapshot (the config
// and the verdict services built from it) and is replaced whole on reload;
// Shared (connection counts, rate windows) outlives reloads.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "state/limit_store.hpp"

namespace dns { class Resolver; }
namespace auth { class SpfChecker; class DkimVerifier; class DmarcEvaluator; class DkimSigner; class ArcVerifier; }
namespace state { class EvaluationSink; }

namespace session {

class ConnectorCounters;
class BlockListCounters;

struct Runtime {
    // Where sessions read the time (the message's DNS time budget); tests
    // may put a fake clock here. Never null.
    using Clock = std::chrono::steady_clock::time_point (*)();
    Clock now = &std::chrono::steady_clock::now;
    // The clock of the latency histograms (metrics); apart from `now`, so
    // that timing a stage never changes what the verdict work measures.
    Clock metrics_now = &std::chrono::steady_clock::now;
    // The date, for entries that expire ([[ip_allow]], [[ip_block]]).
    using WallClock = std::chrono::system_clock::time_point (*)();
    WallClock wall_now = &std::chrono::system_clock::now;
    std::shared_ptr<const config::Config> config;
    std::string authserv_id;  // config's, or the host name
    std::shared_ptr<dns::Resolver> resolver;
    std::shared_ptr<const auth::SpfChecker> spf;
    std::shared_ptr<const auth::DkimVerifier> dkim;
    std::shared_ptr<const auth::DmarcEvaluator> dmarc;
    // The counters of each connector of `config` (metrics), and of sessions
    // no connector took (key nullptr); made by build_runtime.
    std::unordered_map<const policy::Connector*, std::shared_ptr<const ConnectorCounters>> connector_counters;
    // Null for a connector this runtime does not know.
    const ConnectorCounters* counters(const policy::Connector* connector) const;
    // The counters of each [[block_list_provider]] of `config`.
    std::unordered_map<const policy::BlockListProvider*, std::shared_ptr<const BlockListCounters>> block_list_counters;
    const BlockListCounters* block_list_counters_of(const policy::BlockListProvider* provider) const;
    // DKIM signing ([dkim_signing] keys and table): the signer, and a
    // verifier that knows only our own public keys (no DNS), which tells
    // whether a message already carries our valid signature.
    std::shared_ptr<const auth::DkimSigner> signer;
    std::shared_ptr<const auth::DkimVerifier> own_signatures;
    // Where DMARC evaluations for aggregate reports go ([dmarc.reports]);
    // null when reports are off. The daemon wires it (it outlives reloads).
    std::shared_ptr<state::EvaluationSink> dmarc_reports;
    std::shared_ptr<const auth::ArcVerifier> arc;  // null: [arc] or [dkim] disabled
    ~Runtime();
};

struct Shared {
    // Connection counts and rate windows: this process's own, or Redis
    // shared with other hosts ([cluster], state/redis_limit_store.hpp).
    std::shared_ptr<state::LimitStore> limits = std::make_shared<state::LocalLimitStore>();
};

struct RuntimeBuild {
    std::shared_ptr<const Runtime> runtime;  // null on error
    std::vector<std::string> errors;
};

// The SPF/DKIM/DMARC services a config asks for, all asking `resolver`.
// The resolver (libunbound's context and threads, or a static zone) is the
// caller's wiring: daemon/ builds it from the config's [dns] settings
// (dns::make_resolver), tests pass their own. A null resolver is an error.
// `dmarc_reports` (may be null) becomes Runtime::dmarc_reports.
RuntimeBuild build_runtime(std::shared_ptr<const config::Config> config, std::shared_ptr<dns::Resolver> resolver,
                           std::shared_ptr<state::EvaluationSink> dmarc_reports = nullptr);

}  // namespace session
