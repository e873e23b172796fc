#include "milter/worker_pool.hpp"

#include <algorithm>

#include "metrics/catalogue.hpp"

namespace milter {

namespace {

// metrics: worker_pool_threads, _busy, _queued (every pool of the process
// together; the daemon has one).
struct PoolGauges {
    metrics::Gauge& threads;
    metrics::Gauge& busy;
    metrics::Gauge& queued;
};

const PoolGauges& gauges() {
    static const PoolGauges g{metrics::catalogue().worker_pool_threads.with({}),
                              metrics::catalogue().worker_pool_busy.with({}),
                              metrics::catalogue().worker_pool_queued.with({})};
    return g;
}

}  // namespace

// One thread's own wake-up: a job handed to it, or the order to stop. Only
// the pool's thread that hands the job and the worker itself touch it.
struct WorkerPool::Worker {
    std::mutex mutex;
    std::condition_variable wake;
    std::function<void()> job;
    bool has_job = false;
    bool stop = false;
};

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_limit, std::size_t max_running)
    : queue_limit_(queue_limit),
      max_running_(max_running > 0 ? max_running : std::max(1U, std::thread::hardware_concurrency())) {
    gauges().threads.add(static_cast<std::int64_t>(threads));
    workers_.reserve(threads);
    threads_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<Worker>());
        Worker& w = *workers_.back();
        threads_.emplace_back([this, &w] { run(w); });
    }
}

WorkerPool::~WorkerPool() { stop(); }

std::size_t WorkerPool::idle_workers() {
    std::lock_guard lock(mutex_);
    return idle_.size();
}

WorkerPool::Worker* WorkerPool::take_idle_worker() {
    if (idle_.empty()) return nullptr;
    Worker* w = idle_.back();
    idle_.pop_back();
    return w;
}

void WorkerPool::hand(Worker& worker, std::function<void()> job) {
    {
        std::lock_guard lock(worker.mutex);
        worker.job = std::move(job);
        worker.has_job = true;
    }
    worker.wake.notify_one();
}

std::function<void()> WorkerPool::pop_job() {
    std::function<void()> job = std::move(queue_.front().run);
    if (queue_.front().limited) --limited_waiting_;
    queue_.pop_front();
    gauges().queued.sub();
    return job;
}

bool WorkerPool::full() const {
    // Jobs that wait only for a CPU, with an idle worker for each of them,
    // are not an overload: the limit counts those beyond.
    return stopping_ || limited_waiting_ >= queue_limit_ + idle_.size();
}

bool WorkerPool::saturated() {
    std::lock_guard lock(mutex_);
    return full();
}

bool WorkerPool::try_submit(std::function<void()> job) {
    Worker* w = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (full()) return false;
        if (running_ < max_running_ && (w = take_idle_worker())) ++running_;
        if (!w) {
            queue_.push_back({std::move(job), true});
            ++limited_waiting_;
            gauges().queued.add();
        }
    }
    if (w) hand(*w, std::move(job));
    return true;
}

void WorkerPool::submit(std::function<void()> job) {
    Worker* w = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (running_ < max_running_ && (w = take_idle_worker())) ++running_;
        if (!w) {
            queue_.push_back({std::move(job), false});
            gauges().queued.add();
        }
    }
    if (w) hand(*w, std::move(job));
}

void WorkerPool::stop() {
    std::vector<Worker*> idle;
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
        idle.swap(idle_);
    }
    // Busy workers see stopping_ once the queue is empty; idle ones are told.
    for (Worker* w : idle) {
        {
            std::lock_guard lock(w->mutex);
            w->stop = true;
        }
        w->wake.notify_one();
    }
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    gauges().threads.sub(static_cast<std::int64_t>(threads_.size()));
    threads_.clear();
}

void WorkerPool::waiting() {
    Worker* w = nullptr;
    std::function<void()> job;
    {
        std::lock_guard lock(mutex_);
        --running_;
        // This thread's place goes to a queued job, on an idle worker.
        if (!stopping_ && !queue_.empty() && running_ < max_running_ && (w = take_idle_worker())) {
            job = pop_job();
            ++running_;
        }
    }
    if (w) hand(*w, std::move(job));
}

void WorkerPool::done_waiting() {
    // Back to work, over max_running for a while if others took its place.
    std::lock_guard lock(mutex_);
    ++running_;
}

void WorkerPool::run(Worker& self) {
    util::t_wait_observer = this;
    bool counted = false;  // this worker is in running_
    for (;;) {
        std::function<void()> job;
        {
            std::lock_guard lock(mutex_);
            // Whatever is queued runs before the pool stops, limit or not.
            const bool take = !queue_.empty() &&
                              (stopping_ || (counted ? running_ <= max_running_ : running_ < max_running_));
            if (take) {
                if (!counted) ++running_;
                counted = true;
                job = pop_job();
            } else {
                if (counted) --running_;
                counted = false;
                if (stopping_) return;  // stopping, and nothing left to run
                idle_.push_back(&self);
            }
        }
        if (!job) {
            std::unique_lock lock(self.mutex);
            self.wake.wait(lock, [&self] { return self.has_job || self.stop; });
            if (!self.has_job) continue;  // told to stop: run what is queued, then return
            job = std::move(self.job);
            self.job = nullptr;
            self.has_job = false;
            counted = true;  // whoever handed it counted it
        }
        gauges().busy.add();
        job();
        gauges().busy.sub();
    }
}

}  // namespace milter
