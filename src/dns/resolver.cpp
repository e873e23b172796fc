// Names of the resolver's enums, TXT concatenation and the per-message budget.
#include "dns/resolver.hpp"

#include <limits>
#include <utility>

namespace dns {

std::string_view type_name(Type t) {
    switch (t) {
    case Type::A: return "A";
    case Type::NS: return "NS";
    case Type::CNAME: return "CNAME";
    case Type::PTR: return "PTR";
    case Type::MX: return "MX";
    case Type::TXT: return "TXT";
    case Type::AAAA: return "AAAA";
    case Type::SPF: return "SPF";
    }
    return "unknown";
}

std::string_view status_name(Status s) {
    switch (s) {
    case Status::Ok: return "ok";
    case Status::NxDomain: return "nxdomain";
    case Status::NoData: return "nodata";
    case Status::ServFail: return "servfail";
    case Status::Timeout: return "timeout";
    case Status::BudgetExhausted: return "budget-exhausted";
    }
    return "unknown";
}

// RFC 7208 section 3.3 and RFC 6376 section 3.6.2.2: the character-strings
// of one TXT record are joined without any separator.
std::string Record::txt() const {
    std::size_t total = 0;
    for (const auto& s : strings) total += s.size();
    std::string joined;
    joined.reserve(total);
    for (const auto& s : strings) joined += s;
    return joined;
}

Budget::Budget(std::uint32_t max_queries, std::chrono::milliseconds max_time,
               Clock::time_point start)
    : max_queries_(max_queries), deadline_(start) {
    // Saturate instead of overflowing the clock's representation when a
    // configured time is huge; a negative time means already expired.
    if (max_time <= std::chrono::milliseconds::zero()) return;
    const auto room = Clock::time_point::max() - start;
    if (max_time >= std::chrono::duration_cast<std::chrono::milliseconds>(room))
        deadline_ = Clock::time_point::max();
    else
        deadline_ = start + max_time;
}

Budget Budget::unlimited() {
    Budget b(std::numeric_limits<std::uint32_t>::max(), std::chrono::milliseconds::zero());
    b.deadline_ = Clock::time_point::max();
    return b;
}

bool Budget::charge(Clock::time_point now) {
    if (used_ >= max_queries_ || now >= deadline_) return false;
    ++used_;
    return true;
}

std::chrono::milliseconds Budget::remaining(Clock::time_point now) const {
    if (now >= deadline_) return std::chrono::milliseconds::zero();
    // Rounded down: a caller that waits `remaining()` never passes the deadline.
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - now);
}

namespace {

class ReadyAnswer final : public PendingAnswer {
public:
    explicit ReadyAnswer(Answer answer) : answer_(std::move(answer)) {}
    const Answer& wait() override { return answer_; }

private:
    Answer answer_;
};

}  // namespace

std::unique_ptr<PendingAnswer> ready_answer(Answer answer) {
    return std::make_unique<ReadyAnswer>(std::move(answer));
}

std::unique_ptr<PendingAnswer> Resolver::start(std::string_view name, Type type, Budget& budget) {
    return ready_answer(query(name, type, budget));
}

}  // namespace dns
