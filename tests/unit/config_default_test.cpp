// The embedded default policy, the shipped example configuration and the
// man page's coverage of every key the parser accepts.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "config/config.hpp"
#include "config_test_util.hpp"
#include "policy/replies.hpp"
#include "policy/session_rights.hpp"

using config_test::join_errors;

namespace {

config::Discovery discovered(std::vector<std::string> domains) {
    config::Discovery d;
    d.domains = std::move(domains);
    d.log_lines = {"test: found by the test"};
    return d;
}

const policy::Connector& connector(const config::Config& c, const std::string& name) {
    const policy::Connector* found = c.connectors.find(name);
    if (found == nullptr) throw std::runtime_error("no connector " + name);
    return *found;
}

std::string selected(const config::Config& c, const policy::LocalEndpoint& local, const std::string& client) {
    const auto s = c.connectors.select(local, *policy::IpAddress::parse(client));
    return s.chosen == nullptr ? std::string("(none)") : s.chosen->name;
}

policy::LocalEndpoint endpoint(const std::string& address, std::uint16_t port) {
    policy::LocalEndpoint e;
    e.address = policy::IpAddress::parse(address);
    e.port = port;
    return e;
}

std::string source_file(const std::string& relative) {
    const std::string top = config_test::top_srcdir();
    if (top.empty()) return {};
    return top + "/" + relative;
}

}  // namespace

TEST(EmbeddedDefault, TextLoadsWithoutErrors) {
    const auto r = config::load_string(config::embedded_default_text(discovered({"example.com"})), "(default)");
    EXPECT_TRUE(r.errors.empty()) << join_errors(r);
    EXPECT_NE(r.config, nullptr);
}

TEST(EmbeddedDefault, LoadsWhenNothingWasDiscovered) {
    const auto c = config::embedded_default(discovered({}));
    ASSERT_NE(c, nullptr);
    EXPECT_TRUE(c->accepted_domains.empty());
}

TEST(EmbeddedDefault, DiscoveredDomainsAreAuthoritative) {
    const auto c = config::embedded_default(discovered({"example.com", "example.net"}));
    ASSERT_NE(c, nullptr);
    for (const std::string domain : {"example.com", "example.net"}) {
        const auto m = c->accepted_domains.match(domain);
        ASSERT_TRUE(m.has_value()) << domain;
        EXPECT_EQ(m->type, policy::DomainType::Authoritative) << domain;
    }
    EXPECT_FALSE(c->accepted_domains.match("example.org").has_value());
}

TEST(EmbeddedDefault, DiscoveryLogLinesBecomeNotes) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    bool found = false;
    for (const auto& n : c->notes) found = found || n.find("found by the test") != std::string::npos;
    EXPECT_TRUE(found);
}

TEST(EmbeddedDefault, DefaultFrontendDeniesAuthoritativeDomainSenderToAnonymous) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    const policy::Connector& front = connector(*c, "Default Frontend");
    const auto rights = policy::resolve_session_rights(front, policy::ClientIdentity{}, c->certificate_map);
    EXPECT_FALSE(rights.rights.has(policy::Right::AcceptAuthoritativeDomainSender)) << rights.rights.to_string();
    // Anonymous delivery to our own domains still works (Exchange's Submit
    // and Accept-Any-Sender for AnonymousUsers), but no relay.
    EXPECT_TRUE(rights.rights.has(policy::Right::Submit));
    EXPECT_TRUE(rights.rights.has(policy::Right::AcceptAnySender));
    EXPECT_FALSE(rights.rights.has(policy::Right::AcceptAnyRecipient));
}

TEST(EmbeddedDefault, AuthenticatedUserOnDefaultFrontendMayRelay) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    policy::ClientIdentity client;
    client.auth_user = "alice";
    client.auth_type = "PLAIN";
    client.tls = true;
    const auto rights = policy::resolve_session_rights(connector(*c, "Default Frontend"), client, c->certificate_map);
    EXPECT_TRUE(rights.rights.has(policy::Right::AcceptAnyRecipient)) << rights.describe();
}

