// The session core driven directly: the same events the milter adapter
// sends, the verdicts it would turn into SMTP replies.
#include <gtest/gtest.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "auth/authres.hpp"
#include "auth/dkim.hpp"
#include "config/config.hpp"
#include "dns/make_resolver.hpp"
#include "dns/prefetch.hpp"
#include "session/auth_decisions.hpp"
#include "session/session.hpp"
#include "state/dmarc_evaluation.hpp"
#include "state/limit_store.hpp"
#include "util/ascii.hpp"

#include "arc_sealed_sample.hpp"
#include "dkim_message_io.hpp"

namespace {

using policy::IpAddress;
using session::Outcome;

// DNS for every test: offline, answers only from this zone.
const char* kZone = R"zone(
spf.example.          IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
soft.example.         IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
slow.example.         IN TIMEOUT
_dmarc.soft.example.  IN TXT "v=DMARC1; p=reject"
none.example.         IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc.none.example.  IN TXT "v=DMARC1; p=none"
tempd.example.        IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc.tempd.example. IN TIMEOUT
_dmarc.xn--bcher-kva.example. IN TXT "v=DMARC1; p=reject"
example.com.          IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com.   IN TXT "v=DMARC1; p=reject"
tempspf.example.      IN TIMEOUT
_dmarc.tempspf.example. IN TXT "v=DMARC1; p=quarantine"
quar.example.         IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc.quar.example.  IN TXT "v=DMARC1; p=quarantine"
rua.example.          IN TXT "v=spf1 ip4:192.0.2.0/24 ~all"
_dmarc.rua.example.   IN TXT "v=DMARC1; p=reject; sp=none; adkim=s; rua=mailto:d@rua.example"
)zone";

std::string write_zone() {
    char dir[] = "/tmp/session-test-XXXXXX";
    if (!mkdtemp(dir)) return {};
    std::string path = std::string(dir) + "/zone";
    // The ARC sealer's key (arc_sealed_sample.hpp) and its author domain's
    // DMARC record besides.
    std::ofstream(path) << kZone << "dummy._domainkey.example.org. IN TXT \"" << testing_arc::kKey << "\"\n"
                        << "_dmarc.d1.example. IN TXT \"v=DMARC1; p=none\"\n";
    return path;
}

const char* kConfig = R"toml(
[milter]
authserv_id = "mx.example.com"

[dns]
offline = true
static_zone = "@ZONE@"

[[accepted_domain]]
domain = "example.com"
type = "authoritative"

[[accepted_domain]]
domain = "*.partner.example"
type = "internal_relay"

[[connector]]
name = "Default Frontend"
bindings = ["0.0.0.0:25", "[::]:25"]
remote_ip_ranges = ["0.0.0.0-255.255.255.255", "::/0"]
permission_groups = ["AnonymousUsers", "ExchangeUsers", "ExchangeServers"]
max_message_size = 1000
max_recipients_per_message = 2
tarpit_interval = "5s"
[connector.deny]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender"]

# Our own domain's public SPF record (example.com in the zone) lists none
# of the devices below: only the connector's checks decide whether SPF runs.
[[connector]]
name = "Anonymous Relay"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.80"]
permission_groups = ["AnonymousUsers"]
tarpit_interval = 0
checks = []
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Checked Relay"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.82"]
permission_groups = ["AnonymousUsers"]
tarpit_interval = 0
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "DKIM Relay"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.83"]
permission_groups = ["AnonymousUsers"]
tarpit_interval = 0
checks = ["dkim"]
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Bypass Relay"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.84"]
permission_groups = ["AnonymousUsers"]
tarpit_interval = 0
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient", "Ms-Exch-Bypass-Anti-Spam"]

[[connector]]
name = "Application Server"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.38.96.15"]
permission_groups = ["ExchangeServers"]
auth_mechanisms = ["ExternalAuthoritative"]

[[connector]]
name = "Limited"
bindings = ["0.0.0.0:2525"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]
max_inbound_connection_per_source = 1
message_rate_limit = 2
)toml";

// The runtime of a configuration text; null (and a test failure) on errors.
std::shared_ptr<const session::Runtime> load_runtime(const std::string& text) {
    auto loaded = config::load_string(text, "session-test.conf");
    for (auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
    if (!loaded.config) return nullptr;
    std::vector<dns::ZoneError> zone_errors;
    auto resolver = dns::make_resolver(loaded.config->dns, zone_errors);
    for (auto& e : zone_errors) ADD_FAILURE() << e.to_string();
    return session::build_runtime(loaded.config, std::move(resolver)).runtime;
}

struct Fixture : ::testing::Test {
    void SetUp() override { use_config(kConfig); }
    // `sections`: more TOML tables ([spf], [dmarc], ...), put before [dns].
    void use_config(std::string text, const std::string& sections = "") {
        text.replace(text.find("@ZONE@"), 6, write_zone());
        text.insert(text.find("[dns]"), sections);
        runtime = load_runtime(text);
        ASSERT_TRUE(runtime);
    }
    std::unique_ptr<session::Session> open(const std::string& local, std::uint16_t port, const std::string& client,
                                           Outcome* connect = nullptr) {
        auto s = std::make_unique<session::Session>(runtime, shared, [this](std::string_view l) {
            log.emplace_back(l);
        });
        session::ConnectFacts facts;
        facts.client = IpAddress::parse(client);
        facts.local.address = IpAddress::parse(local);
        facts.local.port = port;
        auto outcome = s->on_connect(facts);
        if (connect) *connect = outcome;
        return s;
    }
    static session::SecurityFacts anonymous() { return {}; }
    static session::SecurityFacts authenticated(const std::string& user) {
        session::SecurityFacts f;
        f.identity.auth_user = user;
        f.identity.auth_type = "PLAIN";
        f.identity.tls = true;
        return f;
    }
    Outcome mail(session::Session& s, const std::string& from, const session::SecurityFacts& sec = anonymous()) {
        s.on_helo("client.example.net", sec);
        return s.on_mail({"<" + from + ">"}, sec, std::chrono::steady_clock::now());
    }

    std::shared_ptr<const session::Runtime> runtime;
    std::shared_ptr<session::Shared> shared = std::make_shared<session::Shared>();
    std::vector<std::string> log;
};

TEST_F(Fixture, AnonymousDeliveryToAcceptedDomainIsAccepted) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_EQ(s->connector()->name, "Default Frontend");
    EXPECT_TRUE(mail(*s, "someone@outside.example").verdict.ok());
    EXPECT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
}

TEST_F(Fixture, AnonymousRelayToNonAcceptedDomainIsRefusedWith5_7_54AndTarpitted) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "someone@outside.example").verdict.ok());
    auto o = s->on_rcpt({"<victim@elsewhere.example>"});
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(o.verdict.reply.to_string(), "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain");
    EXPECT_TRUE(o.tarpit);
    EXPECT_EQ(o.tarpit_delay, std::chrono::milliseconds(5000));
}

TEST_F(Fixture, RefusalIsLoggedWithConnectorClientRightsAndReason) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "someone@outside.example").verdict.ok());
    s->set_queue_id("4XyZ12");
    s->on_rcpt({"<victim@elsewhere.example>"});
    ASSERT_FALSE(log.empty());
    const auto& line = log.back();
    EXPECT_NE(line.find("4XyZ12: stage=RCPT"), std::string::npos) << line;
    EXPECT_NE(line.find("connector=\"Default Frontend\""), std::string::npos) << line;
    EXPECT_NE(line.find("client=[198.51.100.7]"), std::string::npos) << line;
    EXPECT_NE(line.find("rights=AnonymousUsers"), std::string::npos) << line;
    EXPECT_NE(line.find("550 5.7.54"), std::string::npos) << line;
}

// Issue 18: the text line is an interface (connector-milter(8), LOGGING):
// every field, in this order, exactly as documented.
TEST_F(Fixture, RefusalLineInTheTextFormatIsExactlyTheDocumentedFieldsInOrder) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "someone@outside.example").verdict.ok());
    s->set_queue_id("4XyZ12");
    const auto o = s->on_rcpt({"<victim@elsewhere.example>"});
    ASSERT_FALSE(log.empty());
    ASSERT_FALSE(o.verdict.reason.empty());
    EXPECT_EQ(log.back(),
              "4XyZ12: stage=RCPT connector=\"Default Frontend\" client=[198.51.100.7] rights=AnonymousUsers "
              "action=reject reply=\"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\" reason=\"" +
                  o.verdict.reason + "\"");
}

// Issue 18: [milter] log_format = "json": the same fields, queue id first,
// as one JSON object.
TEST_F(Fixture, RefusalLineInTheJsonFormatHasTheSameFieldsQueueIdFirst) {
    std::string text = kConfig;
    text.insert(text.find("[dns]"), "log_format = \"json\"\n\n");  // still in [milter]
    use_config(text);
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "someone@outside.example").verdict.ok());
    s->set_queue_id("4XyZ12");
    const auto o = s->on_rcpt({"<victim@elsewhere.example>"});
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log.back(),
              "{\"queue_id\":\"4XyZ12\",\"stage\":\"RCPT\",\"connector\":\"Default Frontend\","
              "\"client\":\"198.51.100.7\",\"rights\":\"AnonymousUsers\",\"action\":\"reject\","
              "\"reply\":\"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\",\"reason\":\"" +
                  o.verdict.reason + "\"}");
}

// A session without a queue id yet (CONNECT) logs NOQUEUE in both formats.
TEST_F(Fixture, AcceptedConnectInTheJsonFormatSaysNoqueueAndContinue) {
    std::string text = kConfig;
    text.insert(text.find("[dns]"), "log_format = \"json\"\n\n");
    use_config(text);
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_FALSE(log.empty());
    EXPECT_EQ(log.front().rfind("{\"queue_id\":\"NOQUEUE\",\"stage\":\"CONNECT\",", 0), 0u) << log.front();
    // The reason names the connection limit checked, its count and store.
    EXPECT_NE(log.front().find(",\"action\":\"continue\",\"reason\":\"connector chosen; connections: "
                               "max_inbound_connection_per_source=20: 0 counted (local)\"}"),
              std::string::npos)
        << log.front();
}

