// The daemon and its service manager (issue 18: the unit is Type=notify),
// without systemd: the test owns the datagram socket that $NOTIFY_SOCKET
// names, as systemd does for a Type=notify service (sd_notify(3)), and reads
// what the daemon sends: READY=1 once it serves, RELOADING=1 then READY=1
// around a SIGUSR1 reload, STOPPING=1 at SIGTERM, each with a one-line
// STATUS=. Runs on both engines (lifecycle_libmilter.test).
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The service manager's end: an AF_UNIX datagram socket bound to a path.
class NotifySocket {
public:
    explicit NotifySocket(std::string path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) return;
        std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~NotifySocket() {
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
    }
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    bool ok() const { return fd_ >= 0; }
    const std::string& path() const { return path_; }

    // The next message within `timeout`, or nothing.
    std::optional<std::string> next(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
        char buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n < 0) return std::nullopt;
        return std::string(buffer, static_cast<std::size_t>(n));
    }

    // Messages until one holds the line `line` (e.g. "READY=1"), bounded
    // by `timeout`; that message, or nothing. The ones before go to `skipped`.
    std::optional<std::string> until(const std::string& line, std::chrono::milliseconds timeout,
                                     std::vector<std::string>* skipped = nullptr) {
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return std::nullopt;
            auto message = next(left);
            if (!message) return std::nullopt;
            if (has_line(*message, line)) return message;
            if (skipped) skipped->push_back(*message);
        }
    }

    static bool has_line(const std::string& message, const std::string& line) {
        std::size_t start = 0;
        while (start <= message.size()) {
            const auto end = message.find('\n', start);
            const auto piece = message.substr(start, end == std::string::npos ? std::string::npos : end - start);
            if (piece == line) return true;
            if (end == std::string::npos) break;
            start = end + 1;
        }
        return false;
    }

    // The value of `name`= in `message` ("" when absent).
    static std::string field(const std::string& message, const std::string& name) {
        const std::string key = name + "=";
        std::size_t at = message.rfind("\n" + key);
        at = message.compare(0, key.size(), key) == 0 ? 0 : at == std::string::npos ? at : at + 1;
        if (at == std::string::npos) return "";
        const auto end = message.find('\n', at);
        return message.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
    }

private:
    std::string path_;
    int fd_ = -1;
};

const std::string kOneConnector = authoritative_domain("contoso.com") + internet_connector("Default Frontend", "");
const std::string kTwoConnectors =
    kOneConnector + anonymous_relay("\"10.0.0.80\"", "", "Anonymous Relay");

class NotifyTest : public DaemonTest {
protected:
    // Starts the daemon with $NOTIFY_SOCKET naming the test's socket (the
    // variable is set only while the daemon process is created).
    void start_notified(const std::string& rest) {
        ASSERT_TRUE(notify_.ok()) << "cannot bind " << notify_.path() << ": " << std::strerror(errno);
        ::setenv("NOTIFY_SOCKET", notify_.path().c_str(), 1);
        start_daemon(rest);
        ::unsetenv("NOTIFY_SOCKET");
    }
    // The first READY=1 (the start), checked and returned.
    std::string await_ready() {
        auto ready = notify_.until("READY=1", 10s);
        EXPECT_TRUE(ready) << "no READY=1 within 10 s\n--- daemon output ---\n" << daemon_->log();
        return ready.value_or("");
    }

    NotifySocket notify_{(dir_.path() / "notify").string()};
};

TEST_F(NotifyTest, ReadyIsSentOnceTheSocketServesWithAOneLineStatusOfSocketAndPolicy) {
    start_notified(kOneConnector);
    if (HasFatalFailure()) return;
    const std::string ready = await_ready();
    const std::string status = NotifySocket::field(ready, "STATUS");
    EXPECT_NE(status.find("listening on " + socket_spec()), std::string::npos) << ready;
    EXPECT_NE(status.find(config_path_ + " (1 connector, 1 accepted domain)"), std::string::npos) << ready;
    EXPECT_EQ(status.find('\n'), std::string::npos);
    // READY means served: an MTA connection now gets its answer.
    Mta mta(socket_spec(), SmtpClient{});
    EXPECT_TRUE(mta.connect().proceeds());
    mta.quit();
}

TEST_F(NotifyTest, Sigusr1ReloadIsFramedByReloadingThenReadyWithTheNewPolicyInStatus) {
    start_notified(kOneConnector);
    if (HasFatalFailure()) return;
    await_ready();
    reload_daemon(kTwoConnectors);
    std::vector<std::string> before;
    const auto reloading = notify_.until("RELOADING=1", 10s, &before);
    ASSERT_TRUE(reloading) << "no RELOADING=1 after SIGUSR1\n" << daemon_->log();
    EXPECT_TRUE(before.empty()) << "sent before RELOADING=1: " << before.front();
    EXPECT_FALSE(NotifySocket::field(*reloading, "MONOTONIC_USEC").empty()) << *reloading;
    const auto ready = notify_.next(10s);
    ASSERT_TRUE(ready) << "no message after RELOADING=1\n" << daemon_->log();
    EXPECT_TRUE(NotifySocket::has_line(*ready, "READY=1")) << *ready;
    const std::string status = NotifySocket::field(*ready, "STATUS");
    EXPECT_NE(status.find("(2 connectors, 1 accepted domain, reloaded at "), std::string::npos) << *ready;
    EXPECT_NE(status.find("listening on " + socket_spec()), std::string::npos) << *ready;
}

TEST_F(NotifyTest, RefusedReloadIsStillFramedByReadyAndTheStatusSaysItFailedAndWhatRuns) {
    start_notified(kOneConnector);
    if (HasFatalFailure()) return;
    await_ready();
    config_path_ = dir_.write("connector-milter.conf", config_text(kOneConnector) + "\n[no_such_section]\n");
    daemon_->signal(SIGUSR1);
    ASSERT_TRUE(notify_.until("RELOADING=1", 10s)) << daemon_->log();
    const auto ready = notify_.next(10s);
    ASSERT_TRUE(ready) << "no READY=1 after a refused reload: systemd would wait for it\n" << daemon_->log();
    EXPECT_TRUE(NotifySocket::has_line(*ready, "READY=1")) << *ready;
    const std::string status = NotifySocket::field(*ready, "STATUS");
    EXPECT_NE(status.find("failed (" + config_path_ + ":"), std::string::npos) << *ready;
    EXPECT_NE(status.find("running " + config_path_ + " (1 connector, 1 accepted domain)"), std::string::npos)
        << *ready;
}

TEST_F(NotifyTest, SigtermSendsStoppingBeforeTheDrain) {
    start_notified(kOneConnector);
    if (HasFatalFailure()) return;
    await_ready();
    sigterm_daemon();
    const auto stopping = notify_.until("STOPPING=1", 10s);
    ASSERT_TRUE(stopping) << "no STOPPING=1 after SIGTERM\n" << daemon_->log();
    EXPECT_NE(NotifySocket::field(*stopping, "STATUS").find("stopping: waiting up to "), std::string::npos)
        << *stopping;
}

TEST_F(NotifyTest, WithoutNotifySocketTheDaemonRunsAsBefore) {
    // Outside systemd nothing is sent and nothing is logged about it.
    start_daemon(kOneConnector);
    if (HasFatalFailure()) return;
    EXPECT_FALSE(notify_.next(300ms)) << "a message without NOTIFY_SOCKET";
    EXPECT_FALSE(wait_for_log({"service manager"}, 0ms)) << daemon_->log();
}

}  // namespace
}  // namespace protocol_test
