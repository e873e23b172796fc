#include "milter/engine.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "log/log.hpp"
#include "metrics/catalogue.hpp"
#include "milter/adapter.hpp"
#include "milter/connection.hpp"
#include "milter/packet.hpp"
#include "milter/worker_pool.hpp"
#include "util/waiting.hpp"

namespace milter {

namespace {

using Clock = std::chrono::steady_clock;

// One read per readiness event takes at most this much; epoll is level
// triggered, so more waiting data brings another event.
constexpr std::size_t kReadSize = 64 * 1024;

// Flow control: while a connection's job runs, the loop reads ahead at
// most this much of its next commands (an MTA sends headers and body
// chunks without waiting for replies), then stops reading it until the job
// is done. So a connection holds at most this, one incomplete packet and
// one read, however fast the MTA sends.
constexpr std::size_t kReadAhead = 256 * 1024;

// How often connections are checked against [milter] idle_timeout.
constexpr std::chrono::milliseconds kIdleSweep{250};
// How often a parked MAIL or end of message (Engine::parked_) looks at its DNS
// answers: at most this much is added to its wait.
constexpr std::chrono::milliseconds kParkedPoll{2};

// epoll keys below kFirstConnection name the loop's own descriptors.
constexpr std::uint64_t kListenerKey = 1, kSignalKey = 2, kWakeKey = 3, kFirstConnection = 16;

// What the loop runs itself: every stage whose work is not known to wait.
// Option negotiation and macros need no session work; headers, end of
// headers, DATA and ABORT are header bookkeeping; body chunks are DKIM
// hashing; MAIL and end of message come here only once the DNS answers
// asked ahead for them are in (Engine::schedule parks them until then), and
// RCPT unless the session reads block list answers there (connection
// filtering) or gives an SPF verdict left for later, MAIL unless its
// connector's message rate limit is kept in Redis, and CONNECT, QUIT and
// the end of the connection unless the connection counts are kept there.
// HELO checks the name as given. A hand-off to a worker and back costs more
// than most of that work: two thread wake-ups, contended locks and a write
// to an eventfd (with 10 messages per connection, the four hand-offs of a
// connection's start and end were a third of the futex calls per message).
// Should a stage run here wait after all (an SPF include not asked ahead, a
// Redis reply), the loop goes on on another thread meanwhile
// (Engine::waiting). What is known to wait goes to the pool: MAIL with a
// shared rate limit, RCPT with connection filtering or a late SPF verdict,
// CONNECT, QUIT and the end of the connection with shared connection
// counts, and UNKNOWN.
bool runs_on_loop(const MilterConnection& state, const wire::Packet& p) {
    switch (p.command) {
        case cmd::kRcpt: return !state.rcpt_may_wait();
        case cmd::kMail: return !state.mail_may_wait();
        case cmd::kConnect:
        case cmd::kQuit:
        case cmd::kQuitNc: return !MilterConnection::connection_may_wait();
        case cmd::kHelo:
        case cmd::kOptNeg:
        case cmd::kMacro:
        case cmd::kHeader:
        case cmd::kEoh:
        case cmd::kData:
        case cmd::kBody:
        case cmd::kBodyEob:
        case cmd::kAbort: return true;
        default: return false;
    }
}

// The MAIL and end of message batches a loop runs at once (the rest go to
// the worker pool), and so about the threads it may start to run the loop
// while they wait. Few: a stage that waits holds a thread, and under a cold
// cache, where many would, the pool queues them without a thread each.
constexpr std::size_t kMaxStandbys = 4;

// The waits of the calling thread so far (a WaitingRegion may nest).
thread_local int t_wait_depth = 0;
// Whether the calling thread gave its loop away when its wait began.
thread_local bool t_handed_over = false;

// The signals the loop handles; blocked in every thread by the daemon.
int open_signalfd() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
    return ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

struct Conn {
    std::uint64_t id = 0;
    Fd fd;
    wire::PacketReader reader;
    wire::Batch pending;                // read, not yet handed to a job
    wire::Batch running;                // the batch run on the loop (schedule)
    std::size_t pending_bytes = 0;
    bool read_paused = false;           // EPOLLIN off: kReadAhead reached
    MilterConnection state;             // touched by one job at a time
    bool busy = false;                  // a job queued or running, or a tarpit pending
    bool eof = false;                   // nothing more to read: close once idle
    bool closing = false;               // the close job is queued or running
    bool parked = false;                // MAIL or end of message waits for DNS answers (Engine::parked_)
    bool want_write = false;            // EPOLLOUT registered
    std::string outbuf;                 // replies the socket did not take yet
    std::string delayed;                // a tarpitted reply and what followed it
    bool close_after_delay = false;
    explicit Conn(int descriptor) : fd(descriptor) {}
};

// What a job hands back to the loop.
struct Done {
    std::uint64_t id;
    Output out;
    bool closed;  // the close job: the connection may go
};

// One event loop: its own epoll, connections, timers and completions. The
// daemon runs one per CPU but one by default (run_native_engine), all
// accepting on the same listener and sharing one worker pool; the first
// also handles signals and the idle sweep.
//
// A loop is run by one thread at a time, the one holding the loop (held_).
// Stages run on the loop (runs_on_loop) with this engine as the thread's
// util::WaitObserver: when one is about to wait for the network, its thread
// lets the loop go and another thread (a standby, started when none is
// free, at most [milter] workers per loop) runs it meanwhile; when the wait is over, the
// thread takes the loop back before it goes on, so the loop's state is only
// ever touched by the thread holding it. Work a thread has in hand when it
// lets the loop go is in the loop's own queues (parked_, completions_), not
// on its stack, so the next holder carries it on; a connection whose stage
// waits stays busy, so nothing else touches it meanwhile.
class Engine final : private util::WaitObserver {
public:
    Engine(int listen_fd, const EngineOptions& hooks, WorkerPool& pool, bool primary)
        : listen_fd_(listen_fd), hooks_(hooks), pool_(pool), primary_(primary) {}
    ~Engine() = default;