TEST_F(Fixture, DedicatedRelayConnectorLetsItsDeviceRelayButNotItsNeighbour) {
    auto device = open("10.0.0.50", 25, "10.0.0.80");
    ASSERT_EQ(device->connector()->name, "Anonymous Relay");
    ASSERT_TRUE(mail(*device, "scanner@example.com").verdict.ok());
    EXPECT_TRUE(device->on_rcpt({"<someone@elsewhere.example>"}).verdict.ok());

    auto neighbour = open("10.0.0.50", 25, "10.0.0.81");
    ASSERT_EQ(neighbour->connector()->name, "Default Frontend");
    ASSERT_TRUE(mail(*neighbour, "someone@outside.example").verdict.ok());
    EXPECT_EQ(neighbour->on_rcpt({"<someone@elsewhere.example>"}).verdict.reply.xcode, "5.7.54");
}

TEST_F(Fixture, AuthenticationReportedAtMailLetsTheUserRelay) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    auto o = mail(*s, "alice@example.com", authenticated("alice@example.com"));
    ASSERT_TRUE(o.verdict.ok()) << o.verdict.reply.to_string() << " " << o.verdict.reason;
    EXPECT_TRUE(s->rights().authenticated);
    EXPECT_TRUE(s->on_rcpt({"<friend@elsewhere.example>"}).verdict.ok());
}

TEST_F(Fixture, AnonymousSenderInOurDomainIsRefusedOnTheInternetConnector) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    auto o = mail(*s, "ceo@example.com");
    EXPECT_EQ(o.verdict.reply.to_string(),
              "550 5.7.1 Anonymous client does not have permissions to send as this sender");
}

TEST_F(Fixture, ForgedFromHeaderInOurDomainIsRefusedAtEndOfHeaders) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "bounce@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    s->on_header("From", " \"The CEO\" <ceo@example.com>");
    auto o = s->on_end_of_headers();
    EXPECT_EQ(o.verdict.reply.xcode, "5.7.1");
    EXPECT_NE(o.verdict.reason.find("From:"), std::string::npos);
}

TEST_F(Fixture, UnparsableFromHeaderCannotSmuggleOurDomainPastTheSenderCheck) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "bounce@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    s->on_header("From", " x: <ceo@example.com>");  // a group without its closing ';'
    auto o = s->on_end_of_headers();
    EXPECT_EQ(o.verdict.reply.to_string(),
              "550 5.7.1 Anonymous client does not have permissions to send as this sender");
}

TEST_F(Fixture, MessageLargerThanTheLimitIsRefusedAtEndOfMessage) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    s->on_header("Subject", " big");
    s->on_end_of_headers();
    s->on_body(std::string(2000, 'x'));
    auto o = s->on_end_of_message();
    EXPECT_EQ(o.verdict.reply.to_string(), "552 5.3.4 Message size exceeds fixed maximum message size");
}

TEST_F(Fixture, RecipientsOverTheLimitGet452) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    EXPECT_TRUE(s->on_rcpt({"<u1@example.com>"}).verdict.ok());
    EXPECT_TRUE(s->on_rcpt({"<u2@example.com>"}).verdict.ok());
    EXPECT_EQ(s->on_rcpt({"<u3@example.com>"}).verdict.reply.to_string(), "452 4.5.3 Too many recipients");
}

TEST_F(Fixture, NoMatchingConnectorRefusesTheConnectionWith421) {
    Outcome o;
    auto s = open("192.0.2.1", 587, "198.51.100.7", &o);
    EXPECT_EQ(s->connector(), nullptr);
    EXPECT_EQ(o.verdict.reply.to_string(), "421 4.3.2 Service not available");
}

TEST_F(Fixture, SecondConnectionFromOneSourceOverTheLimitIsRefusedUntilTheFirstCloses) {
    Outcome first_outcome, second_outcome, third_outcome;
    auto first = open("192.0.2.1", 2525, "198.51.100.9", &first_outcome);
    ASSERT_TRUE(first_outcome.verdict.ok());
    auto second = open("192.0.2.1", 2525, "198.51.100.9", &second_outcome);
    EXPECT_EQ(second_outcome.verdict.reply.code, "421");
    EXPECT_EQ(second_outcome.verdict.reply.xcode, "4.3.2");
    first->on_close();
    auto third = open("192.0.2.1", 2525, "198.51.100.9", &third_outcome);
    EXPECT_TRUE(third_outcome.verdict.ok());
}

TEST_F(Fixture, MessageRateOverTheLimitGets421_4_4_2) {
    auto s = open("192.0.2.1", 2525, "198.51.100.10");
    auto now = std::chrono::steady_clock::now();
    auto send = [&] { return s->on_mail({"<a@outside.example>"}, anonymous(), now); };
    EXPECT_TRUE(send().verdict.ok());
    EXPECT_TRUE(send().verdict.ok());
    auto o = send();
    EXPECT_EQ(o.verdict.reply.code, "421");
    EXPECT_EQ(o.verdict.reply.xcode, "4.4.2");
}

// The native engine runs MAIL on its event loop unless on_mail may wait:
// only a message rate limit kept in a store whose calls wait (Redis) does.
struct WaitingLimitStore final : state::LimitStore {
    state::LimitCheck open_connection(const policy::Connector&, std::string_view, state::ConnectionLease*) override {
        return {};
    }
    void close_connection(const policy::Connector&, std::string_view, state::ConnectionLease&) override {}
    state::LimitCheck admit_message(const policy::Connector&, std::string_view,
                                    std::chrono::steady_clock::time_point) override {
        return {};
    }
    bool may_wait() const override { return true; }
};

TEST_F(Fixture, MailMayWaitOnlyForARateLimitInAStoreThatWaits) {
    auto limited_local = open("192.0.2.1", 2525, "198.51.100.10");
    EXPECT_FALSE(limited_local->mail_may_wait()) << "this process's own counters never wait";
    shared->limits = std::make_shared<WaitingLimitStore>();
    auto limited = open("192.0.2.1", 2525, "198.51.100.11");
    EXPECT_TRUE(limited->mail_may_wait()) << "message_rate_limit in a store that waits";
    auto unlimited = open("192.0.2.1", 25, "198.51.100.12");
    EXPECT_FALSE(unlimited->mail_may_wait()) << "no message_rate_limit on this connector";
}

TEST_F(Fixture, SessionKeepsTheRuntimeItStartedWithAcrossAReload) {
    auto s = open("10.0.0.50", 25, "10.0.0.80");
    ASSERT_EQ(s->connector()->name, "Anonymous Relay");
    // A reload replaces the runtime the daemon hands to new sessions; this
    // one keeps its own, so its connector stays valid and unchanged.
    runtime.reset();
    ASSERT_TRUE(mail(*s, "scanner@example.com").verdict.ok());
    EXPECT_TRUE(s->on_rcpt({"<someone@elsewhere.example>"}).verdict.ok());
}

TEST_F(Fixture, ConnectionWithoutClientAddressIsRefused) {
    auto s = std::make_unique<session::Session>(runtime, shared, nullptr);
    session::ConnectFacts facts;
    auto o = s->on_connect(facts);
    EXPECT_EQ(o.verdict.reply.code, "421");
}

TEST_F(Fixture, InvalidRecipientSyntaxGets501_5_1_3) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    auto o = s->on_rcpt({std::string("<bad\0user@example.com>", 23)});
    EXPECT_EQ(o.verdict.reply.code, "501");
}

TEST_F(Fixture, RcptWithoutMailIsRefusedNotCrashed) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    EXPECT_FALSE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    EXPECT_TRUE(s->on_end_of_message().verdict.ok());  // nothing to do, nothing to crash on
}

// --- SPF, DKIM, DMARC and Authentication-Results at the end of the message

struct Delivered {
    Outcome mail, eom;
};

// One message from `client` to the MTA's `local`:25 address.
Delivered deliver_to(Fixture& f, const std::string& local, const std::string& client, const std::string& sender,
                     const std::string& rcpt, const std::vector<std::pair<std::string, std::string>>& headers,
                     const session::SecurityFacts& sec = Fixture::anonymous(), const std::string& body = "Hello.\r\n") {
    Delivered d;
    auto s = f.open(local, 25, client);
    d.mail = f.mail(*s, sender, sec);
    if (!d.mail.verdict.ok()) return d;
    EXPECT_TRUE(s->on_rcpt({"<" + rcpt + ">"}).verdict.ok());
    for (const auto& [n, v] : headers) s->on_header(n, v);
    EXPECT_TRUE(s->on_end_of_headers().verdict.ok());
    s->on_body(body);
    d.eom = s->on_end_of_message();
    return d;
}

Delivered deliver(Fixture& f, const std::string& client, const std::string& sender,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const session::SecurityFacts& sec = Fixture::anonymous()) {
    return deliver_to(f, "192.0.2.1", client, sender, "user@example.com", headers, sec);
}

const session::HeaderEdit* inserted(const Outcome& o, const std::string& name) {
    for (const auto& e : o.header_edits)
        if (e.kind == session::HeaderEdit::Kind::Insert && e.name == name) return &e;
    return nullptr;
}

TEST_F(Fixture, SpfPassIsReportedInOneAuthenticationResultsHeaderAtTheTop) {
    auto d = deliver(*this, "192.0.2.10", "news@spf.example", {{"From", " news@spf.example"}});
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reason;
    const auto* ar = inserted(d.eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_EQ(ar->index, 0);
    EXPECT_EQ(ar->value.rfind("mx.example.com;", 0), 0u) << ar->value;
    EXPECT_NE(ar->value.find("spf=pass smtp.mailfrom=spf.example"), std::string::npos) << ar->value;
    int count = 0;
    for (const auto& e : d.eom.header_edits) count += e.name == "Authentication-Results" && e.kind == session::HeaderEdit::Kind::Insert;
    EXPECT_EQ(count, 1);
}

TEST_F(Fixture, SpfFailIsRefusedAtMailWith5_7_23) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    auto o = mail(*s, "ceo@spf.example");
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(o.verdict.reply.code, "550");
    EXPECT_EQ(o.verdict.reply.xcode, "5.7.23");
}

TEST_F(Fixture, SpfTemporaryDnsFailureIsDeferredWith4_7_24) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    auto o = mail(*s, "someone@slow.example");
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_EQ(o.verdict.reply.code, "451");
    EXPECT_EQ(o.verdict.reply.xcode, "4.7.24");
}

