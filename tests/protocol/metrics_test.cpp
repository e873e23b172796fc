// The /metrics endpoint of the running daemon (issue 18, "Metrics"): known
// scenarios are driven through the milter protocol and the counters read
// back over HTTP must have moved by exactly what those scenarios did, no
// more: one relay refusal is +1 on that connector's relay reject counter
// and on nothing else that counts refusals.
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "metrics/scrape.hpp"
#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

const std::string kDomains = authoritative_domain("contoso.com");
// "Internet": anonymous clients on port 25, no relay, at most 1000 octets,
// not as senders in our domains; "Relay": the devices at 10.1.1.1 on
// 10.0.0.50:25 may relay.
const std::string kConnectors =
    internet_connector("Internet",
                       std::string("tarpit_interval = 0\nmax_message_size = 1000\n") + kDenyAnonymousOwnDomainSenders) +
    anonymous_relay("\"10.1.1.1\"", "tarpit_interval = 0\n", "Relay");

class MetricsTest : public DaemonTest {
protected:
    // `extra`: more tables after the connectors.
    void start(const std::string& connectors = kConnectors, const std::string& extra = "") {
        metrics_port_ = free_tcp_port();
        start_on("127.0.0.1:" + std::to_string(metrics_port_),
                 "http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics", connectors, extra);
    }
    // [metrics] listen = `listen`, read back at `url` (what status takes).
    void start_on(const std::string& listen, const std::string& url, const std::string& connectors = kConnectors,
                  const std::string& extra = "") {
        url_ = url;
        rest_ = "[metrics]\nlisten = \"" + listen + "\"\n" + kDomains + connectors + extra;
        ASSERT_NO_FATAL_FAILURE(start_daemon(rest_));
        // The milter socket is open before the endpoint: wait (bounded) for it.
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        std::string why;
        while (!metrics::http_get(url_, 1s, &why)) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no /metrics: " << why << "\n" << daemon_->log();
            std::this_thread::sleep_for(20ms);
        }
        before_ = scrape();
    }
    std::string url() const { return url_; }
    std::vector<metrics::Sample> scrape() const {
        std::string why;
        const auto body = metrics::http_get(url(), 5s, &why);
        EXPECT_TRUE(body) << why;
        std::size_t bad = 0;
        auto samples = metrics::parse_exposition(body.value_or(""), &bad);
        EXPECT_EQ(bad, 0u) << *body;
        return samples;
    }
    // How far `name{labels}` moved since start() (a series absent then counts as 0).
    double delta(const std::vector<metrics::Sample>& now, const std::string& name, const Labels& labels = {}) const {
        return metrics::sum_of(now, name, labels).value_or(0) - metrics::sum_of(before_, name, labels).value_or(0);
    }
    static std::string counter(const char* suffix) { return std::string("connector_milter_") + suffix; }

    // Polls /metrics (bounded) until `name{labels}` has moved by `want`.
    bool wait_for_delta(const std::string& name, const Labels& labels, double want) const {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (delta(scrape(), name, labels) != want) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            std::this_thread::sleep_for(20ms);
        }
        return true;
    }

    std::uint16_t metrics_port_ = 0;
    std::string url_;
    std::string rest_;
    std::vector<metrics::Sample> before_;
};

TEST_F(MetricsTest, OneRelayRefusalIsOneRelayRejectOnItsConnectorAndNothingElse) {
    ASSERT_NO_FATAL_FAILURE(start());
    {
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
        const auto r = mta.rcpt("<someone@outside.example>");
        ASSERT_EQ(r.smtp_reply(), kRelayDenied) << describe(r);
    }
    const auto now = scrape();
    const Labels internet{{"connector", "Internet"}};
    EXPECT_EQ(delta(now, counter("decision_reasons_total"),
                    {{"connector", "Internet"}, {"reason", "relay"}, {"action", "reject"}}),
              1);
    // Every refusal of every connector together: that one.
    EXPECT_EQ(delta(now, counter("decision_reasons_total")), 1);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"connector", "Internet"}, {"stage", "rcpt"}, {"action", "reject"}}),
              1);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"connector", "Internet"}, {"stage", "connect"}, {"action", "continue"}}),
              1);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"connector", "Internet"}, {"stage", "mail"}, {"action", "continue"}}),
              1);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"connector", "Relay"}}), 0);
    EXPECT_EQ(delta(now, counter("sessions_opened_total"), internet), 1);
    EXPECT_EQ(delta(now, counter("sessions_refused_total")), 0);
}

