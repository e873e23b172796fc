// [cluster] (issue 16): two daemons sharing one real redis-server enforce
// one connection limit and one message rate limit; a daemon killed with
// SIGKILL stops counting within the lease time; a Redis outage falls back
// to this host's counters (on_unavailable = local) or refuses with 4xx
// (tempfail), and shared counting resumes when Redis is back.
//
// Each test starts its own redis-server on a free loopback port with its
// own data folder (no persistence), and stops it at the end.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "milterclient/daemon_process.hpp"
#include "milterclient/milter_client.hpp"
#include "milterclient/mta.hpp"
#include "milterclient/redis_server.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::Response;
using Clock = std::chrono::steady_clock;

constexpr const char* kTooManyConnections =
    "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel";
constexpr const char* kRateLimited =
    "421 4.4.2 Message submission rate for this client has exceeded the configured limit";

using milterclient::find_redis_server;

SmtpClient client_at(const std::string& ip) {
    SmtpClient c;
    c.ip = ip;
    c.name = "[" + ip + "]";
    c.helo = "mail.fabrikam.example";
    return c;
}

class ClusterTest : public ::testing::Test {
protected:
    void SetUp() override {
        redis_binary_ = find_redis_server();
        ASSERT_FALSE(redis_binary_.empty()) << "redis-server not found: apt-get install redis-server "
                                               "(scripts/install-deps installs it)";
        redis_port_ = free_tcp_port();
        ASSERT_NO_FATAL_FAILURE(start_redis());
        dir_.write("zone", kZone);
    }

    void TearDown() override {
        for (auto& d : daemons_) {
            if (d && d->running()) d->stop(5s);
        }
        stop_redis();
    }

    void start_redis() {
        const std::string data = (dir_.path() / "redis").string();
        std::filesystem::create_directories(data);
        redis_ = std::make_unique<DaemonProcess>(
            std::vector<std::string>{redis_binary_, "--port", std::to_string(redis_port_), "--bind", "127.0.0.1",
                                     "--dir", data, "--save", "", "--appendonly", "no", "--daemonize", "no",
                                     "--protected-mode", "no"},
            (dir_.path() / "redis.log").string());
        std::string why;
        ASSERT_TRUE(redis_->start("inet:" + std::to_string(redis_port_) + "@127.0.0.1", 10s, &why)) << why;
    }

    void stop_redis() {
        if (redis_ && redis_->running()) redis_->stop(5s);
        redis_.reset();
    }

    // Starts daemon `index` (0 or 1) with `cluster` lines and a connector
    // with `limits`.
    void start_daemon(std::size_t index, const std::string& cluster, const std::string& limits) {
        const std::string socket = "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1";
        std::ostringstream c;
        c << "[milter]\nsocket = \"" << socket << "\"\nauthserv_id = \"mx" << index << ".example.com\"\n"
          << "drain_timeout = \"2s\"\n"
          << engine_setting() << "\n[dns]\nstatic_zone = \"" << (dir_.path() / "zone").string()
          << "\"\noffline = true\ntimeout = \"500ms\"\n\n"
          << "[cluster]\nredis = \"redis://127.0.0.1:" << redis_port_ << "/3\"\n"
          << "key_prefix = \"test:\"\ntimeout = \"300ms\"\nreconnect_interval = \"100ms\"\n"
          << "lease_renewal = \"200ms\"\nlease_time = \"600ms\"\n"
          << cluster << "\n"
          << authoritative_domain("contoso.com")
          << internet_connector("Default Frontend", "tarpit_interval = 0\n" + limits);
        const std::string config = dir_.write("mx" + std::to_string(index) + ".conf", c.str());
        if (daemons_.size() <= index) daemons_.resize(index + 1);
        if (sockets_.size() <= index) sockets_.resize(index + 1);
        sockets_[index] = socket;
        daemons_[index] = std::make_unique<DaemonProcess>(
            std::vector<std::string>{daemon_path(), "-f", "-R", "-c", config},
            (dir_.path() / ("mx" + std::to_string(index) + ".log")).string());
        std::string why;
        ASSERT_TRUE(daemons_[index]->start(socket, 10s, &why)) << why << "\n" << daemons_[index]->log();
    }

    void start_both(const std::string& cluster, const std::string& limits) {
        ASSERT_NO_FATAL_FAILURE(start_daemon(0, cluster, limits));
        ASSERT_NO_FATAL_FAILURE(start_daemon(1, cluster, limits));
    }

