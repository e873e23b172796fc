// config::load_string / load_file: a full valid file, every kind of error
// with its exact file:line, files the config names, durations and sizes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "config/config.hpp"
#include "milter/engine.hpp"
#include "config_test_util.hpp"
#include "policy/session_rights.hpp"

using config::load_file;
using config::load_string;
using config_test::error_strings;
using config_test::join_errors;
using config_test::kMinimalConnector;
using config_test::TempDir;

namespace {

// Exactly one error, at `where` ("file:line"), whose message contains `needle`.
void expect_one_error(const config::LoadResult& r, const std::string& where, const std::string& needle) {
    EXPECT_EQ(r.config, nullptr);
    ASSERT_EQ(r.errors.size(), 1u) << join_errors(r);
    const std::string text = r.errors[0].to_string();
    EXPECT_EQ(text.rfind(where + ": ", 0), 0u) << text;
    EXPECT_NE(text.find(needle), std::string::npos) << text;
}

config::LoadResult load(const std::string& text) { return load_string(text, "t.conf"); }

const policy::Connector* find(const config::Config& c, const std::string& name) {
    return c.connectors.find(name);
}

}  // namespace

// ---------------------------------------------------------------- valid files

TEST(ConfigLoad, FullConfigSetsEverySection) {
    TempDir dir;
    dir.write("relay-hosts", "# printers\n10.0.0.81\n10.0.1.0/24 # lab\n\n");
    dir.write("logins", "alice@example.com alice\n@example.org bob,carol\n");
    dir.write("zone", "example.com. IN TXT \"v=spf1 -all\"\n");
    const std::string conf = dir.write("main.conf", R"(
[milter]
socket = "local:/run/connector-milter/milter.sock"
socket_mode = "0660"
socket_group = "postfix"
authserv_id = "MX.Example.COM"
strip_authserv_ids = ["mx2.example.com"]
auth_user_in_header = true
drain_timeout = "45s"
sender_login_map = "logins"

[[accepted_domain]]
domain = "example.com"
type = "authoritative"

[[accepted_domain]]
domain = "*.contoso.com"
type = "internal_relay"

[[connector]]
name = "Default Frontend"
bindings = ["0.0.0.0:25", "[::]:25"]
remote_ip_ranges = ["0.0.0.0-255.255.255.255", "::/0"]
permission_groups = ["AnonymousUsers", "ExchangeUsers", "ExchangeServers"]
auth_mechanisms = ["Tls", "BasicAuth", "BasicAuthRequireTLS"]
require_tls = false
require_ehlo_domain = true
max_message_size = "10MiB"
max_recipients_per_message = 50
max_inbound_connection_per_source = "unlimited"
max_inbound_connection_percentage_per_source = 5
max_inbound_connection = 100
message_rate_limit = 30
message_rate_source = "User"
tarpit_interval = "500ms"
[connector.deny]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender"]
[connector.replies]
relay_denied = "550 5.7.54 No relaying here"

[[connector]]
name = "Anonymous Relay"
enabled = true
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.80"]
remote_ip_ranges_file = "relay-hosts"
permission_groups = ["AnonymousUsers"]
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]
"user:Alice" = ["SMTP-Submit"]

[[certificate_map]]
subject = "CN=mx.partner.example"
issuer = "CN=Partner CA"
group = "Partners"

[dns]
timeout = "2s"
nameservers = ["192.0.2.53", "2001:db8::53@5353"]
static_zone = "zone"
offline = true
message_query_budget = 40
message_time_budget = 7

[spf]
enabled = true
check_helo = false
fail_action = "header"
softfail_action = "quarantine"
temperror_action = "accept"
permerror_action = "reject"
received_spf_header = true
mail_wait = "250ms"

[dkim]
enabled = false
max_signatures = 3
min_rsa_bits = 2048

[dmarc]
enabled = true
discovery = "psl"
reject_action = "quarantine"
quarantine_action = "header"
defer_on_temperror = false
bad_from_action = "tempfail"
)");
    const auto r = load_file(conf);
    ASSERT_TRUE(r.errors.empty()) << join_errors(r);
    ASSERT_NE(r.config, nullptr);
    const config::Config& c = *r.config;

    EXPECT_EQ(c.source, conf);
    EXPECT_EQ(c.milter.socket, "local:/run/connector-milter/milter.sock");
    ASSERT_TRUE(c.milter.socket_mode.has_value());
    EXPECT_EQ(*c.milter.socket_mode, 0660u);
    EXPECT_EQ(c.milter.socket_group, "postfix");
    EXPECT_EQ(c.milter.authserv_id, "mx.example.com");
    EXPECT_EQ(c.milter.strip_authserv_ids, std::vector<std::string>{"mx2.example.com"});
    EXPECT_TRUE(c.milter.auth_user_in_header);
    EXPECT_EQ(c.milter.drain_timeout, std::chrono::seconds(45));
    EXPECT_EQ(c.milter.sender_login_map, (dir.path() / "logins").string());
    EXPECT_TRUE(c.sender_logins.allows("bob", "anyone@example.org"));
    EXPECT_FALSE(c.sender_logins.allows("mallory", "anyone@example.org"));

    ASSERT_EQ(c.accepted_domains.entries().size(), 2u);
    EXPECT_TRUE(c.accepted_domains.is_ours("example.com"));
    const auto sub = c.accepted_domains.match("a.contoso.com");
    ASSERT_TRUE(sub.has_value());
    EXPECT_EQ(sub->type, policy::DomainType::InternalRelay);

    ASSERT_EQ(c.connectors.connectors().size(), 2u);
    const policy::Connector* front = find(c, "Default Frontend");
    ASSERT_NE(front, nullptr);
    EXPECT_EQ(front->bindings.size(), 2u);
    EXPECT_EQ(front->remote_ranges.size(), 2u);
    EXPECT_TRUE(front->has_group(policy::PermissionGroup::ExchangeServers));
    EXPECT_TRUE(front->has_mechanism(policy::AuthMechanism::BasicAuthRequireTls));
    EXPECT_FALSE(front->has_mechanism(policy::AuthMechanism::Integrated));
    EXPECT_TRUE(front->require_ehlo_domain);
    EXPECT_EQ(front->max_message_size, std::optional<std::uint64_t>(10ull * 1024 * 1024));
    EXPECT_EQ(front->max_recipients_per_message, 50u);
    EXPECT_EQ(front->max_inbound_connection_per_source, std::nullopt);
    EXPECT_EQ(front->max_inbound_connection_percentage_per_source, std::optional<std::uint32_t>(5));
    EXPECT_EQ(front->max_inbound_connection, std::optional<std::uint32_t>(100));
    EXPECT_EQ(front->message_rate_limit, std::optional<std::uint32_t>(30));
    EXPECT_EQ(front->message_rate_source, policy::RateSource::User);
    EXPECT_EQ(front->tarpit_interval, std::chrono::milliseconds(500));
    ASSERT_EQ(front->denies.size(), 1u);
    EXPECT_TRUE(front->denies[0].second.has(policy::Right::AcceptAuthoritativeDomainSender));
    EXPECT_EQ(front->replies.get(policy::ReplyId::RelayDenied).text, "No relaying here");
    EXPECT_EQ(front->origin, conf + ":20");

    const policy::Connector* relay = find(c, "Anonymous Relay");
    ASSERT_NE(relay, nullptr);
    // One inline range plus the two of the file.
    EXPECT_EQ(relay->remote_ranges.size(), 3u);
    ASSERT_EQ(relay->grants.size(), 2u);

    ASSERT_EQ(c.certificate_map.size(), 1u);
    EXPECT_EQ(c.certificate_map[0].group, policy::PermissionGroup::Partners);
    // "CN=..." (the form of earlier versions) is a common name, which both
    // Postfix and sendmail report.
    EXPECT_EQ(c.certificate_map[0].subject.kind, policy::CertificateName::Kind::CommonName);
    EXPECT_EQ(c.certificate_map[0].subject.value, "mx.partner.example");
    ASSERT_TRUE(c.certificate_map[0].issuer.has_value());
    EXPECT_EQ(c.certificate_map[0].issuer->value, "Partner CA");

    EXPECT_EQ(c.dns.timeout, std::chrono::milliseconds(2000));
    EXPECT_EQ(c.dns.nameservers.size(), 2u);
    EXPECT_EQ(c.dns.static_zone, (dir.path() / "zone").string());
    EXPECT_TRUE(c.dns.offline);
    EXPECT_EQ(c.dns.message_query_budget, 40u);
    EXPECT_EQ(c.dns.message_time_budget, std::chrono::milliseconds(7000));

    EXPECT_FALSE(c.spf.check_helo);
    EXPECT_EQ(c.spf.fail_action, config::Action::Header);
    EXPECT_EQ(c.spf.softfail_action, config::Action::Quarantine);
    EXPECT_EQ(c.spf.temperror_action, config::Action::Accept);
    EXPECT_EQ(c.spf.permerror_action, config::Action::Reject);
    EXPECT_TRUE(c.spf.received_spf_header);
    EXPECT_EQ(c.spf.mail_wait, std::chrono::milliseconds(250));
    EXPECT_FALSE(c.dkim.enabled);
    EXPECT_EQ(c.dkim.max_signatures, 3u);
    EXPECT_EQ(c.dkim.min_rsa_bits, 2048u);
    EXPECT_EQ(c.dmarc.discovery, config::DmarcDiscovery::PublicSuffixList);
    EXPECT_EQ(c.dmarc.reject_action, config::Action::Quarantine);
    EXPECT_EQ(c.dmarc.quarantine_action, config::Action::Header);
    EXPECT_FALSE(c.dmarc.defer_on_temperror);
    EXPECT_EQ(c.dmarc.bad_from_action, config::Action::TempFail);
}

