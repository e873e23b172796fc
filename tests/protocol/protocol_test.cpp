// Protocol tests: the built daemon, driven over the real milter protocol the
// way Postfix drives it. Scenarios are those of Microsoft's receive-connector
// articles (issue 2), the SPF/Authentication-Results behaviour (issue 3), and
// milter protocol abuse (issue 7).
//
// Expected SMTP replies are Exchange's own texts as the issues quote them,
// never values read back from the daemon's code.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <libmilter/mfdef.h>

#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::Action;
using milterclient::EomResult;
using milterclient::Response;
using Clock = std::chrono::steady_clock;

// ---- Exchange reply texts (issue 2, "Exchange semantics to reproduce") ----
constexpr const char* kNoConnector = "421 4.3.2 Service not available";

// ---- Configuration pieces ----
const std::string kAcceptedDomains = authoritative_domain("contoso.com");

// Exchange's "Default Frontend" receive connector, with a small size limit so
// that the size tests need no big messages.
const std::string kDefaultFrontend =
    internet_connector("Default Frontend", "max_message_size = \"1KB\"\ntarpit_interval = 0\n");

// Exchange's "anonymous relay" receive connector for a device at `ranges`.
std::string anonymous_relay(const std::string& ranges) {
    return protocol_test::anonymous_relay(ranges, "tarpit_interval = 0\n");
}

// A partner or appliance that Exchange treats as one of its own servers
// ("Externally secured", ExternalAuthoritative).
const std::string kExternalAuthoritative = R"(
[[connector]]
name = "Externally Secured"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.38.96.15"]
permission_groups = ["ExchangeServers"]
auth_mechanisms = ["ExternalAuthoritative"]
max_message_size = "1KB"
tarpit_interval = 0
)";

SmtpClient internet_client() { return SmtpClient{}; }  // 198.51.100.7, mail.fabrikam.example

SmtpClient client_at(const std::string& ip) {
    SmtpClient c;
    c.ip = ip;
    c.name = "[" + ip + "]";
    c.helo = "device.contoso.com";
    return c;
}

SimpleMessage message_to(const std::string& rcpt) {
    SimpleMessage m;
    m.recipients = {rcpt};
    m.headers[1].second = rcpt.substr(1, rcpt.size() - 2);
    return m;
}

// Reads and drops whatever the daemon sends for `quiet` (until it is quiet
// that long, or closes the connection).
void drain(milterclient::Session& s, std::chrono::milliseconds quiet) {
    try {
        while (s.read_packet(quiet)) {
        }
    } catch (const milterclient::Error&) {
        // closed: nothing more to drain
    }
}

// ===========================================================================
// Receive connectors (issue 2)
// ===========================================================================

class ConnectorTest : public DaemonTest {};

TEST_F(ConnectorTest, AnonymousExternalServerToInternalRecipientIsAccepted) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend));
    Mta mta(socket_spec(), internet_client());
    const Response c = mta.connect();
    ASSERT_TRUE(c.proceeds()) << describe(c);
    const EomResult r = mta.send(message_to("<user@contoso.com>"));
    EXPECT_TRUE(r.proceeds()) << describe(r);
    EXPECT_NE(r.action, Action::Discard);
}

TEST_F(ConnectorTest, AnonymousRelayToNonAcceptedDomainIsRefusedWith5_7_54) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend));
    Mta mta(socket_spec(), internet_client());
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    const Response r = mta.rcpt("<someone@external.example>");
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.reply, kRelayDenied);
}

// Issue 12: an MTA that does not send {daemon_addr} (or sends a wildcard
// listener's 0.0.0.0 without {if_addr}) must not hand the relay device's
// address to the wider Default Frontend, nor the reverse: the session is
// refused with 421 4.3.2 and the log names the connector it could not judge.
TEST_F(ConnectorTest, UnknownLocalAddressWhereASpecificBindingWouldServeTheClientGets421) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    for (const char* local_addr : {"", "0.0.0.0"}) {
        SmtpClient device = client_at("10.0.0.80");
        device.local_addr = local_addr;
        Mta mta(socket_spec(), device);
        const Response c = mta.connect();
        EXPECT_EQ(c.action, Action::ReplyCode) << describe(c);
        EXPECT_EQ(c.reply, kNoConnector) << "{daemon_addr}=\"" << local_addr << "\"";
    }
    // A client that no specific binding would serve is not affected.
    SmtpClient internet = internet_client();
    internet.local_addr = "";
    Mta mta(socket_spec(), internet);
    EXPECT_TRUE(mta.connect().proceeds());
}