TEST_F(MetricsTest, AnAcceptedMessageCountsItsStagesAndItsCheckResults) {
    ASSERT_NO_FATAL_FAILURE(start());
    {
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        const auto r = mta.send(SimpleMessage{});
        ASSERT_TRUE(r.proceeds()) << describe(r);
    }
    const auto now = scrape();
    for (const char* stage : {"connect", "helo", "mail", "rcpt", "eoh", "eom"})
        EXPECT_EQ(delta(now, counter("decisions_total"),
                        {{"connector", "Internet"}, {"stage", stage}, {"action", "continue"}}),
                  1)
            << stage;
    EXPECT_EQ(delta(now, counter("decision_reasons_total")), 0);
    // fabrikam.example's SPF lists 198.51.100.0/24, the client's network;
    // the message is unsigned; fabrikam.example publishes no DMARC record.
    EXPECT_EQ(delta(now, counter("spf_results_total"), {{"identity", "mailfrom"}, {"result", "pass"}}), 1);
    EXPECT_EQ(delta(now, counter("spf_results_total"), {{"identity", "mailfrom"}}), 1);
    EXPECT_EQ(delta(now, counter("dkim_results_total"), {{"result", "none"}}), 1);
    EXPECT_EQ(delta(now, counter("dkim_results_total")), 1);
    EXPECT_EQ(delta(now, counter("dmarc_results_total"), {{"result", "none"}}), 1);
    EXPECT_EQ(delta(now, counter("dmarc_results_total")), 1);
    // No ARC field: one chain result, none (ARC runs with DKIM).
    EXPECT_EQ(delta(now, counter("arc_results_total"), {{"result", "none"}}), 1);
    EXPECT_EQ(delta(now, counter("arc_results_total")), 1);
}

TEST_F(MetricsTest, RefusalsAreCountedPerReasonClassAndConnector) {
    ASSERT_NO_FATAL_FAILURE(start());
    {
        // SIZE= over the Internet connector's max_message_size: 552 at MAIL.
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        const auto r = mta.mail("<bob@fabrikam.example>", {"SIZE=5000"});
        ASSERT_EQ(r.smtp_code(), 552) << describe(r);
    }
    {
        // An anonymous client sending as our own domain: 550 5.7.1 at MAIL.
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        const auto r = mta.mail("<ceo@contoso.com>");
        ASSERT_EQ(r.smtp_code(), 550) << describe(r);
    }
    {
        // The relay device relays (its connector grants Accept-Any-Recipient).
        SmtpClient device;
        device.ip = "10.1.1.1";
        device.name = "[10.1.1.1]";
        Mta mta(socket_spec(), device);
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.mail("<scanner@contoso.com>").proceeds());
        ASSERT_TRUE(mta.rcpt("<someone@outside.example>").proceeds());
    }
    {
        // Port 2525 is no connector's binding: 421 at connect, connector "(none)".
        SmtpClient stranger;
        stranger.local_port = "2525";
        Mta mta(socket_spec(), stranger);
        const auto r = mta.connect();
        ASSERT_EQ(r.smtp_code(), 421) << describe(r);
    }
    const auto now = scrape();
    EXPECT_EQ(delta(now, counter("decision_reasons_total"),
                    {{"connector", "Internet"}, {"reason", "size"}, {"action", "reject"}}),
              1);
    EXPECT_EQ(delta(now, counter("decision_reasons_total"),
                    {{"connector", "Internet"}, {"reason", "sender"}, {"action", "reject"}}),
              1);
    EXPECT_EQ(delta(now, counter("decision_reasons_total"),
                    {{"connector", "(none)"}, {"reason", "connector"}, {"action", "tempfail"}}),
              1);
    EXPECT_EQ(delta(now, counter("decision_reasons_total")), 3);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"connector", "Internet"}, {"stage", "mail"}, {"action", "reject"}}),
              2);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"connector", "Relay"}, {"stage", "rcpt"}, {"action", "continue"}}),
              1);
    EXPECT_EQ(delta(now, counter("sessions_refused_total"), {{"connector", "(none)"}}), 1);
    EXPECT_EQ(delta(now, counter("sessions_refused_total")), 1);
    EXPECT_EQ(delta(now, counter("sessions_opened_total"), {{"connector", "Internet"}}), 2);
    EXPECT_EQ(delta(now, counter("sessions_opened_total"), {{"connector", "Relay"}}), 1);
}