    bool setup();
    // Runs the loop until the drain ends.
    void run();
    // Wakes the loop from another thread (the drain began).
    void wake();
    // Closes the connections left; after the pool stopped.
    void close_all();
    void set_siblings(std::vector<Engine*> siblings) { siblings_ = std::move(siblings); }

private:
    void iterate();
    bool finished() const;
    void begin_drain();
    void accept_all();
    void on_readable(Conn& c);
    void on_writable(Conn& c);
    void schedule(Conn& c);
    void run_here(Conn& c, wire::Batch& packets);
    void shed(Conn& c, wire::Batch& packets);
    void post(Done done);
    void take_completions();
    void finish_batch(Conn& c, Output out);
    void send(Conn& c, std::string_view bytes);
    void watch_writes(Conn& c, bool on);
    void update_events(Conn& c);
    void destroy(std::uint64_t id);
    void on_signal();
    void fire_timers(bool all);
    int next_timeout() const;
    Conn* find(std::uint64_t id) {
        auto it = conns_.find(id);
        return it == conns_.end() ? nullptr : it->second.get();
    }
    bool add_listener();
    // Holding the loop (see the class comment).
    void waiting() override;
    void done_waiting() override;
    void take_loop(std::unique_lock<std::mutex>& lock);
    void yield_to_waiting_threads();
    void standby();
    void stop_standbys();