// sendmail's {daemon_addr} is the address it listens on: 0.0.0.0 for a
// wildcard listener. The address the client reached is then {if_addr}
// (sendmail op.me, "Macros"), so the relay connector bound to 10.0.0.50
// serves its device, where Postfix's {daemon_addr} would have said so.
TEST_F(ConnectorTest, SendmailWildcardListenerFallsBackToIfAddrForTheBinding) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    SmtpClient device = client_at("10.0.0.80");
    device.local_addr = "0.0.0.0";
    device.if_addr = "10.0.0.50";
    Mta mta(socket_spec(), device);
    const Response c = mta.connect();
    ASSERT_TRUE(c.proceeds()) << "{daemon_addr}=0.0.0.0 {if_addr}=10.0.0.50: " << describe(c);
    ASSERT_TRUE(mta.mail("<scanner@contoso.com>").proceeds());
    const Response rcpt = mta.rcpt("<someone@external.example>");
    EXPECT_TRUE(rcpt.proceeds()) << "the Anonymous Relay connector was not selected: " << describe(rcpt);
}

TEST_F(ConnectorTest, AnonymousRelayConnectorLetsItsDeviceRelay) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    Mta mta(socket_spec(), client_at("10.0.0.80"));
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m = message_to("<someone@external.example>");
    m.from = "<scanner@contoso.com>";
    m.headers[0].second = "Scanner <scanner@contoso.com>";
    const Response mail = mta.mail(m.from);
    ASSERT_TRUE(mail.proceeds()) << describe(mail);
    const Response rcpt = mta.rcpt(m.recipients[0]);
    EXPECT_TRUE(rcpt.proceeds()) << describe(rcpt);
}

TEST_F(ConnectorTest, AnonymousRelayConnectorDoesNotLetItsNeighbourRelay) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    Mta mta(socket_spec(), client_at("10.0.0.81"));
    ASSERT_TRUE(mta.connect().proceeds());
    const Response mail = mta.mail("<carol@nospf.example>");
    ASSERT_TRUE(mail.proceeds()) << describe(mail);
    const Response r = mta.rcpt("<someone@external.example>");
    EXPECT_EQ(r.reply, kRelayDenied) << describe(r);
}

// Exchange matches an IPv4-mapped IPv6 client against IPv4 ranges; the MTA
// reports such a client with family inet6 (SMFIA_INET6).
TEST_F(ConnectorTest, Ipv4MappedIpv6ClientUsesTheRelayConnectorOfItsIpv4Address) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    Mta mta(socket_spec(), client_at("::ffff:10.0.0.80"));
    const Response c = mta.connect();
    ASSERT_TRUE(c.proceeds()) << describe(c);
    const Response mail = mta.mail("<scanner@contoso.com>");
    ASSERT_TRUE(mail.proceeds()) << describe(mail);
    const Response r = mta.rcpt("<someone@external.example>");
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

// sendmail reuses a milter connection for the next SMTP client (QUIT_NC);
// the new client must get its own connector decision.
TEST_F(ConnectorTest, ReusedMilterConnectionGetsTheNextClientsDecision) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    Mta mta(socket_spec(), client_at("10.0.0.80"));
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m = message_to("<someone@external.example>");
    m.from = "<scanner@contoso.com>";
    m.headers[0].second = "Scanner <scanner@contoso.com>";
    const EomResult first = mta.send(m);
    ASSERT_TRUE(first.proceeds()) << "10.0.0.80 could not relay: " << describe(first);
    mta.reuse_for(client_at("10.0.0.81"));
    const Response c = mta.connect();
    ASSERT_TRUE(c.proceeds()) << describe(c);
    ASSERT_TRUE(mta.mail("<carol@nospf.example>").proceeds());
    const Response r = mta.rcpt("<someone@external.example>");
    EXPECT_EQ(r.reply, kRelayDenied) << "the second client inherited the first one's relay right: "
                                     << describe(r);
}

TEST_F(ConnectorTest, AnonymousRelayDeviceMessageIsAcceptedAtEndOfMessage) {
    ASSERT_NO_FATAL_FAILURE(
        start_daemon(kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"")));
    Mta mta(socket_spec(), client_at("10.0.0.80"));
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m = message_to("<someone@external.example>");
    m.from = "<scanner@contoso.com>";
    m.headers[0].second = "Scanner <scanner@contoso.com>";
    const EomResult r = mta.send(m);
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

TEST_F(ConnectorTest, AuthenticatedUserRelays) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend));
    SmtpClient client = client_at("203.0.113.25");
    client.helo = "laptop.home.example";
    client.auth_user = "alice@contoso.com";
    client.tls = true;
    Mta mta(socket_spec(), client);
    // Submission clients authenticate after STARTTLS; tell the daemon so, as
    // Postfix does with its HELO-stage TLS macros.
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m = message_to("<someone@external.example>");
    m.from = "<alice@contoso.com>";
    m.headers[0].second = "Alice <alice@contoso.com>";
    const EomResult r = mta.send(m);
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