TEST_F(Fixture, ForgedAuthenticationResultsClaimingOurIdAreDeletedHighestFirstAndOthersKept) {
    auto d = deliver(*this, "192.0.2.10", "news@spf.example",
                     {{"Authentication-Results", " MX.Example.COM; spf=pass smtp.mailfrom=spf.example"},
                      {"Authentication-Results", " other.example; spf=fail"},
                      {"Authentication-Results", " mx.example.com;\r\n\tdkim=pass"},
                      {"From", " news@spf.example"}});
    std::vector<int> deleted;
    for (const auto& e : d.eom.header_edits)
        if (e.kind == session::HeaderEdit::Kind::Delete) {
            EXPECT_EQ(e.name, "Authentication-Results");
            deleted.push_back(e.index);
        }
    EXPECT_EQ(deleted, (std::vector<int>{3, 1}));
}

TEST_F(Fixture, DmarcRejectPolicyFailureIsRefusedWithTheDmarcReply) {
    auto d = deliver(*this, "198.51.100.7", "a@soft.example", {{"From", " boss@soft.example"}});
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reason;  // softfail is accepted at MAIL
    EXPECT_EQ(d.eom.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(d.eom.verdict.reply.to_string(), "550 5.7.1 Rejected by DMARC policy for soft.example");
}

// An internationalised From: domain shows in the reply as its A-label, never
// as 8-bit bytes: an SMTP reply is US-ASCII (issue 11).
TEST_F(Fixture, DmarcRejectReplyNamesAnInternationalisedDomainByItsALabel) {
    auto d = deliver(*this, "198.51.100.7", "a@soft.example", {{"From", " boss@B\xc3\xbc" "cher.example"}});
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reason;
    EXPECT_EQ(d.eom.verdict.action, policy::Verdict::Action::Reject) << d.eom.verdict.reason;
    EXPECT_EQ(d.eom.verdict.reply.to_string(), "550 5.7.1 Rejected by DMARC policy for xn--bcher-kva.example");
}

// RFC 9990: an evaluation under a record with rua= is handed to the
// runtime's recorder with what the aggregate report states; one without
// rua= is not.
struct CollectingSink final : state::EvaluationSink {
    void record(state::DmarcEvaluation e) override { got.push_back(std::move(e)); }
    std::vector<state::DmarcEvaluation> got;
};

TEST_F(Fixture, DmarcEvaluationUnderARecordWithRuaIsRecordedForTheAggregateReport) {
    auto sink = std::make_shared<CollectingSink>();
    auto loaded = runtime->config;
    std::vector<dns::ZoneError> zone_errors;
    runtime = session::build_runtime(loaded, dns::make_resolver(loaded->dns, zone_errors), sink).runtime;
    ASSERT_TRUE(runtime);
    deliver(*this, "198.51.100.7", "a@soft.example", {{"From", " boss@soft.example"}});
    EXPECT_TRUE(sink->got.empty()) << "soft.example publishes no rua=";
    auto d = deliver(*this, "198.51.100.7", "a@rua.example", {{"From", " boss@rua.example"}});
    EXPECT_EQ(d.eom.verdict.action, policy::Verdict::Action::Reject);
    ASSERT_EQ(sink->got.size(), 1u);
    const auto& e = sink->got[0];
    EXPECT_EQ(e.reporter, "mx.example.com");
    EXPECT_EQ(e.policy_domain, "rua.example");
    EXPECT_EQ(e.rua, "mailto:d@rua.example");
    EXPECT_EQ(e.source_ip, "198.51.100.7");
    EXPECT_EQ(e.header_from, "rua.example");
    EXPECT_EQ(e.envelope_from, "rua.example");
    EXPECT_EQ(e.envelope_to, "example.com");
    EXPECT_EQ(e.spf_domain, "rua.example");
    EXPECT_EQ(e.spf_scope, "mfrom");
    EXPECT_EQ(e.spf_result, "softfail");
    EXPECT_TRUE(e.dkim.empty());
    EXPECT_EQ(e.p, "reject");
    EXPECT_EQ(e.sp, "none");
    EXPECT_EQ(e.adkim, 's');
    EXPECT_EQ(e.discovery, "treewalk");
    EXPECT_EQ(e.dmarc_result, "fail");
    EXPECT_EQ(e.disposition, "reject");
    EXPECT_EQ(e.reason_type, "");
}

TEST_F(Fixture, DmarcNonePolicyFailureIsOnlyReported) {
    auto d = deliver(*this, "198.51.100.7", "a@none.example", {{"From", " boss@none.example"}});
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reply.to_string();
    const auto* ar = inserted(d.eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_NE(ar->value.find("dmarc=fail"), std::string::npos) << ar->value;
    EXPECT_NE(ar->value.find("header.from=none.example"), std::string::npos) << ar->value;
}

// The session measures its DNS time budget with the runtime's clock (issue
// 13: time comes in, it is not read in the session). A clock by which every
// stage of verdict work takes 10 s leaves nothing of the 8 s budget after
// SPF: the DMARC lookup is refused by the budget, and the message is
// deferred instead of reported as dmarc=pass.
std::chrono::steady_clock::time_point slow_clock() {
    static std::atomic<unsigned> calls{0};
    const auto real = std::chrono::steady_clock::now();
    return calls.fetch_add(1) % 2 == 0 ? real : real + std::chrono::seconds(10);
}

TEST_F(Fixture, DnsTimeBudgetIsMeasuredWithTheRuntimesClock) {
    auto d = deliver(*this, "192.0.2.10", "news@none.example", {{"From", " news@none.example"}});
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reason;
    auto slow = std::make_shared<session::Runtime>(*runtime);
    slow->now = &slow_clock;
    runtime = slow;
    d = deliver(*this, "192.0.2.10", "news@none.example", {{"From", " news@none.example"}});
    EXPECT_EQ(d.eom.verdict.action, policy::Verdict::Action::TempFail) << d.eom.verdict.reason;
    EXPECT_NE(d.eom.verdict.reason.find("temperror"), std::string::npos) << d.eom.verdict.reason;
}

TEST_F(Fixture, UnreachableDmarcPolicyIsDeferredNotDeliveredUnchecked) {
    auto d = deliver(*this, "198.51.100.7", "a@tempd.example", {{"From", " boss@tempd.example"}});
    EXPECT_EQ(d.eom.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_EQ(d.eom.verdict.reply.code, "451");
    EXPECT_EQ(d.eom.verdict.reply.xcode, "4.7.5");
}

TEST_F(Fixture, MessageWithoutFromIsRefusedByDefault) {
    auto d = deliver(*this, "192.0.2.10", "news@spf.example", {{"Subject", " no author"}});
    EXPECT_EQ(d.eom.verdict.reply.code, "550");
    EXPECT_EQ(d.eom.verdict.reply.xcode, "5.7.1");
}

TEST_F(Fixture, AuthenticatedSessionIsNotCheckedAndReportedAsAuthPass) {
    auto d = deliver(*this, "198.51.100.7", "alice@example.com", {{"From", " alice@example.com"}},
                     authenticated("alice@example.com"));
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reason;
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reason;
    const auto* ar = inserted(d.eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_NE(ar->value.find("auth=pass"), std::string::npos) << ar->value;
    EXPECT_EQ(ar->value.find("spf="), std::string::npos) << ar->value;
    EXPECT_EQ(ar->value.find("alice"), std::string::npos) << "no user name unless configured: " << ar->value;
}

// --- local submissions (issue 11 item 7)

// What Postfix's cleanup(8) sends for the sendmail command through pickup.
session::ConnectFacts postfix_pickup_facts() {
    session::ConnectFacts facts;
    facts.client = IpAddress::parse("127.0.0.1");
    facts.client_name = "localhost";
    facts.local.address = IpAddress::parse("127.0.0.1");
    facts.evidence.family = policy::ConnectEvidence::Family::Inet;
    facts.evidence.address = facts.client;
    facts.evidence.port = 0;
    facts.evidence.client_addr = facts.evidence.daemon_addr = "127.0.0.1";
    facts.evidence.client_port = facts.evidence.daemon_port = "0";
    return facts;
}

struct LocalRun {
    std::unique_ptr<session::Session> session;
    Outcome connect, mail, rcpt, eoh, eom;
};

LocalRun submit_locally(const std::shared_ptr<const session::Runtime>& runtime,
                        const std::shared_ptr<session::Shared>& shared, std::vector<std::string>& log,
                        const session::ConnectFacts& facts, const std::string& from, const std::string& to) {
    LocalRun r;
    r.session = std::make_unique<session::Session>(runtime, shared, [&log](std::string_view l) { log.emplace_back(l); });
    r.connect = r.session->on_connect(facts);
    if (!r.connect.verdict.ok()) return r;
    r.session->on_helo("localhost", {});
    r.mail = r.session->on_mail({"<" + from + ">"}, {}, std::chrono::steady_clock::now());
    if (!r.mail.verdict.ok()) return r;
    r.rcpt = r.session->on_rcpt({"<" + to + ">"});
    if (!r.rcpt.verdict.ok()) return r;
    r.session->on_header("From", " " + from);
    r.eoh = r.session->on_end_of_headers();
    r.session->on_body("cron output\r\n");
    r.eom = r.session->on_end_of_message();
    return r;
}

TEST_F(Fixture, PostfixPickupSubmissionGetsTheBuiltInLocalConnectorNotTheWildcardOne) {
    // The Default Frontend (0.0.0.0:25) would refuse root@example.com as an
    // anonymous sender in our domain and refuse to relay.
    auto r = submit_locally(runtime, shared, log, postfix_pickup_facts(), "root@example.com", "admin@outside.example");
    ASSERT_TRUE(r.connect.verdict.ok()) << r.connect.verdict.reason;
    EXPECT_EQ(r.session->connector()->name, policy::kBuiltinLocalConnectorName);
    EXPECT_EQ(r.session->local_submission(), policy::LocalSubmission::PostfixStandIn);
    EXPECT_TRUE(r.mail.verdict.ok()) << r.mail.verdict.reason;
    EXPECT_TRUE(r.rcpt.verdict.ok()) << r.rcpt.verdict.reason;
    EXPECT_TRUE(r.eoh.verdict.ok()) << r.eoh.verdict.reason;
    ASSERT_TRUE(r.eom.verdict.ok()) << r.eom.verdict.reason;
    EXPECT_FALSE(r.eom.tarpit);
}

TEST_F(Fixture, LocalSubmissionIsNotSpfCheckedAndItsHeaderClaimsNoAuthentication) {
    // spf.example allows only 192.0.2.0/24: checked from 127.0.0.1 its SPF
    // would fail (5.7.23 at MAIL).
    auto r = submit_locally(runtime, shared, log, postfix_pickup_facts(), "news@spf.example", "user@example.com");
    ASSERT_TRUE(r.mail.verdict.ok()) << r.mail.verdict.reason;
    ASSERT_TRUE(r.eom.verdict.ok()) << r.eom.verdict.reason;
    const auto* ar = inserted(r.eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_EQ(ar->value, "mx.example.com; none");
    EXPECT_EQ(inserted(r.eom, "Received-SPF"), nullptr);
}

TEST_F(Fixture, LocalSubmissionLogLinesSayLocalSubmission) {
    auto r = submit_locally(runtime, shared, log, postfix_pickup_facts(), "root@example.com", "user@example.com");
    ASSERT_TRUE(r.eom.verdict.ok());
    ASSERT_GE(log.size(), 2u);
    EXPECT_NE(log.front().find("stage=CONNECT"), std::string::npos) << log.front();
    EXPECT_NE(log.front().find("local submission: Postfix's stand-in client"), std::string::npos) << log.front();
    for (const auto& line : log) EXPECT_NE(line.find("client=[local submission]"), std::string::npos) << line;
    EXPECT_NE(log.back().find("checks skipped (local submission)"), std::string::npos) << log.back();
}

TEST_F(Fixture, SendmailBsWithoutClientAddressIsALocalSubmission) {
    session::ConnectFacts facts;  // no hostaddr: SMFIA_UNKNOWN
    facts.client_name = "localhost";
    facts.evidence.client_addr = "0";
    facts.evidence.client_port = "0";
    auto r = submit_locally(runtime, shared, log, facts, "root@example.com", "admin@outside.example");
    ASSERT_TRUE(r.connect.verdict.ok()) << r.connect.verdict.reason;
    EXPECT_EQ(r.session->local_submission(), policy::LocalSubmission::NoNetworkPeer);
    EXPECT_TRUE(r.rcpt.verdict.ok()) << r.rcpt.verdict.reason;
    EXPECT_TRUE(r.eom.verdict.ok()) << r.eom.verdict.reason;
}

TEST_F(Fixture, LoopbackSmtpClientIsNotALocalSubmission) {
    auto facts = postfix_pickup_facts();
    facts.local.port = 25;
    facts.evidence.port = 40312;
    facts.evidence.client_port = "40312";
    facts.evidence.daemon_port = "25";
    auto r = submit_locally(runtime, shared, log, facts, "root@example.com", "admin@outside.example");
    ASSERT_TRUE(r.connect.verdict.ok());
    EXPECT_EQ(r.session->connector()->name, "Default Frontend");
    EXPECT_EQ(r.mail.verdict.reply.xcode, "5.7.1");  // anonymous sender in our domain
}

// A minimal offline configuration with one connector bound to
// 203.0.113.5:25 for every client; `milter_lines` go into [milter].
std::string with_specific_connector(const std::string& name, const std::string& milter_lines) {
    std::string text = R"toml(
[milter]
authserv_id = "mx.example.com"
@MILTER@[dns]
offline = true
[[accepted_domain]]
domain = "example.com"
type = "authoritative"
[[connector]]
name = "@SPECIFIC@"
bindings = ["203.0.113.5:25"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]
)toml";
    text.replace(text.find("@MILTER@"), 8, milter_lines);
    text.replace(text.find("@SPECIFIC@"), 10, name);
    return text;
}

// Issue 12: {daemon_port} without {daemon_addr} (Postfix before 3.2, trimmed
// macro lists): 10.0.0.80 may be the relay device on 10.0.0.50:25 or a
// client of the Default Frontend; the choice cannot be made, so fail closed.
TEST_F(Fixture, UnknownLocalAddressWhereASpecificBindingWouldServeTheClientIsRefusedWith421) {
    auto s = std::make_unique<session::Session>(runtime, shared, [this](std::string_view l) { log.emplace_back(l); });
    session::ConnectFacts facts;
    facts.client = IpAddress::parse("10.0.0.80");
    facts.local.port = 25;
    const Outcome o = s->on_connect(facts);
    EXPECT_EQ(o.verdict.reply.to_string(), "421 4.3.2 Service not available");
    EXPECT_EQ(s->connector(), nullptr);
    ASSERT_FALSE(log.empty());
    EXPECT_NE(log.back().find("'Anonymous Relay' binds 10.0.0.50:25"), std::string::npos) << log.back();
    // A client no specific binding would serve is decided as before.
    auto other = std::make_unique<session::Session>(runtime, shared, nullptr);
    facts.client = IpAddress::parse("192.0.2.7");
    EXPECT_TRUE(other->on_connect(facts).verdict.ok());
    EXPECT_EQ(other->connector()->name, "Default Frontend");
}

TEST(UnknownBinding, IgnoreSkipsTheSpecificConnectorAsBefore) {
    const std::string text = with_specific_connector("Restrictive", "unknown_binding = \"ignore\"\n") + R"toml(
[[connector]]
name = "Permissive"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]
)toml";
    auto runtime = load_runtime(text);
    ASSERT_TRUE(runtime);
    session::Session s(runtime, std::make_shared<session::Shared>(), nullptr);
    session::ConnectFacts facts;
    facts.client = IpAddress::parse("192.0.2.7");
    facts.local.port = 25;
    EXPECT_TRUE(s.on_connect(facts).verdict.ok());
    EXPECT_EQ(s.connector()->name, "Permissive");
    // The configuration says the choice depends on the address.
    bool warned = false;
    for (const auto& w : runtime->config->warnings)
        warned = warned || w.find("'Restrictive'") != std::string::npos;
    EXPECT_TRUE(warned);
}

TEST(LocalSubmissionConnector, ConnectorBoundToLocalStatesTheRightsOfLocalSubmissions) {
    const std::string text = with_specific_connector("Specific", "") + R"toml(
[[connector]]
name = "Cron"
bindings = ["local"]
permission_groups = ["AnonymousUsers"]
tarpit_interval = 0
)toml";
    auto runtime = load_runtime(text);
    ASSERT_TRUE(runtime);
    auto shared = std::make_shared<session::Shared>();
    std::vector<std::string> log;
    // Local delivery is allowed by AnonymousUsers' rights; relaying is not,
    // because this connector does not grant Accept-Any-Recipient.
    auto inside = submit_locally(runtime, shared, log, postfix_pickup_facts(), "root@example.com", "user@example.com");
    ASSERT_TRUE(inside.connect.verdict.ok()) << inside.connect.verdict.reason;
    EXPECT_EQ(inside.session->connector()->name, "Cron");
    EXPECT_TRUE(inside.eom.verdict.ok()) << inside.eom.verdict.reason;
    auto outside = submit_locally(runtime, shared, log, postfix_pickup_facts(), "root@example.com", "a@outside.example");
    EXPECT_EQ(outside.rcpt.verdict.reply.xcode, "5.7.54") << outside.rcpt.verdict.reason;
}

// --- quarantine the MTA cannot carry out (issue 12 item 6)

// The MTA took the quarantine action at negotiation, but its request failed
// at end of message (smfi_quarantine): the default fallback defers the
// message, and the log says the quarantine failed.
TEST_F(Fixture, FailedQuarantineRequestFallsBackToTempfailAndSaysSo) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "a@quar.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    s->on_header("From", " boss@quar.example");
    ASSERT_TRUE(s->on_end_of_headers().verdict.ok());
    s->on_body("Hello.\r\n");
    Outcome eom = s->on_end_of_message();
    ASSERT_TRUE(eom.verdict.ok());
    ASSERT_EQ(eom.quarantine_reason, "DMARC policy of quar.example");
    const Outcome after = s->quarantine_failed(eom);
    EXPECT_EQ(after.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_EQ(after.verdict.reply.to_string(), "451 4.3.0 Temporary local problem, try again later");
    EXPECT_TRUE(after.quarantine_reason.empty());
    ASSERT_FALSE(log.empty());
    EXPECT_NE(log.back().find("the MTA refused the quarantine request): quarantine_fallback = tempfail"),
              std::string::npos)
        << log.back();
}

TEST_F(Fixture, WithoutTheQuarantineActionDmarcQuarantineIsNotAcceptedSilently) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    s->set_quarantine_available(false);
    ASSERT_TRUE(mail(*s, "a@quar.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    s->on_header("From", " boss@quar.example");
    ASSERT_TRUE(s->on_end_of_headers().verdict.ok());
    s->on_body("Hello.\r\n");
    const Outcome eom = s->on_end_of_message();
    EXPECT_EQ(eom.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_TRUE(eom.quarantine_reason.empty());
}

// --- Issue 11: which checks a connector runs, and a header that says what is true

// python3-authres (Debian), an RFC 8601 parser written independently of
// ours: the header must parse there too. Returns its error, "" when it parsed.
std::string independent_parse_error(const std::string& value) {
    char path[] = "/tmp/session-test-authres-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return "mkstemp failed";
    const std::string field = "Authentication-Results: " + value;
    const bool written = write(fd, field.data(), field.size()) == static_cast<ssize_t>(field.size());
    close(fd);
    if (!written) return "cannot write the header";
    const std::string command =
        std::string("/usr/bin/python3 -c 'import sys, authres; "
                    "authres.AuthenticationResultsHeader.parse(open(sys.argv[1]).read())' ") +
        path + " 2>&1";
    std::string output;
    FILE* p = popen(command.c_str(), "r");
    if (!p) return "popen failed";
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, p)) output += buffer;
    const int status = pclose(p);
    unlink(path);
    if (status != 0)
        return "python3-authres refused it (apt-get install python3-authres, see scripts/install-deps): " + output;
    return "";
}

// The header value with its folding (a long value is folded) undone.
std::string header_value(const Outcome& o) {
    const auto* ar = inserted(o, "Authentication-Results");
    if (!ar) return "(no Authentication-Results header)";
    std::string value = ar->value;
    for (std::size_t at; (at = value.find("\n\t")) != std::string::npos;) value.replace(at, 2, " ");
    return value;
}

// The header as inserted, folding included, for the independent parser.
std::string folded_header_value(const Outcome& o) {
    const auto* ar = inserted(o, "Authentication-Results");
    return ar ? ar->value : std::string();
}

// The scanner of the example configuration: it sends as our own domain,
// whose public SPF record (-all) does not list it. Its connector runs no
// checks, so SPF does not refuse it with 550 5.7.23 and DMARC (p=reject)
// does not refuse it at the end; the header says so rather than claiming
// an authentication that never happened.
TEST_F(Fixture, ScannerOnRelayConnectorWithoutChecksSendsAsOurDomainDespiteOurPublicSpf) {
    auto d = deliver_to(*this, "10.0.0.50", "10.0.0.80", "scanner@example.com", "someone@elsewhere.example",
                        {{"From", " Scanner <scanner@example.com>"}});
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reply.to_string() << " " << d.mail.verdict.reason;
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reply.to_string() << " " << d.eom.verdict.reason;
    EXPECT_EQ(header_value(d.eom),
              "mx.example.com (spf, dkim, dmarc not checked on connector \"Anonymous Relay\"); none");
    EXPECT_EQ(independent_parse_error(folded_header_value(d.eom)), "");
}

TEST_F(Fixture, RelayConnectorWithoutChecksListStillRunsSpfOnItsDevice) {
    auto s = open("10.0.0.50", 25, "10.0.0.82");
    ASSERT_EQ(s->connector()->name, "Checked Relay");
    auto o = mail(*s, "scanner@example.com");
    EXPECT_EQ(o.verdict.reply.code, "550");
    EXPECT_EQ(o.verdict.reply.xcode, "5.7.23");
}

TEST_F(Fixture, ConnectorThatRunsOnlyDkimReportsDkimAndNamesTheChecksItLeftOut) {
    auto d = deliver_to(*this, "10.0.0.50", "10.0.0.83", "scanner@example.com", "someone@elsewhere.example",
                        {{"From", " scanner@example.com"}});
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reply.to_string();
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reply.to_string();
    EXPECT_EQ(header_value(d.eom),
              "mx.example.com (spf, dmarc not checked on connector \"DKIM Relay\"); dkim=none; arc=none");
    EXPECT_EQ(independent_parse_error(folded_header_value(d.eom)), "");
    // Our own parser reads the note as the header's comment.
    const auto parsed = auth::parse_authentication_results(folded_header_value(d.eom));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->note, "spf, dmarc not checked on connector \"DKIM Relay\"");
    // ARC runs with DKIM (RFC 8617 verification of DKIM-style signatures).
    ASSERT_EQ(parsed->results.size(), 2u);
    EXPECT_EQ(parsed->results[0].method, "dkim");
    EXPECT_EQ(parsed->results[1].method, "arc");
}

