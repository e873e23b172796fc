// The libmilter adapter: translates libmilter callbacks into session events
// and verdicts back into smfi_* calls. Nothing else lives here.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "session/runtime.hpp"

struct smfiDesc;

namespace milter {

// The process-wide state callbacks reach: the current runtime (swapped on
// reload) and the state shared across reloads.
class Registry {
public:
    static Registry& instance();
    void set_runtime(std::shared_ptr<const session::Runtime> runtime);
    std::shared_ptr<const session::Runtime> runtime() const;
    std::shared_ptr<session::Shared> shared() const { return shared_; }
    int active_sessions() const { return active_.load(); }
    void session_opened() { ++active_; }
    void session_closed() { --active_; }
    // Set on SIGTERM: new connections are refused with a tempfail while the
    // sessions in flight finish; tarpits in progress end at once.
    void start_draining();
    bool draining() const { return draining_.load(); }
    // A tarpit: waits `delay`, or less when the drain starts (then a refusal
    // reaches the MTA before the daemon exits). True when it waited it all.
    bool wait_unless_draining(std::chrono::milliseconds delay);

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const session::Runtime> runtime_;
    std::shared_ptr<session::Shared> shared_ = std::make_shared<session::Shared>();
    std::atomic<int> active_{0};
    std::atomic<bool> draining_{false};
    std::mutex drain_mutex_;
    std::condition_variable drain_started_;
};

// The filter description registered with smfi_register().
smfiDesc& filter_description();

}  // namespace milter
