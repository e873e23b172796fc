// [cluster] (issue 16) against a hostile Redis: a fake server in this test
// answers the daemon's limit scripts with wrong reply types, error
// replies, replies nested too deep, huge bulk strings, bytes that are not
// RESP, replies to no command, a reply cut short, or nothing at all. For
// each, the daemon answers its MTA within cluster.timeout and a small
// margin, applies on_unavailable (local: admitted on this host's own
// counters; tempfail: 451 4.3.0), logs one line naming the problem, does
// not grow, and keeps working once a real redis-server takes the port.
//
// Also with a real redis-server: SCRIPT FLUSH (what a Redis restart does to
// the script cache) mid-run does not stop the limits from being enforced.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "metrics/scrape.hpp"
#include "milterclient/daemon_process.hpp"
#include "milterclient/milter_client.hpp"
#include "milterclient/mta.hpp"
#include "milterclient/redis_server.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::RedisServer;
using milterclient::Response;
using Clock = std::chrono::steady_clock;

constexpr const char* kTooManyConnections =
    "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel";
constexpr const char* kRateLimited =
    "421 4.4.2 Message submission rate for this client has exceeded the configured limit";
constexpr auto kRedisTimeout = 250ms;
// What a daemon may add to cluster.timeout before it answers its MTA: the
// watchdog's tick (a fifth of the timeout) and scheduling, with room for
// the sanitizer builds.
constexpr auto kMargin = 750ms;

// ---- A fake Redis server ----

// What the fake server answers to the daemon's decisions (the connection
// and message-rate scripts); lease renewals and releases get plausible
// answers so that only the decision is hostile.
enum class Hostility {
    None,              // a well-behaved server: nothing counted yet
    Integer,           // an integer where an array is expected
    Nil,               // a nil bulk string
    NilArray,          // a nil array
    Strings,           // an array of strings where integers are expected
    ShortArray,        // one element instead of three
    NegativeCount,     // a count below zero
    UnknownCode,       // a refusal code the script never returns
    NestedTooDeep,     // arrays nested four deep (we accept three)
    NestedVeryDeep,    // nested beyond what hiredis parses
    ErrorErr,          // -ERR
    NoScript,          // -NOSCRIPT, to EVALSHA and to the EVAL that follows
    Busy,              // -BUSY
    Loading,           // -LOADING
    HugeBulk,          // declares 512 MiB, then streams up to 64 MiB
    HugeArray,         // declares two billion elements
    EndlessError,      // an error line of megabytes without its CRLF
    Garbage,           // bytes that are not RESP
    TwoReplies,        // a correct reply, then one more to no command
    Greeting,          // a reply before any command
    Partial,           // the start of a reply, then silence
    Hang,              // accepts, reads, never answers
    Close,             // closes the connection on the first command
};

class FakeRedis {
public:
    explicit FakeRedis(std::uint16_t port) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 16) != 0)
            throw std::runtime_error(std::string("fake redis: ") + std::strerror(errno));
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~FakeRedis() {
        stopping_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        acceptor_.join();
        drop_clients();
        std::vector<std::thread> workers;
        {
            const std::lock_guard lock(mutex_);
            workers.swap(workers_);
        }
        for (auto& t : workers) t.join();
        ::close(listen_fd_);
    }

    // Answers the next commands with `mode`; with `drop`, drops every
    // connection first: the daemons connect again, and meet `mode`.
    void set_mode(Hostility mode, bool drop = true) {
        {
            const std::lock_guard lock(mutex_);
            mode_ = mode;
            accepted_in_mode_ = 0;
        }
        if (drop) drop_clients();
    }

    // Waits until `count` connections were accepted since set_mode.
    bool wait_for_connections(int count, std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            {
                const std::lock_guard lock(mutex_);
                if (accepted_in_mode_ >= count) return true;
            }
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }

