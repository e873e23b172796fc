// Relay tricks through the daemon (issue 7, "Relay tricks"; issue 2, "Relay
// decisions must be made on the address as the MTA will route it") and the
// tarpit that must not hold up other sessions (issue 2, "Tarpit").
//
// Each row of the table is one RCPT an anonymous internet client sends on an
// internet-facing connector, with the SMTP reply it must get. The expected
// replies come from how the routing MTA treats the address (Postfix: percent
// hack, bang paths and sender-specified routes are routed elsewhere, so an
// unauthorised client gets a relay refusal; RFC 5321 sections 4.1.2, 4.1.3,
// 4.5.1 and 4.5.3.1) and Exchange's reply texts, never from the daemon's code.
#include <chrono>
#include <future>
#include <ostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"
#include "protocol/suite_daemon.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::Action;
using milterclient::EomResult;
using milterclient::Response;
using Clock = std::chrono::steady_clock;

// The enhanced status code (RFC 3463) of a reply "550 5.7.54 text", or "".
std::string enhanced_code(const std::string& reply) {
    const std::size_t sp = reply.find(' ');
    if (sp == std::string::npos) return {};
    const std::size_t end = reply.find(' ', sp + 1);
    const std::string x = reply.substr(sp + 1, end == std::string::npos ? std::string::npos : end - sp - 1);
    if (x.size() < 5 || (x[0] != '2' && x[0] != '4' && x[0] != '5') || x[1] != '.') return {};
    return x;
}

// An internet-facing connector (Exchange's "Default Frontend", anonymous
// sessions may not use our domains as sender) and the accepted domains:
// ourdomain.example, an IDN written as a U-label and one written as an
// A-label, and a wildcard domain.
const std::string kRelayConfig = R"(
[[accepted_domain]]
domain = "ourdomain.example"
type = "authoritative"

[[accepted_domain]]
domain = "bücher.example"
type = "authoritative"

[[accepted_domain]]
domain = "xn--mnchen-3ya.example"
type = "authoritative"

[[accepted_domain]]
domain = "*.wild.example"
type = "authoritative"

)" + internet_connector("Internet Frontend", std::string("tarpit_interval = 0\n") + kDenyAnonymousOwnDomainSenders);

struct RelayTrick {
    const char* name;
    std::string rcpt;   // the RCPT argument exactly as the MTA passes it
    int code;           // expected SMTP reply code; 0 = accepted (the MTA carries on)
    std::string xcode;  // expected enhanced status code when refused
};

// GoogleTest names a failing row with this.
void PrintTo(const RelayTrick& t, std::ostream* os) { *os << t.name << " RCPT " << visible(t.rcpt); }

// 300 octets: a 50-octet local part and a 249-octet domain under the
// wildcard accepted domain (every label under 64 octets), so only the
// length limit of RFC 5321 section 4.5.3.1.3 (a path is at most 256
// octets) can refuse it.
std::string overlong_address() {
    std::string domain = "wild.example";
    while (domain.size() + 50 < 249) domain = std::string(49, 'd') + "." + domain;
    domain = std::string(249 - domain.size() - 1, 'e') + "." + domain;
    const std::string address = std::string(50, 'u') + "@" + domain;
    return "<" + address + ">";
}

constexpr const char* kRelay = "5.7.54";    // 550 5.7.54 Unable to relay
constexpr const char* kInvalid = "5.1.3";   // 501 5.1.3 Invalid address