    int listen_fd_;
    const EngineOptions& hooks_;
    WorkerPool& pool_;
    const bool primary_;  // signals, the idle sweep
    std::vector<Engine*> siblings_;
    Fd epoll_{::epoll_create1(EPOLL_CLOEXEC)};
    Fd signal_fd_;
    Fd wake_{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    bool inet_ = false;
    std::uint64_t next_id_ = kFirstConnection;
    std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
    std::multimap<Clock::time_point, std::uint64_t> timers_;  // tarpits
    // Connections whose MAIL or end of message waits for the DNS answers
    // asked ahead for it: looked at again every kParkedPoll, then scheduled
    // (through parked_now_, one at a time).
    std::vector<std::uint64_t> parked_;
    std::deque<std::uint64_t> parked_now_;
    void recheck_parked();
    Clock::time_point accept_paused_until_{};
    bool accept_paused_ = false;
    std::mutex done_mutex_;
    std::vector<Done> done_;
    std::deque<Done> completions_;  // taken from done_, handled one at a time
    std::vector<std::uint64_t> closed_here_;  // closed on the loop: destroyed at the end of the round
    bool draining_ = false;
    std::atomic<bool> failed_{false};  // epoll_wait failed: the loop ends
    Clock::time_point drain_deadline_{};
    std::uint64_t shed_batches_ = 0;
    metrics::Counter& shed_counter_ = metrics::catalogue().work_queue_full.with({});
    Clock::time_point last_shed_warning_{};
    Clock::time_point next_idle_sweep_{};
    // MAIL and end of message batches run on the loop and not over yet
    // (some may be waiting, another thread running the loop): at most
    // kMaxStandbys, so that each can always hand the loop over.
    std::size_t loop_stages_ = 0;
    // Who holds the loop.
    std::mutex lead_mutex_;
    std::condition_variable lead_cv_;
    bool held_ = false;             // a thread runs the loop
    std::uint64_t taken_ = 0;       // times a thread whose wait was over took it back
    int wanting_ = 0;               // threads waiting to take it back (or the loop's own thread)
    std::size_t idle_standbys_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> standbys_;
};

bool Engine::setup() {
    if (epoll_.get() < 0 || wake_.get() < 0) return false;
    if (primary_) {
        signal_fd_.reset(open_signalfd());
        if (signal_fd_.get() < 0) return false;
    }
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(listen_fd_, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0)
        inet_ = domain == AF_INET || domain == AF_INET6;
    for (auto [fd, key] : {std::pair{signal_fd_.get(), kSignalKey}, std::pair{wake_.get(), kWakeKey}}) {
        if (fd < 0) continue;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = key;
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return false;
    }
    return add_listener();
}

// Every loop watches the listener; EPOLLEXCLUSIVE wakes one of them (not
// all) for a new connection, and the one that accepts it serves it.
bool Engine::add_listener() {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenerKey;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fd_, &ev) == 0) return true;
    daemon_log::error(std::string("cannot watch the milter socket: ") + std::strerror(errno));
    return false;
}

void Engine::wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
}

void Engine::accept_all() {
    for (int i = 0; i < 64; ++i) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // Out of descriptors: stop accepting for a moment instead of
                // spinning on a listener that stays readable.
                daemon_log::warning(std::string("cannot accept an MTA connection: ") + std::strerror(errno) +
                                    "; pausing accept for 100 ms");
                epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listen_fd_, nullptr);
                accept_paused_ = true;
                accept_paused_until_ = Clock::now() + std::chrono::milliseconds(100);
            }
            return;  // EAGAIN, or an aborted connection
        }
        if (inet_) {
            // Replies of a batch go out in one write; without TCP_NODELAY a
            // reply after a reply waits for the MTA's delayed ACK.
            const int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        auto conn = std::make_unique<Conn>(fd);
        conn->id = next_id_++;
        // Counted against the descriptor budget from the start, and watched
        // for [milter] idle_timeout (see ConnectionTable).
        conn->state.set_admission(Registry::instance().connections().open(&conn->state, fd, Clock::now()));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = conn->id;
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            // Out of the table before ~Conn closes the socket.
            Registry::instance().connections().close(&conn->state);
            continue;
        }
        conns_.emplace(conn->id, std::move(conn));
    }
}

