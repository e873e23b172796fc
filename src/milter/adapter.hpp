// The libmilter adapter: translates libmilter callbacks into session events
// and verdicts back into smfi_* calls. Nothing else lives here.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "milter/connection_table.hpp"
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
    // Every milter connection open, against the descriptor budget.
    ConnectionTable& connections() { return connections_; }
    // A connection turned away for the budget: counted, and logged at most
    // once per 10 s with the counts since the last line.
    void note_over_budget(ConnectionTable::Admission what);
    // Starts the thread that closes connections silent for longer than the
    // runtime's [milter] idle_timeout (libmilter engine; the native engine
    // calls shut_idle_connections() from its event loop).
    void start_idle_reaper();
    // Shuts down the connections silent for idle_timeout, logged.
    void shut_idle_connections();

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const session::Runtime> runtime_;
    std::shared_ptr<session::Shared> shared_ = std::make_shared<session::Shared>();
    std::atomic<int> active_{0};
    std::atomic<bool> draining_{false};
    std::mutex drain_mutex_;
    std::condition_variable drain_started_;
    ConnectionTable connections_;
    std::mutex over_budget_mutex_;
    std::chrono::steady_clock::time_point over_budget_logged_{};
    unsigned long refused_{0}, closed_{0};
};

// The filter description registered with smfi_register().
smfiDesc& filter_description();

}  // namespace milter
