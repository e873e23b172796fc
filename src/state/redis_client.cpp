#include "state/redis_client.hpp"

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/waiting.hpp"

namespace state {

using Clock = std::chrono::steady_clock;

struct RedisClient::Request {
    std::vector<std::string> argv;
    const RedisScript* script = nullptr;  // EVALSHA: the body for the EVAL retry
    bool retried = false;
    bool handshake = false;    // AUTH, SELECT: a refusal ends the connection
    bool wants_reply = true;   // false: nobody waits; a failure is logged
    Clock::time_point deadline;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    RedisResult result;
};

namespace {

RedisResult failure(std::string why) {
    RedisResult r;
    r.error = std::move(why);
    return r;
}

std::string sha1_hex(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha1(), nullptr);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0xf];
    }
    return out;
}

// hiredis builds replies through a table of functions; ours forwards to
// its defaults after checking the sizes a server announces, so that a
// hostile "*2000000000" or "$1000000000" is refused before anything is
// allocated for it (hiredis 0.14 has no such limit of its own).
const redisReplyObjectFunctions* g_default_functions = nullptr;

RedisClient* client_of(const redisReadTask* task) { return static_cast<RedisClient*>(task->privdata); }

// A reply must answer a command: hiredis 0.14 aborts the process (an
// assert in redisProcessCallbacks) on a reply that arrives when no command
// waits for one, unless it is an error. A server that answers twice, or
// speaks first, is refused here instead, which ends the connection.
bool unsolicited(const redisReadTask* task) {
    auto* c = client_of(task);
    if (task->parent != nullptr || c == nullptr || c->awaiting_reply()) return false;
    c->note_refusal("a reply to no command");
    return true;
}

void* limited_string(const redisReadTask* task, char* text, size_t size) {
    if (unsolicited(task)) return nullptr;
    if (size > RedisClient::kMaxReplyBytes) {
        if (auto* c = client_of(task))
            c->note_refusal("a string of " + std::to_string(size) + " octets in a reply (at most " +
                            std::to_string(RedisClient::kMaxReplyBytes) + ")");
        return nullptr;
    }
    return g_default_functions->createString(task, text, size);
}

void* limited_array(const redisReadTask* task, int elements) {
    if (unsolicited(task)) return nullptr;
    if (elements < 0 || static_cast<std::size_t>(elements) > RedisClient::kMaxElements) {
        if (auto* c = client_of(task))
            c->note_refusal("an array of " + std::to_string(elements) + " elements in a reply (at most " +
                            std::to_string(RedisClient::kMaxElements) + ")");
        return nullptr;
    }
    return g_default_functions->createArray(task, elements);
}

void* forward_integer(const redisReadTask* task, long long value) {
    if (unsolicited(task)) return nullptr;
    return g_default_functions->createInteger(task, value);
}
void* forward_nil(const redisReadTask* task) {
    if (unsolicited(task)) return nullptr;
    return g_default_functions->createNil(task);
}
void forward_free(void* object) { g_default_functions->freeObject(object); }

redisReplyObjectFunctions g_limited_functions = {limited_string, limited_array, forward_integer, forward_nil,
                                                 forward_free};

void install_reply_limits(redisAsyncContext* ac, RedisClient* client) {
    static const bool once = [] {
        redisReader* probe = redisReaderCreate();
        g_default_functions = probe->fn;  // hiredis's static table
        redisReaderFree(probe);
        return true;
    }();
    (void)once;
    ac->c.reader->fn = &g_limited_functions;
    ac->c.reader->privdata = client;
}

// Copies a hiredis reply; deeper than 3 levels is refused (our scripts
// answer flat arrays of integers).
bool copy_reply(const redisReply* in, RedisReply* out, int depth, std::string* why) {
    switch (in->type) {
        case REDIS_REPLY_NIL: out->type = RedisReply::Type::Nil; return true;
        case REDIS_REPLY_INTEGER: out->type = RedisReply::Type::Integer; out->integer = in->integer; return true;
        case REDIS_REPLY_STATUS: out->type = RedisReply::Type::Status; break;
        case REDIS_REPLY_ERROR: out->type = RedisReply::Type::Error; break;
        case REDIS_REPLY_STRING: out->type = RedisReply::Type::String; break;
        case REDIS_REPLY_ARRAY:
            if (depth >= 3) {
                *why = "a reply nested more than 3 deep";
                return false;
            }
            out->type = RedisReply::Type::Array;
            out->elements.resize(in->elements);
            for (std::size_t i = 0; i < in->elements; ++i)
                if (!copy_reply(in->element[i], &out->elements[i], depth + 1, why)) return false;
            return true;
        default:
            *why = "a reply of unknown type " + std::to_string(in->type);
            return false;
    }
    out->text.assign(in->str, in->len);
    return true;
}