TEST_F(MetricsTest, ADmarcQuarantineIsCountedAsAQuarantineForReasonDmarc) {
    ASSERT_NO_FATAL_FAILURE(start());
    {
        // SPF passes for fabrikam.example, the author domain quarantine.example
        // is not aligned and publishes p=quarantine.
        SimpleMessage m;
        m.headers[0] = {"From", "Eve <eve@quarantine.example>"};
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        const auto r = mta.send(m);
        ASSERT_TRUE(r.quarantine.has_value()) << describe(r);
    }
    const auto now = scrape();
    EXPECT_EQ(delta(now, counter("decisions_total"),
                    {{"connector", "Internet"}, {"stage", "eom"}, {"action", "quarantine"}}),
              1);
    EXPECT_EQ(delta(now, counter("decisions_total"), {{"stage", "eom"}, {"action", "continue"}}), 0);
    EXPECT_EQ(delta(now, counter("decision_reasons_total"),
                    {{"connector", "Internet"}, {"reason", "dmarc"}, {"action", "quarantine"}}),
              1);
    EXPECT_EQ(delta(now, counter("dmarc_results_total"), {{"result", "fail"}}), 1);
}

TEST_F(MetricsTest, ActiveSessionsGoUpWhileASessionIsOpenAndBackWhenItEnds) {
    ASSERT_NO_FATAL_FAILURE(start());
    const Labels internet{{"connector", "Internet"}};
    {
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        EXPECT_EQ(metrics::sum_of(scrape(), counter("sessions_active"), internet), 1);
    }
    // The close reaches the daemon after QUIT: wait for it, bounded.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (metrics::sum_of(scrape(), counter("sessions_active"), internet) != 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    EXPECT_EQ(metrics::sum_of(scrape(), counter("sessions_active"), internet), 0);
}

TEST_F(MetricsTest, EachDecidingEventIsTimedUnderItsStage) {
    ASSERT_NO_FATAL_FAILURE(start());
    const SimpleMessage m;
    {
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.send(m).proceeds());
    }
    const auto now = scrape();
    const std::string h = counter("stage_duration_seconds_count");
    EXPECT_EQ(delta(now, h, {{"stage", "connect"}}), 1);
    EXPECT_EQ(delta(now, h, {{"stage", "mail"}}), 1);
    EXPECT_EQ(delta(now, h, {{"stage", "eoh"}}), 1);
    // Header lines and body chunks are not timed (the cost of counting).
    EXPECT_EQ(delta(now, h, {{"stage", "header"}}), 0);
    EXPECT_EQ(delta(now, h, {{"stage", "eom"}}), 1);
    // Every observation is under the +Inf bucket and in the sum.
    EXPECT_EQ(delta(now, counter("stage_duration_seconds_bucket"), {{"stage", "eom"}, {"le", "+Inf"}}), 1);
    EXPECT_GT(delta(now, counter("stage_duration_seconds_sum"), {{"stage", "eom"}}), 0);
}

