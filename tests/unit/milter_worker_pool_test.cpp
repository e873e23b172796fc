// The native engine's worker pool: a fixed number of threads and a bounded
// queue that says no instead of growing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "metrics/catalogue.hpp"
#include "milter/worker_pool.hpp"
#include "util/waiting.hpp"

namespace {

using namespace std::chrono_literals;

// Holds the pool's only worker until released.
struct Gate {
    std::mutex m;
    std::condition_variable cv;
    bool open = false;
    std::atomic<bool> entered{false};
    void wait() {
        entered = true;
        std::unique_lock lock(m);
        cv.wait(lock, [this] { return open; });
    }
    void release() {
        {
            std::lock_guard lock(m);
            open = true;
        }
        cv.notify_all();
    }
};

// Gives the pool a job that holds its worker at `gate` (and counts in `ran`
// once released); true once that job runs.
bool hold_a_worker(milter::WorkerPool& pool, Gate& gate, std::atomic<int>& ran) {
    if (!pool.try_submit([&] {
            gate.wait();
            ++ran;
        }))
        return false;
    for (int i = 0; i < 200 && !gate.entered; ++i) std::this_thread::sleep_for(5ms);
    return gate.entered.load();
}

TEST(WorkerPool, RefusesWorkBeyondTheQueueLimitAndRunsWhatItTook) {
    milter::WorkerPool pool(1, 2);
    Gate gate;
    std::atomic<int> ran{0};
    ASSERT_TRUE(hold_a_worker(pool, gate, ran));
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
    EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
    EXPECT_FALSE(pool.try_submit([&] { ++ran; })) << "a third waiting job exceeds the limit of 2";
    // The end of a connection is always taken, and does not use up the limit.
    pool.submit([&] { ++ran; });
    gate.release();
    pool.stop();
    EXPECT_EQ(ran.load(), 4);
}

TEST(WorkerPool, StopRunsWhatIsQueuedThenRefusesMore) {
    std::atomic<int> ran{0};
    milter::WorkerPool pool(2, 100);
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(pool.try_submit([&] { ++ran; }));
    pool.stop();
    EXPECT_EQ(ran.load(), 50);
    EXPECT_FALSE(pool.try_submit([&] { ++ran; }));
}

// A job goes to the worker that went idle last, whose caches still hold
// what the previous job touched, rather than to whichever waiting thread
// the scheduler wakes.
TEST(WorkerPool, AJobGoesToTheWorkerThatWentIdleLast) {
    milter::WorkerPool pool(4, 10);
    const auto all_idle = [&] {
        for (int i = 0; i < 400 && pool.idle_workers() < 4; ++i) std::this_thread::sleep_for(5ms);
        return pool.idle_workers() == 4;
    };
    ASSERT_TRUE(all_idle());
    std::mutex m;
    std::vector<std::thread::id> ran_on;
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(pool.try_submit([&] {
            std::lock_guard lock(m);
            ran_on.push_back(std::this_thread::get_id());
        }));
        ASSERT_TRUE(all_idle()) << "job " << i << " did not finish";
    }
    pool.stop();
    ASSERT_EQ(ran_on.size(), 20u);
    for (const auto& id : ran_on) EXPECT_EQ(id, ran_on.front());
}

// metrics (issue 18): the pool's threads, busy threads and waiting
// batches are gauges a dashboard shows as saturation.
TEST(WorkerPool, GaugesShowThreadsBusyWorkersAndWaitingBatches) {
    const auto& cat = metrics::catalogue();
    auto& threads = cat.worker_pool_threads.with({});
    auto& busy = cat.worker_pool_busy.with({});
    auto& queued = cat.worker_pool_queued.with({});
    const auto threads0 = threads.value(), busy0 = busy.value(), queued0 = queued.value();
    {
        milter::WorkerPool pool(1, 5);
        EXPECT_EQ(threads.value() - threads0, 1);
        Gate gate;
        ASSERT_TRUE(pool.try_submit([&] { gate.wait(); }));
        for (int i = 0; i < 200 && !gate.entered; ++i) std::this_thread::sleep_for(5ms);
        ASSERT_TRUE(gate.entered.load());
        EXPECT_EQ(busy.value() - busy0, 1);
        ASSERT_TRUE(pool.try_submit([] {}));
        ASSERT_TRUE(pool.try_submit([] {}));
        EXPECT_EQ(queued.value() - queued0, 2);
        gate.release();
        pool.stop();
        EXPECT_EQ(busy.value() - busy0, 0);
        EXPECT_EQ(queued.value() - queued0, 0);
    }
    EXPECT_EQ(threads.value() - threads0, 0);
}

// At most max_running jobs run at once: with one allowed, a second job
// waits in the queue while the first runs, however many threads there are.
// A job waiting for the network (util::WaitingRegion) gives its place to a
// queued one meanwhile.
bool second_ran_while_first_ran(bool first_waits_for_the_network) {
    milter::WorkerPool pool(4, 10, 1);
    EXPECT_EQ(pool.max_running(), 1u);
    std::atomic<bool> second_ran{false}, seen_by_first{false};
    std::atomic<bool> first_started{false}, first_done{false};
    EXPECT_TRUE(pool.try_submit([&] {
        first_started = true;
        std::optional<util::WaitingRegion> waiting;
        if (first_waits_for_the_network) waiting.emplace();
        const auto until = std::chrono::steady_clock::now() + 1s;
        while (!second_ran && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
        seen_by_first = second_ran.load();
        first_done = true;
    }));
    for (int i = 0; i < 200 && !first_started; ++i) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(pool.try_submit([&] { second_ran = true; }));
    // stop() runs whatever is queued at once: only after the first job.
    for (int i = 0; i < 400 && !first_done; ++i) std::this_thread::sleep_for(5ms);
    pool.stop();
    EXPECT_TRUE(second_ran.load());
    return seen_by_first.load();
}

TEST(WorkerPool, NoMoreThanMaxRunningJobsRunAtOnce) { EXPECT_FALSE(second_ran_while_first_ran(false)); }

TEST(WorkerPool, AJobWaitingForTheNetworkLetsAQueuedJobRun) { EXPECT_TRUE(second_ran_while_first_ran(true)); }

TEST(WorkerPool, MaxRunningDefaultsToTheMachinesCpus) {
    milter::WorkerPool pool(2, 10);
    EXPECT_EQ(pool.max_running(), std::max(1u, std::thread::hardware_concurrency()));
}

// Jobs that wait only for a CPU (an idle worker for each) do not count
// towards the queue limit: the pool takes as much as before the running
// limit, its threads plus queue_limit.
TEST(WorkerPool, JobsWaitingOnlyForACpuDoNotCountTowardsTheQueueLimit) {
    milter::WorkerPool pool(4, 1, 1);
    for (int i = 0; i < 400 && pool.idle_workers() < 4; ++i) std::this_thread::sleep_for(5ms);
    ASSERT_EQ(pool.idle_workers(), 4u);
    Gate gate;
    std::atomic<int> ran{0};
    ASSERT_TRUE(hold_a_worker(pool, gate, ran));
    // Three idle workers and a queue limit of 1: four may wait.
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(pool.try_submit([&] { ++ran; })) << i;
    EXPECT_FALSE(pool.try_submit([&] { ++ran; }));
    gate.release();
    pool.stop();
    EXPECT_EQ(ran.load(), 5);
}

}  // namespace