private:
    void drop_clients() {
        const std::lock_guard lock(mutex_);
        for (const int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
    }

    void accept_loop() {
        while (!stopping_) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (stopping_) return;
                continue;
            }
            const std::lock_guard lock(mutex_);
            client_fds_.push_back(fd);
            ++accepted_in_mode_;
            const bool greet = mode_ == Hostility::Greeting;
            workers_.emplace_back([this, fd, greet] { serve(fd, greet); });
        }
    }

    static bool send_all(int fd, std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // One command from `buffer` (a RESP array of bulk strings, as hiredis
    // sends them), or false when it is not complete yet.
    static bool take_command(std::string& buffer, std::vector<std::string>* argv) {
        std::size_t pos = 0;
        const auto line = [&](std::string* out) {
            const std::size_t end = buffer.find("\r\n", pos);
            if (end == std::string::npos) return false;
            *out = buffer.substr(pos, end - pos);
            pos = end + 2;
            return true;
        };
        std::string header;
        if (!line(&header) || header.empty() || header[0] != '*') return false;
        const long count = std::stol(header.substr(1));
        argv->clear();
        for (long i = 0; i < count; ++i) {
            std::string size;
            if (!line(&size)) return false;
            const std::size_t n = std::stoul(size.substr(1));
            if (buffer.size() < pos + n + 2) return false;
            argv->push_back(buffer.substr(pos, n));
            pos += n + 2;
        }
        buffer.erase(0, pos);
        return true;
    }

    // The decisions are the scripts with 2 keys and 6 arguments (a
    // connection) or 1 key and 4 arguments (a message).
    static bool is_decision(const std::vector<std::string>& argv) {
        if (argv.size() < 3 || (argv[0] != "EVALSHA" && argv[0] != "EVAL")) return false;
        return (argv[2] == "2" && argv.size() == 11) || (argv[2] == "1" && argv.size() == 8);
    }

    static std::string sane_answer(const std::vector<std::string>& argv) {
        if (is_decision(argv)) return argv[2] == "2" ? "*3\r\n:0\r\n:0\r\n:0\r\n" : "*2\r\n:1\r\n:0\r\n";
        if (!argv.empty() && (argv[0] == "EVALSHA" || argv[0] == "EVAL")) return ":1\r\n";
        return "+OK\r\n";
    }

    // Writes the hostile answer; false when the connection should end.
    static bool hostile_answer(int fd, Hostility mode, const std::vector<std::string>& argv) {
        const bool open = argv[2] == "2";
        switch (mode) {
            case Hostility::None: return send_all(fd, sane_answer(argv));
            case Hostility::Integer: return send_all(fd, ":7\r\n");
            case Hostility::Nil: return send_all(fd, "$-1\r\n");
            case Hostility::NilArray: return send_all(fd, "*-1\r\n");
            case Hostility::Strings:
                return send_all(fd, open ? "*3\r\n$1\r\n0\r\n$1\r\n0\r\n$1\r\n0\r\n" : "*2\r\n$1\r\n1\r\n$1\r\n0\r\n");
            case Hostility::ShortArray: return send_all(fd, "*1\r\n:0\r\n");
            case Hostility::NegativeCount:
                return send_all(fd, open ? "*3\r\n:0\r\n:-5\r\n:0\r\n" : "*2\r\n:1\r\n:-5\r\n");
            case Hostility::UnknownCode: return send_all(fd, open ? "*3\r\n:9\r\n:0\r\n:0\r\n" : "*2\r\n:9\r\n:0\r\n");
            case Hostility::NestedTooDeep: return send_all(fd, "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n");
            case Hostility::NestedVeryDeep: {
                std::string r;
                for (int i = 0; i < 12; ++i) r += "*1\r\n";
                return send_all(fd, r + ":1\r\n");
            }
            case Hostility::ErrorErr: return send_all(fd, "-ERR unknown command 'EVALSHA'\r\n");
            case Hostility::NoScript: return send_all(fd, "-NOSCRIPT No matching script. Please use EVAL.\r\n");
            case Hostility::Busy:
                return send_all(fd, "-BUSY Redis is busy running a script. You can only call SCRIPT KILL\r\n");
            case Hostility::Loading: return send_all(fd, "-LOADING Redis is loading the dataset in memory\r\n");
            case Hostility::HugeBulk: {
                if (!send_all(fd, "$536870912\r\n")) return false;
                const std::string chunk(1 << 20, 'x');
                for (int i = 0; i < 64; ++i)
                    if (!send_all(fd, chunk)) return false;
                return true;  // then silence
            }
            case Hostility::HugeArray: return send_all(fd, "*2000000000\r\n:1\r\n:1\r\n");
            case Hostility::EndlessError: {
                const std::string chunk(1 << 20, 'e');
                if (!send_all(fd, "-")) return false;
                for (int i = 0; i < 16; ++i)
                    if (!send_all(fd, chunk)) return false;
                return true;
            }
            case Hostility::Garbage: return send_all(fd, std::string("\x00\xff\x13garbage\r\n\x01\x02", 14));
            case Hostility::TwoReplies: return send_all(fd, sane_answer(argv) + ":1\r\n");
            case Hostility::Greeting: return send_all(fd, sane_answer(argv));
            case Hostility::Partial: return send_all(fd, open ? "*3\r\n:0\r\n" : "*2\r\n:1\r\n");
            case Hostility::Hang: return true;
            case Hostility::Close: return false;
        }
        return false;
    }

    Hostility mode() {
        const std::lock_guard lock(mutex_);
        return mode_;
    }

    void serve(int fd, bool greet) {
        if (greet) send_all(fd, "+hello\r\n");
        std::string buffer;
        char chunk[16384];
        bool open = true;
        bool silent = false;  // after a reply left unfinished or unsent, as a hung server
        while (open) {
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) break;
            buffer.append(chunk, static_cast<std::size_t>(n));
            std::vector<std::string> argv;
            while (open && !silent && take_command(buffer, &argv)) {
                const Hostility m = mode();
                open = is_decision(argv) ? hostile_answer(fd, m, argv) : send_all(fd, sane_answer(argv));
                silent = is_decision(argv) && (m == Hostility::Hang || m == Hostility::Partial ||
                                               m == Hostility::HugeBulk || m == Hostility::EndlessError ||
                                               m == Hostility::HugeArray);
            }
            if (silent) buffer.clear();
        }
        const std::lock_guard lock(mutex_);
        std::erase(client_fds_, fd);
        ::close(fd);
    }

    int listen_fd_ = -1;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
    std::mutex mutex_;
    Hostility mode_ = Hostility::None;
    int accepted_in_mode_ = 0;
    std::vector<int> client_fds_;
    std::vector<std::thread> workers_;
};