    // A session from `ip` on daemon `index`, connected (CONNECT, HELO).
    std::unique_ptr<Mta> session(std::size_t index, const std::string& ip, Response* answer) {
        auto mta = std::make_unique<Mta>(sockets_[index], client_at(ip));
        *answer = mta->connect();
        return mta;
    }

    // Sessions from 198.51.100.7 on the hosts listed, each admitted, into
    // `held`.
    void hold(std::initializer_list<std::size_t> hosts, std::vector<std::unique_ptr<Mta>>* held) {
        for (const std::size_t host : hosts) {
            Response r;
            held->push_back(session(host, "198.51.100.7", &r));
            ASSERT_TRUE(r.proceeds()) << "host " << host << ": " << describe(r);
        }
    }

    bool wait_for_log(std::size_t index, const std::string& text, std::chrono::milliseconds timeout) {
        return daemons_[index]->log_shows(text, timeout);
    }

    TempDir dir_;
    std::string redis_binary_;
    std::uint16_t redis_port_ = 0;
    std::unique_ptr<DaemonProcess> redis_;
    std::vector<std::unique_ptr<DaemonProcess>> daemons_;
    std::vector<std::string> sockets_;
};

const std::string kPerSourceThree =
    "max_inbound_connection_per_source = 3\nmax_inbound_connection = \"unlimited\"\n";