// RFC 8601 section 2.7.4: "auth" is about SMTP AUTH. A device that got
// Ms-Exch-Bypass-Anti-Spam without logging in is reported with the "none"
// form (section 2.2) and a comment, never as auth=pass.
TEST_F(Fixture, AnonymousDeviceWithBypassAntiSpamIsNotReportedAsAuthPass) {
    auto d = deliver_to(*this, "10.0.0.50", "10.0.0.84", "scanner@example.com", "someone@elsewhere.example",
                        {{"From", " scanner@example.com"}});
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reply.to_string();
    EXPECT_EQ(header_value(d.eom),
              "mx.example.com (spf, dkim, dmarc not checked: Ms-Exch-Bypass-Anti-Spam on connector "
              "\"Bypass Relay\"); none");
    EXPECT_EQ(independent_parse_error(folded_header_value(d.eom)), "");
}

TEST_F(Fixture, ExternallySecuredServerIsNotReportedAsAuthPass) {
    auto d = deliver_to(*this, "10.0.0.50", "10.38.96.15", "app@example.com", "someone@elsewhere.example",
                        {{"From", " app@example.com"}});
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reply.to_string();
    const std::string value = header_value(d.eom);
    EXPECT_EQ(value.find("auth="), std::string::npos) << value;
    EXPECT_NE(value.find("externally secured session"), std::string::npos) << value;
    EXPECT_EQ(value.substr(value.size() - 6), "; none") << value;
    EXPECT_EQ(independent_parse_error(folded_header_value(d.eom)), "");
}