TEST_F(ConnectorTest, SameClientWithoutAuthenticationCannotRelay) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend));
    SmtpClient client = client_at("203.0.113.25");
    client.helo = "laptop.home.example";
    Mta mta(socket_spec(), client);
    ASSERT_TRUE(mta.connect().proceeds());
    const Response mail = mta.mail("<carol@nospf.example>");
    ASSERT_TRUE(mail.proceeds()) << describe(mail);
    const Response r = mta.rcpt("<someone@external.example>");
    EXPECT_EQ(r.reply, kRelayDenied) << describe(r);
}

TEST_F(ConnectorTest, ExternalAuthoritativeConnectorRelays) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend + kExternalAuthoritative));
    Mta mta(socket_spec(), client_at("10.38.96.15"));
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<app@partner.example>").proceeds());
    const Response r = mta.rcpt("<someone@external.example>");
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

TEST_F(ConnectorTest, ExternalAuthoritativeConnectorBypassesSizeParameterLimit) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend + kExternalAuthoritative));
    Mta mta(socket_spec(), client_at("10.38.96.15"));
    ASSERT_TRUE(mta.connect().proceeds());
    const Response r = mta.mail("<app@partner.example>", {"SIZE=500000"});
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

TEST_F(ConnectorTest, ExternalAuthoritativeConnectorBypassesRealSizeLimit) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend + kExternalAuthoritative));
    Mta mta(socket_spec(), client_at("10.38.96.15"));
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m = message_to("<someone@external.example>");
    m.from = "<app@partner.example>";
    m.headers[0].second = "App <app@partner.example>";
    m.body = std::string(100, 'x') + "\r\n";
    while (m.body.size() < 8000) m.body += m.body;  // far above the 1 KB limit
    const EomResult r = mta.send(m);
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

TEST_F(ConnectorTest, AnonymousSizeParameterOverLimitIsRefusedWith552_5_3_4) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend + kExternalAuthoritative));
    Mta mta(socket_spec(), internet_client());
    ASSERT_TRUE(mta.connect().proceeds());
    const Response r = mta.mail("<bob@fabrikam.example>", {"SIZE=500000"});
    EXPECT_EQ(r.reply, kTooLarge) << describe(r);
}

TEST_F(ConnectorTest, AnonymousMessageOverLimitWithoutSizeParameterIsRefusedWith552_5_3_4) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend + kExternalAuthoritative));
    Mta mta(socket_spec(), internet_client());
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m = message_to("<user@contoso.com>");
    m.body = std::string(100, 'x') + "\r\n";
    while (m.body.size() < 8000) m.body += m.body;
    const EomResult r = mta.send(m);
    EXPECT_EQ(r.smtp_reply(), kTooLarge) << describe(r);
}

TEST_F(ConnectorTest, ConnectionMatchingNoConnectorGets421_4_3_2) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + R"(
[[connector]]
name = "Internal only"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.0/24"]
permission_groups = ["AnonymousUsers"]
tarpit_interval = 0
)"));
    Mta mta(socket_spec(), internet_client());
    Response r = mta.connect();
    // Exchange refuses at connection time; an MTA-side milter may only be
    // able to say so at the first event that carries a reply.
    if (r.proceeds()) r = mta.mail("<bob@fabrikam.example>");
    EXPECT_EQ(r.smtp_reply(), kNoConnector) << describe(r);
}

TEST_F(ConnectorTest, DaemonServesALocalSocket) {
    const std::string spec = "local:" + (dir_.path() / "milter.sock").string();
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend, spec));
    Mta mta(spec, internet_client());
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    EXPECT_EQ(mta.rcpt("<someone@external.example>").reply, kRelayDenied);
}

TEST_F(ConnectorTest, DaemonServesAnInet6Socket) {
    {
        // A host without IPv6 loopback cannot run this test.
        const int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
        sockaddr_in6 sin6{};
        sin6.sin6_family = AF_INET6;
        sin6.sin6_addr = in6addr_loopback;
        const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&sin6), sizeof sin6) == 0;
        if (fd >= 0) ::close(fd);
        if (!ok) GTEST_SKIP() << "no IPv6 loopback on this host";
    }
    const std::string spec = "inet6:" + std::to_string(milterclient::free_tcp_port()) + "@::1";
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend, spec));
    Mta mta(spec, internet_client());
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    EXPECT_EQ(mta.rcpt("<someone@external.example>").reply, kRelayDenied);
}

// ---- reload (SIGUSR1) ----

