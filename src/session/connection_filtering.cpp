// Exchange's connection filtering in a session: [[ip_allow]], [[ip_block]]
// and the block list providers of the connector. The IP lists are read at
// connect and the providers asked then; RCPT reads the answers, so that
// their round trips overlap the SMTP dialogue instead of adding to it, and
// refuses there (Exchange refuses at RCPT too, which lets postmaster be
// reached and the refusal be tarpitted like other anonymous refusals).
#include "auth/dnsbl.hpp"
#include "dns/resolver.hpp"
#include "session/counters.hpp"
#include "session/session.hpp"
#include "util/plural.hpp"

namespace session {

namespace {

// Authenticated and externally secured sessions, and those holding
// Ms-Exch-Bypass-Anti-Spam, are never filtered (Exchange: the
// anti-spam agents skip them).
bool exempt_session(const policy::SessionRights& r) {
    return r.authenticated || r.externally_secured || r.rights.has(policy::Right::BypassAntiSpam);
}

}  // namespace

void Session::start_connection_filtering() {
    if (!connector_ || !connector_->connection_filtering || !connect_.client) return;
    if (exempt_session(rights_)) {
        filter_note_ = "not applied (the connector's anonymous rights include "
                       "Ms-Exch-Bypass-Anti-Spam)";
        return;
    }
    const auto& cfg = *runtime_->config;
    const auto& filter = cfg.connection_filter;
    const auto& client = *connect_.client;
    const auto today = runtime_->wall_now();
    // Exchange: an address on the IP Allow list is not checked against
    // the block list or any provider.
    if ((ip_allowed_ = filter.allow.find(client, today))) {
        filter_note_ = "client in ip_allow " + ip_allowed_->range.to_string() + " (" +
                       ip_allowed_->origin + "), not checked";
        return;
    }
    if ((ip_blocked_ = filter.block.find(client, today))) {
        filter_note_ = "client in ip_block " + ip_blocked_->range.to_string() + " (" +
                       ip_blocked_->origin + ")";
        return;
    }
    std::vector<const policy::BlockListProvider*> providers;
    for (const auto& p : filter.providers) {
        if (!p.enabled) continue;
        bool named = connector_->block_list_providers.empty();
        for (const auto& n : connector_->block_list_providers) named = named || n == p.name;
        if (named) providers.push_back(&p);
    }
    if (providers.empty()) return;
    // A budget of their own, the size of one message's: the lookups run
    // before any message and so cannot take from a message's allowance,
    // and a list that does not answer costs at most the per-query timeout
    // within it.
    dns::Budget budget(cfg.dns.message_query_budget, cfg.dns.message_time_budget, runtime_->now());
    block_lists_ = std::make_unique<auth::BlockListCheck>(*runtime_->resolver, client, std::move(providers), budget);
    filter_note_ = util::count_of(block_lists_->size(), "block list lookup") + " started";
}

policy::Verdict Session::check_connection_filtering(const policy::SmtpPath& recipient) {
    if (!connector_ || !connect_.client || (!ip_blocked_ && !block_lists_)) return policy::Verdict::accept();
    // SMTP AUTH and STARTTLS come after connect: decided at each RCPT.
    if (exempt_session(rights_)) return policy::Verdict::accept();
    const auto& filter = runtime_->config->connection_filter;
    if (filter.exempt(recipient)) return policy::Verdict::accept();
    const auto& client = *connect_.client;
    if (ip_blocked_) {
        return policy::Verdict::refuse(policy::expand_reply_template(filter.ip_block_rejection, "", client),
                                       "client " + client.to_string() + " is in ip_block " +
                                           ip_blocked_->range.to_string() + " (" + ip_blocked_->origin + ")",
                                       policy::ReasonClass::IpBlock);
    }
    const auto& results = block_lists_->results();
    if (!block_lists_logged_) {
        // Once per session: every provider's answer, so that the log
        // shows what was asked and why a client passed as well.
        block_lists_logged_ = true;
        std::string all;
        for (const auto& r : results) {
            all += all.empty() ? "" : "; ";
            all += r.describe();
            if (const auto* counters = runtime_->block_list_counters_of(r.provider)) counters->count(r.outcome);
            if (r.outcome == auth::BlockListOutcome::Failed && r.provider->on_failure == policy::BlockListFailure::Ignore)
                all += " ignored for this session";
        }
        policy::Verdict note;
        note.reason = "block lists: " + all;
        log_line("RCPT", note);
    }
    const auto decision = auth::decide(results);
    switch (decision.kind) {
        case auth::BlockListDecision::Kind::Pass: return policy::Verdict::accept();
        case auth::BlockListDecision::Kind::Listed:
            return policy::Verdict::refuse(decision.result->provider->rejection_for(client),
                                           "client listed by block list provider \"" +
                                               decision.result->provider->name + "\": " + decision.result->describe(),
                                           policy::ReasonClass::Dnsbl);
        case auth::BlockListDecision::Kind::TempFail:
            return policy::Verdict::refuse(
                policy::expand_reply_template(filter.tempfail_reply, decision.result->provider->name, client),
                "block list provider \"" + decision.result->provider->name +
                    "\" failed and its dns_failure is tempfail: " + decision.result->describe(),
                policy::ReasonClass::Dnsbl);
    }
    return policy::Verdict::accept();
}

}  // namespace session