TEST_F(Fixture, SmtpAuthLoginIsReportedAsAuthPassThatParsesElsewhereToo) {
    std::string text = kConfig;
    text.insert(text.find("[dns]"), "auth_user_in_header = true\n\n");  // still in [milter]
    use_config(text);
    auto d = deliver(*this, "198.51.100.7", "alice@example.com", {{"From", " alice@example.com"}},
                     authenticated("alice@example.com"));
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reason;
    const std::string value = header_value(d.eom);
    EXPECT_EQ(value, "mx.example.com; auth=pass (SMTP AUTH) smtp.auth=alice@example.com");
    EXPECT_EQ(independent_parse_error(folded_header_value(d.eom)), "");
}

// Issue 11 item 11: the DMARC fail of tempspf.example (p=quarantine) comes
// only from its SPF temperror. With defer_on_temperror off the policy's
// action still applies, but the header reports temperror, not fail.
TEST_F(Fixture, DmarcFailOnlyDueToTemperrorIsReportedAsTemperrorWhenNotDeferred) {
    use_config(kConfig, "[spf]\ntemperror_action = \"accept\"\n[dmarc]\ndefer_on_temperror = false\n");
    auto d = deliver(*this, "198.51.100.7", "a@tempspf.example", {{"From", " boss@tempspf.example"}});
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reply.to_string();
    ASSERT_TRUE(d.eom.verdict.ok()) << d.eom.verdict.reply.to_string();
    const std::string value = header_value(d.eom);
    EXPECT_NE(value.find("spf=temperror"), std::string::npos) << value;
    EXPECT_NE(value.find("dmarc=temperror (p=quarantine dis=quarantine) header.from=tempspf.example"),
              std::string::npos)
        << value;
    EXPECT_EQ(value.find("dmarc=fail"), std::string::npos) << value;
    EXPECT_FALSE(d.eom.quarantine_reason.empty());
    EXPECT_EQ(independent_parse_error(folded_header_value(d.eom)), "");
}

TEST_F(Fixture, DmarcFailOnlyDueToTemperrorIsDeferredByDefault) {
    use_config(kConfig, "[spf]\ntemperror_action = \"accept\"\n");
    auto d = deliver(*this, "198.51.100.7", "a@tempspf.example", {{"From", " boss@tempspf.example"}});
    ASSERT_TRUE(d.mail.verdict.ok()) << d.mail.verdict.reply.to_string();
    EXPECT_EQ(d.eom.verdict.reply.code, "451");
    EXPECT_EQ(d.eom.verdict.reply.xcode, "4.7.5");
}

TEST_F(Fixture, CheckPlanSaysWhyEachCheckDoesOrDoesNotRun) {
    auto relay = open("10.0.0.50", 25, "10.0.0.83");
    relay->on_helo("scanner.example.net", anonymous());
    const auto plan = relay->check_plan();
    EXPECT_EQ(plan.skip(policy::MessageCheck::Spf), policy::CheckSkip::NotOnConnector);
    EXPECT_EQ(plan.skip(policy::MessageCheck::Dkim), policy::CheckSkip::Runs);
    EXPECT_EQ(plan.skip(policy::MessageCheck::Dmarc), policy::CheckSkip::NotOnConnector);

    use_config(kConfig, "[dkim]\nenabled = false\n");
    auto internet = open("192.0.2.1", 25, "198.51.100.7");
    internet->on_helo("client.example.net", anonymous());
    EXPECT_EQ(internet->check_plan().skip(policy::MessageCheck::Spf), policy::CheckSkip::Runs);
    EXPECT_EQ(internet->check_plan().skip(policy::MessageCheck::Dkim), policy::CheckSkip::DisabledGlobally);
}

TEST(IndependentParser, RefusesAHeaderThatBreaksTheGrammar) {
    // The oracle above can fail: text after "none" is not RFC 8601.
    EXPECT_NE(independent_parse_error("mx.example.com; none trailing"), "");
}

// --- the end-of-message decisions as pure functions

auth::DmarcVerdict dmarc_fail(auth::DmarcPolicy disposition, bool only_due_to_temperror) {
    auth::DmarcVerdict v;
    v.result = auth::DmarcResult::Fail;
    v.policy = std::string(auth::dmarc_policy_name(disposition));
    v.disposition = disposition;
    v.fail_only_due_to_temperror = only_due_to_temperror;
    v.from_domain = v.policy_domain = "example.org";
    v.reason = "no aligned SPF or DKIM pass";
    return v;
}

TEST(DmarcDecision, FailOnlyDueToTemperrorIsReportedAsTemperrorAndAPlainFailAsFail) {
    EXPECT_EQ(session::dmarc_result(dmarc_fail(auth::DmarcPolicy::Reject, true), "example.org").result, "temperror");
    EXPECT_EQ(session::dmarc_result(dmarc_fail(auth::DmarcPolicy::Reject, false), "example.org").result, "fail");
}

TEST(DmarcDecision, FailOnlyDueToTemperrorIsDeferredOrEnforcedAsConfigured) {
    config::DmarcSettings settings;
    EXPECT_EQ(session::decide_dmarc(settings, dmarc_fail(auth::DmarcPolicy::Reject, true), "example.org").action,
              session::DmarcAction::Defer);
    settings.defer_on_temperror = false;
    EXPECT_EQ(session::decide_dmarc(settings, dmarc_fail(auth::DmarcPolicy::Reject, true), "example.org").action,
              session::DmarcAction::Reject);
    EXPECT_EQ(session::decide_dmarc(settings, dmarc_fail(auth::DmarcPolicy::Quarantine, true), "example.org").action,
              session::DmarcAction::Quarantine);
}

TEST(DmarcDecision, PolicyTemperrorIsDeliveredWhenNotDeferred) {
    config::DmarcSettings settings;
    auth::DmarcVerdict v;
    v.result = auth::DmarcResult::TempError;
    EXPECT_EQ(session::decide_dmarc(settings, v, "example.org").action, session::DmarcAction::Defer);
    settings.defer_on_temperror = false;
    EXPECT_EQ(session::decide_dmarc(settings, v, "example.org").action, session::DmarcAction::Deliver);
}