class ReloadTest : public DaemonTest {
protected:
    std::string before() const {
        return kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\"");
    }
    std::string after() const {
        return kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.99\"");
    }
    // The verdict a brand-new connection from `ip` gets for an external RCPT.
    Response new_connection_relay(const std::string& ip) {
        Mta mta(socket_spec(), client_at(ip));
        const Response c = mta.connect();
        if (!c.proceeds()) return c;
        const Response m = mta.mail("<scanner@contoso.com>");
        if (!m.proceeds()) return m;
        Response r = mta.rcpt("<someone@external.example>");
        mta.quit();
        return r;
    }
    // Polls new connections until 10.0.0.80 can no longer relay.
    bool wait_until_relay_refused(std::chrono::milliseconds timeout) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            if (new_connection_relay("10.0.0.80").reply == kRelayDenied) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }
};

TEST_F(ReloadTest, ReloadThatRemovesARelayHostRefusesItsNewConnections) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(before()));
    const Response first = new_connection_relay("10.0.0.80");
    ASSERT_TRUE(first.proceeds()) << "before the reload: " << describe(first);
    ASSERT_NO_FATAL_FAILURE(reload_daemon(after()));
    EXPECT_TRUE(wait_until_relay_refused(10s)) << "10.0.0.80 could still relay 10 s after SIGUSR1";
}

TEST_F(ReloadTest, SessionOpenedBeforeReloadKeepsItsConnectorDecision) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(before()));
    Mta old_session(socket_spec(), client_at("10.0.0.80"));
    ASSERT_TRUE(old_session.connect().proceeds());
    ASSERT_NO_FATAL_FAILURE(reload_daemon(after()));
    ASSERT_TRUE(wait_until_relay_refused(10s)) << "the reload did not take effect within 10 s";
    ASSERT_TRUE(old_session.mail("<scanner@contoso.com>").proceeds());
    const Response r = old_session.rcpt("<someone@external.example>");
    EXPECT_TRUE(r.proceeds()) << "the session opened before the reload lost its relay right: " << describe(r);
}

TEST_F(ReloadTest, ReloadWithInvalidConfigKeepsTheOldOne) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(before()));
    ASSERT_NO_FATAL_FAILURE(reload_daemon(before() + "\n[[connector]]\nname = \"Broken\"\nbindings = [\"10.0.0.50:25\"]\n"
                                                     "remote_ip_ranges = [\"10.0.0.300\"]\n"));
    // Wait until the daemon has looked at the new file: it logs why it
    // refused it as "file:line: message".
    const auto deadline = Clock::now() + 10s;
    bool logged = false;
    while (!logged && Clock::now() < deadline) {
        logged = daemon_->log().find("10.0.0.300") != std::string::npos;
        if (!logged) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(logged) << "no log line about the invalid config within 10 s";
    const Response r = new_connection_relay("10.0.0.80");
    EXPECT_TRUE(r.proceeds()) << "after an invalid reload: " << describe(r);
}

// ---- SIGTERM ----

class LifecycleTest : public DaemonTest {};

// Issue 2: "SIGTERM drains in-flight sessions with a bound"; issue 7: "in-flight
// sessions finish or get a tempfail, none accepted unchecked". A session that
// is between RCPT and DATA when SIGTERM arrives must still get an answer at
// end of message (sendmail without F=T passes mail unfiltered when the
// filter vanishes, so silence is not a safe answer).
TEST_F(LifecycleTest, SessionInFlightAtSigtermStillGetsAnAnswer) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend));
    Mta mta(socket_spec(), internet_client());
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    ASSERT_TRUE(mta.rcpt("<user@contoso.com>").proceeds());
    ASSERT_NO_FATAL_FAILURE(sigterm_daemon());
    // The daemon has begun shutting down (the drain is 3 s in the test config).
    ASSERT_TRUE(wait_for_log({"stopping: "}, 5s)) << "no drain logged within 5 s of SIGTERM";
    milterclient::Response early;
    std::optional<EomResult> eom;
    try {
        eom = mta.content(message_to("<user@contoso.com>"), &early);
    } catch (const milterclient::Error& e) {
        FAIL() << "the session in flight got no answer after SIGTERM: " << e.what();
    }
    const Response& answer = eom ? static_cast<const Response&>(*eom) : early;
    const int code = answer.smtp_code();
    EXPECT_TRUE(answer.proceeds() || (code >= 400 && code < 500)) << describe(answer);
    if (eom && eom->proceeds()) {
        EXPECT_EQ(eom->new_headers("Authentication-Results").size(), 1U)
            << "accepted without the checks (no Authentication-Results)";
    }
}

// ---- -n: check the config ----

class CheckModeTest : public ::testing::Test {
protected:
    TempDir dir_;
};