void Engine::on_readable(Conn& c) {
    char buffer[kReadSize];
    const ssize_t n = ::read(c.fd.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // A connection that ended no longer counts against the descriptor
    // budget, from now rather than once its close job has run (the socket
    // is still open, so shut_idle cannot reach another file).
    if (n <= 0) Registry::instance().connections().close(&c.state);
    if (n <= 0) {
        c.eof = true;
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    } else if (const std::size_t before = c.pending.size();
               c.reader.feed(buffer, static_cast<std::size_t>(n), c.pending) != wire::PacketReader::Status::Ok) {
        daemon_log::warning("milter connection closed: the MTA announced a packet of " +
                            std::to_string(c.reader.bad_length()) + " bytes (at most " +
                            std::to_string(wire::kMaxBodyPacketLength) + " for a body chunk, " +
                            std::to_string(wire::kMaxPacketLength) + " for other commands)");
        c.eof = true;
        c.pending.clear();
        c.pending_bytes = 0;
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    } else {
        for (std::size_t i = before; i < c.pending.size(); ++i) c.pending_bytes += c.pending[i].data.size() + 5;
    }
    schedule(c);
    if (!c.eof && !c.read_paused && (c.busy || c.parked) && c.pending_bytes >= kReadAhead) {
        c.read_paused = true;
        update_events(c);
    }
}

void Engine::schedule(Conn& c) {
    if (c.busy || c.closing || c.parked) return;
    if (!c.pending.empty()) {
        // A batch ends with the end of headers: that stage asks the DNS
        // questions the end of message reads, so what follows it is
        // scheduled (and parked while those answers are out) once it has
        // run. Without a reply for the end of headers (SMFIP_NR_EOH) the
        // MTA writes it together with the body and the end of message.
        std::size_t count = c.pending.size();
        if (const auto eoh = std::find_if(c.pending.begin(), c.pending.end(),
                                          [](const wire::Packet& p) { return p.command == cmd::kEoh; });
            eoh != c.pending.end())
            count = static_cast<std::size_t>(eoh - c.pending.begin()) + 1;
        // MAIL reads the SPF records asked for it as it came in, end of
        // message the DNS answers asked at MAIL and end of headers; while
        // they are on their way the stage waits here rather than on a
        // worker, so that a slow name server holds sessions, which are
        // cheap, not worker threads (issue 14's cold-cache run).
        if (c.state.waits_for_dns(c.pending, count)) {
            c.parked = true;
            parked_.push_back(c.id);
            return;
        }
        // The batch runs from c.running, whose vectors keep their room from
        // one batch to the next.
        c.pending.move_front_into(count, c.running);
        wire::Batch& packets = c.running;
        c.pending_bytes = c.pending.wire_bytes();
        if (c.read_paused && !c.eof) {
            c.read_paused = false;
            update_events(c);
        }
        // Work not known to wait is answered here (runs_on_loop): it never
        // waits for a worker nor counts as overload. MAIL and end of
        // message may wait after all (an SPF include, a DKIM key not asked
        // ahead): they run here only while another thread could run the
        // loop meanwhile, else on the pool, so that a cold cache under load
        // fills the pool's queue rather than stopping the loop.
        if (std::all_of(packets.begin(), packets.end(),
                        [&c](const wire::Packet& p) { return runs_on_loop(c.state, p); })) {
            // A new session while the pool is saturated is told to come
            // back later, as it would be on the pool: what it would send
            // next needs a worker too.
            if (std::any_of(packets.begin(), packets.end(),
                            [](const wire::Packet& p) { return p.command == cmd::kConnect; }) &&
                pool_.saturated())
                return shed(c, packets);
            const bool may_wait = std::any_of(packets.begin(), packets.end(), [](const wire::Packet& p) {
                return p.command == cmd::kMail || p.command == cmd::kBodyEob;
            });
            if (!may_wait) return run_here(c, packets);
            if (loop_stages_ < kMaxStandbys) {
                ++loop_stages_;
                run_here(c, packets);
                --loop_stages_;
                return;
            }
        }
        c.busy = true;
        Conn* conn = &c;  // stays alive while busy
        const std::uint64_t id = c.id;
        auto shared = std::make_shared<wire::Batch>(std::move(packets));
        packets.clear();
        const bool queued = pool_.try_submit([this, conn, id, shared] {
            auto& table = Registry::instance().connections();
            table.begin_event(&conn->state);
            Output out;
            conn->state.handle(*shared, out);
            table.end_event(&conn->state, Clock::now());
            post({id, std::move(out), false});
        });
        if (queued) return;
        c.busy = false;
        return shed(c, *shared);
    }
    if (c.eof) {
        // The end of the connection runs after its last job: here, or on
        // the pool when the connection counts are kept in Redis. Either
        // way the connection goes from the loop's table after this round.
        c.closing = true;
        c.busy = true;
        if (!MilterConnection::connection_may_wait()) {
            c.state.close_session();
            closed_here_.push_back(c.id);
            return;
        }
        Conn* conn = &c;
        const std::uint64_t id = c.id;
        pool_.submit([this, conn, id] {
            conn->state.close_session();
            post({id, {}, true});
        });
    }
}

// Saturated: answers `packets` without session work rather than queue
// without bound (a tempfail, so that nothing is accepted unchecked).
void Engine::shed(Conn& c, wire::Batch& packets) {
    ++shed_batches_;
    shed_counter_.inc();
    if (Clock::now() - last_shed_warning_ > std::chrono::seconds(1)) {
        last_shed_warning_ = Clock::now();
        daemon_log::warning("worker pool saturated (" + std::to_string(hooks_.work_queue_limit) +
                            " batches waiting, [milter] work_queue_limit): answering 451 4.3.2; " +
                            std::to_string(shed_batches_) + " batches answered so since start");
    }
    Output out;
    c.state.shed(packets, out);
    packets.clear();
    finish_batch(c, std::move(out));
}

// A batch on the loop's thread, with this engine as the thread's wait
// observer: should the batch wait, another thread runs the loop meanwhile
// (waiting()), and this one has the loop back when handle() returns. The
// connection stays busy throughout, so no other job and no close touches
// it.
void Engine::run_here(Conn& c, wire::Batch& packets) {
    c.busy = true;
    auto& table = Registry::instance().connections();
    table.begin_event(&c.state);
    Output out;
    {
        struct Observing {
            util::WaitObserver* const before = util::t_wait_observer;
            explicit Observing(util::WaitObserver* engine) { util::t_wait_observer = engine; }
            ~Observing() { util::t_wait_observer = before; }
        } observing(this);
        c.state.handle(packets, out);
    }
    packets.clear();  // before finish_batch, which may schedule the next batch into it
    table.end_event(&c.state, Clock::now());
    c.busy = false;
    finish_batch(c, std::move(out));
}

void Engine::recheck_parked() {
    for (const auto id : parked_) parked_now_.push_back(id);
    parked_.clear();
    while (!parked_now_.empty()) {
        Conn* c = find(parked_now_.front());
        parked_now_.pop_front();
        if (!c) continue;
        c->parked = false;
        schedule(*c);  // parks it again while its answers are still out
    }
}

void Engine::post(Done done) {
    {
        std::lock_guard lock(done_mutex_);
        done_.push_back(std::move(done));
    }
    wake();
}

void Engine::take_completions() {
    std::uint64_t count;
    (void)!::read(wake_.get(), &count, sizeof count);
    {
        std::lock_guard lock(done_mutex_);
        for (auto& d : done_) completions_.push_back(std::move(d));
        done_.clear();
    }
    while (!completions_.empty()) {
        Done d = std::move(completions_.front());
        completions_.pop_front();
        Conn* c = find(d.id);
        if (!c) continue;
        if (d.closed) {
            destroy(d.id);
            continue;
        }
        c->busy = false;
        finish_batch(*c, std::move(d.out));
    }
}

void Engine::finish_batch(Conn& c, Output out) {
    if (!out.now.empty()) send(c, out.now);
    if (out.close && !out.close_reason.empty())
        daemon_log::warning("milter connection closed: protocol error: " + out.close_reason);
    if (out.delay.count() > 0) {
        c.busy = true;
        c.delayed = std::move(out.after_delay);
        c.close_after_delay = out.close;
        timers_.emplace(draining_ ? Clock::now() : Clock::now() + out.delay, c.id);
        return;
    }
    if (out.close) {
        c.eof = true;
        c.pending.clear();
        c.pending_bytes = 0;
        update_events(c);  // nothing more is read
    }
    schedule(c);
}

void Engine::send(Conn& c, std::string_view bytes) {
    if (c.outbuf.empty()) {
        const ssize_t n = ::send(c.fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n == static_cast<ssize_t>(bytes.size())) return;
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            c.eof = true;  // the MTA went away
            return;
        }
        bytes.remove_prefix(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    c.outbuf.append(bytes);
    watch_writes(c, true);
}

void Engine::watch_writes(Conn& c, bool on) {
    if (c.want_write == on) return;
    c.want_write = on;
    update_events(c);
}

void Engine::update_events(Conn& c) {
    epoll_event ev{};
    ev.events = (c.eof || c.read_paused ? 0u : EPOLLIN) | (c.want_write ? EPOLLOUT : 0u);
    ev.data.u64 = c.id;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &ev) != 0)
        epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
}