TEST(ConfigLoad, OmittedSettingsKeepDocumentedDefaults) {
    const auto r = load(std::string("[milter]\nauthserv_id = \"mx.example.com\"\n") + kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    const config::Config& c = *r.config;
    EXPECT_EQ(c.milter.socket, "inet:8894@127.0.0.1");
    EXPECT_EQ(c.milter.drain_timeout, std::chrono::seconds(30));
    EXPECT_EQ(c.milter.mta_command_timeout, std::chrono::seconds(30));  // Postfix's milter_command_timeout
    EXPECT_EQ(c.dns.timeout, std::chrono::milliseconds(3000));
    EXPECT_EQ(c.spf.fail_action, config::Action::Reject);
    EXPECT_EQ(c.spf.mail_wait, std::chrono::milliseconds(10));
    const policy::Connector& front = c.connectors.connectors().at(0);
    // Exchange 2016/2019's receive connector defaults.
    EXPECT_EQ(front.max_message_size, std::optional<std::uint64_t>(36ull * 1024 * 1024));
    EXPECT_EQ(front.max_recipients_per_message, 200u);
    EXPECT_EQ(front.tarpit_interval, std::chrono::milliseconds(5000));
}

TEST(ConfigLoad, AuthservIdDefaultsToTheHostName) {
    const auto r = load(kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    char host[256] = {};
    ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
    std::string short_name(host);
    short_name = short_name.substr(0, short_name.find('.'));
    std::transform(short_name.begin(), short_name.end(), short_name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    // The fully qualified form of this host's name: it starts with the short name.
    EXPECT_EQ(r.config->milter.authserv_id.rfind(short_name, 0), 0u) << r.config->milter.authserv_id;
}

TEST(ConfigLoad, ErrorToStringIsFileColonLineColonMessage) {
    const config::ConfigError e{"/etc/x.conf", 12, "bad thing"};
    EXPECT_EQ(e.to_string(), "/etc/x.conf:12: bad thing");
    const config::ConfigError whole{"/etc/x.conf", 0, "cannot open"};
    EXPECT_EQ(whole.to_string(), "/etc/x.conf: cannot open");
}

TEST(ConfigLoad, MissingFileIsAnErrorNamingIt) {
    const auto r = load_file("/nonexistent/connector-milter.conf");
    EXPECT_EQ(r.config, nullptr);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].file, "/nonexistent/connector-milter.conf");
}

// ---------------------------------------------------------------- TOML syntax

TEST(ConfigErrors, TomlSyntaxErrorGivesFileAndLine) {
    const auto r = load("[milter]\nsocket = \"inet:1@127.0.0.1\"\nauthserv_id = \n");
    expect_one_error(r, "t.conf:3", "");
}

TEST(ConfigErrors, DuplicateKeyIsASyntaxErrorAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) + "require_tls = true\nrequire_tls = false\n");
    expect_one_error(r, "t.conf:7", "");
}

// ---------------------------------------------------------------- unknown names

TEST(ConfigErrors, UnknownTopLevelTableIsRejectedAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) + "\n[miltr]\nsocket = \"inet:1@127.0.0.1\"\n");
    expect_one_error(r, "t.conf:7", "miltr");
}

TEST(ConfigErrors, MisspelledConnectorKeyIsRejectedNotIgnored) {
    const auto r = load(std::string(kMinimalConnector) + "remote_ip_range = [\"10.0.0.1\"]\n");
    expect_one_error(r, "t.conf:6", "remote_ip_range");
}

TEST(ConfigErrors, UnknownKeyInSpfIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "[spf]\nenabled = true\nfail_actoin = \"reject\"\n");
    expect_one_error(r, "t.conf:8", "fail_actoin");
}

// ---------------------------------------------------------------- wrong types

TEST(ConfigErrors, StringWhereBooleanExpectedIsAnError) {
    const auto r = load(std::string(kMinimalConnector) + "require_tls = \"yes\"\n");
    expect_one_error(r, "t.conf:6", "require_tls");
}

TEST(ConfigErrors, SingleStringWhereArrayExpectedIsAnError) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = \"0.0.0.0:25\"\nremote_ip_ranges = [\"::/0\"]\n");
    expect_one_error(r, "t.conf:3", "bindings");
}

