// One daemon for a whole test suite, for table-driven protocol tests whose
// rows share a configuration: starting and stopping the daemon costs
// seconds (the SIGTERM drain), a RCPT costs a millisecond. Rows stay
// independent: each uses its own milter connection, and after each test the
// daemon must still be running; at the end of the suite SIGTERM must stop it
// with exit status 0, as DaemonTest checks for every test.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "milterclient/daemon_process.hpp"

namespace protocol_test {

class SuiteDaemonTest : public ::testing::Test {
protected:
    // Call from the derived fixture's SetUpTestSuite(): writes the standard
    // [milter] and [dns] sections followed by `rest`, a zone of kZone plus
    // `extra_zone`, and starts $DAEMON. A failure makes every test of the
    // suite fail in SetUp with the reason.
    static void start_suite_daemon(const std::string& rest, const std::string& extra_zone = "");
    // Call from TearDownTestSuite(): SIGTERM, then checks exit status 0.
    static void stop_suite_daemon();

    void SetUp() override;
    void TearDown() override;
    static std::string socket_spec();

private:
    struct State;
    static std::unique_ptr<State> state_;
    std::size_t log_offset_ = 0;
};

}  // namespace protocol_test
