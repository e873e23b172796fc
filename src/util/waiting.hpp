// A thread about to wait for the network (a DNS answer, a Redis reply) says
// so with a WaitingRegion, so that the worker pool it belongs to, which lets
// only so many of its threads run at once, can let another job run while it
// waits (milter/worker_pool.hpp). Costs nothing on other threads.
#pragma once

namespace util {

class WaitObserver {
public:
    virtual void waiting() = 0;
    virtual void done_waiting() = 0;

protected:
    ~WaitObserver() = default;
};

// The observer of the calling thread (set by the worker pool on its threads).
inline thread_local WaitObserver* t_wait_observer = nullptr;

class WaitingRegion {
public:
    WaitingRegion() : observer_(t_wait_observer) {
        if (observer_) observer_->waiting();
    }
    ~WaitingRegion() {
        if (observer_) observer_->done_waiting();
    }
    WaitingRegion(const WaitingRegion&) = delete;
    WaitingRegion& operator=(const WaitingRegion&) = delete;

private:
    WaitObserver* observer_;
};

}  // namespace util