std::vector<RelayTrick> relay_tricks() {
    return {
        // Postfix's allow_percent_hack: user%outside@ours goes to user@outside.
        {"PercentHack", "<user%outside.example@ourdomain.example>", 550, kRelay},
        // Postfix's swap_bangpath: outside!user@ours goes to user@outside.
        {"BangPath", "<outside.example!user@ourdomain.example>", 550, kRelay},
        // RFC 5321 section 4.1.2/C: the mailbox after the source route is the
        // destination.
        {"SourceRoute", "<@ourdomain.example:user@outside.example>", 550, kRelay},
        {"SourceRouteWithTwoHops", "<@ourdomain.example,@ourdomain.example:user@outside.example>", 550, kRelay},
        // Quoted local parts holding a route: Postfix flags them as
        // sender-routed and reject_unauth_destination refuses them.
        {"QuotedLocalPartWithAt", "<\"user@outside.example\"@ourdomain.example>", 550, kRelay},
        {"QuotedLocalPartWithPercent", "<\"user%outside.example\"@ourdomain.example>", 550, kRelay},
        {"QuotedLocalPartWithBang", "<\"outside.example!user\"@ourdomain.example>", 550, kRelay},
        // An address literal is no accepted domain.
        {"AddressLiteral", "<user@[192.0.2.1]>", 550, kRelay},
        {"Ipv6AddressLiteral", "<user@[IPv6:2001:db8::1]>", 550, kRelay},
        // A trailing dot names the same (absolute) domain; case never matters
        // in domains (RFC 5321 section 2.4).
        {"TrailingDotOnAcceptedDomain", "<user@ourdomain.example.>", 0, ""},
        {"TrailingDotOnOtherDomain", "<user@outside.example.>", 550, kRelay},
        {"MixedCase", "<USER@OurDomain.Example>", 0, ""},
        // IDN (RFC 5890): U-label and A-label are the same domain.
        {"IdnALabelOfDomainConfiguredAsULabel", "<user@xn--bcher-kva.example>", 0, ""},
        {"IdnULabelOfDomainConfiguredAsALabel", "<user@m\xc3\xbcnchen.example>", 0, ""},
        {"IdnULabelOfDomainConfiguredAsULabel", "<user@b\xc3\xbc" "cher.example>", 0, ""},
        {"IdnOfOtherDomain", "<user@xn--bcher-kva.outside.example>", 550, kRelay},
        // Ours only through UTS #46 mapping: routed as written (issue 12).
        {"FullwidthFormOfAcceptedDomain", "<user@\xef\xbd\x8f\xef\xbd\x95\xef\xbd\x92" "domain.example>", 550, kRelay},
        {"IdeographicFullStopInAcceptedDomain", "<user@ourdomain\xe3\x80\x82" "example>", 550, kRelay},
        {"FullwidthFullStopInAcceptedDomain", "<user@ourdomain\xef\xbc\x8e" "example>", 550, kRelay},
        {"SoftHyphenInAcceptedDomain", "<user@our\xc2\xad" "domain.example>", 550, kRelay},
        {"UnicodeUpperCaseOfAcceptedDomain", "<user@B\xc3\x9c" "CHER.example>", 550, kRelay},
        // Subdomains are accepted only under a wildcard.
        {"SubdomainWithoutWildcard", "<user@sub.ourdomain.example>", 550, kRelay},
        {"SubdomainUnderWildcard", "<user@sub.wild.example>", 0, ""},
        // Empty and missing domains.
        {"EmptyDomain", "<user@>", 501, kInvalid},
        // RFC 5321 section 4.5.1: postmaster without a domain must be accepted.
        {"BarePostmaster", "<postmaster>", 0, ""},
        {"BarePostmasterMixedCase", "<PostMaster>", 0, ""},
        // The null path is a sender, never a recipient.
        {"NullPathRecipient", "<>", 501, kInvalid},
        {"OverlongAddress", overlong_address(), 501, kInvalid},
        // NUL and control bytes (an MTA would not pass them; a hostile one may).
        {"NulInLocalPart", std::string("<us\0er@ourdomain.example>", 25), 501, kInvalid},
        {"NulBeforeOutsideDomain", std::string("<user@outside.example\0@ourdomain.example>", 41), 501, kInvalid},
        {"ControlByteInLocalPart", "<us\x01" "er@ourdomain.example>", 501, kInvalid},
        {"ControlByteInDomain", "<user@our\x7f" "domain.example>", 501, kInvalid},
        {"CrLfInAddress", "<user@outside.example\r\n@ourdomain.example>", 501, kInvalid},
        {"EscapeInLocalPart", "<us\x1b" "er@ourdomain.example>", 501, kInvalid},
    };
}

// One daemon serves every row (each on its own milter connection).
class RelayTrickTest : public SuiteDaemonTest, public ::testing::WithParamInterface<RelayTrick> {
protected:
    static void SetUpTestSuite() { start_suite_daemon(kRelayConfig); }
    static void TearDownTestSuite() { stop_suite_daemon(); }
};

TEST_P(RelayTrickTest, AnonymousRecipientGetsTheRoutingMtasVerdict) {
    const RelayTrick& t = GetParam();
    Mta mta(socket_spec(), SmtpClient{});  // 198.51.100.7, SPF pass for fabrikam.example
    const Response c = mta.connect();
    ASSERT_TRUE(c.proceeds()) << describe(c);
    const Response m = mta.mail("<bob@fabrikam.example>");
    ASSERT_TRUE(m.proceeds()) << describe(m);
    // Sent as Postfix does, but with the argument exactly as given (Mta::rcpt
    // would take it apart for {rcpt_addr}).
    std::string macro_value = t.rcpt;
    std::erase(macro_value, '\0');  // a macro value cannot hold a NUL
    mta.session().macros('R', {{"{rcpt_addr}", macro_value}});
    const Response r = mta.session().rcpt({t.rcpt});
    if (t.code == 0) {
        EXPECT_TRUE(r.proceeds()) << "RCPT " << visible(t.rcpt) << " was refused: " << describe(r);
        EXPECT_EQ(r.smtp_code(), 0) << describe(r);
    } else {
        EXPECT_EQ(r.smtp_code(), t.code) << "RCPT " << visible(t.rcpt) << ": " << describe(r);
        EXPECT_EQ(enhanced_code(r.smtp_reply()), t.xcode) << "RCPT " << visible(t.rcpt) << ": " << describe(r);
    }
}