TEST_F(CheckModeTest, BadConfigExitsNonZeroNamingFileAndLine) {
    const std::string daemon = daemon_path();
    ASSERT_FALSE(daemon.empty()) << "DAEMON is not set";
    const std::string good = kAcceptedDomains + kDefaultFrontend;
    // The bad value sits on a line whose number we count ourselves.
    const std::string text = good + "\n[[connector]]\nname = \"Broken\"\nbindings = [\"10.0.0.50:25\"]\n";
    const int bad_line = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    const std::string path = dir_.write("bad.conf", text + "remote_ip_ranges = [\"10.0.0.300\"]\n");
    const CommandResult r = run_command({daemon, "-n", "-c", path}, 10s);
    ASSERT_FALSE(r.timed_out) << "-n did not finish within 10 s";
    EXPECT_TRUE(r.exited && r.exit_code != 0) << "exit " << r.exit_code << "\n" << r.output;
    EXPECT_NE(r.output.find(path + ":" + std::to_string(bad_line) + ":"), std::string::npos)
        << "expected \"" << path << ":" << bad_line << ": ...\" in:\n" << r.output;
}

TEST_F(CheckModeTest, GoodConfigExitsZero) {
    const std::string daemon = daemon_path();
    ASSERT_FALSE(daemon.empty()) << "DAEMON is not set";
    dir_.write("zone", kZone);
    const std::string path = dir_.write(
        "good.conf", "[dns]\nstatic_zone = \"" + (dir_.path() / "zone").string() + "\"\noffline = true\n" +
                         kAcceptedDomains + kDefaultFrontend + anonymous_relay("\"10.0.0.80\""));
    const CommandResult r = run_command({daemon, "-n", "-c", path}, 10s);
    ASSERT_FALSE(r.timed_out);
    EXPECT_TRUE(r.exited && r.exit_code == 0) << "exit " << r.exit_code << "\n" << r.output;
}

// Nagle / delayed ACK (issue 2): the per-message latency of back-to-back
// messages on one connection is a performance figure, measured by
// scripts/bench ("one connection, back to back" and its delayed-ACK check,
// see BENCHMARKS.md), not by this functional suite.

// ===========================================================================
// Milter protocol abuse (issue 7): the daemon keeps serving.
// ===========================================================================

class AbuseTest : public DaemonTest {
protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend)); }

    // A normal session after the abuse: accepted mail to an accepted domain,
    // and still no relay.
    void expect_normal_session_served() {
        try {
            Mta mta(socket_spec(), internet_client());
            const Response c = mta.connect();
            ASSERT_TRUE(c.proceeds()) << describe(c);
            const EomResult r = mta.send(message_to("<user@contoso.com>"));
            EXPECT_TRUE(r.proceeds()) << describe(r);
            ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
            EXPECT_EQ(mta.rcpt("<someone@external.example>").reply, kRelayDenied);
            mta.quit();
        } catch (const milterclient::Error& e) {
            FAIL() << "normal session after the abuse failed: " << e.what();
        }
    }

    // Negotiated connection with CONNECT and HELO done.
    std::unique_ptr<Mta> connected() {
        auto mta = std::make_unique<Mta>(socket_spec(), internet_client());
        const Response c = mta->connect();
        EXPECT_TRUE(c.proceeds()) << describe(c);
        return mta;
    }
};

TEST_F(AbuseTest, TruncatedPacketThenDisconnect) {
    {
        milterclient::Session s(socket_spec());
        s.negotiate();
        // Announces 200 bytes of CONNECT data, sends 6, hangs up.
        s.send_raw(milterclient::be32(201) + std::string("Chost\0", 6));
    }
    expect_normal_session_served();
}

TEST_F(AbuseTest, TruncatedPacketHeldOpenDoesNotBlockOthers) {
    milterclient::Session stuck(socket_spec());
    stuck.negotiate();
    stuck.send_raw(std::string("\x00\x00\x01", 3));  // half a length field
    expect_normal_session_served();
}

TEST_F(AbuseTest, OversizedLengthFieldClosesThatConnection) {
    auto mta = connected();
    // A header packet claiming ~2 GiB: libmilter's limit is 64 KiB.
    mta->session().send_raw(milterclient::be32(0x7FFFFFF0) + "Lname");
    EXPECT_TRUE(mta->session().wait_closed(5s)) << "the daemon kept a connection that announced 2 GiB";
    expect_normal_session_served();
}

TEST_F(AbuseTest, HeaderPacketOver64KiBClosesThatConnection) {
    auto mta = connected();
    ASSERT_TRUE(mta->mail("<bob@fabrikam.example>").proceeds());
    ASSERT_TRUE(mta->rcpt("<user@contoso.com>").proceeds());
    mta->session().data();
    const std::string value(70 * 1024, 'a');
    mta->session().send_packet(SMFIC_HEADER, std::string("X-Big\0", 6) + value + std::string(1, '\0'));
    EXPECT_TRUE(mta->session().wait_closed(5s)) << "the daemon accepted a 70 KiB milter packet";
    expect_normal_session_served();
}

TEST_F(AbuseTest, UnknownCommandDoesNotDisturbOthers) {
    auto mta = connected();
    mta->session().send_packet('Z', "garbage");
    drain(mta->session(), 500ms);
    expect_normal_session_served();
}

