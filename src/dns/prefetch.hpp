// Questions a message will need, asked as soon as their names are known so
// that the check which reads them later finds the answer there instead of
// waiting for one round trip after another (issue 14's cold-cache run: a
// message asked SPF, the HELO's SPF, the DKIM keys and the DMARC record in
// sequence). The answers come through the same resolver, cache and budget.
#pragma once
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dns/resolver.hpp"

namespace dns {

// The most questions one message asks ahead: its DKIM key records
// (auth::kMaxPrefetchedKeys), its ARC key records (auth::kArcReservedQueries),
// its DMARC record, and the SPF records of the MAIL FROM identity and the
// HELO name. connector-milter.conf(5), [dns].
inline constexpr std::size_t kMaxPrefetchedQuestions = 9;

// One message's questions asked ahead. Not thread-safe: like Budget, it is
// used by one stage of the message at a time.
class Prefetch {
public:
    // Asks `name` now, charging `budget` now (a question is charged once:
    // when started, not again when read). `timeout` is the resolver's
    // per-question timeout. Nothing is asked (false) when the same question
    // is already started or kMaxPrefetchedQuestions are.
    bool start(Resolver& resolver, std::string_view name, Type type, Budget& budget,
               std::chrono::milliseconds timeout);
    // The answer of a started question (waiting for it if needed); the
    // question is then forgotten. nullopt when it was not started, or when
    // its answer is of no use to the check asking now, which then asks
    // itself: the budget was spent when it was started, or it timed out
    // before the check was asked for (while the client was still sending;
    // not while end of message was held back by ready()).
    std::optional<Answer> take(std::string_view name, Type type);
    std::size_t started() const { return started_; }
    // Whether every question started is answered (or out of time): take()
    // would not wait. Never waits. The first call marks when the check that
    // reads the answers was asked for (the native engine asks when end of
    // message arrives, and holds it back until this is true).
    bool ready();
    // The same without marking anything: for a stage that only looks.
    bool answered() const;
    // The check that read the answers so far is over (SPF at MAIL): the next
    // ready() call marks when the next one is asked for (end of message).
    void stage_over() { first_ready_call_.reset(); }

private:
    struct Entry {
        std::unique_ptr<PendingAnswer> pending;
        Budget::Clock::time_point deadline;
    };
    std::map<std::string, Entry> questions_;
    std::optional<Budget::Clock::time_point> first_ready_call_;
    std::size_t started_ = 0;
};

// What SPF, DKIM and DMARC call instead of resolver.query(): the answer
// started ahead for this message (Budget::prefetched), else the resolver's.
Answer ask(Resolver& resolver, std::string_view name, Type type, Budget& budget);

}  // namespace dns
