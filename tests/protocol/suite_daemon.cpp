#include "protocol/suite_daemon.hpp"

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <vector>

#include "protocol/daemon_fixture.hpp"

namespace protocol_test {

using namespace std::chrono_literals;

struct SuiteDaemonTest::State {
    milterclient::TempDir dir;
    std::string socket;
    std::unique_ptr<milterclient::DaemonProcess> daemon;
    std::string start_error;  // why it is not running, when it is not
};

std::unique_ptr<SuiteDaemonTest::State> SuiteDaemonTest::state_;

void SuiteDaemonTest::start_suite_daemon(const std::string& rest, const std::string& extra_zone) {
    state_ = std::make_unique<State>();
    State& s = *state_;
    const std::string daemon = milterclient::daemon_path();
    if (daemon.empty()) {
        s.start_error = "DAEMON is not set: run through `make check`, or export DAEMON=/path/to/build/connector-milter";
        return;
    }
    if (::access(daemon.c_str(), X_OK) != 0) {
        s.start_error = "DAEMON=" + daemon + " is not executable";
        return;
    }
    s.socket = "inet:" + std::to_string(milterclient::free_tcp_port()) + "@127.0.0.1";
    const std::string zone = s.dir.write("zone", std::string(kZone) + extra_zone);
    // The same [milter] and [dns] settings as DaemonTest::config_text().
    std::ostringstream c;
    c << "# written by tests/protocol for one test suite\n"
      << "[milter]\n"
      << "socket = \"" << s.socket << "\"\n"
      << "authserv_id = \"mx.example.com\"\n"
      << "drain_timeout = \"3s\"\n"
      << engine_setting() << "\n"
      << "[dns]\n"
      << "static_zone = \"" << zone << "\"\n"
      << "offline = true\n"
      << "timeout = \"500ms\"\n\n"
      << rest;
    const std::string config = s.dir.write("connector-milter.conf", c.str());
    s.daemon = std::make_unique<milterclient::DaemonProcess>(
        std::vector<std::string>{daemon, "-f", "-R", "-c", config, "-p", s.socket},
        (s.dir.path() / "daemon.log").string());
    std::string why;
    if (!s.daemon->start(s.socket, 10s, &why)) {
        s.start_error = why + "\n--- daemon output ---\n" + s.daemon->log();
        s.daemon.reset();
    }
}

void SuiteDaemonTest::stop_suite_daemon() {
    if (!state_) return;
    if (state_->daemon) {
        const bool was_running = state_->daemon->running();
        const milterclient::CommandResult r = state_->daemon->stop(12s);
        if (!was_running) {
            ADD_FAILURE() << "the suite's daemon had died\n--- daemon output ---\n" << r.output;
        } else {
            EXPECT_FALSE(r.timed_out) << "SIGTERM did not stop the daemon within 12 s\n" << r.output;
            EXPECT_TRUE(r.exited && r.exit_code == 0)
                << "after SIGTERM the daemon ended with "
                << (r.exited ? "exit status " + std::to_string(r.exit_code) : "signal " + std::to_string(r.signal))
                << "\n--- daemon output ---\n" << r.output;
        }
    }
    state_.reset();
}

std::string SuiteDaemonTest::socket_spec() { return state_ ? state_->socket : std::string(); }

void SuiteDaemonTest::SetUp() {
    ASSERT_TRUE(state_ != nullptr) << "the fixture did not call start_suite_daemon()";
    ASSERT_TRUE(state_->daemon != nullptr) << state_->start_error;
    ASSERT_TRUE(state_->daemon->running()) << "the suite's daemon is not running\n--- daemon output ---\n"
                                           << state_->daemon->log();
    log_offset_ = state_->daemon->log().size();
}

void SuiteDaemonTest::TearDown() {
    if (!state_ || !state_->daemon) return;
    EXPECT_TRUE(state_->daemon->running()) << "the daemon died during the test";
    if (HasFailure()) {
        const std::string log = state_->daemon->log();
        std::cerr << "--- daemon output during the test ---\n"
                  << (log_offset_ <= log.size() ? log.substr(log_offset_) : log) << "--- end ---\n";
    }
}

}  // namespace protocol_test