TEST(ConfigErrors, NonStringInsideArrayIsAnErrorAtThatElement) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\n  \"10.0.0.1\",\n  42,\n]\n");
    expect_one_error(r, "t.conf:6", "remote_ip_ranges");
}

TEST(ConfigErrors, ConnectorWrittenAsSingleTableIsAnError) {
    const auto r = load("[connector]\nname = \"A\"\n");
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.config, nullptr);
    EXPECT_EQ(r.errors[0].line, 1) << join_errors(r);
}

// ---------------------------------------------------------------- connectors

TEST(ConfigErrors, ConfigWithoutConnectorIsRejected) {
    const auto r = load("[milter]\nsocket = \"inet:8894@127.0.0.1\"\n");
    EXPECT_EQ(r.config, nullptr);
    ASSERT_EQ(r.errors.size(), 1u) << join_errors(r);
    EXPECT_NE(r.errors[0].message.find("connector"), std::string::npos);
}

TEST(ConfigErrors, ConnectorWithoutNameIsRejectedAtItsHeader) {
    const auto r = load("# comment\n[[connector]]\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"::/0\"]\n");
    expect_one_error(r, "t.conf:2", "name");
}

TEST(ConfigErrors, ConnectorWithoutBindingsIsRejectedAtItsHeader) {
    const auto r = load("[[connector]]\nname = \"A\"\nremote_ip_ranges = [\"::/0\"]\n");
    expect_one_error(r, "t.conf:1", "bindings");
}

TEST(ConfigErrors, ConnectorWithoutRemoteRangesIsRejectedAtItsHeader) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\n");
    expect_one_error(r, "t.conf:1", "remote_ip_ranges");
}

TEST(ConfigErrors, EmptyRemoteRangeListIsRejected) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = []\n");
    expect_one_error(r, "t.conf:4", "remote_ip_ranges");
}

TEST(ConfigLoad, EmptyRangesFileIsAllowedAndNoted) {
    TempDir dir;
    dir.write("relay-hosts", "# nobody yet\n");
    const std::string conf = dir.write("main.conf",
                                       "[[connector]]\nname = \"Relay\"\nbindings = [\"10.0.0.50:25\"]\n"
                                       "remote_ip_ranges_file = \"relay-hosts\"\npermission_groups = [\"AnonymousUsers\"]\n");
    const auto r = load_file(conf);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_TRUE(r.config->connectors.connectors().at(0).remote_ranges.empty());
    const auto& notes = r.config->notes;
    EXPECT_TRUE(std::any_of(notes.begin(), notes.end(),
                            [](const std::string& n) { return n.find("matches no client") != std::string::npos; }));
}

TEST(ConfigErrors, BadRemoteRangeIsReportedAtItsOwnLine) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\n  \"10.0.0.0/24\",\n  \"10.0.0.300\",\n]\n");
    expect_one_error(r, "t.conf:6", "10.0.0.300");
}

TEST(ConfigErrors, BadBindingIsReportedAtItsLine) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:99999\"]\nremote_ip_ranges = [\"::/0\"]\n");
    expect_one_error(r, "t.conf:3", "0.0.0.0:99999");
}

TEST(ConfigErrors, UnknownPermissionGroupIsRejected) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"::/0\"]\npermission_groups = [\"Anonymous\"]\n");
    expect_one_error(r, "t.conf:5", "Anonymous");
}

TEST(ConfigErrors, ExternalAuthoritativeWithoutExchangeServersIsRejected) {
    const auto r = load("[[connector]]\nname = \"App\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.38.96.15\"]\n"
                        "permission_groups = [\"AnonymousUsers\"]\nauth_mechanisms = [\"ExternalAuthoritative\"]\n");
    expect_one_error(r, "t.conf:6", "ExchangeServers");
}

TEST(ConfigLoad, ExternalAuthoritativeWithExchangeServersIsAccepted) {
    const auto r = load("[[connector]]\nname = \"App\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.38.96.15\"]\n"
                        "permission_groups = [\"ExchangeServers\"]\nauth_mechanisms = [\"ExternalAuthoritative\"]\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_TRUE(r.config->connectors.connectors()[0].has_mechanism(policy::AuthMechanism::ExternalAuthoritative));
}

TEST(ConfigErrors, UnknownAuthMechanismIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "auth_mechanisms = [\"Tls\", \"Kerberos5\"]\n");
    expect_one_error(r, "t.conf:6", "Kerberos5");
}

TEST(ConfigLoad, ConnectorRunsEveryCheckUnlessItListsThem) {
    const auto r = load(kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->connectors.connectors()[0].checks, policy::CheckSet::all());
}

TEST(ConfigLoad, ConnectorChecksListIsCaseInsensitiveAndMayBeEmpty) {
    const auto some = load(std::string(kMinimalConnector) + "checks = [\"DKIM\"]\n");
    ASSERT_NE(some.config, nullptr) << join_errors(some);
    EXPECT_EQ(some.config->connectors.connectors()[0].checks, policy::CheckSet().add(policy::MessageCheck::Dkim));
    const auto none = load(std::string(kMinimalConnector) + "checks = []\n");
    ASSERT_NE(none.config, nullptr) << join_errors(none);
    EXPECT_TRUE(none.config->connectors.connectors()[0].checks.empty());
}

TEST(ConfigErrors, UnknownConnectorCheckIsReportedAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) + "checks = [\n  \"dkim\",\n  \"sender-id\",\n]\n");
    expect_one_error(r, "t.conf:8", "sender-id");
}

TEST(ConfigErrors, DmarcWithoutSpfOrDkimInConnectorChecksIsRejected) {
    // DMARC passes on an aligned SPF or DKIM pass: without either it fails
    // mail that passes.
    expect_one_error(load(std::string(kMinimalConnector) + "checks = [\"dkim\", \"dmarc\"]\n"), "t.conf:6",
                     "dmarc needs spf and dkim");
    expect_one_error(load(std::string(kMinimalConnector) + "checks = [\"spf\", \"dmarc\"]\n"), "t.conf:6",
                     "dmarc needs spf and dkim");
}

TEST(ConfigErrors, UnknownExtendedRightIsReportedAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) +
                        "[connector.grant]\nAnonymousUsers = [\n  \"Ms-Exch-SMTP-Submit\",\n  \"Ms-Exch-SMTP-Accept-Everything\",\n]\n");
    expect_one_error(r, "t.conf:9", "Ms-Exch-SMTP-Accept-Everything");
}

TEST(ConfigErrors, UnknownPrincipalIsReportedAtItsKey) {
    const auto r = load(std::string(kMinimalConnector) + "[connector.deny]\nEveryone = [\"Ms-Exch-SMTP-Submit\"]\n");
    expect_one_error(r, "t.conf:7", "Everyone");
}

TEST(ConfigErrors, UnknownReplyKeyIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "[connector.replies]\nrelay_refused = \"550 5.7.54 no\"\n");
    expect_one_error(r, "t.conf:7", "relay_refused");
}

TEST(ConfigErrors, ReplyThatIsNotASmtpRefusalIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "[connector.replies]\nrelay_denied = \"250 2.0.0 fine\"\n");
    expect_one_error(r, "t.conf:7", "relay_denied");
}

