// The native milter engine: one event-loop thread (epoll) that accepts MTA
// connections, reads and frames packets and writes replies, and a bounded
// worker pool that runs the session events (see connection.hpp). Signals
// arrive in the loop through a signalfd: SIGUSR1 reloads, SIGTERM, SIGINT
// and SIGHUP drain and stop.
//
// Per readiness event the loop reads once and hands every complete packet
// to the connection's next job; a job answers its whole batch in one
// write. A connection has at most one job queued or running, so its events
// stay in order although consecutive jobs may run on different threads.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>

namespace milter {

// Limits of the native engine, documented in connector-milter.conf(5).
// Threads that run session work: a stage waiting on DNS holds one.
inline constexpr std::size_t kWorkerThreads = 32;
// Batches waiting for a worker; beyond this, the MTA gets 451 4.3.2.
inline constexpr std::size_t kWorkQueueLimit = 1024;

struct EngineHooks {
    std::function<void()> reload;  // SIGUSR1
    // SIGTERM: the drain starts (new connections get 421 4.3.2).
    std::function<void(std::chrono::seconds timeout, int sessions)> drain_started;
    // The drain ended: `left` sessions were cut short.
    std::function<void(int left)> stopped;
};

// Serves `listen_fd` (from open_listener) until a drain ends. The calling
// thread must have SIGUSR1, SIGTERM, SIGINT and SIGHUP blocked (so must
// every other thread). Returns 0, or 1 when the loop could not be set up.
int run_native_engine(int listen_fd, const EngineHooks& hooks);

}  // namespace milter