TEST_F(AbuseTest, GarbageInsteadOfNegotiation) {
    {
        milterclient::Session s(socket_spec());
        s.send_raw("GET / HTTP/1.0\r\nHost: x\r\n\r\n");
        (void)s.wait_closed(2s);
    }
    {
        milterclient::Session s(socket_spec());
        s.send_packet(SMFIC_OPTNEG, std::string("\x00\x00\x00\x06", 4));  // too short
        (void)s.wait_closed(2s);
    }
    expect_normal_session_served();
}

TEST_F(AbuseTest, RecipientWithoutConnectIsNotRelayed) {
    milterclient::Session s(socket_spec());
    s.negotiate();
    // No CONNECT and no HELO: MAIL and RCPT straight away.
    std::optional<milterclient::Packet> reply;
    try {
        s.send_packet(SMFIC_MAIL, std::string("<bob@fabrikam.example>\0", 23));
        (void)s.read_packet(1s);
        s.send_packet(SMFIC_RCPT, std::string("<someone@external.example>\0", 27));
        reply = s.read_packet(1s);
    } catch (const milterclient::Error&) {
        // closing the connection is a fine answer
    }
    if (reply) {
        EXPECT_NE(reply->command, SMFIR_CONTINUE) << "a RCPT outside any connection was accepted";
        EXPECT_NE(reply->command, SMFIR_ACCEPT) << "a RCPT outside any connection was accepted";
    }
    expect_normal_session_served();
}

TEST_F(AbuseTest, CommandsOutOfOrderEndCleanly) {
    auto mta = connected();
    auto& s = mta->session();
    // End of message before MAIL, a header before DATA, EOH before RCPT.
    s.send_packet(SMFIC_BODYEOB, "");
    s.send_packet(SMFIC_HEADER, std::string("Subject\0x\0", 10));
    s.send_packet(SMFIC_EOH, "");
    s.send_packet(SMFIC_BODY, "body");
    // Whatever it answers, it must answer quickly or not at all.
    drain(s, 300ms);
    try {
        s.quit();
    } catch (const milterclient::Error&) {
        // the daemon may have closed this connection already
    }
    expect_normal_session_served();
}

TEST_F(AbuseTest, DisconnectMidMessage) {
    {
        auto mta = connected();
        ASSERT_TRUE(mta->mail("<bob@fabrikam.example>").proceeds());
        ASSERT_TRUE(mta->rcpt("<user@contoso.com>").proceeds());
        mta->session().data();
        mta->session().header("From", "bob@fabrikam.example");
        mta->session().send_packet(SMFIC_BODY, "half a bo");
        mta->hang_up();  // no ABORT, no QUIT
    }
    expect_normal_session_served();
}

// Peak resident memory of a process so far (VmHWM), in KiB; -1 if unknown.
long peak_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return -1;
}

// Whatever the verdict, a message must get one, within the client's timeout.
void expect_answered(const std::function<EomResult()>& send_message) {
    try {
        const EomResult r = send_message();
        SUCCEED() << describe(r);
    } catch (const milterclient::Error& e) {
        FAIL() << "no answer: " << e.what();
    }
}

TEST_F(AbuseTest, TenThousandHeadersGetAnAnswer) {
    auto mta = connected();
    SimpleMessage m = message_to("<user@contoso.com>");
    for (int i = 0; i < 10000; ++i) m.headers.emplace_back("X-Filler-" + std::to_string(i), "value " + std::to_string(i));
    const auto start = Clock::now();
    expect_answered([&] { return mta->send(m); });
    EXPECT_LT(Clock::now() - start, 10s);
    expect_normal_session_served();
}

TEST_F(AbuseTest, ThousandRecipientsGetAnAnswerEach) {
    auto mta = connected();
    ASSERT_TRUE(mta->mail("<bob@fabrikam.example>").proceeds());
    const auto start = Clock::now();
    for (int i = 0; i < 1000; ++i) {
        try {
            (void)mta->rcpt("<user" + std::to_string(i) + "@contoso.com>");
        } catch (const milterclient::Error& e) {
            FAIL() << "recipient " << i << " got no answer: " << e.what();
        }
    }
    EXPECT_LT(Clock::now() - start, 20s);
    expect_answered([&] {
        Response early;
        auto eom = mta->content(message_to("<user0@contoso.com>"), &early);
        if (eom) return *eom;
        EomResult r;
        static_cast<Response&>(r) = early;
        return r;
    });
    expect_normal_session_served();
}

