// The engines' fail-closed path (src/milter/adapter.cpp and connection.cpp,
// guarded()): an exception inside an event is logged and answered with a
// tempfail, so that the MTA keeps the message and the client retries; the
// daemon serves on. The daemon under test is the fault-injection build
// (src/milter/fault_injection.hpp), told by its environment which stage
// throws.
#include <filesystem>
#include <optional>
#include <string>

#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using milterclient::Action;
using milterclient::EomResult;
using milterclient::Response;

const std::string kConfig = authoritative_domain("contoso.com") +
                            internet_connector("Default Frontend", "tarpit_interval = 0\n");

class FailClosedTest : public DaemonTest {
protected:
    // Starts tests/protocol/connector-milter-faults (next to $DAEMON's
    // build tree) with a fault at `stage`.
    void start_with_fault_at(const std::string& stage) {
        const std::string daemon = daemon_path();
        ASSERT_FALSE(daemon.empty()) << "DAEMON is not set";
        daemon_binary_ =
            (std::filesystem::path(daemon).parent_path() / "tests/protocol/connector-milter-faults").string();
        command_prefix_ = {"/usr/bin/env", "CONNECTOR_MILTER_FAULT_STAGE=" + stage};
        ASSERT_NO_FATAL_FAILURE(start_daemon(kConfig));
    }
    bool logged(const std::string& text) const { return daemon_->log().find(text) != std::string::npos; }
};

// A 4xx reply, given as SMFIR_TEMPFAIL or as a 4yz reply code.
bool is_tempfail(const Response& r) {
    if (r.action == Action::TempFail) return true;
    const int code = r.smtp_code();
    return r.action == Action::ReplyCode && code >= 400 && code < 500;
}

TEST_F(FailClosedTest, ExceptionAtRcptIsATempfailAndTheNextSessionIsServedTheSame) {
    ASSERT_NO_FATAL_FAILURE(start_with_fault_at("RCPT"));
    for (int session = 0; session < 2; ++session) {
        SCOPED_TRACE("session " + std::to_string(session + 1));
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
        const Response r = mta.rcpt("<user@contoso.com>");
        EXPECT_TRUE(is_tempfail(r)) << describe(r);
        mta.quit();
    }
    EXPECT_TRUE(logged("RCPT: internal error: injected fault")) << daemon_->log();
}

// At end of message a failure must not let the message through unchecked:
// no accept, no Authentication-Results, a tempfail.
TEST_F(FailClosedTest, ExceptionAtEndOfMessageIsATempfailWithoutHeaderEdits) {
    ASSERT_NO_FATAL_FAILURE(start_with_fault_at("EOM"));
    Mta mta(socket_spec(), SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    const EomResult eom = mta.send(SimpleMessage{});
    EXPECT_TRUE(is_tempfail(eom)) << describe(eom);
    EXPECT_TRUE(eom.header_edits.empty()) << eom.header_edits.size() << " header edits with a tempfail";
    EXPECT_TRUE(logged("EOM: internal error: injected fault")) << daemon_->log();
}

TEST_F(FailClosedTest, ExceptionAtConnectIsATempfail) {
    ASSERT_NO_FATAL_FAILURE(start_with_fault_at("CONNECT"));
    Mta mta(socket_spec(), SmtpClient{});
    const Response c = mta.connect();
    EXPECT_TRUE(is_tempfail(c)) << describe(c);
    EXPECT_TRUE(logged("CONNECT: internal error: injected fault")) << daemon_->log();
}

}  // namespace
}  // namespace protocol_test