// ---- The daemons ----

SmtpClient client_at(const std::string& ip) {
    SmtpClient c;
    c.ip = ip;
    c.name = "[" + ip + "]";
    return c;
}

// The most the process ever held in memory (VmHWM): a reply buffered and
// freed again counts too.
std::size_t peak_resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stoul(line.substr(6));
    return 0;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

class HostileRedisTest : public ::testing::Test {
protected:
    void SetUp() override {
        redis_port_ = free_tcp_port();
        dir_.write("zone", kZone);
    }

    void TearDown() override {
        // Every daemon is still there and stops cleanly: nothing crashed it.
        for (auto& d : daemons_) {
            ASSERT_TRUE(d->running()) << d->log();
            const CommandResult ended = d->stop(5s);
            EXPECT_TRUE(ended.exited && ended.exit_code == 0)
                << "exit " << ended.exit_code << ", signal " << ended.signal << "\n" << d->log();
        }
        if (redis_) redis_->stop();
    }

    void start_redis() {
        redis_ = std::make_unique<RedisServer>(redis_port_, (dir_.path() / "redis").string(),
                                               (dir_.path() / "redis.log").string());
        std::string why;
        ASSERT_TRUE(redis_->start(&why)) << why;
    }

    // A daemon on `on_unavailable`, whose Default Frontend counts
    // connections per source and messages per minute.
    // `reconnect`: cluster.reconnect_interval; `extra`: tables at the end.
    void start_daemon(const std::string& on_unavailable, const std::string& limits,
                      const std::string& reconnect = "50ms", const std::string& extra = "") {
        const std::size_t index = daemons_.size();
        const std::string socket = "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1";
        std::ostringstream c;
        c << "[milter]\nsocket = \"" << socket << "\"\nauthserv_id = \"mx" << index << ".example.com\"\n"
          << "drain_timeout = \"2s\"\n"
          << engine_setting() << "\n[dns]\nstatic_zone = \"" << (dir_.path() / "zone").string()
          << "\"\noffline = true\ntimeout = \"500ms\"\n\n"
          << "[cluster]\nredis = \"redis://127.0.0.1:" << redis_port_ << "/0\"\n"
          << "key_prefix = \"test:\"\ntimeout = \"" << kRedisTimeout.count() << "ms\"\n"
          << "reconnect_interval = \"" << reconnect << "\"\nlease_renewal = \"200ms\"\nlease_time = \"600ms\"\n"
          << "on_unavailable = \"" << on_unavailable << "\"\n\n"
          << authoritative_domain("contoso.com") << internet_connector("Default Frontend", "tarpit_interval = 0\n" + limits) << extra;
        const std::string config = dir_.write("mx" + std::to_string(index) + ".conf", c.str());
        sockets_.push_back(socket);
        daemons_.push_back(std::make_unique<DaemonProcess>(
            std::vector<std::string>{daemon_path(), "-f", "-R", "-c", config},
            (dir_.path() / ("mx" + std::to_string(index) + ".log")).string()));
        std::string why;
        ASSERT_TRUE(daemons_.back()->start(socket, 10s, &why)) << why << "\n" << daemons_.back()->log();
    }

