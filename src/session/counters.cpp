#include "session/counters.hpp"

#include "metrics/catalogue.hpp"

namespace session {

namespace {

constexpr std::array<std::string_view, kCountedStages> kStageLogNames = {
    "CONNECT", "HELO", "MAIL", "RCPT", "HEADER", "EOH", "BODY", "EOM"};
constexpr std::array<std::string_view, kCountedStages> kStageLabels = {
    "connect", "helo", "mail", "rcpt", "header", "eoh", "body", "eom"};
constexpr std::array<std::string_view, kCountedActions> kActionLabels = {"continue", "reject", "tempfail",
                                                                         "quarantine"};

// The answers a stage can give. Continue is not counted for each header
// line and body chunk: it is no decision, and would count lines, not
// messages. A quarantine is decided at the end of the message only.
bool possible(CountedStage stage, CountedAction action) {
    switch (action) {
        case CountedAction::Continue: return stage != CountedStage::Header && stage != CountedStage::Body;
        case CountedAction::Quarantine: return stage == CountedStage::EndOfMessage;
        default: return true;
    }
}

template <typename Enum, std::size_t N, typename Name>
std::array<metrics::Counter*, N> per_result(metrics::CounterFamily& family, const std::string& first, Name name) {
    std::array<metrics::Counter*, N> out{};
    for (std::size_t i = 0; i < N; ++i) {
        const std::string value(name(static_cast<Enum>(i)));
        out[i] = first.empty() ? &family.with({value}) : &family.with({first, value});
    }
    return out;
}

constexpr std::size_t kSpfResults = 7;    // auth::SpfResult
constexpr std::size_t kDkimResults = 6;   // auth::DkimResult
constexpr std::size_t kDmarcResults = 5;  // auth::DmarcResult
constexpr std::size_t kArcResults = 3;    // auth::ArcResult

struct CheckCounters {
    std::array<metrics::Counter*, kSpfResults> spf_mailfrom, spf_helo;
    std::array<metrics::Counter*, kDkimResults> dkim;
    metrics::Counter* dkim_none;
    std::array<metrics::Counter*, kDmarcResults> dmarc;
    // [algorithm: rsa, ed25519, none][made, failed]
    std::array<std::array<metrics::Counter*, 2>, 3> signatures{};
    std::array<metrics::Counter*, kArcResults> arc;
};

// Made once, on first use (a thread-safe static): afterwards every count is
// an atomic add through a pointer.
const CheckCounters& check_counters() {
    static const CheckCounters c = [] {
        const auto& cat = metrics::catalogue();
        CheckCounters made;
        made.spf_mailfrom = per_result<auth::SpfResult, kSpfResults>(cat.spf_results, "mailfrom", auth::spf_result_name);
        made.spf_helo = per_result<auth::SpfResult, kSpfResults>(cat.spf_results, "helo", auth::spf_result_name);
        made.dkim = per_result<auth::DkimResult, kDkimResults>(cat.dkim_results, "", auth::dkim_result_name);
        made.dkim_none = &cat.dkim_results.with({"none"});
        made.dmarc = per_result<auth::DmarcResult, kDmarcResults>(cat.dmarc_results, "", auth::dmarc_result_name);
        const char* algorithms[] = {"rsa-sha256", "ed25519-sha256", "none"};
        for (std::size_t a = 0; a < 3; ++a) {
            made.signatures[a][0] = &cat.dkim_signatures.with({algorithms[a], "made"});
            made.signatures[a][1] = &cat.dkim_signatures.with({algorithms[a], "failed"});
        }
        made.arc = per_result<auth::ArcResult, kArcResults>(cat.arc_results, "", auth::arc_result_name);
        return made;
    }();
    return c;
}

template <std::size_t N, typename Enum>
void count_in(const std::array<metrics::Counter*, N>& counters, Enum value) {
    const auto i = static_cast<std::size_t>(value);
    if (i < N) counters[i]->inc();
}

}  // namespace

CountedStage counted_stage(std::string_view log_name) {
    for (std::size_t i = 0; i < kCountedStages; ++i)
        if (kStageLogNames[i] == log_name) return static_cast<CountedStage>(i);
    return CountedStage::Count;
}

std::string_view counted_stage_label(CountedStage stage) {
    const auto i = static_cast<std::size_t>(stage);
    return i < kCountedStages ? kStageLabels[i] : std::string_view("unknown");
}

std::string_view counted_action_label(CountedAction action) {
    const auto i = static_cast<std::size_t>(action);
    return i < kCountedActions ? kActionLabels[i] : std::string_view("unknown");
}

ConnectorCounters::ConnectorCounters(const std::string& connector) {
    const auto& cat = metrics::catalogue();
    opened_ = &cat.sessions_opened.with({connector});
    active_ = &cat.sessions_active.with({connector});
    refused_ = &cat.sessions_refused.with({connector});
    for (std::size_t s = 0; s < kCountedStages; ++s) {
        for (std::size_t a = 0; a < kCountedActions; ++a) {
            const auto stage = static_cast<CountedStage>(s);
            if (!possible(stage, static_cast<CountedAction>(a))) continue;
            decisions_[s][a] = &cat.decisions.with(
                {connector, std::string(counted_stage_label(stage)),
                 std::string(counted_action_label(static_cast<CountedAction>(a)))});
        }
    }
    for (std::size_t r = 0; r < policy::kReasonClassCount; ++r) {
        for (std::size_t a = 1; a < kCountedActions; ++a) {
            reasons_[r][a] = &cat.decision_reasons.with(
                {connector, std::string(policy::reason_class_name(static_cast<policy::ReasonClass>(r))),
                 std::string(counted_action_label(static_cast<CountedAction>(a)))});
        }
    }
}

void ConnectorCounters::session_opened() const {
    opened_->inc();
    active_->add();
}

void ConnectorCounters::session_closed() const { active_->sub(); }

void ConnectorCounters::session_refused() const { refused_->inc(); }

void ConnectorCounters::decision(CountedStage stage, CountedAction action, policy::ReasonClass reason) const {
    const auto s = static_cast<std::size_t>(stage);
    const auto a = static_cast<std::size_t>(action);
    if (s >= kCountedStages || a >= kCountedActions) return;
    if (auto* c = decisions_[s][a]) c->inc();
    const auto r = static_cast<std::size_t>(reason);
    if (action != CountedAction::Continue && r < policy::kReasonClassCount) reasons_[r][a]->inc();
}

void count_stage_duration(CountedStage stage, std::chrono::nanoseconds took) {
    static const std::array<metrics::Histogram*, kCountedStages> histograms = [] {
        std::array<metrics::Histogram*, kCountedStages> made{};
        for (std::size_t i = 0; i < kCountedStages; ++i)
            made[i] = &metrics::catalogue().stage_duration.with(
                {std::string(counted_stage_label(static_cast<CountedStage>(i)))});
        return made;
    }();
    const auto i = static_cast<std::size_t>(stage);
    if (i < kCountedStages) histograms[i]->observe(took);
}

void count_spf_result(bool helo_identity, auth::SpfResult result) {
    const auto& c = check_counters();
    count_in(helo_identity ? c.spf_helo : c.spf_mailfrom, result);
}

void count_dkim_result(auth::DkimResult result) { count_in(check_counters().dkim, result); }

BlockListCounters::BlockListCounters(const std::string& provider) {
    for (const auto o : {auth::BlockListOutcome::Listed, auth::BlockListOutcome::Unlisted, auth::BlockListOutcome::Failed})
        outcomes_[static_cast<std::size_t>(o)] =
            &metrics::catalogue().dnsbl_results.with({provider, std::string(auth::outcome_name(o))});
}

void BlockListCounters::count(auth::BlockListOutcome outcome) const {
    const auto i = static_cast<std::size_t>(outcome);
    if (i < outcomes_.size() && outcomes_[i]) outcomes_[i]->inc();
}

void count_dkim_none() { check_counters().dkim_none->inc(); }

void count_dmarc_result(auth::DmarcResult result) { count_in(check_counters().dmarc, result); }
void count_arc_result(auth::ArcResult result) { count_in(check_counters().arc, result); }

void count_dkim_signature(std::string_view algorithm, bool made) {
    const std::size_t a = algorithm == "rsa-sha256" ? 0 : algorithm == "ed25519-sha256" ? 1 : 2;
    check_counters().signatures[a][made ? 0 : 1]->inc();
}

}  // namespace session