TEST_F(MetricsTest, ReloadsAreCountedByResultAndTheLoadTimeIsExported) {
    ASSERT_NO_FATAL_FAILURE(start());
    const double loaded_at = metrics::sum_of(before_, counter("config_loaded_timestamp_seconds")).value_or(0);
    EXPECT_GT(loaded_at, 1.6e9);  // a Unix time, set at start
    EXPECT_GE(metrics::sum_of(before_, counter("config_age_seconds")).value_or(-1), 0);
    ASSERT_NO_FATAL_FAILURE(reload_daemon(rest_));
    EXPECT_TRUE(wait_for_delta(counter("config_reloads_total"), {{"result", "ok"}}, 1)) << daemon_->log();
    dir_.write("connector-milter.conf", "[milter\n");  // does not parse
    daemon_->signal(SIGUSR1);
    EXPECT_TRUE(wait_for_delta(counter("config_reloads_total"), {{"result", "failed"}}, 1)) << daemon_->log();
    EXPECT_EQ(delta(scrape(), counter("config_reloads_total"), {{"result", "ok"}}), 1);
}

TEST_F(MetricsTest, ConnectionsRefusedWhileDrainingAreEngineTempfails) {
    ASSERT_NO_FATAL_FAILURE(start());
    Mta busy(socket_spec(), SmtpClient{});
    ASSERT_TRUE(busy.connect().proceeds());  // holds the drain open
    ASSERT_NO_FATAL_FAILURE(sigterm_daemon());
    ASSERT_TRUE(wait_for_log({"stopping: new connections get 421 4.3.2"}, 5s)) << daemon_->log();
    {
        Mta late(socket_spec(), SmtpClient{});
        const auto r = late.connect();
        EXPECT_EQ(r.smtp_code(), 421) << describe(r);
    }
    const auto now = scrape();
    EXPECT_EQ(delta(now, counter("engine_tempfails_total"), {{"reason", "draining"}}), 1);
    EXPECT_EQ(delta(now, counter("engine_tempfails_total")), 1);
    EXPECT_EQ(delta(now, counter("sessions_opened_total")), 1);
    busy.quit();
}

// One accepted message and one relay refusal: what a dashboard needs to
// show something in every panel.
void process_some_mail(const std::string& socket) {
    Mta mta(socket, SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.send(SimpleMessage{}).proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    ASSERT_EQ(mta.rcpt("<someone@outside.example>").smtp_reply(), kRelayDenied);
}

std::string source_file(const std::string& relative) {
    const char* top = std::getenv("TOP_SRCDIR");
    return std::string(top && *top ? top : "..") + "/" + relative;
}

TEST_F(MetricsTest, EveryMetricTheGrafanaDashboardQueriesIsInARealScrape) {
    // Connection filtering with one block list provider, so that its
    // panel has answers to show (the static zone lists nobody).
    std::string filtering = kConnectors;
    const std::string key = "max_message_size = 1000\n";
    filtering.replace(filtering.find(key), key.size(), key + "connection_filtering = true\n");
    // The relay device's mail is signed (an Ed25519 key made here), so
    // that the DKIM signing panel has signatures to show.
    const std::string key_file = (dir_.path() / "contoso.key").string();
    const auto made = run_command({"/usr/bin/openssl", "genpkey", "-algorithm", "ed25519", "-out", key_file}, 30s);
    ASSERT_TRUE(made.exited && made.exit_code == 0) << made.output;
    ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
    const std::string relay_key = "tarpit_interval = 0\n";
    const auto relay = filtering.rfind(relay_key);
    filtering.replace(relay, relay_key.size(), relay_key + "dkim_sign = true\n");
    ASSERT_NO_FATAL_FAILURE(start(filtering, "\n[[block_list_provider]]\nname = \"Bench List\"\nlookup_domain = "
                                             "\"bl.example\"\n\n[dkim_signing]\n[[dkim_signing.key]]\nname = \"ed\"\n"
                                             "domain = \"contoso.com\"\nselector = \"s1\"\nprivate_key = \"" +
                                                 key_file + "\"\n[[dkim_signing.rule]]\npattern = \"*@contoso.com\"\n"
                                                       "keys = [\"ed\"]\n"));
    ASSERT_NO_FATAL_FAILURE(process_some_mail(socket_spec()));
    {
        SmtpClient device;
        device.ip = "10.1.1.1";
        device.name = "[10.1.1.1]";
        Mta mta(socket_spec(), device);
        ASSERT_TRUE(mta.connect().proceeds());
        SimpleMessage m;
        m.from = "<scanner@contoso.com>";
        m.recipients = {"<someone@outside.example>"};
        m.headers[0] = {"From", "Scanner <scanner@contoso.com>"};
        const auto r = mta.send(m);
        ASSERT_TRUE(r.proceeds()) << describe(r);
    }
    std::string why;
    const auto body = metrics::http_get(url(), 5s, &why);
    ASSERT_TRUE(body) << why;
    const std::string scrape = dir_.write("scrape.txt", *body);
    const auto r = run_command({"/usr/bin/python3", source_file("tests/protocol/dashboard_metrics.py"),
                                source_file("conf/grafana-dashboard.json"), scrape},
                               30s);
    EXPECT_TRUE(r.exited && r.exit_code == 0) << r.output;
}

TEST_F(MetricsTest, StatusSummarisesSessionsDecisionsAndDns) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_NO_FATAL_FAILURE(process_some_mail(socket_spec()));
    const auto total = run_command({daemon_path(), "status", "--metrics", url(), "--interval", "0"}, 30s);
    ASSERT_TRUE(total.exited && total.exit_code == 0) << total.output;
    EXPECT_NE(total.output.find("sessions: 0 active; since start: 1 opened, 0 refused at connect"), std::string::npos)
        << total.output;
    EXPECT_NE(total.output.find("\"Internet\": 0 active, 1 sessions, 1 messages accepted, 0 quarantined, 1 rejected, "
                                "0 tempfailed (relay 1)"),
              std::string::npos)
        << total.output;
    EXPECT_NE(total.output.find("DNS since start: ok: 0 queries upstream"), std::string::npos) << total.output;
    // With an interval, what happened before the first reading is not counted.
    const auto lately = run_command({daemon_path(), "status", "--metrics", url(), "--interval", "0.2"}, 30s);
    ASSERT_TRUE(lately.exited && lately.exit_code == 0) << lately.output;
    EXPECT_NE(lately.output.find("in the last 0.2 s: 0 opened, 0 refused at connect"), std::string::npos)
        << lately.output;
    EXPECT_EQ(lately.output.find("\"Internet\""), std::string::npos) << lately.output;
}