// Printable for a log line: a server's error text is untrusted too.
std::string printable(std::string_view text) {
    std::string out;
    for (const char ch : text.substr(0, 200)) {
        const auto u = static_cast<unsigned char>(ch);
        out += u >= 0x20 && u < 0x7f ? ch : '?';
    }
    if (text.size() > 200) out += "...";
    return out;
}

}  // namespace

// Our libevent adapter for hiredis (its adapters/libevent.h, plus a check
// of what the reader holds before each read: a reply that never ends grows
// by at most one read past kMaxReplyBytes before the connection ends).
struct RedisClient::Adapter {
    redisAsyncContext* ac = nullptr;
    RedisClient* owner = nullptr;
    event* read_event = nullptr;
    event* write_event = nullptr;

    static void on_read(int, short, void* arg) {
        auto* a = static_cast<Adapter*>(arg);
        const redisReader* r = a->ac->c.reader;
        if (r != nullptr && r->len - r->pos > kMaxReplyBytes) {
            a->owner->note_refusal("a reply longer than " + std::to_string(kMaxReplyBytes) + " octets");
            a->owner->teardown(a->owner->reader_refusal_);  // frees `a`
            return;
        }
        redisAsyncHandleRead(a->ac);
    }
    static void on_write(int, short, void* arg) { redisAsyncHandleWrite(static_cast<Adapter*>(arg)->ac); }
    static void add_read(void* p) { event_add(static_cast<Adapter*>(p)->read_event, nullptr); }
    static void del_read(void* p) { event_del(static_cast<Adapter*>(p)->read_event); }
    static void add_write(void* p) { event_add(static_cast<Adapter*>(p)->write_event, nullptr); }
    static void del_write(void* p) { event_del(static_cast<Adapter*>(p)->write_event); }
    static void cleanup(void* p) {
        auto* a = static_cast<Adapter*>(p);
        event_free(a->read_event);
        event_free(a->write_event);
        delete a;
    }
};

RedisScript::RedisScript(std::string text) : body(std::move(text)), sha1(sha1_hex(body)) {}

RedisClient::RedisClient(RedisOptions options) : options_(std::move(options)) {
    base_ = event_base_new();
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (base_ == nullptr || wake_fd_ < 0) throw std::runtime_error("redis client: cannot set up its event loop");
    wake_event_ = event_new(base_, wake_fd_, EV_READ | EV_PERSIST, &RedisClient::on_wake, this);
    tick_event_ = event_new(base_, -1, EV_PERSIST, &RedisClient::on_tick, this);
    if (options_.periodic)
        periodic_event_ = event_new(base_, -1, EV_PERSIST, &RedisClient::on_periodic, this);
    event_add(wake_event_, nullptr);
    // The watchdog: time-outs are noticed within a fifth of the timeout.
    const auto tick = std::clamp(options_.timeout / 5, std::chrono::milliseconds(2), std::chrono::milliseconds(100));
    const timeval tick_tv{static_cast<time_t>(tick.count() / 1000), static_cast<suseconds_t>(tick.count() % 1000 * 1000)};
    event_add(tick_event_, &tick_tv);
    if (periodic_event_) {
        const auto p = options_.period;
        const timeval tv{static_cast<time_t>(p.count() / 1000), static_cast<suseconds_t>(p.count() % 1000 * 1000)};
        event_add(periodic_event_, &tv);
    }
    connect();
    thread_ = std::thread([this] { run(); });
}