TEST(SpfDecision, EachResultGetsItsConfiguredActionAndReply) {
    config::SpfSettings settings;  // fail: reject, softfail: accept, temperror: tempfail, permerror: accept
    auth::SpfVerdict v;
    v.identity = "example.org";
    v.explanation = "see https://example.org/spf";
    v.result = auth::SpfResult::Fail;
    auto d = session::decide_spf(settings, v, "MAIL FROM");
    EXPECT_EQ(d.action, session::CheckAction::Reject);
    EXPECT_EQ(d.reply, policy::ReplyId::SpfFail);
    EXPECT_EQ(d.explanation, "see https://example.org/spf");
    EXPECT_EQ(d.reason, "SPF MAIL FROM example.org: fail");
    v.result = auth::SpfResult::TempError;
    d = session::decide_spf(settings, v, "HELO");
    EXPECT_EQ(d.action, session::CheckAction::Defer);
    EXPECT_EQ(d.reply, policy::ReplyId::SpfTempError);
    EXPECT_EQ(d.explanation, "");  // only a refused fail carries the domain's text
    for (auto r : {auth::SpfResult::Pass, auth::SpfResult::Neutral, auth::SpfResult::None, auth::SpfResult::SoftFail,
                   auth::SpfResult::PermError}) {
        v.result = r;
        EXPECT_EQ(session::decide_spf(settings, v, "MAIL FROM").action, session::CheckAction::Deliver)
            << auth::spf_result_name(r);
    }
    settings.permerror_action = config::Action::Reject;
    settings.softfail_action = config::Action::Quarantine;
    v.result = auth::SpfResult::PermError;
    EXPECT_EQ(session::decide_spf(settings, v, "MAIL FROM").reply, policy::ReplyId::SpfPermError);
    v.result = auth::SpfResult::SoftFail;
    EXPECT_EQ(session::decide_spf(settings, v, "MAIL FROM").action, session::CheckAction::Quarantine);
    // A deferred fail answers with the temperror reply, not 5.7.23.
    settings.fail_action = config::Action::TempFail;
    v.result = auth::SpfResult::Fail;
    d = session::decide_spf(settings, v, "MAIL FROM");
    EXPECT_EQ(d.action, session::CheckAction::Defer);
    EXPECT_EQ(d.reply, policy::ReplyId::SpfTempError);
}

TEST(BadFromDecision, FollowsBadFromAction) {
    config::DmarcSettings settings;
    EXPECT_EQ(session::decide_bad_from(settings), session::CheckAction::Reject);
    settings.bad_from_action = config::Action::Header;
    EXPECT_EQ(session::decide_bad_from(settings), session::CheckAction::Deliver);
    settings.bad_from_action = config::Action::TempFail;
    EXPECT_EQ(session::decide_bad_from(settings), session::CheckAction::Defer);
}

TEST(AuthResultsValue, ShortHeaderStaysOnOneLineLongOneIsFoldedBeforeEachResult) {
    std::vector<auth::AuthResult> one = {{"spf", "pass", "", {{"smtp.mailfrom", "example.org"}}, ""}};
    const std::string short_value = session::authentication_results_value("mx.example.com", one, "");
    EXPECT_LE(short_value.size(), session::kAuthResFoldAbove);
    EXPECT_EQ(short_value.find('\n'), std::string::npos);
    std::vector<auth::AuthResult> many = one;
    many.push_back({"dkim", "pass", "", {{"header.d", "example.org"}, {"header.s", "selector2026"}}, ""});
    many.push_back({"dmarc", "pass", "", {{"header.from", "example.org"}}, "p=reject dis=none"});
    const std::string long_value = session::authentication_results_value("mx.example.com", many, "");
    EXPECT_NE(long_value.find(";\n\tdkim=pass"), std::string::npos) << long_value;
    EXPECT_NE(long_value.find(";\n\tdmarc=pass"), std::string::npos) << long_value;
    ASSERT_TRUE(auth::parse_authentication_results(long_value));
}

TEST(DmarcDecision, ConfiguredActionsReplaceThePolicysDisposition) {
    config::DmarcSettings settings;
    settings.reject_action = config::Action::Header;
    settings.quarantine_action = config::Action::TempFail;
    EXPECT_EQ(session::decide_dmarc(settings, dmarc_fail(auth::DmarcPolicy::Reject, false), "example.org").action,
              session::DmarcAction::Deliver);
    EXPECT_EQ(session::decide_dmarc(settings, dmarc_fail(auth::DmarcPolicy::Quarantine, false), "example.org").action,
              session::DmarcAction::Defer);
    EXPECT_EQ(session::decide_dmarc(settings, dmarc_fail(auth::DmarcPolicy::None, false), "example.org").action,
              session::DmarcAction::Deliver);
}

TEST(AuthResultsNote, OnlyARealLoginGetsAuthPass) {
    policy::SessionRights device;
    device.rights.add(policy::Right::BypassAntiSpam);
    EXPECT_FALSE(session::smtp_auth_result(device, true).has_value());
    policy::SessionRights server = device;
    server.externally_secured = true;
    EXPECT_FALSE(session::smtp_auth_result(server, true).has_value());
    policy::SessionRights user = device;
    user.authenticated = true;
    user.login = "alice@example.org";
    const auto r = session::smtp_auth_result(user, false);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->result, "pass");
    EXPECT_TRUE(r->properties.empty()) << "the login is named only when configured";
}

TEST(AuthResultsNote, NamesTheSkippedChecksAndWhy) {
    policy::SessionRights anonymous;
    const auto all = policy::CheckSet::all();
    EXPECT_EQ(session::skipped_checks_note(policy::plan_checks(all, false, all), anonymous, "Default Frontend"), "");
    EXPECT_EQ(session::skipped_checks_note(policy::plan_checks(policy::CheckSet(), false, all), anonymous, "Relay"),
              "spf, dkim, dmarc not checked on connector \"Relay\"");
    // Checks switched off globally are not the connector's doing.
    const auto spf_only = policy::CheckSet().add(policy::MessageCheck::Spf);
    EXPECT_EQ(session::skipped_checks_note(policy::plan_checks(all, false, spf_only), anonymous, "X"), "");
    policy::SessionRights user;
    user.authenticated = true;
    EXPECT_EQ(session::skipped_checks_note(policy::plan_checks(all, true, all), user, "Client Frontend"), "");
}

// ---------------------------------------------------------------------------
// Size limits while the message comes in (issue 12 item 5): the header that
// crosses a limit is refused and is the last one the session keeps anything
// of, so that a client cannot make the daemon hold more than the limit.
// ---------------------------------------------------------------------------

// kConfig with the Default Frontend's max_message_size line replaced by `limits`.
std::string with_limits(const std::string& limits) {
    std::string text = kConfig;
    const std::string old = "max_message_size = 1000\n";
    text.replace(text.find(old), old.size(), limits);
    return text;
}

TEST_F(Fixture, HeadersOverMaxHeaderSizeAreRefusedAtTheCrossingHeaderAndNoLongerKept) {
    use_config(with_limits("max_message_size = \"unlimited\"\nmax_header_size = 300\n"));
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    ASSERT_TRUE(s->on_header("From", " a@outside.example").verdict.ok());
    EXPECT_GT(s->header_octets_held(), 0U);
    const std::string filler(90, 'x');  // "X-Filler: " 90 octets CRLF = 102 octets
    ASSERT_TRUE(s->on_header("X-Filler", filler).verdict.ok());  // 128 octets so far
    ASSERT_TRUE(s->on_header("X-Filler", filler).verdict.ok());  // 230
    const Outcome crossing = s->on_header("X-Filler", filler);   // 332 > 300
    EXPECT_EQ(crossing.verdict.reply.to_string(), "552 5.3.4 Header size exceeds fixed maximum size");
    EXPECT_EQ(crossing.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(s->header_octets_held(), 0U) << "what was kept is given back at the refusal";
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(s->on_header("From", " b@outside.example").verdict.ok());
    EXPECT_EQ(s->header_octets_held(), 0U) << "nothing is kept after the refusal";
    EXPECT_EQ(s->on_end_of_headers().verdict.reply, crossing.verdict.reply);
    EXPECT_TRUE(s->on_body("body\r\n").verdict.ok());
    const Outcome eom = s->on_end_of_message();
    EXPECT_EQ(eom.verdict.reply, crossing.verdict.reply);
    EXPECT_FALSE(eom.tarpit) << "the client was slowed down once, at the refusal";
    int logged = 0;
    for (const auto& line : log)
        if (line.find("action=reject") != std::string::npos) {
            ++logged;
            EXPECT_NE(line.find("stage=HEADER"), std::string::npos) << line;
            EXPECT_NE(line.find("max_header_size 300"), std::string::npos) << line;
        }
    EXPECT_EQ(logged, 1);
}

TEST_F(Fixture, HeaderSizeRefusalUsesTheConnectorsConfiguredReplyAsATempfail) {
    std::string text = with_limits("max_header_size = 100\n");
    const std::string next = "\n[[connector]]\nname = \"Anonymous Relay\"";
    text.insert(text.find(next), "\n[connector.replies]\nheader_too_large = \"452 4.3.4 Too many headers, try later\"\n");
    use_config(text);
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    const Outcome o = s->on_header("Subject", " " + std::string(100, 's'));
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_EQ(o.verdict.reply.to_string(), "452 4.3.4 Too many headers, try later");
}

TEST_F(Fixture, HeadersAloneOverMaxMessageSizeAreRefusedAtTheCrossingHeader) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");  // max_message_size = 1000
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    Outcome o;
    int sent = 0;
    while (o.verdict.ok() && sent < 100) {
        o = s->on_header("X-Filler", " " + std::string(95, 'x'));  // 108 octets
        ++sent;
    }
    EXPECT_EQ(sent, 10) << "the tenth header brings the message to 1080 octets";
    EXPECT_EQ(o.verdict.reply.to_string(), "552 5.3.4 Message size exceeds fixed maximum message size");
    EXPECT_EQ(s->on_end_of_message().verdict.reply, o.verdict.reply);
}

TEST_F(Fixture, BodyOverMaxMessageSizeIsRefusedAtTheCrossingChunk) {
    auto s = open("192.0.2.1", 25, "198.51.100.7");  // max_message_size = 1000
    ASSERT_TRUE(mail(*s, "a@outside.example").verdict.ok());
    ASSERT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    ASSERT_TRUE(s->on_header("Subject", " big").verdict.ok());
    ASSERT_TRUE(s->on_end_of_headers().verdict.ok());
    EXPECT_TRUE(s->on_body(std::string(900, 'x')).verdict.ok());
    const Outcome crossing = s->on_body(std::string(900, 'x'));
    EXPECT_EQ(crossing.verdict.reply.to_string(), "552 5.3.4 Message size exceeds fixed maximum message size");
    EXPECT_TRUE(s->on_body(std::string(900, 'x')).verdict.ok()) << "refused once; the rest is not looked at";
    EXPECT_EQ(s->on_end_of_message().verdict.reply, crossing.verdict.reply);
}

