// Local submissions: recognised from what Postfix and sendmail really send
// at connect, and given the connector bound to "local" or the built-in one.
#include <gtest/gtest.h>

#include "policy/binding.hpp"
#include "policy/connector_map.hpp"
#include "policy/local_submission.hpp"
#include "policy/session_rights.hpp"

namespace {

using policy::ConnectEvidence;
using policy::IpAddress;
using policy::LocalSubmission;
using policy::recognise_local_submission;

// What Postfix's cleanup(8) sends for the sendmail command (non_smtpd_milters):
// SMFIA_INET, 127.0.0.1, port 0; {daemon_addr} 127.0.0.1, {daemon_port} 0.
ConnectEvidence postfix_pickup(const std::string& address = "127.0.0.1") {
    ConnectEvidence e;
    e.family = ConnectEvidence::Family::Inet;
    e.address = IpAddress::parse(address);
    e.port = 0;
    e.client_addr = address;
    e.client_port = "0";
    e.daemon_addr = address;
    e.daemon_port = "0";
    return e;
}

// A real SMTP client on loopback, as Postfix's smtpd reports it.
ConnectEvidence loopback_smtp_client() {
    ConnectEvidence e;
    e.family = ConnectEvidence::Family::Inet;
    e.address = IpAddress::parse("127.0.0.1");
    e.port = 40312;
    e.client_addr = "127.0.0.1";
    e.client_port = "40312";
    e.daemon_addr = "127.0.0.1";
    e.daemon_port = "25";
    return e;
}

// sendmail -bs on a pipe: SMFIA_UNKNOWN, {client_addr} "0", {client_port} "0".
ConnectEvidence sendmail_bs() {
    ConnectEvidence e;
    e.family = ConnectEvidence::Family::None;
    e.client_addr = "0";
    e.client_port = "0";
    return e;
}

TEST(LocalSubmission, PostfixPickupStandInIsALocalSubmission) {
    EXPECT_EQ(recognise_local_submission(postfix_pickup()), LocalSubmission::PostfixStandIn);
}

TEST(LocalSubmission, PostfixPickupStandInWithIpv6FirstIsALocalSubmission) {
    EXPECT_EQ(recognise_local_submission(postfix_pickup("::1")), LocalSubmission::PostfixStandIn);
}

TEST(LocalSubmission, PostfixStandInWithTheDefaultMacroListIsALocalSubmission) {
    // Postfix's default milter_connect_macros send neither {client_addr}
    // nor {daemon_port}: port 0 in the connect event is the evidence.
    auto e = postfix_pickup();
    e.client_addr.clear();
    e.client_port.clear();
    e.daemon_port.clear();
    EXPECT_EQ(recognise_local_submission(e), LocalSubmission::PostfixStandIn);
}

TEST(LocalSubmission, PostfixSmtpdWithoutNetworkPeerIsALocalSubmission) {
    // Postfix's own `sendmail -bs`: smtpd on a pipe, AF_UNSPEC, stand-in macros.
    ConnectEvidence e;
    e.family = ConnectEvidence::Family::None;
    e.client_addr = "127.0.0.1";
    e.client_port = "0";
    e.daemon_addr = "127.0.0.1";
    e.daemon_port = "0";
    EXPECT_EQ(recognise_local_submission(e), LocalSubmission::PostfixStandIn);
}

TEST(LocalSubmission, SendmailBsOnAPipeIsALocalSubmission) {
    EXPECT_EQ(recognise_local_submission(sendmail_bs()), LocalSubmission::NoNetworkPeer);
}

TEST(LocalSubmission, UnixDomainPeerIsALocalSubmission) {
    ConnectEvidence e;
    e.family = ConnectEvidence::Family::Unix;
    EXPECT_EQ(recognise_local_submission(e), LocalSubmission::NoNetworkPeer);
}

TEST(LocalSubmission, LoopbackSmtpClientWithARealPortIsNotALocalSubmission) {
    // sendmail's MSP relaying to 127.0.0.1:25 looks exactly like this: it is
    // an SMTP client, and the connectors decide.
    EXPECT_EQ(recognise_local_submission(loopback_smtp_client()), LocalSubmission::No);
}

// Every way a connection may look almost like a local submission and is not.
TEST(LocalSubmission, NearMissesAreNotLocalSubmissions) {
    struct Case {
        const char* why;
        ConnectEvidence evidence;
    };
    auto changed = [](ConnectEvidence e, auto&& edit) {
        edit(e);
        return e;
    };
    const Case cases[] = {
        {"port 0 from a non-loopback address", changed(postfix_pickup("192.0.2.7"), [](auto&) {})},
        // Postfix only ever stands in 127.0.0.1 or ::1.
        {"port 0 from 127.0.0.2", changed(postfix_pickup("127.0.0.2"), [](auto&) {})},
        // XCLIENT ADDR=127.0.0.1 PORT=0 without DESTPORT/DESTADDR: smtpd
        // still reports the listener the client really reached.
        {"XCLIENT port 0 on port 25", changed(postfix_pickup(), [](auto& e) { e.daemon_port = "25"; })},
        {"XCLIENT port 0 on 10.0.0.50", changed(postfix_pickup(), [](auto& e) { e.daemon_addr = "10.0.0.50"; })},
        {"{client_addr} contradicts the event",
         changed(postfix_pickup(), [](auto& e) { e.client_addr = "192.0.2.7"; })},
        {"{client_port} contradicts the event",
         changed(postfix_pickup(), [](auto& e) { e.client_port = "40312"; })},
        // Missing evidence never widens what a session may do.
        {"no address and no macros", ConnectEvidence{}},
        // smtpd_peer_assume_unknown_client: the peer went away before smtpd asked.
        {"Postfix's unknown client", changed(sendmail_bs(), [](auto& e) { e.client_addr = e.client_port = "unknown"; })},
        {"no address but a network daemon port", changed(sendmail_bs(), [](auto& e) { e.daemon_port = "25"; })},
        {"no address but a network daemon address",
         changed(sendmail_bs(), [](auto& e) { e.daemon_addr = "10.0.0.50"; })},
    };
    for (const auto& c : cases) EXPECT_EQ(recognise_local_submission(c.evidence), LocalSubmission::No) << c.why;
}

// ---- the policy

policy::Connector connector(const std::string& name, const std::vector<std::string>& bindings) {
    policy::Connector c;
    c.name = name;
    for (const auto& b : bindings) c.bindings.push_back(*policy::Binding::parse(b));
    c.remote_ranges.push_back(*policy::IpRange::parse("0.0.0.0/0"));
    c.permission_groups = {policy::PermissionGroup::AnonymousUsers};
    return c;
}

TEST(LocalSubmission, LocalBindingParsesCaseInsensitivelyAndPrintsAsLocal) {
    auto b = policy::Binding::parse("LOCAL");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->kind(), policy::Binding::Kind::Local);
    EXPECT_EQ(b->to_string(), "local");
}

