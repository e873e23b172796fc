#include "session/runtime.hpp"

#include "auth/arc.hpp"
#include "auth/dkim.hpp"
#include "auth/dkim_own_keys.hpp"
#include "auth/dkim_signer.hpp"
#include "auth/dmarc.hpp"
#include "auth/spf.hpp"
#include "dns/resolver.hpp"
#include "session/counters.hpp"
#include "state/dmarc_evaluation.hpp"

namespace session {

Runtime::~Runtime() = default;

const BlockListCounters* Runtime::block_list_counters_of(const policy::BlockListProvider* provider) const {
    const auto it = block_list_counters.find(provider);
    return it == block_list_counters.end() ? nullptr : it->second.get();
}

const ConnectorCounters* Runtime::counters(const policy::Connector* connector) const {
    const auto it = connector_counters.find(connector);
    return it == connector_counters.end() ? nullptr : it->second.get();
}

RuntimeBuild build_runtime(std::shared_ptr<const config::Config> config,
                           std::shared_ptr<dns::Resolver> resolver,
                           std::shared_ptr<state::EvaluationSink> dmarc_reports) {
    RuntimeBuild build;
    auto runtime = std::make_shared<Runtime>();
    // The loader fills it in (config::local_host_name() when not set).
    runtime->authserv_id = config->milter.authserv_id;
    if (!resolver) {
        build.errors.push_back("no DNS resolver");
        return build;
    }
    // One instance of each verifier per configuration snapshot, shared by
    // all sessions: libspf2's server and libopendkim's library are
    // thread-safe after set-up.
    try {
        if (config->spf.enabled) runtime->spf = std::make_shared<auth::SpfChecker>(resolver);
        if (config->dkim.enabled) runtime->dkim = std::make_shared<auth::DkimVerifier>(resolver, config->dkim);
        if (config->dkim.enabled && config->arc.enabled)
            runtime->arc = std::make_shared<auth::ArcVerifier>(resolver, config->arc);
        if (config->dmarc.enabled) runtime->dmarc = std::make_shared<auth::DmarcEvaluator>(resolver, config->dmarc);
        if (config->dkim_signing.configured()) {
            runtime->signer = std::make_shared<auth::DkimSigner>(config->dkim_signing);
            runtime->own_signatures = std::make_shared<auth::DkimVerifier>(
                std::make_shared<auth::DkimOwnKeyResolver>(config->dkim_signing.keys), config->dkim);
        }
    } catch (const std::exception& e) {
        build.errors.push_back(std::string("cannot set up SPF/DKIM/DMARC: ") + e.what());
        return build;
    }
    // The counters are the process's (they outlive reloads: a counter that
    // went back to zero at every reload would look like a restart); only
    // the references to them are made here.
    runtime->connector_counters[nullptr] = std::make_shared<const ConnectorCounters>(std::string(kNoConnectorLabel));
    for (const auto& c : config->connectors.connectors())
        runtime->connector_counters[&c] = std::make_shared<const ConnectorCounters>(c.name);
    const auto& local = config->connectors.builtin_local();
    runtime->connector_counters[&local] = std::make_shared<const ConnectorCounters>(local.name);
    for (const auto& p : config->connection_filter.providers)
        runtime->block_list_counters[&p] = std::make_shared<const BlockListCounters>(p.name);
    if (runtime->dmarc) runtime->dmarc_reports = std::move(dmarc_reports);
    runtime->resolver = std::move(resolver);
    runtime->config = std::move(config);
    build.runtime = std::move(runtime);
    return build;
}

}  // namespace session