TEST_F(MetricsTest, StatusSaysWhenTheEndpointCannotBeReached) {
    const auto r = run_command(
        {daemon_path(), "status", "--metrics", "http://127.0.0.1:" + std::to_string(free_tcp_port()) + "/metrics"},
        30s);
    EXPECT_TRUE(r.exited && r.exit_code == 1) << r.output;
    EXPECT_NE(r.output.find("is [metrics] listen set?"), std::string::npos) << r.output;
}

TEST_F(MetricsTest, TheBuildInfoNamesTheVersion) {
    ASSERT_NO_FATAL_FAILURE(start());
    const auto now = scrape();
    bool found = false;
    for (const auto& s : now)
        if (s.name == counter("build_info")) {
            found = true;
            EXPECT_EQ(s.value, 1);
            EXPECT_EQ(s.labels.count("version"), 1u);
        }
    EXPECT_TRUE(found);
}

}  // namespace
}  // namespace protocol_test

namespace protocol_test {
namespace {

// One relay refusal on "Internet": +1 on decision_reasons_total{Internet,relay,reject}.
void refuse_one_relay(const std::string& socket) {
    Mta mta(socket, SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    ASSERT_EQ(mta.rcpt("<someone@outside.example>").smtp_reply(), kRelayDenied);
}

const Labels kInternetRelayReject{{"connector", "Internet"}, {"reason", "relay"}, {"action", "reject"}};

// Leaves a socket file at `path` as a killed daemon would: bound, then
// closed without unlink.
void leave_stale_socket(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    ASSERT_LT(path.size(), sizeof sa.sun_path);
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
    ::close(fd);
}

// A client that is not ours (Python's socket module, raw HTTP/1.0), so
// that the unix endpoint is shown to speak plain HTTP to anyone.
const char* const kPythonUnixGet =
    "import socket, sys\n"
    "s = socket.socket(socket.AF_UNIX)\n"
    "s.settimeout(5)\n"
    "s.connect(sys.argv[1])\n"
    "s.sendall(b'GET /metrics HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n')\n"
    "data = b''\n"
    "while True:\n"
    "    chunk = s.recv(65536)\n"
    "    if not chunk: break\n"
    "    data += chunk\n"
    "head, _, body = data.partition(b'\\r\\n\\r\\n')\n"
    "sys.stdout.write(head.split(b'\\r\\n')[0].decode() + '\\n' + body.decode())\n";

// [metrics] listen = "unix:/path": the endpoint on a unix-domain socket,
// mode 0660, replacing a stale socket a killed daemon left, serving exact
// counts to our client, to Python and to `status`, removed at exit.
TEST_F(MetricsTest, AUnixSocketEndpointServesExactCountsAndIsRemovedAtExit) {
    const std::string path = (dir_.path() / "metrics.sock").string();
    ASSERT_NO_FATAL_FAILURE(leave_stale_socket(path));
    ASSERT_NO_FATAL_FAILURE(start_on("unix:" + path, "unix:" + path));
    struct stat st{};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path;
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0660U) << std::oct << (st.st_mode & 07777);
    ASSERT_NO_FATAL_FAILURE(refuse_one_relay(socket_spec()));
    EXPECT_EQ(delta(scrape(), counter("decision_reasons_total"), kInternetRelayReject), 1);
    EXPECT_EQ(delta(scrape(), counter("decision_reasons_total")), 1);

    const auto python = run_command({"/usr/bin/python3", "-c", kPythonUnixGet, path}, 30s);
    ASSERT_TRUE(python.exited && python.exit_code == 0) << python.output;
    const auto nl = python.output.find('\n');
    EXPECT_EQ(python.output.substr(0, nl).rfind("HTTP/1.", 0), 0U) << python.output.substr(0, 200);
    EXPECT_NE(python.output.substr(0, nl).find(" 200 "), std::string::npos) << python.output.substr(0, 200);
    std::size_t bad = 0;
    const auto samples = metrics::parse_exposition(python.output.substr(nl + 1), &bad);
    EXPECT_EQ(bad, 0U);
    EXPECT_EQ(delta(samples, counter("decision_reasons_total"), kInternetRelayReject), 1);

    const auto status = run_command({daemon_path(), "status", "--metrics", "unix:" + path, "--interval", "0"}, 30s);
    ASSERT_TRUE(status.exited && status.exit_code == 0) << status.output;
    EXPECT_NE(status.output.find("at unix:" + path), std::string::npos) << status.output;
    EXPECT_NE(status.output.find("0 tempfailed (relay 1)"), std::string::npos) << status.output;
    // Without --metrics, status finds the socket in the configuration.
    const auto from_config = run_command({daemon_path(), "status", "-c", config_path_, "--interval", "0"}, 30s);
    EXPECT_NE(from_config.output.find("at unix:" + path), std::string::npos) << from_config.output;

    ASSERT_NO_FATAL_FAILURE(sigterm_daemon());
    ASSERT_TRUE(daemon_->exits_within(10s)) << daemon_->log();
    EXPECT_NE(::lstat(path.c_str(), &st), 0) << path << " is still there after the daemon ended";
}

// A file at the path that is not a socket is not the daemon's to remove:
// it does not start, and says why.
TEST_F(MetricsTest, AFileThatIsNotASocketAtTheUnixPathIsKeptAndTheDaemonDoesNotStart) {
    const std::string path = dir_.write("metrics.sock", "not a socket\n");
    socket_spec_ = "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1";
    dir_.write("zone", kZone);
    config_path_ = dir_.write("connector-milter.conf",
                              config_text("[metrics]\nlisten = \"unix:" + path + "\"\n" + kDomains + kConnectors));
    const auto r = run_command({daemon_path(), "-f", "-R", "-c", config_path_, "-p", socket_spec_}, 30s);
    EXPECT_TRUE(r.exited && r.exit_code == 1) << r.output;
    EXPECT_NE(r.output.find("cannot serve metrics on unix:" + path), std::string::npos) << r.output;
    struct stat st{};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
}

// [metrics] listen = "[::1]:PORT": IPv6, read by our client and `status`.
TEST_F(MetricsTest, AnIpv6LoopbackEndpointServesExactCounts) {
    const std::string port = std::to_string(free_tcp_port());
    ASSERT_NO_FATAL_FAILURE(start_on("[::1]:" + port, "http://[::1]:" + port + "/metrics"));
    ASSERT_NO_FATAL_FAILURE(refuse_one_relay(socket_spec()));
    EXPECT_EQ(delta(scrape(), counter("decision_reasons_total"), kInternetRelayReject), 1);
    const auto status = run_command({daemon_path(), "status", "-c", config_path_, "--interval", "0"}, 30s);
    ASSERT_TRUE(status.exited && status.exit_code == 0) << status.output;
    EXPECT_NE(status.output.find("at http://[::1]:" + port + "/metrics"), std::string::npos) << status.output;
    EXPECT_NE(status.output.find("0 tempfailed (relay 1)"), std::string::npos) << status.output;
}

// Only /metrics answers, and only to GET and HEAD.
TEST_F(MetricsTest, OtherPathsAre404AndOtherMethods405) {
    ASSERT_NO_FATAL_FAILURE(start());
    std::string why;
    const std::string base = "http://127.0.0.1:" + std::to_string(metrics_port_);
    EXPECT_FALSE(metrics::http_get(base + "/", 5s, &why));
    EXPECT_EQ(why, "HTTP status 404");
    const auto post = run_command({"/usr/bin/python3", "-c",
                                   "import http.client, sys\n"
                                   "c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=5)\n"
                                   "c.request('POST', '/metrics', body=b'x')\n"
                                   "print(c.getresponse().status)\n",
                                   std::to_string(metrics_port_)},
                                  30s);
    EXPECT_EQ(post.output, "405\n");
}

// A listen value that is not an address is refused when the configuration
// is read, with the file and line, not when the endpoint starts.
TEST_F(MetricsTest, AListenValueThatIsNotAnAddressIsAConfigErrorWithFileAndLine) {
    socket_spec_ = "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1";
    dir_.write("zone", kZone);
    for (const std::string bad : {"localhost:9892", "[::1]9892", "unix:metrics.sock", "127.0.0.1:0"}) {
        config_path_ = dir_.write("connector-milter.conf",
                                  config_text(kDomains + kConnectors + "\n[metrics]\nlisten = \"" + bad + "\"\n"));
        // The line of listen = in the file written.
        const std::string text = config_text(kDomains + kConnectors + "\n[metrics]\nlisten = \"" + bad + "\"\n");
        const auto line = std::count(text.begin(), text.end(), '\n');
        const auto r = run_command({daemon_path(), "-n", "-c", config_path_}, 30s);
        EXPECT_TRUE(r.exited && r.exit_code != 0) << r.output;
        // That error and no other.
        EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
        EXPECT_NE(r.output.find(config_path_ + ":" + std::to_string(line) + ": metrics.listen: \"" + bad + "\": "),
                  std::string::npos)
            << r.output;
    }
}

// SIGTERM ends the daemon promptly with the endpoint on, even while a
// scraper holds a connection open without sending its request: stopping
// the HTTP side wakes its thread at once (no poll timeout to sit out).
TEST_F(MetricsTest, TheDaemonExitsPromptlyWithTheEndpointOnAndAnIdleScraperConnected) {
    ASSERT_NO_FATAL_FAILURE(start());
    const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(idle, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(metrics_port_);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(idle, reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0) << std::strerror(errno);
    const auto sigterm_at = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(sigterm_daemon());
    ASSERT_TRUE(daemon_->exits_within(10s)) << daemon_->log();
    const auto took = std::chrono::steady_clock::now() - sigterm_at;
    ::close(idle);
    // Typically 10-20 ms; civetweb's listener, which served the endpoint
    // before, looked at its stop flag only every 2 s.
    EXPECT_LT(took, 1500ms) << std::chrono::duration<double>(took).count() << " s\n" << daemon_->log();
}

}  // namespace
}  // namespace protocol_test