TEST(EmbeddedDefault, ClientFrontendGivesAnonymousSessionsNoSubmit) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    const auto rights = policy::resolve_session_rights(connector(*c, "Client Frontend"), policy::ClientIdentity{},
                                                       c->certificate_map);
    EXPECT_FALSE(rights.rights.has(policy::Right::Submit));
}

TEST(EmbeddedDefault, Port25SelectsDefaultFrontend) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(selected(*c, endpoint("192.0.2.10", 25), "198.51.100.7"), "Default Frontend");
    EXPECT_EQ(selected(*c, endpoint("2001:db8::10", 25), "2001:db8:1::7"), "Default Frontend");
}

TEST(EmbeddedDefault, Port587SelectsClientFrontend) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(selected(*c, endpoint("192.0.2.10", 587), "198.51.100.7"), "Client Frontend");
}

TEST(EmbeddedDefault, SendmailMsaDaemonNameSelectsClientFrontend) {
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    policy::LocalEndpoint msa;
    msa.daemon_name = "MSA";
    EXPECT_EQ(selected(*c, msa, "198.51.100.7"), "Client Frontend");
}

TEST(EmbeddedDefault, ConnectionWithoutBindingMacrosSelectsDefaultFrontend) {
    // An MTA that passes neither {daemon_addr} nor {daemon_port}: wildcard
    // bindings match, and the internet-facing connector must be the one
    // chosen, not the submission connector.
    const auto c = config::embedded_default(discovered({"example.com"}));
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(selected(*c, policy::LocalEndpoint{}, "198.51.100.7"), "Default Frontend");
}

TEST(EmbeddedDefault, DomainNamesAreQuotedSafelyInTheText) {
    // Discovery normalises names, but the writer must not trust that: a
    // quote and a line break in a name must not inject TOML of their own.
    const auto r = config::load_string(config::embedded_default_text(discovered({"evil\"\nx = 1"})), "(default)");
    ASSERT_EQ(r.errors.size(), 1u) << join_errors(r);
    EXPECT_EQ(r.errors[0].message.rfind("accepted_domain.domain: ", 0), 0u) << r.errors[0].to_string();
}

// ---------------------------------------------------------------- shipped files