void Engine::on_writable(Conn& c) {
    const ssize_t n = ::send(c.fd.get(), c.outbuf.data(), c.outbuf.size(), MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        c.outbuf.clear();
        c.eof = true;
    } else {
        c.outbuf.erase(0, static_cast<std::size_t>(n));
    }
    if (c.outbuf.empty()) watch_writes(c, false);
    schedule(c);
}

void Engine::destroy(std::uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second->fd.get(), nullptr);
    // Out of the table before the socket is closed (its number may be
    // reused at once; see ConnectionTable::shut_idle).
    Registry::instance().connections().close(&it->second->state);
    conns_.erase(it);  // closes the socket
}

void Engine::fire_timers(bool all) {
    const auto now = Clock::now();
    while (!timers_.empty() && (all || timers_.begin()->first <= now)) {
        const std::uint64_t id = timers_.begin()->second;
        timers_.erase(timers_.begin());
        Conn* c = find(id);
        if (!c) continue;
        c->busy = false;
        Output out;
        out.now = std::move(c->delayed);
        out.close = c->close_after_delay;
        c->delayed.clear();
        finish_batch(*c, std::move(out));
    }
    if (accept_paused_ && (all || accept_paused_until_ <= now)) {
        accept_paused_ = false;
        add_listener();
    }
}

