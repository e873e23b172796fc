// One connection to Redis (or Valkey) for the whole process, served by a
// thread of its own with its own libevent loop and hiredis's asynchronous
// API. Callers on any other thread (the native engine's workers,
// libmilter's session threads) hand it a command and wait for the reply at
// most `timeout`; commands of concurrent sessions share the connection and
// are pipelined. The protocol loop of the native engine never calls it.
//
// Replies are untrusted input: hiredis parses them under limits of ours (a
// reply holds at most kMaxElements elements and kMaxReplyBytes octets,
// nested at most 3 deep); a reply beyond them, a reply to no command (hiredis
// would abort on it), a reply that does not come
// within `timeout`, or a broken connection ends the connection, fails the
// calls in flight with a reason, and the next connection is attempted
// after `reconnect_interval`. Until then calls fail at once, without
// waiting. Nothing a server sends can make a call wait longer than
// `timeout` or crash the process.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "log/log.hpp"

struct event_base;
struct event;
struct redisAsyncContext;

namespace state {

// A reply copied out of hiredis.
struct RedisReply {
    enum class Type : std::uint8_t { Nil, Integer, Status, Error, String, Array };
    Type type = Type::Nil;
    long long integer = 0;
    std::string text;  // Status, Error, String
    std::vector<RedisReply> elements;
};

struct RedisResult {
    bool ok = false;     // a reply arrived (it may still be an error reply)
    // Why not, for the counters: no reply within the timeout, or failed at
    // once because there was no connection (else: the connection broke).
    bool timed_out = false;
    bool not_connected = false;
    std::string error;   // why not: no connection, timeout, protocol error
    RedisReply reply;
};

// A Lua script run with EVALSHA (EVAL once when the server lacks it).
struct RedisScript {
    explicit RedisScript(std::string body);
    std::string body;
    std::string sha1;  // hex
};

struct RedisOptions {
    std::string host;        // TCP, or
    std::uint16_t port = 6379;
    std::string unix_path;   // a unix socket
    std::uint32_t database = 0;
    std::string password;    // empty: no AUTH
    std::chrono::milliseconds timeout{250};
    std::chrono::milliseconds reconnect_interval{1000};
    std::function<void(daemon_log::Level, std::string_view)> log;
    // Runs on the I/O thread every `period` while connected, and once right
    // after each connection is made (the store renews its leases then).
    std::function<void()> periodic;
    std::chrono::milliseconds period{10'000};
};

class RedisClient {
public:
    // Limits on what a reply may hold (see above).
    static constexpr std::size_t kMaxElements = 1024;
    static constexpr std::size_t kMaxReplyBytes = 64 * 1024;

    explicit RedisClient(RedisOptions options);
    ~RedisClient();  // fails what is queued, closes the connection, joins the thread
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    // Runs a command and waits for its reply at most options.timeout.
    // Must not be called on the I/O thread (on_connected, periodic jobs).
    RedisResult call(std::vector<std::string> argv);
    RedisResult call_script(const RedisScript& script, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args);
    // The same without waiting: a failure is logged. Safe on any thread.
    void send_script(const RedisScript& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args);
    bool connected() const;

    struct Request;
    struct Adapter;

private:
    enum class State : std::uint8_t { Disconnected, Connecting, Ready };

    void submit(std::shared_ptr<Request> request);
    RedisResult timed_out() const;
    void run();
    // I/O thread only.
    void drain_submissions();
    void dispatch(std::shared_ptr<Request> request);
    void connect();
    void teardown(const std::string& why);
    void watchdog();
    void finish(Request& request, RedisResult result);
    void note_failure(const std::string& why);
    std::string where() const;
    void log(daemon_log::Level level, std::string_view message) const;
    static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
    static void on_connect(const redisAsyncContext* ac, int status);
    static void on_disconnect(const redisAsyncContext* ac, int status);
    static void on_wake(int fd, short what, void* arg);
    static void on_tick(int fd, short what, void* arg);
    static void on_periodic(int fd, short what, void* arg);

    const RedisOptions options_;
    event_base* base_ = nullptr;
    event* wake_event_ = nullptr;
    event* tick_event_ = nullptr;
    event* periodic_event_ = nullptr;
    int wake_fd_ = -1;

    mutable std::mutex mutex_;  // guards submissions_, stopping_, state_ reads from other threads
    std::vector<std::shared_ptr<Request>> submissions_;
    bool stopping_ = false;
    State state_ = State::Disconnected;

    // I/O thread only.
    redisAsyncContext* context_ = nullptr;
    std::deque<std::shared_ptr<Request>> in_flight_;  // in pipeline order
    std::chrono::steady_clock::time_point connect_deadline_{};
    std::chrono::steady_clock::time_point next_attempt_{};
    std::string reader_refusal_;  // what our reply limits refused, for the log line
    std::string teardown_reason_; // why the calls in flight failed
    std::string last_failure_;    // logged once per outage

    std::thread thread_;

public:
    // For the reader hooks (redis_client.cpp): the limit a reply broke.
    void note_refusal(std::string why) { reader_refusal_ = std::move(why); }
    // Whether a command waits for its reply (a reply to none is refused).
    bool awaiting_reply() const { return !in_flight_.empty(); }
};

}  // namespace state
