// [milter] log_format (issue 18, "Logs") in the running daemon: with "json"
// every line it writes is one JSON object that a parser written apart from
// ours (Python's json module) reads, decision lines with the fields of the
// text line, queue id first; a reload switches the format. The text format
// itself is checked field by field in tests/unit/session_test.cpp.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;

const std::string kPolicy =
    authoritative_domain("contoso.com") + internet_connector("Default Frontend", "tarpit_interval = 0\n");

// Python's json module on each line of `path`: "" when every line is a JSON
// object with "level" and "time", else what is wrong.
std::string json_lines_problem(const std::string& path) {
    const CommandResult r = run_command(
        {"/usr/bin/python3", "-c",
         "import json, sys\n"
         "for n, line in enumerate(open(sys.argv[1], encoding='utf-8'), 1):\n"
         "    o = json.loads(line)\n"
         "    assert isinstance(o, dict), 'line %d is not an object' % n\n"
         "    assert o.get('level') in ('info', 'warning', 'error'), 'line %d: level' % n\n"
         "    assert o.get('time', '').endswith('Z'), 'line %d: time' % n\n",
         path},
        10s);
    if (r.exited && r.exit_code == 0) return "";
    return r.output.empty() ? "python3 failed" : r.output;
}

// The relay refusal the tests drive: anonymous, to a domain not accepted.
void refuse_one_relay(const std::string& socket) {
    Mta mta(socket, SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("someone@outside.example").proceeds());
    EXPECT_EQ(mta.rcpt("victim@elsewhere.example").smtp_reply(), kRelayDenied);
    mta.quit();
}

class LogFormatTest : public DaemonTest {};

TEST_F(LogFormatTest, JsonFormatWritesEveryLineAsAnObjectAndDecisionsWithTheTextLinesFields) {
    extra_milter_settings_ = "log_format = \"json\"\n";
    ASSERT_NO_FATAL_FAILURE(start_daemon(kPolicy));
    refuse_one_relay(socket_spec());
    // The test MTA sends the queue id (macro i) with MAIL, as Postfix does.
    ASSERT_TRUE(wait_for_log({"{\"queue_id\":\"QT", "\",\"stage\":\"RCPT\",\"connector\":\"Default Frontend\","
                              "\"client\":\"198.51.100.7\",\"rights\":\"AnonymousUsers\",\"action\":\"reject\","
                              "\"reply\":\"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\","
                              "\"reason\":\"",
                              "\"level\":\"info\""},
                             10s))
        << daemon_->log();
    EXPECT_TRUE(wait_for_log({"{\"message\":\"connector-milter ", " listening on ", "\"level\":\"info\""}, 0ms))
        << daemon_->log();
    EXPECT_EQ(json_lines_problem((dir_.path() / "daemon.log").string()), "") << daemon_->log();
}

TEST_F(LogFormatTest, ReloadSwitchesFromTextToJson) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kPolicy));
    refuse_one_relay(socket_spec());
    ASSERT_TRUE(wait_for_log({": stage=RCPT connector=\"Default Frontend\" client=[198.51.100.7]"}, 10s))
        << daemon_->log();
    extra_milter_settings_ = "log_format = \"json\"\n";
    reload_daemon(kPolicy);
    ASSERT_TRUE(wait_for_log({"{\"message\":\"reloaded "}, 10s)) << daemon_->log();
    refuse_one_relay(socket_spec());
    EXPECT_TRUE(wait_for_log({"{\"queue_id\":\"", "\",\"stage\":\"RCPT\","}, 10s)) << daemon_->log();
}

}  // namespace
}  // namespace protocol_test
