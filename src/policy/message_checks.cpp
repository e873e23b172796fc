#include "policy/message_checks.hpp"

namespace policy {

std::string_view message_check_name(MessageCheck c) {
    switch (c) {
        case MessageCheck::Spf: return "spf";
        case MessageCheck::Dkim: return "dkim";
        case MessageCheck::Dmarc: return "dmarc";
    }
    return "?";
}

std::optional<MessageCheck> parse_message_check(std::string_view name) {
    for (MessageCheck c : kMessageChecks)
        if (name == message_check_name(c)) return c;
    return std::nullopt;
}

std::string CheckSet::to_string() const {
    std::string out;
    for (MessageCheck c : kMessageChecks) {
        if (!has(c)) continue;
        if (!out.empty()) out += ", ";
        out += message_check_name(c);
    }
    return out;
}

CheckSet CheckPlan::skipped(CheckSkip reason) const {
    CheckSet out;
    for (MessageCheck c : kMessageChecks)
        if (skip(c) == reason) out.add(c);
    return out;
}

CheckPlan plan_checks(CheckSet connector_checks, bool bypass_anti_spam, CheckSet enabled_globally,
                      bool local_submission) {
    CheckPlan plan;
    for (MessageCheck c : kMessageChecks) {
        CheckSkip why = CheckSkip::Runs;
        if (local_submission) why = CheckSkip::LocalSubmission;
        else if (bypass_anti_spam) why = CheckSkip::BypassAntiSpam;
        else if (!connector_checks.has(c)) why = CheckSkip::NotOnConnector;
        else if (!enabled_globally.has(c)) why = CheckSkip::DisabledGlobally;
        plan.why[static_cast<std::size_t>(c)] = why;
        if (why == CheckSkip::Runs) plan.run.add(c);
    }
    return plan;
}

}  // namespace policy