int Engine::next_timeout() const {
    std::optional<Clock::time_point> next;
    if (!timers_.empty()) next = timers_.begin()->first;
    if (accept_paused_ && (!next || accept_paused_until_ < *next)) next = accept_paused_until_;
    if (draining_ && (!next || drain_deadline_ < *next)) next = drain_deadline_;
    int timeout = -1;
    if (next) {
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
        timeout = ms < 0 ? 0 : static_cast<int>(std::min<long long>(ms, 60'000));
    }
    // Parked ends of message: look at their DNS answers often.
    if (!parked_.empty() && (timeout < 0 || timeout > kParkedPoll.count())) timeout = static_cast<int>(kParkedPoll.count());
    // While draining, look at the session count often.
    if (draining_ && (timeout < 0 || timeout > 20)) timeout = 20;
    if (timeout < 0 || timeout > kIdleSweep.count()) timeout = static_cast<int>(kIdleSweep.count());
    return timeout;
}

void Engine::on_signal() {
    signalfd_siginfo info{};
    while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGUSR1) {
            if (hooks_.reload) hooks_.reload();
            continue;
        }
        auto& registry = Registry::instance();
        if (registry.draining()) continue;
        registry.start_draining();
        if (hooks_.drain_started)
            hooks_.drain_started(registry.runtime()->config->milter.drain_timeout, registry.active_sessions());
        for (Engine* other : siblings_) other->wake();
    }
}