// Issue 11: an override Postfix would call malformed (and then stop using
// the milter for the session) is an error at load, with file:line.
TEST(ConfigErrors, ReplyWhoseEnhancedCodeClassDiffersFromItsCodeIsRejectedAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) +
                        "[connector.replies]\nrelay_denied = \"550 5.7.54 ok\"\nrequire_tls = \"451 5.7.3 STARTTLS is required\"\n");
    expect_one_error(r, "t.conf:8", "does not match reply code 451");
}

TEST(ConfigErrors, ReplyWithoutEnhancedCodeIsRejectedAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) + "[connector.replies]\nrate_limited = \"421 slow down\"\n");
    expect_one_error(r, "t.conf:7", "enhanced status code");
}

TEST(ConfigErrors, ReplyWithNonAsciiTextIsRejectedAtItsLine) {
    const auto r = load(std::string(kMinimalConnector) + "[connector.replies]\nrelay_denied = \"550 5.7.54 Relais refus\u00e9\"\n");
    expect_one_error(r, "t.conf:7", "US-ASCII");
}

TEST(ConfigErrors, DuplicateConnectorNameIsRejectedAtTheSecond) {
    const auto r = load(std::string(kMinimalConnector) +
                        "[[connector]]\nname = \"default frontend\"\nbindings = [\"0.0.0.0:587\"]\nremote_ip_ranges = [\"::/0\"]\n");
    expect_one_error(r, "t.conf:7", "default frontend");
}

TEST(ConfigErrors, SameBindingAndEqualRangesConflictAtTheLaterConnector) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.0/24\"]\n"
                        "\n"
                        "[[connector]]\nname = \"B\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.0-10.0.0.255\"]\n");
    expect_one_error(r, "t.conf:6", "");
}

TEST(ConfigErrors, PartiallyOverlappingRangesConflict) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.0/24\"]\n"
                        "[[connector]]\nname = \"B\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.128-10.0.1.5\"]\n");
    expect_one_error(r, "t.conf:5", "");
}

TEST(ConfigLoad, ContainedRangeOnSameBindingIsNotAConflict) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"0.0.0.0/0\"]\n"
                        "[[connector]]\nname = \"B\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.80\"]\n");
    EXPECT_NE(r.config, nullptr) << join_errors(r);
}

TEST(ConfigLoad, ConnectorBoundOnlyToLocalNeedsNoRemoteRanges) {
    const auto r = load("[[connector]]\nname = \"Cron\"\nbindings = [\"local\"]\npermission_groups = [\"AnonymousUsers\"]\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->connectors.select_local().chosen->name, "Cron");
}

TEST(ConfigErrors, ConnectorWithANetworkBindingStillNeedsRemoteRanges) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"local\", \"0.0.0.0:25\"]\n");
    expect_one_error(r, "t.conf:1", "'remote_ip_ranges' or 'remote_ip_ranges_file' is required");
}

TEST(ConfigErrors, TwoConnectorsBoundToLocalConflictWhateverTheirRanges) {
    const auto r = load("[[connector]]\nname = \"A\"\nbindings = [\"local\"]\nremote_ip_ranges = [\"10.0.0.1\"]\n"
                        "[[connector]]\nname = \"B\"\nbindings = [\"local\"]\nremote_ip_ranges = [\"10.0.0.2\"]\n");
    expect_one_error(r, "t.conf:5", "both bind local");
}

