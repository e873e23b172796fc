// Questions asked ahead for one message: see prefetch.hpp.
#include "dns/prefetch.hpp"

#include <algorithm>

#include "util/ascii.hpp"

namespace dns {
namespace {

std::string question_key(std::string_view name, Type type) {
    return util::dns_name_key(name) + '/' + std::to_string(static_cast<unsigned>(type));
}

}  // namespace

bool Prefetch::start(Resolver& resolver, std::string_view name, Type type, Budget& budget,
                     std::chrono::milliseconds timeout) {
    if (started_ >= kMaxPrefetchedQuestions) return false;
    std::string key = question_key(name, type);
    if (questions_.count(key) != 0) return false;
    const auto now = Budget::Clock::now();
    // When the resolver stops waiting for it (UnboundResolver's rule):
    // whichever comes first of its timeout and the budget's deadline.
    const auto deadline = timeout.count() > 0 && budget.deadline() - now > timeout ? now + timeout : budget.deadline();
    auto pending = resolver.start(name, type, budget);
    ++started_;
    questions_.emplace(std::move(key), Entry{std::move(pending), deadline});
    return true;
}

std::optional<Answer> Prefetch::take(std::string_view name, Type type) {
    if (questions_.empty()) return std::nullopt;
    const auto it = questions_.find(question_key(name, type));
    if (it == questions_.end()) return std::nullopt;
    Entry entry = std::move(it->second);
    questions_.erase(it);
    const bool ran_out_before = first_ready_call_.value_or(Budget::Clock::now()) >= entry.deadline;
    Answer answer = entry.pending->wait();
    if (answer.status == Status::BudgetExhausted) return std::nullopt;
    // Its time ran out while the message was still coming in: the check
    // gets the full timeout of its own question, as without asking ahead.
    if (answer.status == Status::Timeout && ran_out_before) return std::nullopt;
    return answer;
}

bool Prefetch::ready() {
    if (!first_ready_call_) first_ready_call_ = Budget::Clock::now();
    return answered();
}

bool Prefetch::answered() const {
    const auto now = Budget::Clock::now();
    return std::all_of(questions_.begin(), questions_.end(),
                       [&](const auto& q) { return now >= q.second.deadline || q.second.pending->ready(); });
}

Answer ask(Resolver& resolver, std::string_view name, Type type, Budget& budget) {
    if (Prefetch* ahead = budget.prefetched())
        if (auto answer = ahead->take(name, type)) return std::move(*answer);
    return resolver.query(name, type, budget);
}

}  // namespace dns
