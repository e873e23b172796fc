// A fixed number of threads running queued jobs, with a bounded queue: the
// native engine's session work runs here, off the event loop, because a
// stage may wait (SPF at MAIL, DKIM and DMARC at end of message ask DNS).
// The pool never grows: when `queue_limit` jobs wait, try_submit() says no
// and the caller answers the MTA with a tempfail.
//
// Ordering per connection is the caller's: the event loop keeps at most one
// job per connection queued or running.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
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

    // Queues `job` unless `queue_limit` jobs wait already.
    bool try_submit(std::function<void()> job);
    // Queues `job` whatever the queue holds: the end of a connection, which
    // must run and is bounded by the number of connections (it does not
    // count towards `queue_limit` either).
    void submit(std::function<void()> job);
    // Runs what is queued, then joins the threads.
    void stop();

private:
    void run();

    const std::size_t queue_limit_;
    std::mutex mutex_;
    std::condition_variable ready_;
    struct Job {
        std::function<void()> run;
        bool limited;  // from try_submit
    };
    std::deque<Job> queue_;
    std::size_t limited_waiting_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace milter
