// The libmilter adapter: translates libmilter callbacks into session events
// and verdicts back into smfi_* calls. Nothing else lives here.
#pragma once
#include <atomic>
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
    // sessions in flight finish.
    void start_draining() { draining_ = true; }
    bool draining() const { return draining_.load(); }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const session::Runtime> runtime_;
    std::shared_ptr<session::Shared> shared_ = std::make_shared<session::Shared>();
    std::atomic<int> active_{0};
    std::atomic<bool> draining_{false};
};

// The filter description registered with smfi_register().
smfiDesc& filter_description();

}  // namespace milter