    TempDir dir_;
    std::uint16_t redis_port_ = 0;
    std::unique_ptr<RedisServer> redis_;
    std::vector<std::unique_ptr<DaemonProcess>> daemons_;
    std::vector<std::string> sockets_;
};

const std::string kLimits =
    "max_inbound_connection_per_source = 5\nmax_inbound_connection = \"unlimited\"\nmessage_rate_limit = 1000\n";

struct Case {
    Hostility mode;
    const char* name;
    const char* problem;  // what the log line must name
    // The decision had its sane reply before the hostile part: the
    // sessions go on with shared counts, and the connection ends.
    bool decided = false;
    // What the line may name instead, when the daemon's first command after
    // connecting races with what the server sends unasked.
    const char* or_problem = nullptr;
};

const Case kCases[] = {
    {Hostility::Integer, "an integer", "unexpected reply: integer 7"},
    {Hostility::Nil, "nil", "unexpected reply: nil"},
    {Hostility::NilArray, "a nil array", "unexpected reply: nil"},
    {Hostility::Strings, "strings", "unexpected reply: array of 3 holding string of 1 octets"},
    {Hostility::ShortArray, "a short array", "unexpected reply: array of 1"},
    {Hostility::NegativeCount, "a negative count", "unexpected reply: array of 3"},
    {Hostility::UnknownCode, "an unknown refusal code", "unexpected reply: refusal code 9"},
    {Hostility::NestedTooDeep, "arrays nested four deep", "a reply nested more than 3 deep"},
    {Hostility::NestedVeryDeep, "arrays nested twelve deep", "nested multi bulk replies with depth > 7"},
    {Hostility::ErrorErr, "-ERR", "unexpected reply: error \"ERR unknown command 'EVALSHA'\""},
    {Hostility::NoScript, "-NOSCRIPT", "unexpected reply: error \"NOSCRIPT No matching script"},
    {Hostility::Busy, "-BUSY", "unexpected reply: error \"BUSY Redis is busy"},
    {Hostility::Loading, "-LOADING", "unexpected reply: error \"LOADING Redis is loading"},
    {Hostility::HugeBulk, "a 512 MiB bulk string", "a reply longer than 65536 octets"},
    {Hostility::HugeArray, "two billion elements", "an array of 2000000000 elements in a reply (at most 1024)"},
    {Hostility::EndlessError, "an endless error line", "a reply longer than 65536 octets"},
    {Hostility::Garbage, "garbage", "Protocol error"},
    {Hostility::TwoReplies, "a reply to no command", "a reply to no command", true},
    // Sent as the server accepts the connection: read before the daemon's
    // first command, or as its reply when that command went out first.
    {Hostility::Greeting, "a greeting", "a reply to no command", false, "unexpected reply: status"},
    {Hostility::Partial, "a partial reply", "no reply within 250ms"},
    {Hostility::Hang, "silence", "no reply within 250ms"},
    {Hostility::Close, "a closed connection", "closed the connection"},
};