TEST(ConfigErrors, EveryErrorIsReportedNotOnlyTheFirst) {
    const auto r = load("[milter]\nsocket = \"tcp:25\"\n"
                        "[[connector]]\nname = \"A\"\nbindings = [\"bogus\"]\nremote_ip_ranges = [\"::/0\"]\n"
                        "[spf]\nfail_action = \"drop\"\n");
    EXPECT_EQ(r.config, nullptr);
    const auto errors = error_strings(r);
    ASSERT_EQ(errors.size(), 3u) << join_errors(r);
    const auto has_line = [&](const std::string& prefix) {
        return std::any_of(errors.begin(), errors.end(),
                           [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(has_line("t.conf:2: "));
    EXPECT_TRUE(has_line("t.conf:5: "));
    EXPECT_TRUE(has_line("t.conf:8: "));
}

// ---------------------------------------------------------------- other sections

TEST(ConfigErrors, UnknownAcceptedDomainTypeIsRejected) {
    const auto r = load(std::string("[[accepted_domain]]\ndomain = \"example.com\"\ntype = \"primary\"\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:3", "primary");
}

TEST(ConfigErrors, AcceptedDomainThatIsNoDomainIsRejected) {
    const auto r = load(std::string("[[accepted_domain]]\ndomain = \"exa mple..com\"\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:2", "exa mple..com");
}

TEST(ConfigErrors, UnknownActionIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "[dmarc]\nreject_action = \"bounce\"\n");
    expect_one_error(r, "t.conf:7", "bounce");
}

TEST(ConfigErrors, UnknownDmarcDiscoveryIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "[dmarc]\ndiscovery = \"dns\"\n");
    expect_one_error(r, "t.conf:7", "dns");
}

TEST(ConfigErrors, MalformedSocketSpecIsRejected) {
    const auto r = load(std::string("[milter]\nsocket = \"inet:port@127.0.0.1\"\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:2", "socket");
}

TEST(ConfigErrors, DecimalSocketModeIsRejectedBecauseItIsAmbiguous) {
    const auto r = load(std::string("[milter]\nsocket_mode = 660\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:2", "socket_mode");
}

TEST(ConfigLoad, TomlOctalSocketModeIsAccepted) {
    const auto r = load(std::string("[milter]\nsocket_mode = 0o640\n") + kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->milter.socket_mode, std::optional<unsigned>(0640));
}

TEST(ConfigErrors, AuthservIdWithBlankIsRejected) {
    const auto r = load(std::string("[milter]\nauthserv_id = \"mx example\"\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:2", "authserv_id");
}

// Found by fuzz_authres: "." is a token, but compared without its trailing
// dot it is empty, so headers forging it could never be recognised.
TEST(ConfigErrors, AuthservIdThatIsOnlyADotIsRejected) {
    const auto r = load(std::string("[milter]\nauthserv_id = \".\"\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:2", "authserv_id");
    const auto s = load(std::string("[milter]\nstrip_authserv_ids = [\".\"]\n") + kMinimalConnector);
    expect_one_error(s, "t.conf:2", "strip_authserv_ids");
}

TEST(ConfigErrors, CertificateMapToAnonymousUsersIsRejected) {
    const auto r = load(std::string(kMinimalConnector) +
                        "[[certificate_map]]\nsubject = \"CN=x\"\ngroup = \"AnonymousUsers\"\n");
    expect_one_error(r, "t.conf:8", "AnonymousUsers");
}

// ---------------------------------------------------------------- [[certificate_map]] (issue 11 item 5)

namespace {

// A connector that lists Partners, then the given [[certificate_map]] entry
// (its first line is line 7).
config::LoadResult load_certificate_entry(const std::string& entry) {
    return load(std::string("[[connector]]\nname = \"Partner\"\nbindings = [\"0.0.0.0:25\"]\n"
                            "remote_ip_ranges = [\"0.0.0.0/0\"]\npermission_groups = [\"Partners\"]\n\n") +
                "[[certificate_map]]\n" + entry + "group = \"Partners\"\n");
}

// The warnings (LOG_WARNING, "warning:" at -n) loading produced.
std::string warnings_of(const config::LoadResult& r) {
    std::string out;
    if (r.config)
        for (const auto& n : r.config->warnings) out += n + "\n";
    return out;
}

}  // namespace

TEST(ConfigCertificateMap, CommonNameEntryLoadsWithoutWarning) {
    const auto r = load_certificate_entry("subject_cn = \"mx.partner.example\"\nissuer_cn = \"Partner CA\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    ASSERT_EQ(r.config->certificate_map.size(), 1u);
    const auto& m = r.config->certificate_map[0];
    EXPECT_EQ(m.subject.kind, policy::CertificateName::Kind::CommonName);
    EXPECT_EQ(m.subject.value, "mx.partner.example");
    ASSERT_TRUE(m.issuer.has_value());
    EXPECT_EQ(m.issuer->value, "Partner CA");
    EXPECT_EQ(warnings_of(r).find("certificate_map"), std::string::npos) << warnings_of(r);
}

TEST(ConfigCertificateMap, WholeDistinguishedNameWarnsThatPostfixNeverMatchesIt) {
    const auto r = load_certificate_entry("subject = \"/O=Partner Inc/CN=mx.partner.example\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    const std::string notes = warnings_of(r);
    EXPECT_NE(notes.find("t.conf:7: certificate_map.subject \"/O=Partner Inc/CN=mx.partner.example\""),
              std::string::npos) << notes;
    EXPECT_NE(notes.find("Postfix never matches it"), std::string::npos) << notes;
    EXPECT_NE(notes.find("subject_cn = \"mx.partner.example\""), std::string::npos) << notes;
}

TEST(ConfigCertificateMap, DistinguishedNameWithoutCommonNameIsNoted) {
    const auto r = load_certificate_entry("subject_cn = \"mx.partner.example\"\nissuer = \"/C=US/O=Partner Inc\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_NE(warnings_of(r).find("certificate_map.issuer \"/C=US/O=Partner Inc\" is a whole distinguished name"),
              std::string::npos) << warnings_of(r);
    EXPECT_NE(warnings_of(r).find("it has no CN"), std::string::npos) << warnings_of(r);
}

TEST(ConfigCertificateMap, CommonNameWrittenWithCnPrefixIsNoted) {
    const auto r = load_certificate_entry("subject_cn = \"CN=mx.partner.example\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_NE(warnings_of(r).find("did you mean \"mx.partner.example\""), std::string::npos) << warnings_of(r);
}

TEST(ConfigCertificateMap, GroupThatNoConnectorListsIsNoted) {
    const auto r = load(std::string(kMinimalConnector) +
                        "[[certificate_map]]\nsubject_cn = \"mx.partner.example\"\ngroup = \"Partners\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_NE(warnings_of(r).find("t.conf:6: certificate_map: no connector lists Partners"), std::string::npos)
        << warnings_of(r);
}

TEST(ConfigCertificateMap, BareSubjectIsRejectedWithTheCommonNameKeyAsHint) {
    expect_one_error(load_certificate_entry("subject = \"mx.partner.example\"\n"), "t.conf:8", "subject_cn");
}

TEST(ConfigCertificateMap, CommaSeparatedDistinguishedNameIsRejected) {
    expect_one_error(load_certificate_entry("subject = \"CN=mx.partner.example, O=Partner Inc\"\n"), "t.conf:8",
                     "/C=US/O=Org/CN=name");
}

TEST(ConfigCertificateMap, SubjectAndSubjectCnTogetherAreRejected) {
    expect_one_error(load_certificate_entry("subject = \"CN=a\"\nsubject_cn = \"a\"\n"), "t.conf:9",
                     "either 'subject' or 'subject_cn'");
}

TEST(ConfigCertificateMap, MissingSubjectIsRejected) {
    expect_one_error(load_certificate_entry("issuer_cn = \"Partner CA\"\n"), "t.conf:7", "'subject_cn'");
}

TEST(ConfigCertificateMap, CommonNameWithControlCharacterIsRejected) {
    expect_one_error(load_certificate_entry("subject_cn = \"mx\\tpartner\"\n"), "t.conf:8", "control");
}

TEST(ConfigErrors, NameserverThatIsNotAnAddressIsRejected) {
    const auto r = load(std::string(kMinimalConnector) + "[dns]\nnameservers = [\"ns1.example.com\"]\n");
    expect_one_error(r, "t.conf:7", "ns1.example.com");
}

TEST(ConfigErrors, MissingStaticZoneFileIsReportedAtTheKey) {
    TempDir dir;
    const std::string conf = dir.write("c.conf", std::string(kMinimalConnector) + "[dns]\nstatic_zone = \"no-such-zone\"\n");
    const auto r = load_file(conf);
    expect_one_error(r, conf + ":7", "no-such-zone");
}

// ---------------------------------------------------------------- files named by the config

TEST(ConfigFiles, RemoteRangesFileIsResolvedAgainstTheConfigFolder) {
    TempDir dir;
    dir.write("lists/relay-hosts", "# devices allowed to relay\n10.0.0.80\n  10.0.0.81   # scanner\n\n10.0.2.0/24\n");
    const std::string conf = dir.write("lists/../main.conf",
                                       "[[connector]]\nname = \"Relay\"\nbindings = [\"10.0.0.50:25\"]\n"
                                       "remote_ip_ranges_file = \"lists/relay-hosts\"\n");
    const auto r = load_file(conf);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    const auto& ranges = r.config->connectors.connectors().at(0).remote_ranges;
    ASSERT_EQ(ranges.size(), 3u);
    EXPECT_TRUE(ranges[2].contains(*policy::IpAddress::parse("10.0.2.99")));
}

TEST(ConfigFiles, BadLineInRangesFileIsReportedAsThatFileAndLine) {
    TempDir dir;
    const std::string list = dir.write("relay-hosts", "10.0.0.80\n# comment\n10.0.0.999\n");
    const std::string conf = dir.write("main.conf",
                                       "[[connector]]\nname = \"Relay\"\nbindings = [\"10.0.0.50:25\"]\n"
                                       "remote_ip_ranges_file = \"relay-hosts\"\n");
    const auto r = load_file(conf);
    expect_one_error(r, list + ":3", "10.0.0.999");
}

TEST(ConfigFiles, MissingRangesFileIsReportedAtTheConfigLine) {
    TempDir dir;
    const std::string conf = dir.write("main.conf",
                                       "[[connector]]\nname = \"Relay\"\nbindings = [\"10.0.0.50:25\"]\n"
                                       "remote_ip_ranges_file = \"absent\"\n");
    const auto r = load_file(conf);
    expect_one_error(r, conf + ":4", "absent");
}

TEST(ConfigFiles, MalformedSenderLoginMapLineIsReportedAsThatFileAndLine) {
    TempDir dir;
    const std::string map = dir.write("logins", "# comment\nalice@example.com alice\nonlyonefield\n");
    const std::string conf = dir.write("main.conf", std::string("[milter]\nsender_login_map = \"logins\"\n") + kMinimalConnector);
    const auto r = load_file(conf);
    expect_one_error(r, map + ":3", "");
}

// ---------------------------------------------------------------- durations and sizes

namespace {
const policy::Connector* load_connector_with(const std::string& line, config::LoadResult* out) {
    *out = load(std::string(kMinimalConnector) + line + "\n");
    if (!out->config) return nullptr;
    return &out->config->connectors.connectors().at(0);
}
}  // namespace

TEST(ConfigValues, IntegerDurationIsSeconds) {
    config::LoadResult r;
    const auto* c = load_connector_with("tarpit_interval = 7", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->tarpit_interval, std::chrono::milliseconds(7000));
}

TEST(ConfigValues, DurationInMilliseconds) {
    config::LoadResult r;
    const auto* c = load_connector_with("tarpit_interval = \"250ms\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->tarpit_interval, std::chrono::milliseconds(250));
}

TEST(ConfigValues, DurationInMinutes) {
    // A 2-minute tarpit needs an MTA that waits more than 4 minutes.
    const auto r = load(std::string("[milter]\nmta_command_timeout = \"5m\"\n") + kMinimalConnector +
                        "tarpit_interval = \"2m\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->milter.mta_command_timeout, std::chrono::milliseconds(300'000));
    EXPECT_EQ(r.config->connectors.connectors().at(0).tarpit_interval, std::chrono::milliseconds(120'000));
}

// Issue 11, item 8: the MTA waits milter_command_timeout (Postfix, 30s) or
// T=R: (sendmail) for the refusal; a longer tarpit turns it into the MTA's
// default action. The limit is half of milter.mta_command_timeout.
TEST(ConfigValues, TarpitOverHalfTheMtaCommandTimeoutIsRefusedAtItsLine) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("tarpit_interval = \"16s\"", &r), nullptr);
    expect_one_error(r, "t.conf:6", "at most 15000ms");
    EXPECT_NE(join_errors(r).find("mta_command_timeout"), std::string::npos) << join_errors(r);
}

TEST(ConfigValues, TarpitOfHalfTheMtaCommandTimeoutIsAccepted) {
    config::LoadResult r;
    const auto* c = load_connector_with("tarpit_interval = \"15s\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->tarpit_interval, std::chrono::milliseconds(15'000));
}

TEST(ConfigValues, TarpitLimitFollowsTheMtaCommandTimeoutSetting) {
    // sendmail's default read timeout (T=R:10s) allows 5 s.
    const std::string milter = "[milter]\nmta_command_timeout = \"10s\"\n";
    const auto ok = load(milter + kMinimalConnector + "tarpit_interval = \"5s\"\n");
    EXPECT_NE(ok.config, nullptr) << join_errors(ok);
    const auto r = load(milter + kMinimalConnector + "tarpit_interval = \"6s\"\n");
    expect_one_error(r, "t.conf:8", "at most 5000ms");
}

TEST(ConfigValues, MtaCommandTimeoutUnderOneSecondIsRejected) {
    const auto r = load(std::string("[milter]\nmta_command_timeout = \"500ms\"\n") + kMinimalConnector);
    expect_one_error(r, "t.conf:2", "mta_command_timeout");
}

TEST(ConfigValues, ZeroTarpitDisablesIt) {
    config::LoadResult r;
    const auto* c = load_connector_with("tarpit_interval = 0", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->tarpit_interval, std::chrono::milliseconds(0));
}

TEST(ConfigValues, DurationWithUnknownUnitIsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("tarpit_interval = \"5 fortnights\"", &r), nullptr);
    expect_one_error(r, "t.conf:6", "tarpit_interval");
}

TEST(ConfigValues, NegativeDurationIsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("tarpit_interval = -5", &r), nullptr);
    expect_one_error(r, "t.conf:6", "tarpit_interval");
}

TEST(ConfigValues, FloatingPointDurationIsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("tarpit_interval = 1.5", &r), nullptr);
    expect_one_error(r, "t.conf:6", "tarpit_interval");
}

TEST(ConfigValues, IntegerSizeIsBytes) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_message_size = 1000000", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_message_size, std::optional<std::uint64_t>(1'000'000));
}

TEST(ConfigValues, MegabytesAreBinaryAsInExchange) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_message_size = \"36MB\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_message_size, std::optional<std::uint64_t>(37'748'736));
}

TEST(ConfigValues, MebibytesAreAccepted) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_message_size = \"10MiB\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_message_size, std::optional<std::uint64_t>(10'485'760));
}

TEST(ConfigValues, KilobytesAreAccepted) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_message_size = \"512KB\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_message_size, std::optional<std::uint64_t>(524'288));
}

TEST(ConfigValues, UnlimitedMessageSizeHasNoLimit) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_message_size = \"unlimited\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_message_size, std::nullopt);
}

TEST(ConfigValues, SizeWithUnknownUnitIsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("max_message_size = \"36 furlongs\"", &r), nullptr);
    expect_one_error(r, "t.conf:6", "max_message_size");
}

TEST(ConfigValues, OverflowingSizeIsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("max_message_size = \"99999999999999999GB\"", &r), nullptr);
    expect_one_error(r, "t.conf:6", "max_message_size");
}

TEST(ConfigValues, HeaderSizeDefaultsToExchanges256KB) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_message_size = \"36MB\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_header_size, 262'144U);
}