// Every loop sees the drain begin (the first loop starts it on a signal).
void Engine::begin_drain() {
    draining_ = true;
    drain_deadline_ = Clock::now() + Registry::instance().runtime()->config->milter.drain_timeout;
    // Tarpits in progress end now, so that their refusals reach the MTA
    // before the daemon stops.
    fire_timers(true);
}

bool Engine::finished() const {
    return failed_ ||
           (draining_ && (Registry::instance().active_sessions() == 0 || Clock::now() >= drain_deadline_));
}

void Engine::iterate() {
    std::array<epoll_event, 256> events;
    const int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), next_timeout());
    if (n < 0 && errno != EINTR) {
        // Not expected to happen: this loop ends, and the daemon stops (the
        // other loops drain).
        daemon_log::error(std::string("epoll_wait: ") + std::strerror(errno));
        failed_ = true;
        Registry::instance().start_draining();
        return;
    }
    bool accept_ready = false;
    for (int i = 0; i < n; ++i) {
        const auto key = events[i].data.u64;
        if (key == kListenerKey) {
            accept_ready = true;
        } else if (key == kSignalKey) {
            on_signal();
        } else if (key == kWakeKey) {
            take_completions();
        } else if (Conn* c = find(key)) {
            // An event seen before another thread ran the loop may be
            // stale by now: a read or write that finds nothing is harmless.
            if (events[i].events & EPOLLOUT) on_writable(*c);
            if ((c = find(key)) && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof)
                on_readable(*c);
        }
    }
    if (!draining_ && Registry::instance().draining()) begin_drain();
    // New connections after the ends seen in the same wait, so that
    // their admission counts only the connections still open.
    if (accept_ready) accept_all();
    fire_timers(false);
    recheck_parked();
    for (const auto id : closed_here_) destroy(id);
    closed_here_.clear();
    // [milter] idle_timeout: a shut socket reads as the end of the
    // connection, which then closes its usual way.
    if (primary_ && Clock::now() >= next_idle_sweep_) {
        Registry::instance().shut_idle_connections();
        next_idle_sweep_ = Clock::now() + kIdleSweep;
    }
}

void Engine::take_loop(std::unique_lock<std::mutex>& lock) {
    ++wanting_;
    lead_cv_.wait(lock, [this] { return !held_; });
    --wanting_;
    held_ = true;
}

// A thread waiting to take the loop back (its wait is over) gets it at the
// end of the current round.
void Engine::yield_to_waiting_threads() {
    std::unique_lock lock(lead_mutex_);
    if (wanting_ == 0) return;
    held_ = false;
    lead_cv_.notify_all();
    // Not back before one of them had it: the loop is free at once, so
    // waiting for that alone would take it straight back.
    const std::uint64_t before = taken_;
    ++wanting_;
    lead_cv_.wait(lock, [&] { return !held_ && taken_ != before; });
    --wanting_;
    held_ = true;
}

// The thread holding the loop is about to wait (a stage run on the loop):
// another thread runs the loop until it is back.
void Engine::waiting() {
    if (t_wait_depth++ > 0) return;
    std::unique_lock lock(lead_mutex_);
    t_handed_over = false;
    // The loop's own thread is joining the standbys: this stage keeps the
    // loop while it waits.
    if (stopping_) return;
    if (idle_standbys_ == 0 && wanting_ == 0) {
        // Never more than the stages that may wait on the loop at once
        // (schedule() sends further MAIL and end of message batches to the
        // pool); past that, should some other stage wait, the loop waits
        // with it.
        if (standbys_.size() >= kMaxStandbys + 1) return;
        try {
            standbys_.emplace_back([this] { standby(); });
        } catch (const std::exception& e) {
            daemon_log::error(std::string("cannot start a thread to run an event loop meanwhile: ") + e.what());
            return;
        }
        pthread_setname_np(standbys_.back().native_handle(), "loop standby");
    }
    held_ = false;
    t_handed_over = true;
    lead_cv_.notify_all();
}