TEST_F(HostileRedisTest, HostileRepliesGiveTheFallbackInBoundedTimeAndOneLogLineWithoutCrashOrGrowth) {
    auto fake = std::make_unique<FakeRedis>(redis_port_);
    ASSERT_NO_FATAL_FAILURE(start_daemon("local", kLimits));     // 0
    ASSERT_NO_FATAL_FAILURE(start_daemon("tempfail", kLimits));  // 1

    // One session on each daemon; `what` names it in failure messages.
    const auto run_session = [&](std::size_t index, const std::string& ip, const std::string& what) {
        Mta mta(sockets_[index], client_at(ip));
        const auto started = Clock::now();
        const Response c = mta.connect();
        const auto took = Clock::now() - started;
        EXPECT_LT(took, kRedisTimeout + kMargin)
            << what << ": connect took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << "ms";
        return c;
    };
    const auto reset_to_sane = [&](const std::string& after) {
        fake->set_mode(Hostility::None);
        ASSERT_TRUE(fake->wait_for_connections(2, 3s)) << "after " << after;
        for (std::size_t d = 0; d < 2; ++d) {
            const Response c = run_session(d, "203.0.113.1", "sane, after " + after);
            ASSERT_TRUE(c.proceeds()) << "daemon " << d << " after " << after << ": " << describe(c);
        }
    };

    ASSERT_NO_FATAL_FAILURE(reset_to_sane("start"));
    std::size_t rss_before[2];
    for (std::size_t d = 0; d < 2; ++d) rss_before[d] = peak_resident_kib(daemons_[d]->pid());

    for (const Case& k : kCases) {
        SCOPED_TRACE(k.name);
        std::size_t log_from[2];
        for (std::size_t d = 0; d < 2; ++d) log_from[d] = daemons_[d]->log().size();
        fake->set_mode(k.mode);
        ASSERT_TRUE(fake->wait_for_connections(2, 3s));

        // local: admitted on this host's counters, and the message too.
        {
            Mta mta(sockets_[0], client_at("198.51.100.7"));
            const auto started = Clock::now();
            const Response c = mta.connect();
            const auto took = Clock::now() - started;
            EXPECT_TRUE(c.proceeds()) << describe(c);
            EXPECT_LT(took, kRedisTimeout + kMargin) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
            const auto mail_started = Clock::now();
            const Response m = mta.mail("<bob@fabrikam.example>");
            EXPECT_TRUE(m.proceeds()) << describe(m);
            EXPECT_LT(Clock::now() - mail_started, kRedisTimeout + kMargin);
        }
        if (k.decided) {
            // The second reply ends the connection, with a line naming it;
            // the decision taken on the first stands.
            Mta mta(sockets_[1], client_at("198.51.100.7"));
            const Response c = mta.connect();
            EXPECT_TRUE(c.proceeds()) << describe(c);
            for (std::size_t d = 0; d < 2; ++d)
                EXPECT_TRUE(daemons_[d]->log_shows(std::string("unavailable: ") + k.problem, 2s)) << daemons_[d]->log();
            ASSERT_NO_FATAL_FAILURE(reset_to_sane(k.name));
            continue;
        }
        // tempfail: 451 4.3.0 within the same bound.
        {
            Mta mta(sockets_[1], client_at("198.51.100.7"));
            const auto started = Clock::now();
            const Response c = mta.connect();
            const auto took = Clock::now() - started;
            EXPECT_EQ(c.smtp_reply().substr(0, 9), "451 4.3.0") << describe(c);
            EXPECT_LT(took, kRedisTimeout + kMargin) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
        }
        for (std::size_t d = 0; d < 2; ++d) {
            const std::string mode = d == 0 ? "local" : "tempfail";
            ASSERT_TRUE(daemons_[d]->log_shows("cluster.on_unavailable = " + mode, 2s)) << daemons_[d]->log();
            const std::string news = daemons_[d]->log().substr(log_from[d]);
            // One line says the limits are no longer shared, and why.
            EXPECT_EQ(occurrences(news, "cluster: redis cannot answer ("), 1U) << news;
            const auto at = news.find("cluster: redis cannot answer (");
            const std::string line = at == std::string::npos ? "" : news.substr(at, news.find('\n', at) - at);
            EXPECT_TRUE(line.find(k.problem) != std::string::npos ||
                        (k.or_problem && line.find(k.or_problem) != std::string::npos))
                << "daemon " << d << " (" << mode << "): " << news;
        }
        ASSERT_NO_FATAL_FAILURE(reset_to_sane(k.name));
    }

    // Nothing a server sent was held in memory (the huge replies alone
    // would have taken 64 MiB).
    for (std::size_t d = 0; d < 2; ++d) {
        const std::size_t after = peak_resident_kib(daemons_[d]->pid());
        EXPECT_LT(after, rss_before[d] + 16 * 1024) << "daemon " << d << ": VmHWM " << rss_before[d] << " kB -> "
                                                    << after << " kB";
    }

    // The fake server goes; a real redis-server takes its port.
    fake.reset();
    ASSERT_NO_FATAL_FAILURE(start_redis());
    for (std::size_t d = 0; d < 2; ++d) {
        const auto deadline = Clock::now() + 5s;
        std::size_t log_from = daemons_[d]->log().size();
        bool shared = false;
        while (!shared && Clock::now() < deadline) {
            Mta mta(sockets_[d], client_at("198.51.100.9"));
            const Response c = mta.connect();
            shared = c.proceeds() && daemons_[d]->log().find("counted (redis)", log_from) != std::string::npos;
            if (!shared) {
                log_from = daemons_[d]->log().size();
                std::this_thread::sleep_for(50ms);
            }
        }
        EXPECT_TRUE(shared) << "daemon " << d << ": " << daemons_[d]->log();
    }
}