// --- DNS asked ahead (issue 14's cold-cache run)

// A far-away name server: every answer (from the test zone) comes `delay`
// after its question was asked; start() does not wait, query() does. Every
// question is counted and charged to the budget, as libunbound's are.
class SlowResolver final : public dns::Resolver {
public:
    SlowResolver(std::shared_ptr<dns::Resolver> zone, std::chrono::milliseconds delay)
        : zone_(std::move(zone)), delay_(delay) {}
    dns::Answer query(std::string_view name, dns::Type type, dns::Budget& budget) override {
        return start(name, type, budget)->wait();
    }
    std::unique_ptr<dns::PendingAnswer> start(std::string_view name, dns::Type type, dns::Budget& budget) override {
        {
            std::lock_guard lock(mutex_);
            asked_.push_back(util::dns_name_key(name) + "/" + std::string(dns::type_name(type)));
        }
        if (!budget.charge()) {
            dns::Answer a;
            a.status = dns::Status::BudgetExhausted;
            return dns::ready_answer(a);
        }
        auto unlimited = dns::Budget::unlimited();
        return std::make_unique<Later>(zone_->query(name, type, unlimited), std::chrono::steady_clock::now() + delay_);
    }
    std::vector<std::string> asked() const {
        std::lock_guard lock(mutex_);
        return asked_;
    }

private:
    class Later final : public dns::PendingAnswer {
    public:
        Later(dns::Answer answer, std::chrono::steady_clock::time_point ready) : answer_(std::move(answer)), ready_(ready) {}
        const dns::Answer& wait() override {
            std::this_thread::sleep_until(ready_);
            return answer_;
        }
        bool ready() const override { return std::chrono::steady_clock::now() >= ready_; }

    private:
        dns::Answer answer_;
        std::chrono::steady_clock::time_point ready_;
    };
    std::shared_ptr<dns::Resolver> zone_;
    std::chrono::milliseconds delay_;
    mutable std::mutex mutex_;
    std::vector<std::string> asked_;
};

constexpr auto kSlowDns = std::chrono::milliseconds(300);

// A DKIM-Signature whose key record (sel._domainkey.<d>) the zone does not
// have: verifying it asks the key and ends in permerror.
std::pair<std::string, std::string> signature_by(const std::string& d) {
    return {"DKIM-Signature",
            " v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + d +
                "; s=sel; h=from;\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdHNpZ25hdHVyZQ=="};
}

struct SlowDns : Fixture {
    // The fixture's configuration and zone, through SlowResolver.
    void use_slow_dns(const std::string& dns_lines = "") {
        std::string text = kConfig;
        text.replace(text.find("@ZONE@"), 6, write_zone());
        text.insert(text.find("[dns]") + 6, dns_lines);
        auto loaded = config::load_string(text, "session-test.conf");
        ASSERT_TRUE(loaded.config);
        std::vector<dns::ZoneError> zone_errors;
        slow = std::make_shared<SlowResolver>(dns::make_resolver(loaded.config->dns, zone_errors), kSlowDns);
        runtime = session::build_runtime(loaded.config, slow).runtime;
        ASSERT_TRUE(runtime);
    }
    std::shared_ptr<SlowResolver> slow;
};

struct Timed {
    Outcome mail, eom;
    std::vector<std::string> asked_by_mail, asked_by_eoh, asked_by_eom;
    std::chrono::milliseconds mail_time{}, eoh_to_eom_time{};
};

Timed deliver_slowly(SlowDns& f, const std::vector<std::pair<std::string, std::string>>& headers,
                     const std::string& local = "192.0.2.1", const std::string& client = "192.0.2.10",
                     const std::string& body = "Hello.\r\n") {
    using Clock = std::chrono::steady_clock;
    auto ms = [](Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); };
    Timed t;
    auto s = f.open(local, 25, client);
    const auto mail_start = Clock::now();
    t.mail = f.mail(*s, "news@none.example");
    t.mail_time = ms(Clock::now() - mail_start);
    t.asked_by_mail = f.slow->asked();
    EXPECT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    for (const auto& [n, v] : headers) s->on_header(n, v);
    const auto eoh_start = Clock::now();
    EXPECT_TRUE(s->on_end_of_headers().verdict.ok());
    t.asked_by_eoh = f.slow->asked();
    s->on_body(body);
    t.eom = s->on_end_of_message();
    t.eoh_to_eom_time = ms(Clock::now() - eoh_start);
    t.asked_by_eom = f.slow->asked();
    return t;
}

std::vector<std::string> after(const std::vector<std::string>& all, std::size_t n) {
    return {all.begin() + static_cast<std::ptrdiff_t>(std::min(n, all.size())), all.end()};
}

TEST_F(SlowDns, KeyAndDmarcQuestionsAreAskedAtEndOfHeadersAndAnsweredTogether) {
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"From", " news@none.example"}, signature_by("k1.example"), signature_by("k2.example")};
    // The verdicts with answers at once (the fixture's offline zone).
    const auto reference = deliver(*this, "192.0.2.10", "news@none.example", headers);
    ASSERT_TRUE(reference.eom.verdict.ok()) << reference.eom.verdict.reason;
    const auto* expected = inserted(reference.eom, "Authentication-Results");
    ASSERT_NE(expected, nullptr);

    use_slow_dns();
    const Timed t = deliver_slowly(*this, headers);
    ASSERT_TRUE(t.eom.verdict.ok()) << t.eom.verdict.reason;
    const auto* ar = inserted(t.eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_EQ(ar->value, expected->value) << "asking ahead changes no verdict";
    EXPECT_NE(ar->value.find("dkim=permerror"), std::string::npos) << ar->value;

    // MAIL: the sender's SPF record and the HELO name's, asked together.
    EXPECT_EQ(t.asked_by_mail, (std::vector<std::string>{"none.example/TXT", "client.example.net/TXT"}));
    EXPECT_LT(t.mail_time, kSlowDns * 17 / 10) << "one round trip, not two";
    // End of headers asks every question end of message reads...
    EXPECT_EQ(after(t.asked_by_eoh, t.asked_by_mail.size()),
              (std::vector<std::string>{"sel._domainkey.k1.example/TXT", "sel._domainkey.k2.example/TXT",
                                        "_dmarc.none.example/TXT"}));
    // ...so end of message asks nothing again and waits one round trip, not three.
    EXPECT_EQ(t.asked_by_eom, t.asked_by_eoh);
    EXPECT_LT(t.eoh_to_eom_time, kSlowDns * 2) << "the key and DMARC answers came in together";
}

