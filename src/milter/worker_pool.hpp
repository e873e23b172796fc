// A fixed number of threads running queued jobs, with a bounded queue: the
// native engine's session work runs here, off the event loop, because a
// stage may wait (SPF at MAIL, DKIM and DMARC at end of message ask DNS).
// The pool never grows: when `queue_limit` jobs wait, try_submit() says no
// and the caller answers the MTA with a tempfail.
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
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace milter {

class WorkerPool {
public:
    WorkerPool(std::size_t threads, std::size_t queue_limit);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues `job` unless `queue_limit` jobs wait already (a job handed to an
    // idle worker at once does not wait).
    bool try_submit(std::function<void()> job);
    // Queues `job` whatever the queue holds: the end of a connection, which
    // must run and is bounded by the number of connections (it does not
    // count towards `queue_limit` either).
    void submit(std::function<void()> job);
    // Runs what is queued, then joins the threads.
    void stop();
    // Workers waiting for a job now (for tests).
    std::size_t idle_workers();

private:
    struct Worker;
    void run(Worker& self);
    // The worker that went idle last, out of the idle list, or null when
    // every worker is busy. Called with mutex_ held.
    Worker* take_idle_worker();
    static void hand(Worker& worker, std::function<void()> job);

    const std::size_t queue_limit_;
    std::mutex mutex_;
    std::condition_variable ready_;
    struct Job {
        std::function<void()> run;
        bool limited;  // from try_submit
    };
    std::deque<Job> queue_;           // only while no worker is idle
    std::vector<Worker*> idle_;       // the last to go idle at the back
    std::size_t limited_waiting_ = 0;
    bool stopping_ = false;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
};

}  // namespace milter