// Redis forgets its scripts on restart and SCRIPT FLUSH: the daemon loads
// them again (EVALSHA answered NOSCRIPT is retried with EVAL), and the
// limits stay shared and enforced.
TEST_F(HostileRedisTest, ScriptFlushMidRunKeepsTheLimitsEnforced) {
    ASSERT_NO_FATAL_FAILURE(start_redis());
    ASSERT_NO_FATAL_FAILURE(start_daemon("tempfail", "max_inbound_connection_per_source = 2\n"
                                                     "max_inbound_connection = \"unlimited\"\nmessage_rate_limit = 2\n"));
    const auto flush = [&] {
        const CommandResult r = redis_->cli({"SCRIPT", "FLUSH"});
        ASSERT_TRUE(r.exited && r.exit_code == 0) << r.output;
        ASSERT_NE(r.output.find("OK"), std::string::npos) << r.output;
    };
    Mta a(sockets_[0], client_at("198.51.100.7"));
    ASSERT_TRUE(a.connect().proceeds());
    ASSERT_NO_FATAL_FAILURE(flush());
    Mta b(sockets_[0], client_at("198.51.100.7"));
    Response r = b.connect();
    ASSERT_TRUE(r.proceeds()) << describe(r);
    ASSERT_NO_FATAL_FAILURE(flush());
    // The lease renewals (every 200ms, leases kept 600ms) reload their
    // script too: after twice the lease time both sessions still count.
    std::this_thread::sleep_for(1200ms);
    Mta c(sockets_[0], client_at("198.51.100.7"));
    r = c.connect();
    EXPECT_EQ(r.smtp_reply(), kTooManyConnections) << describe(r) << "\n" << daemons_[0]->log();

    ASSERT_NO_FATAL_FAILURE(flush());
    for (int i = 0; i < 2; ++i) {
        r = a.mail("<bob@fabrikam.example>");
        EXPECT_TRUE(r.proceeds()) << describe(r);
        a.session().abort();
        ASSERT_NO_FATAL_FAILURE(flush());
    }
    r = a.mail("<bob@fabrikam.example>");
    EXPECT_EQ(r.smtp_reply(), kRateLimited) << describe(r);
    EXPECT_NE(daemons_[0]->log().find("message_rate_limit=2/min: 2 counted (redis)"), std::string::npos)
        << daemons_[0]->log();
    // Never unavailable: tempfail refused nothing.
    EXPECT_EQ(daemons_[0]->log().find("redis cannot answer"), std::string::npos) << daemons_[0]->log();
}

