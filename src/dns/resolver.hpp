// The one DNS interface SPF, DKIM and DMARC ask. Implementations: a static
// zone (tests, administrator overrides), libunbound (production), and a
// layered resolver that asks the static zone first.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dns {

class Prefetch;

enum class Type : std::uint16_t {
    A = 1, NS = 2, CNAME = 5, PTR = 12, MX = 15, TXT = 16, AAAA = 28,
    SPF = 99,  // obsolete (RFC 7208 section 3.1): always answered NODATA locally
};
std::string_view type_name(Type t);

// The outcomes SPF, DKIM and DMARC must tell apart.
enum class Status : std::uint8_t {
    Ok,            // records present
    NxDomain,      // the name does not exist
    NoData,        // the name exists, no record of that type
    ServFail,      // the server failed
    Timeout,       // no answer in time
    BudgetExhausted,  // the per-message query/time budget is spent; not asked
};
std::string_view status_name(Status s);
inline bool is_temporary(Status s) {
    return s == Status::ServFail || s == Status::Timeout || s == Status::BudgetExhausted;
}

struct Record {
    Type type = Type::A;
    std::uint32_t ttl = 0;
    // A: 4 bytes, AAAA: 16 bytes (network order).
    std::array<std::uint8_t, 16> address{};
    // TXT: the character-strings in order (RFC 7208 section 3.3 and RFC 6376
    // section 3.6.2.2 concatenate them without separators).
    std::vector<std::string> strings;
    // CNAME, PTR, NS, MX: the target name, lower case, no trailing dot.
    std::string target;
    std::uint16_t preference = 0;  // MX

    std::string txt() const;  // strings concatenated
};

struct Answer {
    Status status = Status::ServFail;
    std::vector<Record> records;  // of the asked type, CNAMEs already followed
    std::string canonical_name;   // after CNAMEs
};

// One message's allowance of DNS work (query count and deadline). Not
// thread-safe: one message is handled by one callback at a time.
class Budget {
public:
    using Clock = std::chrono::steady_clock;
    Budget(std::uint32_t max_queries, std::chrono::milliseconds max_time,
           Clock::time_point start = Clock::now());
    static Budget unlimited();

    // Takes one query from the budget; false when none is left or the
    // deadline passed.
    bool charge(Clock::time_point now = Clock::now());
    std::uint32_t queries_used() const { return used_; }
    Clock::time_point deadline() const { return deadline_; }
    // Time left before the deadline (zero when passed).
    std::chrono::milliseconds remaining(Clock::time_point now = Clock::now()) const;
    // The questions already asked (and charged) for the same message, which
    // dns::ask() reads before asking the resolver (prefetch.hpp); null: none.
    void use_prefetched(Prefetch* prefetch) { prefetch_ = prefetch; }
    Prefetch* prefetched() const { return prefetch_; }

private:
    Prefetch* prefetch_ = nullptr;
    std::uint32_t max_queries_;
    std::uint32_t used_ = 0;
    Clock::time_point deadline_;
};

// A question asked now and whose answer is read later: DNS block list
// lookups start when the client connects and are read at RCPT, so that
// their round trip overlaps the SMTP dialogue instead of adding to it.
class PendingAnswer {
public:
    virtual ~PendingAnswer() = default;
    // Waits (at most until the deadline fixed when the question was asked)
    // and gives the answer; later calls give the same answer at once.
    virtual const Answer& wait() = 0;
    // Whether wait() would return at once (answered, or its deadline
    // passed). Never waits. The default: answers known when asked.
    virtual bool ready() const { return true; }
};

class Resolver {
public:
    virtual ~Resolver() = default;
    // Thread-safe. `name` without trailing dot, any case. Charges `budget`
    // once per query that would leave the process (cache hits may be free)
    // and never waits past its deadline.
    virtual Answer query(std::string_view name, Type type, Budget& budget) = 0;
    // Asks `name` without waiting for the answer. The budget is charged
    // now and the deadline (per-query timeout, budget deadline) runs from
    // now. The pending answer must not outlive this resolver. The default
    // asks query() at once (resolvers that never wait: the static zone).
    virtual std::unique_ptr<PendingAnswer> start(std::string_view name, Type type, Budget& budget);
};

// An answer that is already known.
std::unique_ptr<PendingAnswer> ready_answer(Answer answer);

}  // namespace dns
