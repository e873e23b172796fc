// The counters a session counts into (metrics/catalogue.hpp), resolved to
// plain references once: per connector when a configuration is loaded
// (build_runtime), the check results once per process. A session then
// counts with relaxed atomic adds only: no lock, no map lookup, nothing
// shared with other sessions but the counters themselves.
#pragma once
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/arc.hpp"
#include "auth/dkim.hpp"
#include "auth/dnsbl.hpp"
#include "auth/dmarc.hpp"
#include "auth/spf.hpp"
#include "metrics/registry.hpp"
#include "policy/checks.hpp"

namespace session {

// The stage label: the SMTP stage whose event the session answered.
enum class CountedStage : std::uint8_t { Connect, Helo, Mail, Rcpt, Header, EndOfHeaders, Body, EndOfMessage, Count };
inline constexpr std::size_t kCountedStages = static_cast<std::size_t>(CountedStage::Count);
// "CONNECT", "HELO", ... as the log lines name the stages; Count when unknown.
CountedStage counted_stage(std::string_view log_name);
std::string_view counted_stage_label(CountedStage stage);  // "connect", "helo", ...

enum class CountedAction : std::uint8_t { Continue, Reject, TempFail, Quarantine, Count };
inline constexpr std::size_t kCountedActions = static_cast<std::size_t>(CountedAction::Count);
std::string_view counted_action_label(CountedAction action);  // "continue", "reject", ...

// The connector label of sessions no connector took.
inline constexpr std::string_view kNoConnectorLabel = "(none)";

class ConnectorCounters {
public:
    explicit ConnectorCounters(const std::string& connector);
    void session_opened() const;
    void session_closed() const;
    void session_refused() const;
    // One answer to the MTA; `reason` matters for every action but Continue.
    void decision(CountedStage stage, CountedAction action, policy::ReasonClass reason) const;

private:
    metrics::Counter* opened_;
    metrics::Gauge* active_;
    metrics::Counter* refused_;
    std::array<std::array<metrics::Counter*, kCountedActions>, kCountedStages> decisions_{};
    std::array<std::array<metrics::Counter*, kCountedActions>, policy::kReasonClassCount> reasons_{};
};

// One block list provider's answers, per outcome.
class BlockListCounters {
public:
    explicit BlockListCounters(const std::string& provider);
    void count(auth::BlockListOutcome outcome) const;

private:
    std::array<metrics::Counter*, 3> outcomes_{};  // Listed, Unlisted, Failed
};

// The time one event took to decide, into stage_duration_seconds.
void count_stage_duration(CountedStage stage, std::chrono::nanoseconds took);

// Times the event handler it lives in, with the session's clock.
class StageTimer {
public:
    using Clock = std::chrono::steady_clock::time_point (*)();
    StageTimer(Clock now, CountedStage stage) : now_(now), stage_(stage), start_(now()) {}
    ~StageTimer() { count_stage_duration(stage_, now_() - start_); }
    StageTimer(const StageTimer&) = delete;
    StageTimer& operator=(const StageTimer&) = delete;

private:
    Clock now_;
    CountedStage stage_;
    std::chrono::steady_clock::time_point start_;
};

// The check results, per result value.
void count_spf_result(bool helo_identity, auth::SpfResult result);
void count_dkim_result(auth::DkimResult result);
void count_dkim_none();
void count_dmarc_result(auth::DmarcResult result);
// A DKIM signature made (or not): `algorithm` "rsa-sha256",
// "ed25519-sha256", or empty when no key could be chosen.
void count_dkim_signature(std::string_view algorithm, bool made);
void count_arc_result(auth::ArcResult result);

}  // namespace session
