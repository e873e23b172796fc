// The milter connections open now: how many there are, against the budget
// of file descriptors the daemon may spend on them, and how long each has
// been silent, for [milter] idle_timeout. No libmilter types: the adapter
// registers a connection at option negotiation (its first event) and
// removes it at close.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace milter {

// How many connections may be open at once (0 = no limit).
struct ConnectionBudget {
    // Up to this many, sessions are served; beyond it a new session is
    // refused with 421 4.3.2 at connect, which the MTA passes on.
    std::size_t sessions = 0;
    // Beyond this many, a new connection is closed at negotiation, so that
    // the descriptors left stay for the listener, DNS and files.
    std::size_t connections = 0;
};

class ConnectionTable {
public:
    using Clock = std::chrono::steady_clock;
    using Id = const void*;
    enum class Admission { Serve, Refuse, Close };

    void set_budget(ConnectionBudget budget);
    ConnectionBudget budget() const;

    // A new connection on socket `fd` (-1: unknown, never shut by
    // shut_idle): its admission under the budget, counting itself.
    Admission open(Id id, int fd, Clock::time_point now);
    // An event is being handled (busy) or was answered (idle again from now).
    void begin_event(Id id);
    void end_event(Id id, Clock::time_point now);
    // Forgets the connection; call before its socket is closed.
    void close(Id id);
    std::size_t size() const;

    // Shuts down the sockets (SHUT_RDWR, through `shut`) of the connections
    // silent for `idle` or longer and not in an event; the protocol engine
    // then sees the end of the connection and closes it its usual way.
    // Under the table's lock, so that a socket is never shut after close()
    // (its number could belong to another file by then). Returns how many.
    std::size_t shut_idle(Clock::duration idle, Clock::time_point now, const std::function<void(int)>& shut);

private:
    struct Entry {
        int fd = -1;
        int busy = 0;
        Clock::time_point last_event;
        bool shut = false;
    };
    mutable std::mutex mutex_;
    std::unordered_map<Id, Entry> entries_;
    ConnectionBudget budget_;
};

}  // namespace milter