TEST(ConfigValues, HeaderSizeTakesASize) {
    config::LoadResult r;
    const auto* c = load_connector_with("max_header_size = \"1MB\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->max_header_size, 1'048'576U);
}

// It bounds the memory a message's headers take: no "unlimited", and
// Exchange's MaxHeaderSize range (1 byte to 2 GB).
TEST(ConfigValues, UnlimitedOrZeroOrOver2GBHeaderSizeIsRejected) {
    for (const char* value : {"\"unlimited\"", "0", "\"3GB\"", "-1"}) {
        config::LoadResult r;
        EXPECT_EQ(load_connector_with(std::string("max_header_size = ") + value, &r), nullptr) << value;
        expect_one_error(r, "t.conf:6", "max_header_size");
    }
}

TEST(ConfigValues, UnlimitedIsNotAcceptedForRecipientLimit) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("max_recipients_per_message = \"unlimited\"", &r), nullptr);
    expect_one_error(r, "t.conf:6", "max_recipients_per_message");
}

TEST(ConfigValues, PercentageOver100IsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("max_inbound_connection_percentage_per_source = 150", &r), nullptr);
    expect_one_error(r, "t.conf:6", "150");
}

TEST(ConfigValues, UnlimitedRateLimit) {
    config::LoadResult r;
    const auto* c = load_connector_with("message_rate_limit = \"Unlimited\"", &r);
    ASSERT_NE(c, nullptr) << join_errors(r);
    EXPECT_EQ(c->message_rate_limit, std::nullopt);
}