void Engine::done_waiting() {
    if (--t_wait_depth > 0 || !t_handed_over) return;
    t_handed_over = false;
    std::unique_lock lock(lead_mutex_);
    // Counted before the wake-up, so that the thread running the loop sees
    // it at the end of the round the wake-up ends.
    ++wanting_;
    wake();
    lead_cv_.wait(lock, [this] { return !held_; });
    --wanting_;
    held_ = true;
    ++taken_;
}

// A standby thread runs the loop while no other thread holds it and none
// waits to take it back: while the threads that ran it are waiting.
void Engine::standby() {
    std::unique_lock lock(lead_mutex_);
    for (;;) {
        ++idle_standbys_;
        lead_cv_.wait(lock, [this] { return stopping_ || (!held_ && wanting_ == 0 && !failed_); });
        --idle_standbys_;
        if (stopping_) return;
        held_ = true;
        lock.unlock();
        for (;;) {
            iterate();
            std::lock_guard check(lead_mutex_);
            if (wanting_ > 0 || stopping_ || failed_) break;
        }
        lock.lock();
        held_ = false;
        lead_cv_.notify_all();
    }
}

// The loop's own thread, done: standbys that are waiting finish their stage
// (taking the loop in turn) and every standby ends.
void Engine::stop_standbys() {
    {
        std::lock_guard lock(lead_mutex_);
        stopping_ = true;
        held_ = false;
        lead_cv_.notify_all();
    }
    for (auto& t : standbys_) t.join();
    standbys_.clear();
}

void Engine::run() {
    {
        std::unique_lock lock(lead_mutex_);
        take_loop(lock);
    }
    while (!finished()) {
        iterate();
        yield_to_waiting_threads();
    }
    stop_standbys();
}

void Engine::close_all() {
    for (auto& [id, c] : conns_) Registry::instance().connections().close(&c->state);
    conns_.clear();
}

}  // namespace

std::size_t event_loop_count(std::size_t configured) {
    return configured > 0 ? configured : default_event_loops(std::thread::hardware_concurrency());
}

int run_native_engine(int listen_fd, const EngineOptions& hooks) {
    WorkerPool pool(hooks.workers, hooks.work_queue_limit);
    const std::size_t count = event_loop_count(hooks.event_loops);
    std::vector<std::unique_ptr<Engine>> loops;
    for (std::size_t i = 0; i < count; ++i)
        loops.push_back(std::make_unique<Engine>(listen_fd, hooks, pool, i == 0));
    std::vector<Engine*> others;
    for (auto& loop : loops) {
        if (!loop->setup()) {
            daemon_log::error(std::string("cannot set up the event loop: ") + std::strerror(errno));
            return 1;
        }
        if (loop != loops.front()) others.push_back(loop.get());
    }
    loops.front()->set_siblings(others);
    daemon_log::info("native engine: " + std::to_string(loops.size()) + " event loop" +
                     (loops.size() == 1 ? "" : "s") + ", " + std::to_string(hooks.workers) + " workers (at most " +
                     std::to_string(pool.max_running()) + " running at once)");
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < loops.size(); ++i) {
        threads.emplace_back([&loop = *loops[i]] { loop.run(); });
        // For top -H and the like; the first loop is the main thread.
        const std::string name = "event loop " + std::to_string(i + 1);
        pthread_setname_np(threads.back().native_handle(), name.c_str());
    }
    loops.front()->run();
    for (auto& t : threads) t.join();
    const int left = Registry::instance().active_sessions();
    if (hooks.stopped) hooks.stopped(left);
    // Jobs in flight finish (they are bounded by the DNS budgets); then the
    // connections and their sessions go.
    pool.stop();
    for (auto& loop : loops) loop->close_all();
    return 0;
}

}  // namespace milter