INSTANTIATE_TEST_SUITE_P(RelayTricks, RelayTrickTest, ::testing::ValuesIn(relay_tricks()),
                         [](const ::testing::TestParamInfo<RelayTrick>& param_info) { return param_info.param.name; });

// ---- the null sender (issue 7: "<> senders") ----

class NullSenderTest : public SuiteDaemonTest {
protected:
    static void SetUpTestSuite() { start_suite_daemon(kRelayConfig); }
    static void TearDownTestSuite() { stop_suite_daemon(); }
};

TEST_F(NullSenderTest, NullSenderCannotRelay) {
    Mta mta(socket_spec(), SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    const Response m = mta.mail("<>");
    ASSERT_TRUE(m.proceeds()) << "bounces must be accepted (RFC 5321 section 4.5.5): " << describe(m);
    const Response r = mta.rcpt("<user@outside.example>");
    EXPECT_EQ(r.smtp_code(), 550) << describe(r);
    EXPECT_EQ(enhanced_code(r.smtp_reply()), kRelay) << describe(r);
}

TEST_F(NullSenderTest, NullSenderDeliversToAcceptedDomain) {
    Mta mta(socket_spec(), SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    const Response m = mta.mail("<>");
    ASSERT_TRUE(m.proceeds()) << describe(m);
    const Response r = mta.rcpt("<user@ourdomain.example>");
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

// ===========================================================================
// Tarpit (issue 2): refusals to unauthenticated sessions are delayed by
// tarpit_interval without blocking other sessions.
// ===========================================================================

class TarpitTest : public DaemonTest {};

const std::string kTarpitConfig =
    authoritative_domain("contoso.com") + internet_connector("Default Frontend", "tarpit_interval = \"3s\"\n");

TEST_F(TarpitTest, TarpittedRefusalDoesNotBlockAnotherSession) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kTarpitConfig));

    // Session A: an anonymous relay attempt, refused after the tarpit.
    Mta a(socket_spec(), SmtpClient{});
    ASSERT_TRUE(a.connect().proceeds());
    ASSERT_TRUE(a.mail("<bob@fabrikam.example>").proceeds());
    const auto a_sent = Clock::now();
    auto a_reply = std::async(std::launch::async, [&a] {
        const Response r = a.rcpt("<someone@external.example>");
        return std::make_pair(r, Clock::now());
    });

    // Session B, once A's refusal is decided (it is logged before the
    // tarpit delays the reply), on another milter connection: a whole message.
    ASSERT_TRUE(wait_for_log({"stage=RCPT", "action=reject"}, 5s)) << "session A's refusal was not logged within 5 s";
    const auto b_start = Clock::now();
    std::optional<EomResult> b_result;
    std::string b_error;
    try {
        Mta b(socket_spec(), SmtpClient{});
        const Response c = b.connect();
        if (c.proceeds()) {
            SimpleMessage msg;
            msg.recipients = {"<user@contoso.com>"};
            b_result = b.send(msg);
        } else {
            b_error = "connect: " + describe(c);
        }
    } catch (const milterclient::Error& e) {
        b_error = e.what();
    }
    const auto b_end = Clock::now();

    ASSERT_EQ(a_reply.wait_for(10s), std::future_status::ready) << "session A got no answer within 10 s";
    const auto [a_response, a_end] = a_reply.get();

    ASSERT_TRUE(b_result.has_value()) << "session B failed: " << b_error;
    EXPECT_TRUE(b_result->proceeds()) << "session B's message was not accepted: " << describe(*b_result);
    const double b_seconds = std::chrono::duration<double>(b_end - b_start).count();
    EXPECT_LT(b_seconds, 1.5) << "session B took " << b_seconds << " s: held up by A's tarpit";
    EXPECT_LT(b_end, a_end) << "session B finished only after A's tarpit ended";

    EXPECT_EQ(a_response.smtp_code(), 550) << describe(a_response);
    EXPECT_EQ(enhanced_code(a_response.smtp_reply()), kRelay) << describe(a_response);
    const double a_seconds = std::chrono::duration<double>(a_end - a_sent).count();
    EXPECT_GE(a_seconds, 2.9) << "the refusal was not tarpitted for 3 s";
    EXPECT_LT(a_seconds, 6.0) << "the refusal took far longer than the 3 s tarpit";
}

}  // namespace
}  // namespace protocol_test
