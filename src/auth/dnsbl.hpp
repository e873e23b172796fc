// DNS block list lookups (RFC 5782) for one client: every provider is asked
// at once when the session starts, through the one resolver (its cache and
// the budget it is given), and the answers are read when a decision needs
// them (RCPT), so that the round trips overlap the SMTP dialogue.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.hpp"
#include "policy/connection_filter.hpp"

namespace auth {

enum class BlockListOutcome : std::uint8_t {
    Listed,    // an answer matched the provider's match rule
    Unlisted,  // NXDOMAIN or NODATA, or only answers that do not match
    Failed,    // SERVFAIL, timeout, budget spent, or a list error answer (127.255.255.x)
};
std::string_view outcome_name(BlockListOutcome o);  // "listed", "unlisted", "failed"

struct BlockListResult {
    const policy::BlockListProvider* provider = nullptr;
    std::string query_name;
    dns::Status status = dns::Status::ServFail;
    std::vector<policy::IpAddress> answers;  // the A records
    BlockListOutcome outcome = BlockListOutcome::Failed;
    std::optional<policy::IpAddress> matched;  // Listed: the first matching answer

    // `Spamhaus: 2.0.0.127.zen.example -> 127.0.0.2 (listed)`,
    // `Other: ... -> nxdomain (unlisted)`.
    std::string describe() const;
};

// Judges one provider's answer (pure; exposed for tests).
BlockListResult judge(const policy::BlockListProvider& provider, std::string query_name, const dns::Answer& answer);

class BlockListCheck {
public:
    // Starts one A query per provider (in the given order: by priority).
    // `resolver` must outlive this object; `budget` is charged now.
    BlockListCheck(dns::Resolver& resolver, const policy::IpAddress& client,
                   std::vector<const policy::BlockListProvider*> providers, dns::Budget& budget);

    // Waits for the answers not read yet (each at most until the deadline
    // fixed when it was asked) and gives every provider's result, in
    // priority order. Later calls return the same results at once.
    const std::vector<BlockListResult>& results();
    std::size_t size() const { return pending_.size(); }

private:
    struct Pending {
        const policy::BlockListProvider* provider;
        std::string query_name;
        std::unique_ptr<dns::PendingAnswer> answer;
    };
    std::vector<Pending> pending_;
    std::vector<BlockListResult> results_;
    bool read_ = false;
};

// What the results mean for a recipient: the highest-priority listing
// refuses (550, the provider's text); with no listing, a failed provider
// whose action is tempfail defers (451 4.4.3); otherwise the client passes.
struct BlockListDecision {
    enum class Kind : std::uint8_t { Pass, Listed, TempFail };
    Kind kind = Kind::Pass;
    const BlockListResult* result = nullptr;  // Listed, TempFail: the deciding provider
};
BlockListDecision decide(const std::vector<BlockListResult>& results);

}  // namespace auth