RedisClient::~RedisClient() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    for (event* e : {wake_event_, tick_event_, periodic_event_})
        if (e != nullptr) event_free(e);
    if (base_ != nullptr) event_base_free(base_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void RedisClient::log(daemon_log::Level level, std::string_view message) const {
    if (options_.log) options_.log(level, message);
}

bool RedisClient::connected() const {
    const std::lock_guard lock(mutex_);
    return state_ == State::Ready;
}

void RedisClient::run() {
    event_base_dispatch(base_);
    // Stopping: what is in flight or queued fails now.
    teardown("the daemon is stopping");
    std::vector<std::shared_ptr<Request>> left;
    {
        const std::lock_guard lock(mutex_);
        left.swap(submissions_);
    }
    for (auto& r : left) finish(*r, failure("the daemon is stopping"));
}

void RedisClient::submit(std::shared_ptr<Request> request) {
    {
        const std::lock_guard lock(mutex_);
        if (!stopping_) {
            submissions_.push_back(std::move(request));
            request = nullptr;
        }
    }
    if (request) {
        finish(*request, failure("the daemon is stopping"));
        return;
    }
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
}

RedisResult RedisClient::timed_out() const {
    RedisResult r;
    r.timed_out = true;
    r.error = "no reply within " + std::to_string(options_.timeout.count()) + "ms";
    return r;
}

RedisResult RedisClient::call(std::vector<std::string> argv) {
    auto request = std::make_shared<Request>();
    request->argv = std::move(argv);
    request->deadline = Clock::now() + options_.timeout;
    submit(request);
    const util::WaitingRegion waiting;  // a worker pool lets another job run meanwhile
    std::unique_lock lock(request->mutex);
    if (!request->cv.wait_until(lock, request->deadline, [&] { return request->done; })) {
        // The I/O thread ends the connection for it at its next tick.
        return timed_out();
    }
    return std::move(request->result);
}

namespace {
std::vector<std::string> evalsha_argv(const RedisScript& script, const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.emplace_back("EVALSHA");
    argv.push_back(script.sha1);
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}
}  // namespace

RedisResult RedisClient::call_script(const RedisScript& script, const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
    auto request = std::make_shared<Request>();
    request->argv = evalsha_argv(script, keys, args);
    request->script = &script;
    request->deadline = Clock::now() + options_.timeout;
    submit(request);
    const util::WaitingRegion waiting;
    std::unique_lock lock(request->mutex);
    if (!request->cv.wait_until(lock, request->deadline, [&] { return request->done; })) return timed_out();
    return std::move(request->result);
}

void RedisClient::send_script(const RedisScript& script, const std::vector<std::string>& keys,
                              const std::vector<std::string>& args) {
    auto request = std::make_shared<Request>();
    request->argv = evalsha_argv(script, keys, args);
    request->script = &script;
    request->wants_reply = false;
    request->deadline = Clock::now() + options_.timeout;
    submit(std::move(request));
}

void RedisClient::on_wake(int fd, short, void* arg) {
    auto* self = static_cast<RedisClient*>(arg);
    std::uint64_t count = 0;
    (void)!::read(fd, &count, sizeof count);
    self->drain_submissions();
}

void RedisClient::drain_submissions() {
    std::vector<std::shared_ptr<Request>> batch;
    bool stopping = false;
    {
        const std::lock_guard lock(mutex_);
        batch.swap(submissions_);
        stopping = stopping_;
    }
    // All of them go out in one write: hiredis buffers the commands and
    // writes when the loop next sees the socket writable.
    for (auto& r : batch) dispatch(std::move(r));
    if (stopping) event_base_loopbreak(base_);
}

void RedisClient::dispatch(std::shared_ptr<Request> request) {
    if (context_ == nullptr) {
        RedisResult r;
        r.not_connected = true;
        r.error = "not connected (" + (last_failure_.empty() ? std::string("connecting") : last_failure_) + ")";
        finish(*request, std::move(r));
        return;
    }
    std::vector<const char*> argv;
    std::vector<size_t> sizes;
    argv.reserve(request->argv.size());
    sizes.reserve(request->argv.size());
    for (const auto& a : request->argv) {
        argv.push_back(a.data());
        sizes.push_back(a.size());
    }
    if (redisAsyncCommandArgv(context_, &RedisClient::on_reply, request.get(), static_cast<int>(argv.size()),
                              argv.data(), sizes.data()) != REDIS_OK) {
        finish(*request, failure("cannot queue the command"));
        return;
    }
    in_flight_.push_back(std::move(request));
}

void RedisClient::finish(Request& request, RedisResult result) {
    if (request.handshake) {
        if (!result.ok || result.reply.type == RedisReply::Type::Error) {
            const std::string why = "redis refused " + request.argv[0] + ": " +
                                    (result.ok ? printable(result.reply.text) : result.error);
            if (result.ok) teardown(why);
        }
        return;
    }
    if (!request.wants_reply) {
        // A lease renewal or release: an outage is logged once by the
        // connection; an error reply is worth a line of its own.
        if (result.ok && result.reply.type == RedisReply::Type::Error)
            log(daemon_log::Level::Warning, "redis: " + request.argv[0] + " failed: " + printable(result.reply.text));
        return;
    }
    const std::lock_guard lock(request.mutex);
    request.result = std::move(result);
    request.done = true;
    request.cv.notify_all();
}

void RedisClient::on_reply(redisAsyncContext* ac, void* reply_ptr, void* privdata) {
    auto* self = static_cast<RedisClient*>(ac->data);
    auto* raw = static_cast<Request*>(privdata);
    const auto it = std::find_if(self->in_flight_.begin(), self->in_flight_.end(),
                                 [&](const std::shared_ptr<Request>& r) { return r.get() == raw; });
    if (it == self->in_flight_.end()) return;  // cannot happen: every command is in flight
    std::shared_ptr<Request> request = std::move(*it);
    self->in_flight_.erase(it);
    RedisResult result;
    if (reply_ptr == nullptr) {
        // The connection ended with this command unanswered.
        if (ac != self->context_) result.error = self->teardown_reason_;
        else if (!self->reader_refusal_.empty()) result.error = self->reader_refusal_;
        else if (ac->err) result.error = printable(ac->errstr ? ac->errstr : "connection error");
        else result.error = "connection closed";
        if (result.error.empty()) result.error = "connection closed";
        self->finish(*request, std::move(result));
        return;
    }
    std::string why;
    if (!copy_reply(static_cast<const redisReply*>(reply_ptr), &result.reply, 0, &why)) {
        result.error = why;
        self->finish(*request, std::move(result));
        self->teardown(why);
        return;
    }
    result.ok = true;
    // The server lost its script cache (restart, SCRIPT FLUSH): the body
    // once, which caches it again.
    if (result.reply.type == RedisReply::Type::Error && request->script != nullptr && !request->retried &&
        result.reply.text.rfind("NOSCRIPT", 0) == 0 && self->context_ != nullptr) {
        request->retried = true;
        request->argv[0] = "EVAL";
        request->argv[1] = request->script->body;
        self->dispatch(std::move(request));
        return;
    }
    self->finish(*request, std::move(result));
}

void RedisClient::connect() {
    reader_refusal_.clear();
    teardown_reason_.clear();
    redisAsyncContext* ac = options_.unix_path.empty()
                                ? redisAsyncConnect(options_.host.c_str(), options_.port)
                                : redisAsyncConnectUnix(options_.unix_path.c_str());
    next_attempt_ = Clock::now() + options_.reconnect_interval;
    if (ac == nullptr || ac->err) {
        const std::string why = ac ? printable(ac->errstr) : std::string("out of memory");
        if (ac) redisAsyncFree(ac);
        note_failure("cannot connect: " + why);
        return;
    }
    install_reply_limits(ac, this);
    auto* adapter = new Adapter;
    adapter->ac = ac;
    adapter->owner = this;
    adapter->read_event = event_new(base_, ac->c.fd, EV_READ, &Adapter::on_read, adapter);
    adapter->write_event = event_new(base_, ac->c.fd, EV_WRITE, &Adapter::on_write, adapter);
    ac->ev.data = adapter;
    ac->ev.addRead = &Adapter::add_read;
    ac->ev.delRead = &Adapter::del_read;
    ac->ev.addWrite = &Adapter::add_write;
    ac->ev.delWrite = &Adapter::del_write;
    ac->ev.cleanup = &Adapter::cleanup;
    event_add(adapter->read_event, nullptr);
    event_add(adapter->write_event, nullptr);
    ac->data = this;
    redisAsyncSetConnectCallback(ac, &RedisClient::on_connect);
    redisAsyncSetDisconnectCallback(ac, &RedisClient::on_disconnect);
    context_ = ac;
    connect_deadline_ = Clock::now() + options_.timeout;
    {
        const std::lock_guard lock(mutex_);
        state_ = State::Connecting;
    }
    // Sent first on the connection, ahead of every call.
    const auto handshake = [&](std::vector<std::string> argv) {
        auto r = std::make_shared<Request>();
        r->argv = std::move(argv);
        r->handshake = true;
        r->deadline = connect_deadline_;
        dispatch(std::move(r));
    };
    if (!options_.password.empty()) handshake({"AUTH", options_.password});
    if (options_.database != 0) handshake({"SELECT", std::to_string(options_.database)});
}

void RedisClient::note_failure(const std::string& why) {
    next_attempt_ = Clock::now() + options_.reconnect_interval;
    bool stopping = false;
    {
        const std::lock_guard lock(mutex_);
        state_ = State::Disconnected;
        stopping = stopping_;
    }
    // One line per outage, not one per attempt.
    if (last_failure_.empty() && !stopping)
        log(daemon_log::Level::Warning, "redis at " + where() + " unavailable: " + why +
                                            "; retrying every " + std::to_string(options_.reconnect_interval.count()) + "ms");
    last_failure_ = why;
}

std::string RedisClient::where() const {
    if (!options_.unix_path.empty()) return "unix:" + options_.unix_path;
    return options_.host + ":" + std::to_string(options_.port);
}

void RedisClient::teardown(const std::string& why) {
    if (context_ == nullptr) return;
    redisAsyncContext* ac = context_;
    context_ = nullptr;
    teardown_reason_ = why;
    note_failure(why);
    // The calls in flight are answered now (hiredis calls each callback
    // without a reply), or right after the callback we are in returns.
    redisAsyncFree(ac);
}

void RedisClient::on_connect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisClient*>(ac->data);
    if (ac != self->context_) return;
    if (status != REDIS_OK) {
        // hiredis frees the context after this callback.
        self->context_ = nullptr;
        self->teardown_reason_ = "cannot connect: " + printable(ac->errstr ? ac->errstr : "error");
        self->note_failure(self->teardown_reason_);
        return;
    }
    {
        const std::lock_guard lock(self->mutex_);
        self->state_ = State::Ready;
    }
    if (!self->last_failure_.empty())
        self->log(daemon_log::Level::Info, "redis at " + self->where() + " reachable again");
    self->last_failure_.clear();
    if (self->options_.periodic) self->options_.periodic();
}