TEST(ConfigValues, UnknownRateSourceIsRejected) {
    config::LoadResult r;
    EXPECT_EQ(load_connector_with("message_rate_source = \"Domain\"", &r), nullptr);
    expect_one_error(r, "t.conf:6", "Domain");
}

TEST(ConfigValues, DnsTimeoutTakesMilliseconds) {
    const auto r = load(std::string(kMinimalConnector) + "[dns]\ntimeout = \"1500ms\"\n");
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->dns.timeout, std::chrono::milliseconds(1500));
}

// ---------------------------------------------------------------- robustness

TEST(ConfigLoad, DirectoryInsteadOfFileIsAnError) {
    TempDir dir;
    const auto r = load_file(dir.path().string());
    EXPECT_EQ(r.config, nullptr);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].file, dir.path().string());
}

TEST(ConfigLoad, EveryPrefixOfTheExampleGivesAConfigOrErrorsNeverBoth) {
    const std::string top = config_test::top_srcdir();
    ASSERT_FALSE(top.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const std::string text = config_test::read_text(top + "/conf/connector-milter.conf");
    ASSERT_FALSE(text.empty());
    for (std::size_t n = 0; n <= text.size(); n += 7) {
        const auto r = load_string(std::string_view(text).substr(0, n), "prefix.conf", top + "/conf");
        EXPECT_NE(r.config == nullptr, r.errors.empty()) << "prefix of " << n << " bytes";
        for (const auto& e : r.errors) EXPECT_FALSE(e.message.empty());
    }
}

// ---------------------------------------------------------------- descriptors (issue 12 item 4)

TEST(ConfigValues, IdleTimeoutDefaultsToTenMinutesWellBelowLibmiltersTwoHours) {
    const auto r = load(kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->milter.idle_timeout, std::chrono::seconds(600));
    EXPECT_EQ(r.config->milter.descriptor_reserve, 64u);
}

TEST(ConfigValues, IdleTimeoutAndDescriptorReserveAreRead) {
    const auto r = load(std::string("[milter]\nidle_timeout = \"15m\"\ndescriptor_reserve = 200\n") + kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->milter.idle_timeout, std::chrono::seconds(900));
    EXPECT_EQ(r.config->milter.descriptor_reserve, 200u);
    for (const auto& w : r.config->warnings) EXPECT_EQ(w.find("idle_timeout"), std::string::npos) << w;
}

TEST(ConfigValues, IdleTimeoutBelowFiveMinutesLoadsWithAWarningAtItsLine) {
    const auto r = load(std::string("[milter]\n\nidle_timeout = \"30s\"\n") + kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    std::vector<std::string> about_idle;
    for (const auto& w : r.config->warnings)
        if (w.find("idle_timeout") != std::string::npos) about_idle.push_back(w);
    ASSERT_EQ(about_idle.size(), 1u);
    EXPECT_EQ(about_idle[0].rfind("t.conf:3: ", 0), 0u) << about_idle[0];
}

TEST(ConfigErrors, IdleTimeoutOutOfRangeOrFractionalIsAnErrorAtItsLine) {
    expect_one_error(load(std::string("[milter]\nidle_timeout = \"3h\"\n") + kMinimalConnector), "t.conf:2",
                     "idle_timeout");
    expect_one_error(load(std::string("[milter]\nidle_timeout = \"0s\"\n") + kMinimalConnector), "t.conf:2",
                     "idle_timeout");
    expect_one_error(load(std::string("[milter]\nidle_timeout = \"1500ms\"\n") + kMinimalConnector), "t.conf:2",
                     "whole number of seconds");
}

TEST(ConfigErrors, DescriptorReserveBelowSixteenIsAnErrorAtItsLine) {
    expect_one_error(load(std::string("[milter]\n\ndescriptor_reserve = 4\n") + kMinimalConnector), "t.conf:3",
                     "descriptor_reserve");
}

// ---------------------------------------------------------------- quarantine fallback (issue 12 item 6)

TEST(ConfigValues, QuarantineFallbackDefaultsToTempfailAndIsRead) {
    const auto d = load(kMinimalConnector);
    ASSERT_NE(d.config, nullptr) << join_errors(d);
    EXPECT_EQ(d.config->milter.quarantine_fallback, config::QuarantineFallback::TempFail);
    const auto r = load(std::string("[milter]\nquarantine_fallback = \"header\"\n") + kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->milter.quarantine_fallback, config::QuarantineFallback::Header);
}

TEST(ConfigErrors, UnknownQuarantineFallbackIsAnErrorAtItsLine) {
    // "quarantine" cannot fall back to itself, "accept" is spelt "header".
    expect_one_error(load(std::string("[milter]\n\nquarantine_fallback = \"quarantine\"\n") + kMinimalConnector),
                     "t.conf:3", "quarantine_fallback");
}

// [dmarc.reports] (issue 17): present means on; defaults derive from the
// submitter; addresses must be plain.
TEST(ConfigValues, DmarcReportsSectionTurnsRecordingOnWithDerivedDefaults) {
    const std::string text = std::string(config_test::kMinimalConnector) +
                             "[dmarc.reports]\nsubmitter = \"mx.example.net\"\nsuppress = [\"Example.ORG\"]\n"
                             "max_report_size = \"1MB\"\n";
    const auto r = config::load_string(text, "t.conf");
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
    const auto& rep = r.config->dmarc.reports;
    EXPECT_TRUE(rep.enabled);
    EXPECT_EQ(rep.database, "/var/lib/connector-milter/dmarc.sqlite");
    EXPECT_EQ(rep.org_name, "mx.example.net");
    EXPECT_EQ(rep.contact, "postmaster@mx.example.net");
    EXPECT_EQ(rep.from, "postmaster@mx.example.net");
    EXPECT_EQ(rep.sender_command, "/usr/sbin/sendmail -t");
    ASSERT_EQ(rep.suppress.size(), 1u);
    EXPECT_EQ(rep.suppress[0], "example.org");
    EXPECT_EQ(rep.max_report_size, 1024u * 1024);
    const auto off = config::load_string(std::string(config_test::kMinimalConnector), "t.conf");
    ASSERT_TRUE(off.config);
    EXPECT_FALSE(off.config->dmarc.reports.enabled);
}

TEST(ConfigErrors, DmarcReportsContactThatIsNotAPlainAddressIsAnErrorAtItsLine) {
    const std::string text = std::string(config_test::kMinimalConnector) +
                             "[dmarc.reports]\ncontact = \"Reports <r@example.net>\"\n";
    const auto r = config::load_string(text, "t.conf");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].message.find("dmarc.reports.contact"), std::string::npos) << r.errors[0].message;
    EXPECT_GT(r.errors[0].line, 0);
}