TEST_F(AbuseTest, FiftyMebibyteBodyGetsAnAnswerWithoutBeingHeldInMemory) {
    const long before = peak_rss_kib(daemon_->pid());
    auto mta = connected();
    SimpleMessage m = message_to("<user@contoso.com>");
    std::string line(998, 'x');
    line += "\r\n";
    m.body.reserve(50U * 1024U * 1024U + line.size());
    while (m.body.size() < 50U * 1024U * 1024U) m.body += line;
    const auto start = Clock::now();
    expect_answered([&] { return mta->send(m); });
    EXPECT_LT(Clock::now() - start, 30s);
    const long after = peak_rss_kib(daemon_->pid());
    RecordProperty("peak_rss_before_kib", std::to_string(before));
    RecordProperty("peak_rss_after_kib", std::to_string(after));
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // Under a sanitizer, freed chunks sit in its quarantine (256 MiB by
    // default for ASan): RSS measures the sanitizer's allocator, not ours.
    // The plain build checks the bound.
    std::cout << "[ note ] peak RSS " << before << " -> " << after << " KiB; bound not checked in a sanitizer build\n";
#else
    if (before > 0 && after > 0) {
        // Keeping the whole body would cost 50 MiB; a streaming filter needs
        // a few chunks.
        EXPECT_LT(after - before, 25L * 1024L) << "peak RSS grew from " << before << " KiB to " << after << " KiB";
    }
#endif
    expect_normal_session_served();
}

TEST_F(AbuseTest, HundredDkimSignaturesGetAnAnswer) {
    auto mta = connected();
    SimpleMessage m = message_to("<user@contoso.com>");
    for (int i = 0; i < 100; ++i) {
        m.headers.insert(m.headers.begin(),
                         {"DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=fabrikam.example; s=sel" +
                                                std::to_string(i) +
                                                "; h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
                                                "b=dGVzdA=="});
    }
    const auto start = Clock::now();
    expect_answered([&] { return mta->send(m); });
    EXPECT_LT(Clock::now() - start, 10s);
    expect_normal_session_served();
}

class ConnectionLimitAbuseTest : public DaemonTest {};

TEST_F(ConnectionLimitAbuseTest, AbruptDisconnectsDoNotLeakPerSourceConnectionSlots) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend +
                                         "max_inbound_connection_per_source = 3\n"));
    // The daemon notices a hang-up some time after it happens: each new
    // connection waits (bounded) for a slot to be free again. A leaked slot
    // never comes back, so the wait runs out once three have leaked.
    const auto served_within = [&](std::chrono::milliseconds timeout, std::string& last) {
        const auto deadline = Clock::now() + timeout;
        do {
            auto mta = std::make_unique<Mta>(socket_spec(), internet_client());
            const Response c = mta->connect();
            const Response m = c.proceeds() ? mta->mail("<bob@fabrikam.example>") : c;
            last = describe(m);
            if (m.proceeds()) return mta;
            std::this_thread::sleep_for(20ms);  // poll interval
        } while (Clock::now() < deadline);
        return std::unique_ptr<Mta>();
    };
    std::string last;
    for (int i = 0; i < 10; ++i) {
        auto mta = served_within(5s, last);
        ASSERT_TRUE(mta) << "connection " << i << " not served within 5 s: " << last;
        mta->hang_up();  // no ABORT, no QUIT
    }
    EXPECT_TRUE(served_within(5s, last)) << "after 10 abrupt disconnects: " << last;
}

// ===========================================================================
// SPF and Authentication-Results through the daemon (issue 3)
// ===========================================================================

class AuthResultsTest : public DaemonTest {
protected:
    void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_daemon(kAcceptedDomains + kDefaultFrontend)); }

    // A client the SPF record of spf-pass.example permits (192.0.2.0/24).
    EomResult send_from_spf_permitted_host(const std::vector<std::pair<std::string, std::string>>& extra) {
        SmtpClient client;
        client.ip = "192.0.2.10";
        client.name = "mail.spf-pass.example";
        client.helo = "mail.spf-pass.example";
        Mta mta(socket_spec(), client);
        const Response c = mta.connect();
        EXPECT_TRUE(c.proceeds()) << describe(c);
        SimpleMessage m = message_to("<user@contoso.com>");
        m.from = "<sender@spf-pass.example>";
        m.headers[0].second = "Sender <sender@spf-pass.example>";
        m.headers.insert(m.headers.begin(), extra.begin(), extra.end());
        return mta.send(m);
    }
};

TEST_F(AuthResultsTest, SpfPassIsReportedInAuthenticationResultsAtTheTop) {
    const EomResult r = send_from_spf_permitted_host({});
    ASSERT_TRUE(r.proceeds()) << describe(r);
    const auto ar = r.new_headers("Authentication-Results");
    ASSERT_EQ(ar.size(), 1U) << "expected exactly one new Authentication-Results header";
    EXPECT_EQ(ar[0].kind, milterclient::HeaderEdit::Kind::Insert) << "appended, not inserted at the top";
    EXPECT_EQ(ar[0].index, 0U) << "inserted below the top";
    EXPECT_EQ(ar[0].value.rfind("mx.example.com;", 0), 0U) << ar[0].value;
    EXPECT_NE(ar[0].value.find("spf=pass"), std::string::npos) << ar[0].value;
    EXPECT_NE(ar[0].value.find("smtp.mailfrom=spf-pass.example"), std::string::npos) << ar[0].value;
}