void RedisClient::on_disconnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisClient*>(ac->data);
    if (ac != self->context_) return;  // we ended it (teardown)
    self->context_ = nullptr;
    std::string why = !self->reader_refusal_.empty() ? self->reader_refusal_
                      : status == REDIS_OK || ac->errstr == nullptr ? std::string("the server closed the connection")
                                                                    : printable(ac->errstr);
    self->teardown_reason_ = why;
    self->note_failure(why);
}

void RedisClient::on_tick(int, short, void* arg) { static_cast<RedisClient*>(arg)->watchdog(); }

void RedisClient::watchdog() {
    const auto now = Clock::now();
    if (context_ != nullptr) {
        bool connecting = false;
        {
            const std::lock_guard lock(mutex_);
            connecting = state_ == State::Connecting;
        }
        if (connecting && now >= connect_deadline_) {
            teardown("no connection within " + std::to_string(options_.timeout.count()) + "ms");
        } else if (!in_flight_.empty() && now >= in_flight_.front()->deadline) {
            teardown("no reply within " + std::to_string(options_.timeout.count()) + "ms");
        }
    }
    if (context_ == nullptr && now >= next_attempt_) {
        bool stopping = false;
        {
            const std::lock_guard lock(mutex_);
            stopping = stopping_;
        }
        if (!stopping) connect();
    }
}

void RedisClient::on_periodic(int, short, void* arg) {
    auto* self = static_cast<RedisClient*>(arg);
    if (self->connected() && self->options_.periodic) self->options_.periodic();
}

}  // namespace state