// store = "redis" counts in [cluster]'s Redis: without the section it is
// an error at the store line; sqlite stays the default.
TEST(ConfigErrors, DmarcReportsRedisStoreWithoutClusterIsAnErrorAtItsLine) {
    const std::string text = std::string(config_test::kMinimalConnector) + "[dmarc.reports]\nstore = \"redis\"\n";
    const auto r = config::load_string(text, "t.conf");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].message.find("dmarc.reports.store = \"redis\" needs a [cluster] section"), std::string::npos)
        << r.errors[0].message;
    EXPECT_GT(r.errors[0].line, 0);
    const auto bad = config::load_string(std::string(config_test::kMinimalConnector) +
                                             "[dmarc.reports]\nstore = \"mysql\"\n",
                                         "t.conf");
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_NE(bad.errors[0].message.find("use sqlite or redis"), std::string::npos) << bad.errors[0].message;
}

TEST(ConfigValues, DmarcReportsStoreIsSqliteByDefaultAndRedisWithCluster) {
    const auto by_default =
        config::load_string(std::string(config_test::kMinimalConnector) + "[dmarc.reports]\n", "t.conf");
    ASSERT_TRUE(by_default.config);
    EXPECT_EQ(by_default.config->dmarc.reports.store, config::DmarcReportSettings::Store::Sqlite);
    const auto redis = config::load_string(std::string(config_test::kMinimalConnector) +
                                               "[dmarc.reports]\nstore = \"redis\"\n"
                                               "[cluster]\nredis = \"redis://127.0.0.1:6379/0\"\n",
                                           "t.conf");
    ASSERT_TRUE(redis.config) << (redis.errors.empty() ? "" : redis.errors[0].to_string());
    EXPECT_EQ(redis.config->dmarc.reports.store, config::DmarcReportSettings::Store::Redis);
}

// ---------------------------------------------------------------- [cluster]

TEST(ConfigValues, WithoutClusterSectionLimitsStayInProcess) {
    const auto r = load(kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_FALSE(r.config->cluster.enabled);
}

TEST(ConfigValues, ClusterRedisAddressAndSettingsAreRead) {
    const auto r = load(std::string("[cluster]\nredis = \"redis://[2001:db8::7]:6380/4\"\n"
                                    "key_prefix = \"farm1:\"\ntimeout = \"100ms\"\nlease_renewal = \"5s\"\n"
                                    "on_unavailable = \"tempfail\"\n") +
                        kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    const auto& c = r.config->cluster;
    EXPECT_TRUE(c.enabled);
    EXPECT_EQ(c.host, "2001:db8::7");
    EXPECT_EQ(c.port, 6380);
    EXPECT_EQ(c.database, 4u);
    EXPECT_EQ(c.key_prefix, "farm1:");
    EXPECT_EQ(c.timeout, std::chrono::milliseconds(100));
    EXPECT_EQ(c.lease_renewal, std::chrono::milliseconds(5000));
    EXPECT_EQ(c.lease_time, std::chrono::milliseconds(10000)) << "default: twice the renewal period";
    EXPECT_EQ(c.on_unavailable, config::ClusterSettings::OnUnavailable::TempFail);
}

TEST(ConfigValues, ClusterDefaultsToPort6379Database0AndLocalFallback) {
    const auto r = load(std::string("[cluster]\nredis = \"redis://redis.example\"\n") + kMinimalConnector);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    EXPECT_EQ(r.config->cluster.host, "redis.example");
    EXPECT_EQ(r.config->cluster.port, 6379);
    EXPECT_EQ(r.config->cluster.database, 0u);
    EXPECT_EQ(r.config->cluster.on_unavailable, config::ClusterSettings::OnUnavailable::Local);
    const auto u = load(std::string("[cluster]\nredis = \"unix:/run/redis/redis.sock\"\n") + kMinimalConnector);
    ASSERT_NE(u.config, nullptr) << join_errors(u);
    EXPECT_EQ(u.config->cluster.unix_path, "/run/redis/redis.sock");
}

TEST(ConfigErrors, ClusterAddressWithPasswordOrBadPortIsAnErrorAtItsLine) {
    expect_one_error(load(std::string("[cluster]\nredis = \"redis://:secret@10.0.0.20\"\n") + kMinimalConnector),
                     "t.conf:2", "password_file");
    expect_one_error(load(std::string("[cluster]\nredis = \"redis://10.0.0.20:99999\"\n") + kMinimalConnector),
                     "t.conf:2", "port");
    expect_one_error(load(std::string("[cluster]\nredis = \"http://10.0.0.20\"\n") + kMinimalConnector),
                     "t.conf:2", "redis://");
    expect_one_error(load(std::string("[cluster]\nkey_prefix = \"x\"\n") + kMinimalConnector), "t.conf:1",
                     "needs redis");
}

TEST(ConfigErrors, ClusterLeaseTimeNotLongerThanRenewalIsAnErrorAtItsLine) {
    expect_one_error(load(std::string("[cluster]\nredis = \"redis://127.0.0.1\"\nlease_renewal = \"10s\"\n"
                                      "lease_time = \"10s\"\n") +
                          kMinimalConnector),
                     "t.conf:4", "lease_time");
    expect_one_error(load(std::string("[cluster]\nredis = \"redis://127.0.0.1\"\non_unavailable = \"accept\"\n") +
                          kMinimalConnector),
                     "t.conf:3", "on_unavailable");
}

TEST(ConfigErrors, EventLoopsOutOfRangeIsAnErrorAtItsLine) {
    expect_one_error(load(std::string("[milter]\nevent_loops = 257\n") + kMinimalConnector), "t.conf:2",
                     "milter.event_loops");
    expect_one_error(load(std::string("[milter]\nevent_loops = \"two\"\n") + kMinimalConnector), "t.conf:2",
                     "milter.event_loops");
    const auto one = load(std::string("[milter]\nevent_loops = 1\n") + kMinimalConnector);
    ASSERT_NE(one.config, nullptr) << join_errors(one);
    EXPECT_EQ(one.config->milter.event_loops, 1u);
    const auto per_cpu = load(kMinimalConnector);
    ASSERT_NE(per_cpu.config, nullptr) << join_errors(per_cpu);
    EXPECT_EQ(per_cpu.config->milter.event_loops, 0u) << "the engine's default";
    // The default: one loop per CPU but one (the MTA's), at least one.
    static_assert(milter::default_event_loops(0) == 1 && milter::default_event_loops(1) == 1);
    EXPECT_EQ(milter::default_event_loops(2), 1u);
    EXPECT_EQ(milter::default_event_loops(4), 3u);
    EXPECT_EQ(milter::default_event_loops(16), 15u);
}

TEST(ConfigErrors, SpfMailWaitThatIsNotADurationIsAnErrorAtItsLine) {
    expect_one_error(load(std::string("[spf]\nmail_wait = \"soon\"\n") + kMinimalConnector), "t.conf:2",
                     "spf.mail_wait");
    expect_one_error(load(std::string("[spf]\nmail_wait = -1\n") + kMinimalConnector), "t.conf:2",
                     "spf.mail_wait");
    const auto never = load(std::string("[spf]\nmail_wait = 0\n") + kMinimalConnector);
    ASSERT_NE(never.config, nullptr) << join_errors(never);
    EXPECT_EQ(never.config->spf.mail_wait, std::chrono::milliseconds(0));
}