TEST_F(AuthResultsTest, NoReceivedSpfHeaderUnlessConfigured) {
    const EomResult r = send_from_spf_permitted_host({});
    ASSERT_TRUE(r.proceeds()) << describe(r);
    EXPECT_TRUE(r.new_headers("Received-SPF").empty());
}

// [spf] received_spf_header = true: RFC 7208 section 9.1's trace header, the
// result first, then a comment and the key=value pairs naming what was
// checked, prepended like the other trace fields (RFC 5321 section 4.4).
class ReceivedSpfTest : public AuthResultsTest {
protected:
    void SetUp() override {
        ASSERT_NO_FATAL_FAILURE(
            start_daemon("[spf]\nreceived_spf_header = true\n\n" + kAcceptedDomains + kDefaultFrontend));
    }
};

TEST_F(ReceivedSpfTest, ReceivedSpfHeaderStatesResultAndCheckedIdentitiesPerRfc7208) {
    const EomResult r = send_from_spf_permitted_host({});
    ASSERT_TRUE(r.proceeds()) << describe(r);
    const auto spf = r.new_headers("Received-SPF");
    ASSERT_EQ(spf.size(), 1U) << "expected exactly one Received-SPF header";
    EXPECT_EQ(spf[0].kind, milterclient::HeaderEdit::Kind::Insert) << "appended, not prepended";
    EXPECT_EQ(spf[0].index, 0U) << "not at the top";
    const std::string& v = spf[0].value;
    EXPECT_EQ(v.rfind("pass (", 0), 0U) << v;
    for (const char* pair : {" client-ip=192.0.2.10;", " envelope-from=\"sender@spf-pass.example\";",
                             " helo=mail.spf-pass.example;", " identity=mailfrom;"})
        EXPECT_NE(v.find(pair), std::string::npos) << "no" << pair << " in: " << v;
    // The Authentication-Results header is still there, saying the same.
    const auto ar = r.new_headers("Authentication-Results");
    ASSERT_EQ(ar.size(), 1U);
    EXPECT_NE(ar[0].value.find("spf=pass"), std::string::npos) << ar[0].value;
}

TEST_F(AuthResultsTest, ForgedAuthenticationResultsWithOurIdIsDeleted) {
    const EomResult r = send_from_spf_permitted_host({
        {"Authentication-Results", "other.example.net; spf=pass smtp.mailfrom=spf-pass.example"},
        {"Authentication-Results", "mx.example.com; spf=pass smtp.mailfrom=forged.example"},
    });
    ASSERT_TRUE(r.proceeds()) << describe(r);
    const auto deleted = r.deleted_header_indexes("Authentication-Results");
    // Ours is the second Authentication-Results header of the message.
    EXPECT_NE(std::find(deleted.begin(), deleted.end(), 2U), deleted.end())
        << "the forged header claiming mx.example.com was not deleted";
}

// The authserv-id compares case-insensitively (RFC 8601 section 2.5), and a
// folded header is one header.
TEST_F(AuthResultsTest, ForgedAuthenticationResultsInOtherCaseAndFoldedIsDeleted) {
    const EomResult r = send_from_spf_permitted_host({
        {"Authentication-Results", "MX.Example.COM;\r\n\tspf=pass smtp.mailfrom=forged.example"},
    });
    ASSERT_TRUE(r.proceeds()) << describe(r);
    const auto deleted = r.deleted_header_indexes("Authentication-Results");
    EXPECT_NE(std::find(deleted.begin(), deleted.end(), 1U), deleted.end())
        << "the forged header claiming MX.Example.COM was not deleted";
}

TEST_F(AuthResultsTest, AnotherHostsAuthenticationResultsIsKept) {
    const EomResult r = send_from_spf_permitted_host({
        {"Authentication-Results", "other.example.net; spf=pass smtp.mailfrom=spf-pass.example"},
        {"Authentication-Results", "mx.example.com; spf=pass smtp.mailfrom=forged.example"},
    });
    ASSERT_TRUE(r.proceeds()) << describe(r);
    const auto deleted = r.deleted_header_indexes("Authentication-Results");
    EXPECT_EQ(std::find(deleted.begin(), deleted.end(), 1U), deleted.end())
        << "other.example.net's header was deleted";
    for (const auto& e : r.changed_headers)
        EXPECT_FALSE(e.index == 1 && e.name == "Authentication-Results")
            << "other.example.net's header was changed to: " << e.value;
}

}  // namespace
}  // namespace protocol_test