TEST(LocalSubmission, LocalBindingNeverMatchesANetworkEndpoint) {
    const auto b = *policy::Binding::parse("local");
    policy::LocalEndpoint unknown;  // even when the MTA sent nothing
    EXPECT_FALSE(b.matches(unknown));
    policy::LocalEndpoint loopback{IpAddress::parse("127.0.0.1"), 25, ""};
    EXPECT_FALSE(b.matches(loopback));
}

TEST(LocalSubmission, ConnectorBoundToLocalIsChosenForLocalSubmissions) {
    policy::ConnectorMap map({connector("Default Frontend", {"0.0.0.0:25"}), connector("Cron", {"local"})});
    const auto selection = map.select_local();
    ASSERT_NE(selection.chosen, nullptr);
    EXPECT_EQ(selection.chosen->name, "Cron");
}

TEST(LocalSubmission, ConnectorBoundOnlyToLocalIsNotChosenForNetworkClients) {
    policy::ConnectorMap map({connector("Cron", {"local"})});
    const auto selection = map.select({IpAddress::parse("127.0.0.1"), 25, ""}, *IpAddress::parse("127.0.0.1"));
    EXPECT_EQ(selection.chosen, nullptr);
}

TEST(LocalSubmission, WithoutALocalBindingTheBuiltInConnectorIsChosen) {
    // A wildcard connector does not capture local submissions: they are not
    // anonymous internet clients.
    policy::ConnectorMap map({connector("Default Frontend", {"0.0.0.0:25"})});
    const auto selection = map.select_local();
    ASSERT_NE(selection.chosen, nullptr);
    EXPECT_EQ(selection.chosen->name, policy::kBuiltinLocalConnectorName);
}

TEST(LocalSubmission, DisabledLocalConnectorGivesWayToTheBuiltInOne) {
    auto cron = connector("Cron", {"local"});
    cron.enabled = false;
    policy::ConnectorMap map({cron});
    EXPECT_EQ(map.select_local().chosen->name, policy::kBuiltinLocalConnectorName);
}

TEST(LocalSubmission, TwoEnabledConnectorsBindingLocalConflict) {
    auto conflicts = policy::ConnectorMap::find_conflicts({connector("A", {"local"}), connector("B", {"local"})});
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_NE(conflicts[0].find("both bind local"), std::string::npos) << conflicts[0];
}

TEST(LocalSubmission, BuiltInConnectorMayRelayAndSendAsAnySenderWithoutLimitsOrTarpit) {
    const auto c = policy::builtin_local_submission_connector();
    const auto rights = policy::resolve_session_rights(c, {}, {});
    EXPECT_FALSE(rights.authenticated);
    for (auto r : {policy::Right::Submit, policy::Right::AcceptAnyRecipient, policy::Right::AcceptAnySender,
                   policy::Right::AcceptAuthoritativeDomainSender})
        EXPECT_TRUE(rights.rights.has(r)) << policy::right_name(r);
    // Not Bypass-Anti-Spam: the checks are skipped because a local
    // submission has no client to check, not because of a right that
    // would read as an authenticated session.
    EXPECT_FALSE(rights.rights.has(policy::Right::BypassAntiSpam));
    EXPECT_FALSE(c.require_tls);
    EXPECT_FALSE(c.max_inbound_connection_per_source);
    EXPECT_FALSE(c.max_inbound_connection);
    EXPECT_FALSE(c.message_rate_limit);
    EXPECT_EQ(c.tarpit_interval.count(), 0);
}

}  // namespace