TEST_F(ClusterTest, TwoDaemonsEnforceOneCombinedPerSourceConnectionLimit) {
    ASSERT_NO_FATAL_FAILURE(start_both("", kPerSourceThree));
    std::vector<std::unique_ptr<Mta>> held;
    Response r;
    // Three sessions from one source over both hosts: all admitted.
    ASSERT_NO_FATAL_FAILURE(hold({0, 1, 0}, &held));
    // The fourth gets Exchange's 421 4.3.2, whichever host it reaches.
    for (const std::size_t host : {0U, 1U}) {
        auto extra = session(host, "198.51.100.7", &r);
        EXPECT_EQ(r.smtp_reply(), kTooManyConnections) << "host " << host << ": " << describe(r);
    }
    // Another source is not affected.
    auto other = session(1, "198.51.100.8", &r);
    EXPECT_TRUE(r.proceeds()) << describe(r);
    // A session ending on host 0 frees a slot that host 1 can use.
    held[0]->quit();
    held[0].reset();
    const auto deadline = Clock::now() + 3s;
    bool admitted = false;
    while (!admitted && Clock::now() < deadline) {
        auto again = session(1, "198.51.100.7", &r);
        admitted = r.proceeds();
        if (admitted) held.push_back(std::move(again));
        else std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(admitted) << describe(r);
    EXPECT_NE(daemons_[1]->log().find("max_inbound_connection_per_source=3: 3 counted (redis)"), std::string::npos)
        << daemons_[1]->log();
}

TEST_F(ClusterTest, TwoDaemonsEnforceOneCombinedMessageRateLimit) {
    ASSERT_NO_FATAL_FAILURE(start_both("", "message_rate_limit = 3\n"));
    Response r;
    auto a = session(0, "198.51.100.7", &r);
    ASSERT_TRUE(r.proceeds()) << describe(r);
    auto b = session(1, "198.51.100.7", &r);
    ASSERT_TRUE(r.proceeds()) << describe(r);
    int admitted = 0;
    for (auto* mta : {a.get(), b.get(), a.get()}) {
        const Response m = mta->mail("<bob@fabrikam.example>");
        EXPECT_TRUE(m.proceeds()) << describe(m);
        if (m.proceeds()) ++admitted;
        mta->session().abort();
    }
    ASSERT_EQ(admitted, 3);
    for (auto* mta : {b.get(), a.get()}) {
        const Response m = mta->mail("<bob@fabrikam.example>");
        EXPECT_EQ(m.smtp_reply(), kRateLimited) << describe(m);
        mta->session().abort();
    }
    EXPECT_TRUE(wait_for_log(0, "message_rate_limit=3/min: 3 counted (redis)", 2s)) << daemons_[0]->log();
}

TEST_F(ClusterTest, LiveSessionsKeepCountingLongerThanTheLeaseTime) {
    ASSERT_NO_FATAL_FAILURE(start_both("", kPerSourceThree));
    std::vector<std::unique_ptr<Mta>> held;
    Response r;
    ASSERT_NO_FATAL_FAILURE(hold({0, 0, 0}, &held));
    // Twice lease_time (600ms): only the renewals keep the leases.
    std::this_thread::sleep_for(1200ms);
    auto refused = session(1, "198.51.100.7", &r);
    EXPECT_EQ(r.smtp_reply(), kTooManyConnections) << describe(r);
}

TEST_F(ClusterTest, KilledDaemonsSessionsStopCountingWithinTheLeaseTime) {
    ASSERT_NO_FATAL_FAILURE(start_both("", kPerSourceThree));
    std::vector<std::unique_ptr<Mta>> held;
    Response r;
    ASSERT_NO_FATAL_FAILURE(hold({0, 0, 0}, &held));
    auto refused = session(1, "198.51.100.7", &r);
    ASSERT_EQ(r.smtp_reply(), kTooManyConnections) << describe(r);
    daemons_[0]->signal(SIGKILL);
    const auto killed = Clock::now();
    ASSERT_TRUE(daemons_[0]->exits_within(5s));
    bool admitted = false;
    while (!admitted && Clock::now() - killed < 5s) {
        auto again = session(1, "198.51.100.7", &r);
        admitted = r.proceeds();
        if (!admitted) std::this_thread::sleep_for(25ms);
    }
    const auto waited = Clock::now() - killed;
    ASSERT_TRUE(admitted) << "host 1 still refuses 5 s after host 0 died: " << describe(r);
    // lease_time = 600ms: the leases of the dead host end within it (plus
    // the poll interval and scheduling).
    EXPECT_LT(waited, 1200ms) << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count() << " ms";
}

TEST_F(ClusterTest, RedisOutageFallsBackToLocalCountsAndSharedCountingResumes) {
    ASSERT_NO_FATAL_FAILURE(start_both("on_unavailable = \"local\"\n", kPerSourceThree));
    std::vector<std::unique_ptr<Mta>> held;
    Response r;
    ASSERT_NO_FATAL_FAILURE(hold({0, 0, 1}, &held));
    stop_redis();
    // Host 1 counts one session of its own: two more are admitted by its
    // own counters, the third is refused by them.
    for (int i = 0; i < 2; ++i) {
        held.push_back(session(1, "198.51.100.7", &r));
        EXPECT_TRUE(r.proceeds()) << describe(r);
    }
    auto over = session(1, "198.51.100.7", &r);
    EXPECT_EQ(r.smtp_reply(), kTooManyConnections) << describe(r);
    EXPECT_TRUE(wait_for_log(1, "counted on this host alone", 2s)) << daemons_[1]->log();
    EXPECT_TRUE(wait_for_log(1, "(local (redis unavailable:", 2s)) << daemons_[1]->log();

    // Redis back, empty: both hosts add the sessions they hold (2 + 3)
    // again, and host 0, with 2 of its own, is refused by the shared count.
    ASSERT_NO_FATAL_FAILURE(start_redis());
    ASSERT_TRUE(wait_for_log(0, "reachable again", 3s)) << daemons_[0]->log();
    ASSERT_TRUE(wait_for_log(1, "reachable again", 3s)) << daemons_[1]->log();
    const auto deadline = Clock::now() + 3s;
    bool shared_refusal = false;
    while (!shared_refusal && Clock::now() < deadline) {
        auto probe = session(0, "198.51.100.7", &r);
        shared_refusal = r.smtp_reply() == kTooManyConnections;
        if (!shared_refusal) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(shared_refusal) << describe(r);
    EXPECT_TRUE(wait_for_log(0, "max_inbound_connection_per_source=3: 5 counted (redis)", 2s)) << daemons_[0]->log();
}

TEST_F(ClusterTest, RedisOutageWithTempfailRefusesWith4xxUntilRedisIsBack) {
    ASSERT_NO_FATAL_FAILURE(start_both("on_unavailable = \"tempfail\"\n", kPerSourceThree + "message_rate_limit = 100\n"));
    Response r;
    auto held = session(0, "198.51.100.7", &r);
    ASSERT_TRUE(r.proceeds()) << describe(r);
    stop_redis();
    auto refused = session(1, "198.51.100.7", &r);
    EXPECT_EQ(r.smtp_code(), 451) << describe(r);
    EXPECT_EQ(r.smtp_reply().substr(0, 9), "451 4.3.0") << describe(r);
    const Response m = held->mail("<bob@fabrikam.example>");
    EXPECT_EQ(m.smtp_code(), 451) << describe(m);
    EXPECT_TRUE(wait_for_log(1, "cluster.on_unavailable = tempfail", 2s)) << daemons_[1]->log();
    ASSERT_NO_FATAL_FAILURE(start_redis());
    ASSERT_TRUE(wait_for_log(1, "reachable again", 3s)) << daemons_[1]->log();
    auto back = session(1, "198.51.100.7", &r);
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

}  // namespace
}  // namespace protocol_test