TEST(ShippedFiles, ExampleConfigLoadsWithoutErrors) {
    const std::string path = source_file("conf/connector-milter.conf");
    ASSERT_FALSE(path.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const auto r = config::load_file(path);
    EXPECT_TRUE(r.errors.empty()) << join_errors(r);
    ASSERT_NE(r.config, nullptr);
    // The scenarios of the Exchange articles are all there.
    for (const std::string name : {"Default Frontend", "Client Frontend", "Anonymous Relay", "Application Server"})
        EXPECT_NE(r.config->connectors.find(name), nullptr) << name;
}

TEST(ShippedFiles, ExampleAnonymousRelayLets10_0_0_80RelayButNot10_0_0_81) {
    const std::string path = source_file("conf/connector-milter.conf");
    ASSERT_FALSE(path.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const auto r = config::load_file(path);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    const auto relay_rights = [&](const std::string& client) {
        const auto s = r.config->connectors.select(endpoint("10.0.0.50", 25), *policy::IpAddress::parse(client));
        if (s.chosen == nullptr) return false;
        return policy::resolve_session_rights(*s.chosen, policy::ClientIdentity{}, r.config->certificate_map)
            .rights.has(policy::Right::AcceptAnyRecipient);
    };
    EXPECT_TRUE(relay_rights("10.0.0.80"));
    EXPECT_FALSE(relay_rights("10.0.0.81"));
}

// Issue 11 item 4: the scanner's private address is in no public SPF
// record of our domains, so its connector runs neither SPF nor DMARC; the
// internet's connector runs them all.
TEST(ShippedFiles, ExampleAnonymousRelayRunsNoSpfOrDmarcButTheInternetConnectorDoes) {
    const std::string path = source_file("conf/connector-milter.conf");
    ASSERT_FALSE(path.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const auto r = config::load_file(path);
    ASSERT_NE(r.config, nullptr) << join_errors(r);
    const auto* relay = r.config->connectors.find("Anonymous Relay");
    ASSERT_NE(relay, nullptr);
    EXPECT_FALSE(relay->checks.has(policy::MessageCheck::Spf));
    EXPECT_FALSE(relay->checks.has(policy::MessageCheck::Dmarc));
    const auto* internet = r.config->connectors.find("Default Frontend");
    ASSERT_NE(internet, nullptr);
    EXPECT_EQ(internet->checks, policy::CheckSet::all());
}

TEST(ShippedFiles, ManPageDocumentsEveryAcceptedKey) {
    const std::string path = source_file("man/connector-milter.conf.5");
    ASSERT_FALSE(path.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const std::string man = config_test::read_text(path);
    ASSERT_FALSE(man.empty()) << "cannot read " << path;
    // groff escapes '-' as '\-'; keys use '_' only, which groff leaves alone.
    for (const auto& k : config::accepted_keys()) {
        const std::string key(k.key);
        const std::regex word("(^|[^A-Za-z0-9_])" + key + "([^A-Za-z0-9_]|$)");
        EXPECT_TRUE(std::regex_search(man, word)) << "key '" << k.table << (k.table.empty() ? "" : ".") << key
                                                  << "' is not documented in " << path;
    }
}

TEST(ShippedFiles, ManPageDocumentsEveryReplyKey) {
    const std::string path = source_file("man/connector-milter.conf.5");
    ASSERT_FALSE(path.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const std::string man = config_test::read_text(path);
    for (std::size_t i = 0; i < policy::kReplyCount; ++i) {
        const std::string key(policy::reply_key(static_cast<policy::ReplyId>(i)));
        EXPECT_NE(man.find(key), std::string::npos) << "reply key " << key << " is not documented";
    }
}

// The table of defaults in connector-milter.conf(5) is what the code sends:
// each key is followed by its reply.
TEST(ShippedFiles, ManPageShowsEveryDefaultReplyUnderItsKey) {
    const std::string path = source_file("man/connector-milter.conf.5");
    ASSERT_FALSE(path.empty()) << "TOP_SRCDIR is not set (export TOP_SRCDIR=/path/to/source)";
    const std::string man = config_test::read_text(path);
    for (std::size_t i = 0; i < policy::kReplyCount; ++i) {
        const auto id = static_cast<policy::ReplyId>(i);
        const std::string entry = ".B " + std::string(policy::reply_key(id)) + "\n" + policy::default_reply(id).to_string();
        EXPECT_NE(man.find(entry), std::string::npos) << "man page does not show \"" << entry << "\"";
    }
}

TEST(ShippedFiles, EveryListedKeyIsAcceptedByTheParser) {
    // A key in the list that the parser rejected as unknown would make the
    // man page test above meaningless. Each key gets a value of the wrong
    // type (an empty inline table): the error must be about the value.
    for (const auto& k : config::accepted_keys()) {
        if (k.table.empty()) continue;
        const std::string key(k.key);
        std::string text;
        if (k.table == "connector") {
            text = "[[connector]]\n";
            if (key != "name") text += "name = \"A\"\n";
            if (key != "bindings") text += "bindings = [\"0.0.0.0:25\"]\n";
            if (key != "remote_ip_ranges") text += "remote_ip_ranges = [\"::/0\"]\n";
            text += key + " = {}\n";
        } else {
            text = std::string(config_test::kMinimalConnector);
            const bool array = k.table == "accepted_domain" || k.table == "certificate_map" ||
                               k.table == "block_list_provider" || k.table == "ip_allow" || k.table == "ip_block";
            text += (array ? "[[" : "[") + std::string(k.table) + (array ? "]]" : "]") + "\n" + key + " = {}\n";
        }
        const auto r = config::load_string(text, "t.conf");
        for (const auto& e : r.errors) {
            EXPECT_EQ(e.message.find("unknown key"), std::string::npos) << e.to_string();
            EXPECT_EQ(e.message.find("unknown table"), std::string::npos) << e.to_string();
        }
    }
}
