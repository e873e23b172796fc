// The native milter engine: event loops (epoll; one per CPU but one by
// default, [milter] event_loops) that accept MTA connections, read and frame
// packets, write replies and run the session events not known to wait
// (runs_on_loop in engine.cpp), and a bounded worker pool that runs those
// that are (see connection.hpp). A loop whose stage waits after all is run
// by another thread meanwhile (Engine in engine.cpp). Signals arrive in the
// first loop through a signalfd: SIGUSR1 reloads, SIGTERM, SIGINT and
// SIGHUP drain and stop.
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
    // [milter] event_loops; 0: default_event_loops.
    std::size_t event_loops = 0;
    std::function<void()> reload;  // SIGUSR1
    // SIGTERM: the drain starts (new connections get 421 4.3.2).
    std::function<void(std::chrono::seconds timeout, int sessions)> drain_started;
    // The drain ended: `left` sessions were cut short.
    std::function<void(int left)> stopped;
};

// The event loops for [milter] event_loops = 0 on a machine with `cpus`
// CPUs: one per CPU but one, at least one. The MTA runs on the same CPUs;
// with as many busy loops as CPUs, each reply that wakes an MTA process
// preempts a loop (2.3 context switches per message against 0.06 with one
// loop on two CPUs, and about a tenth more CPU per message; BENCHMARKS.md).
constexpr std::size_t default_event_loops(std::size_t cpus) { return cpus > 1 ? cpus - 1 : 1; }
// The event loops the engine runs for [milter] event_loops = `configured`
// (0: default_event_loops of this machine's CPUs).
std::size_t event_loop_count(std::size_t configured);
// The descriptors the engine opens for `loops` event loops (an epoll and
// an eventfd each, and the first loop's signalfd), to be set aside from
// the connections' budget.
constexpr std::size_t engine_descriptors(std::size_t loops) { return 2 * loops + 1; }

// Serves `listen_fd` (from open_listener) until a drain ends. The calling
// thread must have SIGUSR1, SIGTERM, SIGINT and SIGHUP blocked (so must
// every other thread). Returns 0, or 1 when the loop could not be set up.
int run_native_engine(int listen_fd, const EngineOptions& hooks);

}  // namespace milter
