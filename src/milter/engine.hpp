// The native milter engine: one event-loop thread (epoll) that accepts MTA
// connections, reads and frames packets and writes replies, and a bounded
// worker pool that runs the session events that may wait (see
// connection.hpp; the loop itself answers those that never wait, see
// runs_on_loop in engine.cpp). Signals
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

struct EngineOptions {
    // [milter] workers and work_queue_limit (config/settings.hpp).
    std::size_t workers = 32;
    std::size_t work_queue_limit = 1024;
    std::function<void()> reload;  // SIGUSR1
    // SIGTERM: the drain starts (new connections get 421 4.3.2).
    std::function<void(std::chrono::seconds timeout, int sessions)> drain_started;
    // The drain ended: `left` sessions were cut short.
    std::function<void(int left)> stopped;
};

// Serves `listen_fd` (from open_listener) until a drain ends. The calling
// thread must have SIGUSR1, SIGTERM, SIGINT and SIGHUP blocked (so must
// every other thread). Returns 0, or 1 when the loop could not be set up.
int run_native_engine(int listen_fd, const EngineOptions& hooks);

}  // namespace milter