// The native engine asks MAIL's records as the MAIL comes in and keeps it
// off its workers until they are answered: on_mail then waits for nothing.
TEST_F(SlowDns, MailAskedAheadFindsBothSpfRecordsAnsweredAndAsksNothingAgain) {
    using Clock = std::chrono::steady_clock;
    use_slow_dns();
    auto s = open("192.0.2.1", 25, "192.0.2.10");
    s->on_helo("client.example.net", anonymous());
    const std::vector<std::string> args = {"<news@none.example>"};
    s->ask_ahead_for_mail(args, anonymous());
    const auto asked = slow->asked();
    EXPECT_EQ(asked, (std::vector<std::string>{"none.example/TXT", "client.example.net/TXT"}));
    EXPECT_FALSE(s->mail_answers_ready()) << "the answers come after 300 ms";
    const auto deadline = Clock::now() + kSlowDns * 10;
    while (!s->mail_answers_ready() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(s->mail_answers_ready());
    const auto start = Clock::now();
    const Outcome mail = s->on_mail(args, anonymous(), Clock::now());
    EXPECT_TRUE(mail.verdict.ok()) << mail.verdict.reason;
    EXPECT_LT(Clock::now() - start, kSlowDns / 2) << "both answers were in";
    EXPECT_EQ(slow->asked(), asked) << "nothing asked twice";
    // Another path at MAIL than the one asked ahead: its own questions.
    s->ask_ahead_for_mail({"<a@k1.example>"}, anonymous());
    EXPECT_EQ(after(slow->asked(), asked.size()), (std::vector<std::string>{"k1.example/TXT", "client.example.net/TXT"}));
    EXPECT_TRUE(s->on_mail(args, anonymous(), Clock::now()).verdict.ok());
    EXPECT_EQ(after(slow->asked(), asked.size() + 2),
              (std::vector<std::string>{"none.example/TXT", "client.example.net/TXT"}))
        << "the records asked for another path are not used";
}

// ARC: the newest ARC Set's key is asked at end of headers with the DMARC
// record, so that an ARC-sealed message's end of message waits one round
// trip, not a second one for the sealer's key.
TEST_F(SlowDns, ArcSealersKeyIsAskedAtEndOfHeadersWithTheDmarcRecord) {
    const auto sealed = testing_dkim::split_message(testing_dkim::lf_to_crlf(testing_arc::kChain));
    const std::vector<std::pair<std::string, std::string>> headers(sealed.headers.begin(), sealed.headers.end());
    // The verdicts with answers at once (the fixture's offline zone), on the
    // Checked Relay connector (no max_message_size for the ARC fields).
    const auto reference =
        deliver_to(*this, "10.0.0.50", "10.0.0.82", "news@none.example", "user@example.com", headers, anonymous(),
                   sealed.body);
    ASSERT_TRUE(reference.eom.verdict.ok()) << reference.eom.verdict.reason;
    const auto* expected = inserted(reference.eom, "Authentication-Results");
    ASSERT_NE(expected, nullptr);
    EXPECT_NE(expected->value.find("arc=pass"), std::string::npos) << expected->value;

    use_slow_dns();
    const Timed t = deliver_slowly(*this, headers, "10.0.0.50", "10.0.0.82", sealed.body);
    ASSERT_TRUE(t.eom.verdict.ok()) << t.eom.verdict.reason;
    const auto* ar = inserted(t.eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_EQ(ar->value, expected->value) << "asking ahead changes no verdict";
    // The seal and the message signature share their key: asked once.
    EXPECT_EQ(after(t.asked_by_eoh, t.asked_by_mail.size()),
              (std::vector<std::string>{"dummy._domainkey.example.org/TXT", "_dmarc.d1.example/TXT"}));
    EXPECT_EQ(t.asked_by_eom, t.asked_by_eoh) << "nothing asked again at end of message";
    EXPECT_LT(t.eoh_to_eom_time, kSlowDns * 2) << "the ARC key and DMARC answers came in together";
}

// A session from `client` allowed to leave SPF for later, past a MAIL from
// `sender` whose records it asked ahead (and which are not in yet: the slow
// name server answers after kSlowDns).
std::unique_ptr<session::Session> past_mail_spf_left_for_later(SlowDns& f, const std::string& client,
                                                               const std::string& sender) {
    auto s = f.open("192.0.2.1", 25, client);
    s->defer_spf_when_unanswered(true);
    s->on_helo("client.example.net", Fixture::anonymous());
    const std::vector<std::string> args = {"<" + sender + ">"};
    s->ask_ahead_for_mail(args, Fixture::anonymous());
    EXPECT_FALSE(s->mail_answers_ready());
    EXPECT_FALSE(s->rcpt_may_wait()) << "no block lists here; nothing left for later yet";
    const Outcome mail = s->on_mail(args, Fixture::anonymous(), std::chrono::steady_clock::now());
    EXPECT_TRUE(mail.verdict.ok()) << mail.verdict.reason;
    EXPECT_TRUE(s->rcpt_may_wait()) << "a RCPT may now give the SPF verdict";
    return s;
}

// [spf] mail_wait (issue 14's cold-cache p99): the native engine holds MAIL
// for its SPF records only that long; a session allowed to defer then
// answers MAIL and gives the verdict with end of message's, so that a cold
// message waits one round trip, not two.
TEST_F(SlowDns, SpfLeftForLaterAtMailIsDecidedAtEndOfMessageInOneRoundTrip) {
    using Clock = std::chrono::steady_clock;
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"From", " news@none.example"}, signature_by("k1.example")};
    const auto reference = deliver(*this, "192.0.2.10", "news@none.example", headers);
    ASSERT_TRUE(reference.eom.verdict.ok()) << reference.eom.verdict.reason;
    const auto* expected = inserted(reference.eom, "Authentication-Results");
    ASSERT_NE(expected, nullptr);

    use_slow_dns();
    const auto start = Clock::now();
    auto s = past_mail_spf_left_for_later(*this, "192.0.2.10", "news@none.example");
    EXPECT_LT(Clock::now() - start, kSlowDns / 2) << "MAIL answered without its SPF records";
    EXPECT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    for (const auto& [n, v] : headers) s->on_header(n, v);
    EXPECT_TRUE(s->on_end_of_headers().verdict.ok());
    s->on_body("Hello.\r\n");
    // As the native engine does: end of message once every answer is in.
    const auto deadline = Clock::now() + kSlowDns * 10;
    while (!s->dns_answers_ready() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto eom_start = Clock::now();
    const Outcome eom = s->on_end_of_message();
    EXPECT_LT(Clock::now() - eom_start, kSlowDns / 2) << "end of message waited for nothing more";
    EXPECT_LT(Clock::now() - start, kSlowDns * 17 / 10) << "one round trip, not two";
    ASSERT_TRUE(eom.verdict.ok()) << eom.verdict.reason;
    const auto* ar = inserted(eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_EQ(ar->value, expected->value) << "the same verdicts, SPF's included";
    const auto asked = slow->asked();
    EXPECT_EQ(std::count(asked.begin(), asked.end(), "none.example/TXT"), 1) << "the SPF record is not asked again";
    EXPECT_FALSE(s->rcpt_may_wait());
}

TEST_F(SlowDns, SpfFailLeftForLaterIsRefusedAtTheFirstRcptAfterItsRecordsAreIn) {
    using Clock = std::chrono::steady_clock;
    use_slow_dns();
    auto s = past_mail_spf_left_for_later(*this, "198.51.100.7", "ceo@spf.example");
    const auto rcpt_start = Clock::now();
    EXPECT_TRUE(s->on_rcpt({"<first@example.com>"}).verdict.ok()) << "still not in";
    EXPECT_LT(Clock::now() - rcpt_start, kSlowDns / 2) << "RCPT waited for the SPF records";
    std::this_thread::sleep_for(kSlowDns);  // the records asked at MAIL are in now
    const Outcome second = s->on_rcpt({"<second@example.com>"});
    EXPECT_EQ(second.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(second.verdict.reply.code, "550");
    EXPECT_EQ(second.verdict.reply.xcode, "5.7.23");
    const Outcome third = s->on_rcpt({"<third@example.com>"});
    EXPECT_EQ(third.verdict.reply.xcode, "5.7.23") << "the refusal holds for the rest of the message";
    // The first recipient was accepted before the verdict: the message is
    // refused at its end all the same.
    s->on_header("From", " ceo@spf.example");
    EXPECT_EQ(s->on_end_of_headers().verdict.reply.xcode, "5.7.23");
    EXPECT_EQ(s->on_end_of_message().verdict.reply.xcode, "5.7.23");
    // The next message of the session starts afresh.
    EXPECT_FALSE(s->rcpt_may_wait());
}

TEST_F(SlowDns, SpfFailLeftForLaterPastTheLastRcptIsRefusedAtEndOfMessage) {
    use_slow_dns();
    auto s = past_mail_spf_left_for_later(*this, "198.51.100.7", "ceo@spf.example");
    EXPECT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    s->on_header("From", " ceo@spf.example");
    EXPECT_TRUE(s->on_end_of_headers().verdict.ok());
    const Outcome eom = s->on_end_of_message();
    EXPECT_EQ(eom.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(eom.verdict.reply.code, "550");
    EXPECT_EQ(eom.verdict.reply.xcode, "5.7.23");
}

// The questions end of headers asks ahead for DKIM and DMARC come out of
// their own share of the message's budget, so that an SPF check left for
// end of message gets the room it would have had at MAIL (here 19 queries:
// SPF's share is 3, and the HELO record it reads is not asked ahead).
TEST_F(SlowDns, SpfLeftForLaterKeepsItsShareOfTheBudget) {
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"From", " news@none.example"}, signature_by("k1.example")};
    use_slow_dns("message_query_budget = 19\n");
    const Timed reference = deliver_slowly(*this, headers);
    ASSERT_TRUE(reference.eom.verdict.ok()) << reference.eom.verdict.reason;
    const auto* expected = inserted(reference.eom, "Authentication-Results");
    ASSERT_NE(expected, nullptr);
    EXPECT_NE(expected->value.find("spf=pass"), std::string::npos) << expected->value;

    auto s = past_mail_spf_left_for_later(*this, "192.0.2.10", "news@none.example");
    EXPECT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    for (const auto& [n, v] : headers) s->on_header(n, v);
    EXPECT_TRUE(s->on_end_of_headers().verdict.ok());
    s->on_body("Hello.\r\n");
    const Outcome eom = s->on_end_of_message();
    ASSERT_TRUE(eom.verdict.ok()) << eom.verdict.reason;
    const auto* ar = inserted(eom, "Authentication-Results");
    ASSERT_NE(ar, nullptr);
    EXPECT_EQ(ar->value, expected->value) << "the same verdicts as SPF at MAIL";
}

// Without defer_spf_when_unanswered (the libmilter engine, explain), on_mail
// waits for its records and gives the verdict at MAIL, as before.
TEST_F(SlowDns, WithoutDeferralMailWaitsAndRefusesAtMail) {
    using Clock = std::chrono::steady_clock;
    use_slow_dns();
    auto s = open("192.0.2.1", 25, "198.51.100.7");
    s->on_helo("client.example.net", anonymous());
    const std::vector<std::string> args = {"<ceo@spf.example>"};
    s->ask_ahead_for_mail(args, anonymous());
    const Outcome mail = s->on_mail(args, anonymous(), Clock::now());
    EXPECT_EQ(mail.verdict.reply.xcode, "5.7.23");
    EXPECT_FALSE(s->rcpt_may_wait());
}

TEST_F(SlowDns, FiftySignaturesAskAtMostFourKeysAheadAndNoMoreThanMaxSignaturesInAll) {
    std::vector<std::pair<std::string, std::string>> headers = {{"From", " news@none.example"}};
    for (int i = 0; i < 50; ++i) headers.push_back(signature_by("k" + std::to_string(i) + ".example"));
    use_slow_dns();
    // The Checked Relay connector: no max_message_size for the 50 fields.
    const Timed t = deliver_slowly(*this, headers, "10.0.0.50", "10.0.0.82");
    ASSERT_TRUE(t.eom.verdict.ok()) << t.eom.verdict.reason;
    const auto at_eoh = after(t.asked_by_eoh, t.asked_by_mail.size());
    ASSERT_EQ(at_eoh.size(), auth::kMaxPrefetchedKeys + 1) << "four keys and the DMARC record";
    EXPECT_EQ(at_eoh.back(), "_dmarc.none.example/TXT");
    ASSERT_LE(auth::kMaxPrefetchedKeys + 2, dns::kMaxPrefetchedQuestions);
    // End of message verifies max_signatures (5): the fifth key only then.
    const auto at_eom = after(t.asked_by_eom, t.asked_by_eoh.size());
    EXPECT_EQ(at_eom, (std::vector<std::string>{"sel._domainkey.k4.example/TXT"}));
}

TEST_F(SlowDns, NothingIsAskedAheadWhenTheBudgetLeftCouldNotAlsoCoverTheChecks) {
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"From", " news@none.example"}, signature_by("k1.example")};
    // 19 queries: SPF gets 3 (16 are kept for 5 keys + 2 ARC + 9 DMARC),
    // under the room that asking the HELO's record ahead needs, and takes 2,
    // leaving 17: asking the key and DMARC record ahead could leave end of
    // message short.
    use_slow_dns("message_query_budget = 19\n");
    const Timed t = deliver_slowly(*this, headers);
    ASSERT_TRUE(t.eom.verdict.ok()) << t.eom.verdict.reason;
    EXPECT_EQ(t.asked_by_mail, (std::vector<std::string>{"none.example/TXT", "client.example.net/TXT"}))
        << "one after the other, MAIL FROM's first";
    EXPECT_EQ(t.asked_by_eoh, t.asked_by_mail) << "nothing asked at end of headers";
    EXPECT_EQ(after(t.asked_by_eom, t.asked_by_eoh.size()),
              (std::vector<std::string>{"sel._domainkey.k1.example/TXT", "_dmarc.none.example/TXT"}));
}

}  // namespace