// The counters of [cluster] move by exactly what Redis did: a usable
// reply, a reply of the wrong type, no reply, no connection; and the
// refusals of on_unavailable = tempfail have their own reason class.
TEST_F(HostileRedisTest, RedisRequestsAndFallbacksAreCountedExactly) {
    auto fake = std::make_unique<FakeRedis>(redis_port_);
    std::vector<std::uint16_t> metrics_ports;
    for (const char* mode : {"local", "tempfail"}) {
        metrics_ports.push_back(free_tcp_port());
        // No reconnection within the test: after a timeout, calls fail at once.
        ASSERT_NO_FATAL_FAILURE(start_daemon(mode, kLimits, "10m",
                                             "[metrics]\nlisten = \"127.0.0.1:" +
                                                 std::to_string(metrics_ports.back()) + "\"\n"));
    }
    ASSERT_TRUE(fake->wait_for_connections(2, 3s));
    using Samples = std::vector<metrics::Sample>;
    const auto scrape = [&](std::size_t d) {
        const std::string url = "http://127.0.0.1:" + std::to_string(metrics_ports[d]) + "/metrics";
        const auto deadline = Clock::now() + 5s;
        std::string why;
        std::optional<std::string> body;
        while (!(body = metrics::http_get(url, 1s, &why)) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
        EXPECT_TRUE(body) << why;
        return metrics::parse_exposition(body.value_or(""));
    };
    const Samples before[2] = {scrape(0), scrape(1)};
    const auto delta = [&](std::size_t d, const Samples& now, const std::string& name,
                           const std::map<std::string, std::string>& labels) {
        const std::string full = "connector_milter_" + name;
        return metrics::sum_of(now, full, labels).value_or(0) - metrics::sum_of(before[d], full, labels).value_or(0);
    };

    // A sane server: two decisions on each daemon (the connection, the
    // message's rate).
    for (std::size_t d = 0; d < 2; ++d) {
        Mta mta(sockets_[d], client_at("198.51.100.7"));
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    }
    // Integers: local decides both alone; tempfail refuses the connection.
    fake->set_mode(Hostility::Integer, false);
    {
        Mta mta(sockets_[0], client_at("198.51.100.7"));
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    }
    {
        Mta mta(sockets_[1], client_at("198.51.100.7"));
        ASSERT_EQ(mta.connect().smtp_code(), 451);
    }
    // Silence: a timeout ends the connection, and the next call fails at
    // once (no reconnection for 10 minutes).
    fake->set_mode(Hostility::Hang, false);
    const std::string hung = "redis at 127.0.0.1:" + std::to_string(redis_port_) + " unavailable: no reply within";
    {
        Mta mta(sockets_[0], client_at("198.51.100.7"));
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(daemons_[0]->log_shows(hung, 2s)) << daemons_[0]->log();
        ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    }
    for (int i = 0; i < 2; ++i) {
        Mta mta(sockets_[1], client_at("198.51.100.7"));
        ASSERT_EQ(mta.connect().smtp_code(), 451);
        ASSERT_TRUE(daemons_[1]->log_shows(hung, 2s)) << daemons_[1]->log();
    }

    const Samples local = scrape(0);
    EXPECT_EQ(delta(0, local, "redis_requests_total", {{"result", "ok"}}), 2);
    EXPECT_EQ(delta(0, local, "redis_requests_total", {{"result", "error"}}), 2) << daemons_[0]->log();
    EXPECT_EQ(delta(0, local, "redis_requests_total", {{"result", "timeout"}}), 1);
    EXPECT_EQ(delta(0, local, "redis_requests_total", {{"result", "not_connected"}}), 1);
    EXPECT_EQ(delta(0, local, "redis_fallbacks_total", {{"on_unavailable", "local"}}), 4);
    EXPECT_EQ(delta(0, local, "redis_fallbacks_total", {{"on_unavailable", "tempfail"}}), 0);
    EXPECT_EQ(delta(0, local, "decision_reasons_total", {}), 0);

    const Samples tempfail = scrape(1);
    EXPECT_EQ(delta(1, tempfail, "redis_requests_total", {{"result", "ok"}}), 2);
    EXPECT_EQ(delta(1, tempfail, "redis_requests_total", {{"result", "error"}}), 1);
    EXPECT_EQ(delta(1, tempfail, "redis_requests_total", {{"result", "timeout"}}), 1);
    EXPECT_EQ(delta(1, tempfail, "redis_requests_total", {{"result", "not_connected"}}), 1);
    EXPECT_EQ(delta(1, tempfail, "redis_fallbacks_total", {{"on_unavailable", "tempfail"}}), 3);
    EXPECT_EQ(delta(1, tempfail, "redis_fallbacks_total", {{"on_unavailable", "local"}}), 0);
    EXPECT_EQ(delta(1, tempfail, "decision_reasons_total",
                    {{"connector", "Default Frontend"}, {"reason", "cluster"}, {"action", "tempfail"}}),
              3);
    EXPECT_EQ(delta(1, tempfail, "decision_reasons_total", {{"reason", "internal"}}), 0);
    EXPECT_EQ(delta(1, tempfail, "decision_reasons_total", {}), 3);
}

}  // namespace
}  // namespace protocol_test
