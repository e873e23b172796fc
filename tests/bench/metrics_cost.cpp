// metrics_cost: what counting costs one message, apart from everything else
// (issue 18, "Cost"). It makes, per message, the counting calls a session
// makes for a typical accepted message of the benchmark corpus: one stage
// timing (two clock reads and a histogram observation) per timed event
// (connect, helo, mail, rcpt, eoh, eom: header lines and body chunks are
// not timed), a decision per
// answered stage, the session counters, and the SPF, DKIM (two signatures)
// and DMARC results, through the daemon's own code (session/counters.hpp).
// It runs them on 1 thread and on 2 threads at once (both cores, the same
// counters: the cache lines bounce as in the daemon), and prints ns per
// message. Compare with the CPU per message of scripts/bench.
//
// `metrics_cost --messages N` instead makes the calls of N messages once,
// on one thread, untimed: tests/bench/metrics.sh runs it under callgrind
// for two values of N, so that the difference divided by the difference of
// N is the instructions counting costs one message (start-up cancels out).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "session/counters.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using session::CountedAction;
using session::CountedStage;

void one_message(const session::ConnectorCounters& c) {
    auto timed = [](CountedStage stage) { const session::StageTimer t(&Clock::now, stage); };
    c.session_opened();
    for (CountedStage s : {CountedStage::Connect, CountedStage::Helo, CountedStage::Mail, CountedStage::Rcpt}) {
        timed(s);
        c.decision(s, CountedAction::Continue, policy::ReasonClass::None);
    }
    session::count_spf_result(false, auth::SpfResult::Pass);
    session::count_spf_result(true, auth::SpfResult::Pass);
    timed(CountedStage::EndOfHeaders);
    c.decision(CountedStage::EndOfHeaders, CountedAction::Continue, policy::ReasonClass::None);
    timed(CountedStage::EndOfMessage);
    session::count_dkim_result(auth::DkimResult::Pass);
    session::count_dkim_result(auth::DkimResult::Pass);
    session::count_dmarc_result(auth::DmarcResult::Pass);
    c.decision(CountedStage::EndOfMessage, CountedAction::Continue, policy::ReasonClass::None);
    c.session_closed();
}

double ns_per_message(const session::ConnectorCounters& c, int threads, int messages) {
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < messages; ++i) one_message(c);
        });
    for (auto& t : pool) t.join();
    const auto took = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    // Wall time over the messages of one thread: per message, as each
    // thread saw it while the other ran too.
    return took / messages;
}

}  // namespace

int main(int argc, char** argv) {
    const session::ConnectorCounters counters("Default Frontend");
    if (argc == 3 && std::strcmp(argv[1], "--messages") == 0) {
        const long n = std::strtol(argv[2], nullptr, 10);
        for (long i = 0; i < n; ++i) one_message(counters);
        return 0;
    }
    constexpr int kMessages = 200000;
    (void)ns_per_message(counters, 1, kMessages / 10);  // warm-up
    double best1 = 1e18, best2 = 1e18;
    for (int round = 0; round < 5; ++round) {
        best1 = std::min(best1, ns_per_message(counters, 1, kMessages));
        best2 = std::min(best2, ns_per_message(counters, 2, kMessages));
    }
    std::printf("counting per message: %.0f ns on one thread, %.0f ns per thread with two at once\n", best1, best2);
    std::printf("RESULT ns_per_msg_1thread=%.0f ns_per_msg_2threads=%.0f\n", best1, best2);
    return 0;
}
