// A fixed number of threads running queued jobs, with a bounded queue: the
// native engine's session work runs here, off the event loop, because a
// stage may wait (SPF at MAIL, DKIM and DMARC at end of message ask DNS).
// The pool never grows: when `queue_limit` jobs wait (beyond those the idle
// workers will take), try_submit() says no and the caller answers the MTA
// with a tempfail.
//
// Ordering per connection is the caller's: the event loop keeps at most one
// job per connection queued or running.
//
// A job goes straight to an idle worker when there is one (the one that
// went idle last, whose caches are warm), through that worker's own wake-up,
// and waits in the queue only when every worker is busy. So handing over a
// job wakes one thread and takes the shared lock once, instead of every
// waiting worker contending for one lock and one condition variable (about
// 15 futex calls per message with 32 workers, measured with strace -c).
//
// At most `max_running` jobs run at once (by default as many as the machine
// has CPUs): the others wait in the queue, and a worker that finishes a job
// takes the next one without going to sleep, so a busy pool does not wake
// (and switch between) more threads than there are CPUs. A job that waits
// for the network (util::WaitingRegion: a DNS answer, a Redis reply) does
// not count while it waits: its place goes to a queued job, on another of
// the `threads`. So the threads are what bounds the jobs waiting on a slow
// name server, and the CPUs what bounds the jobs running.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "util/waiting.hpp"

namespace milter {

class WorkerPool final : private util::WaitObserver {
public:
    // `max_running` 0: std::thread::hardware_concurrency() (at least 1).
    WorkerPool(std::size_t threads, std::size_t queue_limit, std::size_t max_running = 0);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues `job` unless `queue_limit` jobs wait already, not counting as
    // many as there are idle workers (which take them once a CPU is free;
    // a job handed to an idle worker at once does not wait either).
    bool try_submit(std::function<void()> job);
    // Queues `job` whatever the queue holds: the end of a connection, which
    // must run and is bounded by the number of connections (it does not
    // count towards `queue_limit` either).
    void submit(std::function<void()> job);
    // Whether try_submit() would say no now.
    bool saturated();
    // Runs what is queued, then joins the threads.
    void stop();
    // Workers waiting for a job now (for tests).
    std::size_t idle_workers();
    std::size_t max_running() const { return max_running_; }

private:
    struct Worker;
    struct Job {
        std::function<void()> run;
        bool limited;  // from try_submit
    };
    void run(Worker& self);
    // util::WaitObserver, on the pool's own threads.
    void waiting() override;
    void done_waiting() override;
    // try_submit() would say no. Called with mutex_ held.
    bool full() const;
    // The queue's first job, out of the queue. Called with mutex_ held.
    std::function<void()> pop_job();
    // The worker that went idle last, out of the idle list, or null when
    // every worker is busy. Called with mutex_ held.
    Worker* take_idle_worker();
    static void hand(Worker& worker, std::function<void()> job);

    const std::size_t queue_limit_;
    const std::size_t max_running_;
    std::mutex mutex_;
    std::deque<Job> queue_;           // while no worker may take it
    std::size_t running_ = 0;         // workers running a job and not waiting
    std::vector<Worker*> idle_;       // the last to go idle at the back
    std::size_t limited_waiting_ = 0;
    bool stopping_ = false;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
};

}  // namespace milter
