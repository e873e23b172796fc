// Which message checks (SPF, DKIM, DMARC) run for a session, and why not
// when they do not: the connector's `checks` list, the session's
// Ms-Exch-Bypass-Anti-Spam right and the global [spf]/[dkim]/[dmarc]
// switches, decided in one place for the session, its log and `explain`.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace policy {

enum class MessageCheck : std::uint8_t { Spf, Dkim, Dmarc };
inline constexpr std::array<MessageCheck, 3> kMessageChecks = {MessageCheck::Spf, MessageCheck::Dkim,
                                                               MessageCheck::Dmarc};

// "spf", "dkim", "dmarc": the config's words and RFC 8601's method names.
std::string_view message_check_name(MessageCheck c);
// Exact lower-case names (the config lower-cases what it reads).
std::optional<MessageCheck> parse_message_check(std::string_view name);

class CheckSet {
public:
    constexpr CheckSet() = default;
    static constexpr CheckSet all() { return CheckSet(0x7); }

    bool has(MessageCheck c) const { return (bits_ & bit(c)) != 0; }
    CheckSet& add(MessageCheck c) { bits_ |= bit(c); return *this; }
    CheckSet& remove(MessageCheck c) { bits_ &= static_cast<std::uint8_t>(~bit(c)); return *this; }
    bool empty() const { return bits_ == 0; }
    // "spf, dkim, dmarc" in that fixed order; "" when empty.
    std::string to_string() const;

    friend bool operator==(const CheckSet&, const CheckSet&) = default;

private:
    constexpr explicit CheckSet(std::uint8_t bits) : bits_(bits) {}
    static constexpr std::uint8_t bit(MessageCheck c) {
        return static_cast<std::uint8_t>(1u << static_cast<unsigned>(c));
    }
    std::uint8_t bits_ = 0;
};

// Why a check does not run for the session (Runs: it does).
enum class CheckSkip : std::uint8_t {
    Runs,
    LocalSubmission,   // a program on this machine, no SMTP client: nothing is checked
    BypassAntiSpam,    // the session has Ms-Exch-Bypass-Anti-Spam: nothing is checked
    NotOnConnector,    // the connector's `checks` does not list it
    DisabledGlobally,  // [spf], [dkim] or [dmarc] enabled = false
};

struct CheckPlan {
    CheckSet run;
    std::array<CheckSkip, 3> why{};  // indexed by MessageCheck

    bool runs(MessageCheck c) const { return run.has(c); }
    CheckSkip skip(MessageCheck c) const { return why[static_cast<std::size_t>(c)]; }
    // The checks skipped for `reason`.
    CheckSet skipped(CheckSkip reason) const;
};

// A local submission wins over everything (no client address for SPF to
// judge, the machine's own mail), then Bypass-Anti-Spam (Exchange's
// anti-spam agents skip such sessions altogether), then the connector's
// list, then the global switches. The first reason that applies is given.
CheckPlan plan_checks(CheckSet connector_checks, bool bypass_anti_spam, CheckSet enabled_globally,
                      bool local_submission = false);

}  // namespace policy
