// Connection filtering (issue 19): IP allow/block lists and DNS block list
// providers, from the pure parts (query names, match rules, expiry) to the
// session's refusal at RCPT, with DNS answers from a static zone.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "auth/dnsbl.hpp"
#include "config/config.hpp"
#include "config_test_util.hpp"
#include "dns/static_zone.hpp"
#include "metrics/catalogue.hpp"
#include "policy/connection_filter.hpp"
#include "session/session.hpp"

namespace {

using policy::IpAddress;
using session::Outcome;
using namespace std::chrono_literals;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

// ---- pure parts -------------------------------------------------------------

TEST(BlockListQueryName, Ipv4OctetsAreReversedUnderTheZone) {
    // RFC 5782 section 2.1's example.
    EXPECT_EQ(policy::block_list_query_name(ip("192.0.2.99"), "bad.example.com"), "99.2.0.192.bad.example.com");
}

TEST(BlockListQueryName, Ipv6IsThirtyTwoReversedNibbles) {
    // RFC 5782 section 2.4's example.
    EXPECT_EQ(policy::block_list_query_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com"),
              "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
}

TEST(BlockListQueryName, MappedIpv4ClientIsAskedAsIpv4) {
    EXPECT_EQ(policy::block_list_query_name(ip("::ffff:192.0.2.99"), "Bad.Example.COM."), "99.2.0.192.bad.example.com");
}

TEST(BlockListMatch, AnyCountsLoopbackAnswersButNotListErrorsOrOtherAddresses) {
    policy::BlockListMatch any;
    EXPECT_TRUE(any.matches(ip("127.0.0.2")));
    EXPECT_TRUE(any.matches(ip("127.0.0.11")));
    EXPECT_FALSE(any.matches(ip("127.255.255.254")));  // Spamhaus: query refused
    EXPECT_FALSE(any.matches(ip("192.0.2.1")));         // a hijacked NXDOMAIN, not a listing
}

TEST(BlockListMatch, AddressListCountsOnlyTheListedAnswers) {
    policy::BlockListMatch m;
    m.kind = policy::BlockListMatch::Kind::Addresses;
    m.addresses = {ip("127.0.0.2"), ip("127.0.0.3")};
    EXPECT_TRUE(m.matches(ip("127.0.0.3")));
    EXPECT_FALSE(m.matches(ip("127.0.0.4")));
}

TEST(BlockListMatch, BitmaskCountsAnswersSharingABitWithTheMask) {
    policy::BlockListMatch m;
    m.kind = policy::BlockListMatch::Kind::Bitmask;
    m.bitmask = static_cast<std::uint32_t>(ip("127.0.0.6").value());
    EXPECT_TRUE(m.matches(ip("127.0.0.2")));
    EXPECT_TRUE(m.matches(ip("127.0.0.4")));
    EXPECT_TRUE(m.matches(ip("127.0.0.12")));
    EXPECT_FALSE(m.matches(ip("127.0.0.8")));
    EXPECT_FALSE(m.matches(ip("127.0.0.1")));   // the 127 of the mask is not a bit that counts
    EXPECT_FALSE(m.matches(ip("10.0.0.2")));
}

TEST(BlockListReply, DefaultIsExchangesText) {
    policy::BlockListProvider p;
    p.name = "Zen";
    EXPECT_EQ(p.rejection_for(ip("192.0.2.1")).to_string(),
              "550 5.7.1 Recipient not authorized, your IP has been found on a block list");
}

TEST(BlockListReply, ProviderAndIpAreFilledIn) {
    policy::Reply tmpl{"550", "5.7.1", "{ip} is listed at {provider}; see {provider}"};
    EXPECT_EQ(policy::expand_reply_template(tmpl, "Zen", ip("2001:db8::1")).text, "2001:db8::1 is listed at Zen; see Zen");
}

TEST(BlockListReply, TemplateTooLongOnceTheLongestAddressIsInIsRefused) {
    // 550 5.7.1 (10 octets) + 470 + 1 + 39 (the longest IPv6 text) > 510.
    policy::Reply tmpl{"550", "5.7.1", std::string(470, 'x') + " {ip}"};
    EXPECT_TRUE(policy::check_reply_template({"550", "5.7.1", std::string(470, 'x') + " {provider}"}, "P").empty());
    EXPECT_FALSE(policy::check_reply_template(tmpl, "P").empty());
}

TEST(IpListExpiry, DatesAndTimesAreUtcUnlessAnOffsetIsGiven) {
    using namespace std::chrono;
    const auto day = system_clock::time_point(sys_days(year{2027} / 1 / 31));
    EXPECT_EQ(policy::parse_expiry("2027-01-31"), day);
    EXPECT_EQ(policy::parse_expiry("2027-01-31T12:30:00Z"), day + 12h + 30min);
    EXPECT_EQ(policy::parse_expiry("2027-01-31 12:30"), day + 12h + 30min);
    EXPECT_EQ(policy::parse_expiry("2027-01-31T12:30:00+02:00"), day + 10h + 30min);
    EXPECT_FALSE(policy::parse_expiry("2027-02-30"));
    EXPECT_FALSE(policy::parse_expiry("31/01/2027"));
    EXPECT_FALSE(policy::parse_expiry("2027-01-31T25:00"));
    EXPECT_FALSE(policy::parse_expiry("2027-01-31T12:30:00Z junk"));
}

TEST(IpListExpiry, ExpiredEntryNoLongerApplies) {
    using namespace std::chrono;
    policy::IpList list;
    list.add({*policy::IpRange::parse("192.0.2.0/24"), policy::parse_expiry("2027-01-31"), "t:1"});
    const auto before = *policy::parse_expiry("2027-01-30T23:59:59Z");
    const auto after = *policy::parse_expiry("2027-01-31T00:00:00Z");
    EXPECT_NE(list.find(ip("192.0.2.7"), before), nullptr);
    EXPECT_EQ(list.find(ip("192.0.2.7"), after), nullptr);
    EXPECT_EQ(list.find(ip("198.51.100.7"), before), nullptr);
}

TEST(ConnectionFilterExempt, LocalPartAloneMatchesAnyDomainWholeAddressOnlyItself) {
    policy::ConnectionFilter f;
    f.exempt_recipients = {"postmaster", "abuse@example.com"};
    auto path = [](const char* a) { return *policy::parse_smtp_path(a).path; };
    EXPECT_TRUE(f.exempt(path("<PostMaster@example.com>")));
    EXPECT_TRUE(f.exempt(path("<postmaster@other.example>")));
    EXPECT_TRUE(f.exempt(path("<Abuse@Example.com>")));
    EXPECT_FALSE(f.exempt(path("<abuse@other.example>")));
    EXPECT_FALSE(f.exempt(path("<user@example.com>")));
}

// ---- lookups through the resolver --------------------------------------------

policy::BlockListProvider provider(const char* name, const char* zone) {
    policy::BlockListProvider p;
    p.name = name;
    p.lookup_domain = zone;
    return p;
}

std::shared_ptr<dns::StaticResolver> zone_resolver(const char* text) {
    std::vector<dns::ZoneError> errors;
    auto zone = std::make_shared<const dns::StaticZone>(dns::StaticZone::parse(text, "test.zone", errors));
    for (const auto& e : errors) ADD_FAILURE() << e.to_string();
    return std::make_shared<dns::StaticResolver>(zone);
}

TEST(BlockListLookup, ListedUnlistedTimeoutAndServfailAreToldApart) {
    auto r = zone_resolver(R"(
10.2.0.192.listed.example. A 127.0.0.2
10.2.0.192.slow.example. TIMEOUT
10.2.0.192.broken.example. SERVFAIL
10.2.0.192.refusing.example. A 127.255.255.254
)");
    const auto listed = provider("Listed", "listed.example"), clean = provider("Clean", "clean.example"),
               slow = provider("Slow", "slow.example"), broken = provider("Broken", "broken.example"),
               refusing = provider("Refusing", "refusing.example");
    dns::Budget budget(10, 1000ms);
    auth::BlockListCheck check(*r, ip("192.0.2.10"), {&listed, &clean, &slow, &broken, &refusing}, budget);
    const auto& res = check.results();
    ASSERT_EQ(res.size(), 5u);
    EXPECT_EQ(res[0].outcome, auth::BlockListOutcome::Listed);
    EXPECT_EQ(res[0].matched, ip("127.0.0.2"));
    EXPECT_EQ(res[0].describe(), "Listed: 10.2.0.192.listed.example -> 127.0.0.2 (listed)");
    EXPECT_EQ(res[1].outcome, auth::BlockListOutcome::Unlisted);
    EXPECT_EQ(res[1].status, dns::Status::NxDomain);
    EXPECT_EQ(res[2].outcome, auth::BlockListOutcome::Failed);
    EXPECT_EQ(res[2].status, dns::Status::Timeout);
    EXPECT_EQ(res[3].outcome, auth::BlockListOutcome::Failed);
    EXPECT_EQ(res[3].status, dns::Status::ServFail);
    EXPECT_EQ(res[4].outcome, auth::BlockListOutcome::Failed);
}

TEST(BlockListLookup, Ipv6ClientIsAskedByItsNibbleName) {
    auto r = zone_resolver(
        "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.listed.example. A 127.0.0.2\n");
    const auto listed = provider("Listed", "listed.example");
    dns::Budget budget(10, 1000ms);
    auth::BlockListCheck hit(*r, ip("2001:db8::99"), {&listed}, budget);
    EXPECT_EQ(hit.results().at(0).outcome, auth::BlockListOutcome::Listed);
    auth::BlockListCheck miss(*r, ip("2001:db8::98"), {&listed}, budget);
    EXPECT_EQ(miss.results().at(0).outcome, auth::BlockListOutcome::Unlisted);
}

TEST(BlockListLookup, SpentBudgetIsAFailureNotAListing) {
    auto r = zone_resolver("10.2.0.192.listed.example. A 127.0.0.2\n");
    const auto listed = provider("Listed", "listed.example");
    dns::Budget none(0, 1000ms);
    auth::BlockListCheck check(*r, ip("192.0.2.10"), {&listed}, none);
    EXPECT_EQ(check.results().at(0).outcome, auth::BlockListOutcome::Failed);
    EXPECT_EQ(check.results().at(0).status, dns::Status::BudgetExhausted);
}

TEST(BlockListDecision, FirstListingInPriorityOrderDecidesAndBeatsAFailure) {
    auto strict = provider("Strict", "strict.example");
    strict.on_failure = policy::BlockListFailure::TempFail;
    auto a = provider("A", "a.example"), b = provider("B", "b.example");
    std::vector<auth::BlockListResult> res(3);
    res[0].provider = &strict;
    res[0].outcome = auth::BlockListOutcome::Failed;
    res[1].provider = &a;
    res[1].outcome = auth::BlockListOutcome::Listed;
    res[2].provider = &b;
    res[2].outcome = auth::BlockListOutcome::Listed;
    auto d = auth::decide(res);
    EXPECT_EQ(d.kind, auth::BlockListDecision::Kind::Listed);
    EXPECT_EQ(d.result->provider, &a);
    res[1].outcome = res[2].outcome = auth::BlockListOutcome::Unlisted;
    EXPECT_EQ(auth::decide(res).kind, auth::BlockListDecision::Kind::TempFail);
    strict.on_failure = policy::BlockListFailure::Ignore;
    EXPECT_EQ(auth::decide(res).kind, auth::BlockListDecision::Kind::Pass);
}

// ---- sessions ------------------------------------------------------------------

const char* kZone = R"(
10.2.0.192.main.example.  A 127.0.0.2
10.2.0.192.bits.example.  A 127.0.0.8
12.2.0.192.bits.example.  A 127.0.0.4
13.2.0.192.main.example.  TIMEOUT
14.2.0.192.main.example.  SERVFAIL
15.2.0.192.strict.example. SERVFAIL
16.2.0.192.main.example.  A 127.255.255.254
17.2.0.192.off.example.   A 127.0.0.2
18.2.0.192.main.example.  A 127.0.0.2
18.2.0.192.bits.example.  A 127.0.0.4
30.2.0.192.main.example.  A 127.0.0.2
9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.main.example. A 127.0.0.2
)";

const char* kConfig = R"toml(
[spf]
enabled = false
[dkim]
enabled = false
[dmarc]
enabled = false

[[accepted_domain]]
domain = "example.com"

[connection_filtering]
exempt_recipients = ["postmaster", "abuse@example.com"]

[[block_list_provider]]
name = "Main List"
lookup_domain = "main.example"
priority = 2

[[block_list_provider]]
name = "Bits"
lookup_domain = "bits.example"
bitmask_match = "127.0.0.4"
priority = 1
rejection_response = "Client {ip} is listed at {provider}"

[[block_list_provider]]
name = "Strict"
lookup_domain = "strict.example"
dns_failure = "tempfail"

[[block_list_provider]]
name = "Off"
lookup_domain = "off.example"
enabled = false

[[ip_allow]]
range = "192.0.2.30"

[[ip_block]]
range = "192.0.2.30-192.0.2.40"
comment = "seen abusing us"

[[ip_block]]
range = "192.0.2.50"
expires = 2020-01-01T00:00:00Z

[[connector]]
name = "Filtered"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0/0", "::/0"]
permission_groups = ["AnonymousUsers", "ExchangeUsers"]
tarpit_interval = "2s"
connection_filtering = true

[[connector]]
name = "Unfiltered"
bindings = ["0.0.0.0:2525"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]

[[connector]]
name = "Only Bits"
bindings = ["0.0.0.0:2526"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]
block_list_providers = ["Bits"]

[[connector]]
name = "Bypass"
bindings = ["0.0.0.0:2527"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]
connection_filtering = true
[connector.grant]
AnonymousUsers = ["Ms-Exch-Bypass-Anti-Spam"]
)toml";

struct FilterSession : ::testing::Test {
    void SetUp() override {
        auto loaded = config::load_string(kConfig, "filter-test.conf");
        for (auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
        ASSERT_TRUE(loaded.config);
        resolver = zone_resolver(kZone);
        auto built = session::build_runtime(loaded.config, resolver);
        ASSERT_TRUE(built.runtime);
        runtime = std::make_shared<session::Runtime>(*built.runtime);
    }
    std::unique_ptr<session::Session> open(std::uint16_t port, const std::string& client) {
        auto s = std::make_unique<session::Session>(runtime, shared, [this](std::string_view l) {
            log.emplace_back(l);
        });
        session::ConnectFacts facts;
        facts.client = IpAddress::parse(client);
        facts.local.address = IpAddress::parse("192.0.2.1");
        facts.local.port = port;
        EXPECT_TRUE(s->on_connect(facts).verdict.ok());
        return s;
    }
    // MAIL and one RCPT; the RCPT's outcome.
    Outcome deliver(std::uint16_t port, const std::string& client, const std::string& rcpt = "user@example.com",
                    const session::SecurityFacts& security = {}) {
        auto s = open(port, client);
        s->on_helo("client.example.net", security);
        const std::string from = security.identity.auth_user.empty() ? "sender@outside.example"
                                                                      : security.identity.auth_user;
        auto mail = s->on_mail({"<" + from + ">"}, security, std::chrono::steady_clock::now());
        EXPECT_TRUE(mail.verdict.ok()) << mail.verdict.reason;
        return s->on_rcpt({"<" + rcpt + ">"});
    }
    bool logged(const std::string& text) const {
        for (const auto& l : log)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }

    std::shared_ptr<dns::StaticResolver> resolver;
    std::shared_ptr<session::Runtime> runtime;
    std::shared_ptr<session::Shared> shared = std::make_shared<session::Shared>();
    std::vector<std::string> log;
};

TEST_F(FilterSession, ListedClientIsRefusedAtRcptWithExchangesTextAndTarpitted) {
    auto o = deliver(25, "192.0.2.10");
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::Reject);
    EXPECT_EQ(o.verdict.reply.to_string(), "550 5.7.1 Recipient not authorized, your IP has been found on a block list");
    EXPECT_TRUE(o.tarpit);
    EXPECT_EQ(o.tarpit_delay, 2000ms);
    EXPECT_NE(o.verdict.reason.find("\"Main List\""), std::string::npos) << o.verdict.reason;
    EXPECT_TRUE(logged("10.2.0.192.main.example -> 127.0.0.2 (listed)"));
    EXPECT_TRUE(logged("action=reject"));
}

std::uint64_t dnsbl_count(const char* provider, const char* result) {
    return metrics::catalogue().dnsbl_results.with({provider, result}).value();
}

TEST_F(FilterSession, EveryProviderAnswerIsCountedOncePerSessionByProviderAndResult) {
    const auto listed = dnsbl_count("Main List", "listed"), unlisted = dnsbl_count("Bits", "unlisted"),
               failed = dnsbl_count("Main List", "failed");
    auto s = open(25, "192.0.2.10");
    s->on_helo("client.example.net", {});
    ASSERT_TRUE(s->on_mail({"<a@outside.example>"}, {}, std::chrono::steady_clock::now()).verdict.ok());
    s->on_rcpt({"<user@example.com>"});
    s->on_rcpt({"<other@example.com>"});
    EXPECT_EQ(dnsbl_count("Main List", "listed"), listed + 1);
    EXPECT_EQ(dnsbl_count("Bits", "unlisted"), unlisted + 1);  // answered 127.0.0.8, not in its mask
    deliver(25, "192.0.2.13");                                  // Main List times out
    EXPECT_EQ(dnsbl_count("Main List", "failed"), failed + 1);
}

TEST_F(FilterSession, UnlistedClientPasses) {
    EXPECT_TRUE(deliver(25, "192.0.2.20").verdict.ok());
    EXPECT_TRUE(logged("Main List: 20.2.0.192.main.example -> nxdomain (unlisted)"));
}

TEST_F(FilterSession, LookupsStartAtConnectAndRcptAsksNothingMore) {
    auto s = open(25, "192.0.2.20");
    // Main List, Bits and Strict; the disabled provider is not asked.
    EXPECT_EQ(resolver->queries(), 3u);
    s->on_helo("client.example.net", {});
    ASSERT_TRUE(s->on_mail({"<a@outside.example>"}, {}, std::chrono::steady_clock::now()).verdict.ok());
    EXPECT_TRUE(s->on_rcpt({"<user@example.com>"}).verdict.ok());
    EXPECT_TRUE(s->on_rcpt({"<other@example.com>"}).verdict.ok());
    EXPECT_EQ(resolver->queries(), 3u);
}

TEST_F(FilterSession, Ipv6ClientListedByNibbleNameIsRefused) {
    EXPECT_EQ(deliver(25, "2001:db8::99").verdict.reply.code, "550");
    EXPECT_TRUE(deliver(25, "2001:db8::98").verdict.ok());
}

TEST_F(FilterSession, BitmaskProviderCountsOnlyMatchingBitsAndUsesItsOwnText) {
    EXPECT_TRUE(deliver(2526, "192.0.2.10").verdict.ok());  // Bits answers 127.0.0.8: no bit of 4
    EXPECT_EQ(deliver(2526, "192.0.2.12").verdict.reply.to_string(), "550 5.7.1 Client 192.0.2.12 is listed at Bits");
}

TEST_F(FilterSession, HigherPriorityProviderGivesTheRefusal) {
    // Listed by both; Bits has priority 1.
    EXPECT_EQ(deliver(25, "192.0.2.18").verdict.reply.text, "Client 192.0.2.18 is listed at Bits");
}

TEST_F(FilterSession, TimeoutAndServfailAreIgnoredByDefaultAndLogged) {
    EXPECT_TRUE(deliver(25, "192.0.2.13").verdict.ok());
    EXPECT_TRUE(logged("-> timeout (failed) ignored for this session"));
    EXPECT_TRUE(deliver(25, "192.0.2.14").verdict.ok());
    EXPECT_TRUE(logged("-> servfail (failed) ignored for this session"));
    EXPECT_TRUE(deliver(25, "192.0.2.16").verdict.ok());  // the list refused to answer
}

TEST_F(FilterSession, FailureOfATempfailProviderDefersWith451) {
    auto o = deliver(25, "192.0.2.15");
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_EQ(o.verdict.reply.to_string(), "451 4.4.3 Block list Strict could not be checked, try again later");
}

TEST_F(FilterSession, DisabledProviderIsNeverAsked) {
    EXPECT_TRUE(deliver(25, "192.0.2.17").verdict.ok());
}

TEST_F(FilterSession, PostmasterAndConfiguredRecipientsAreExcepted) {
    EXPECT_TRUE(deliver(25, "192.0.2.10", "postmaster@example.com").verdict.ok());
    EXPECT_TRUE(deliver(25, "192.0.2.10", "abuse@example.com").verdict.ok());
    EXPECT_EQ(deliver(25, "192.0.2.40", "postmaster@example.com").verdict.ok(), true);
}

TEST_F(FilterSession, ConnectorWithoutFilteringDoesNotAsk) {
    EXPECT_TRUE(deliver(2525, "192.0.2.10").verdict.ok());
    EXPECT_EQ(resolver->queries(), 0u);
}

TEST_F(FilterSession, ConnectorNamingProvidersAsksOnlyThose) {
    EXPECT_TRUE(deliver(2526, "192.0.2.20").verdict.ok());
    EXPECT_EQ(resolver->queries(), 1u);
}

TEST_F(FilterSession, BypassAntiSpamSessionIsNeverChecked) {
    EXPECT_TRUE(deliver(2527, "192.0.2.10").verdict.ok());
    EXPECT_TRUE(deliver(2527, "192.0.2.40").verdict.ok());
    EXPECT_EQ(resolver->queries(), 0u);
}

TEST_F(FilterSession, AuthenticatedSessionIsNeverRefused) {
    session::SecurityFacts user;
    user.identity.auth_user = "alice@example.com";
    user.identity.auth_type = "PLAIN";
    user.identity.tls = true;
    EXPECT_TRUE(deliver(25, "192.0.2.10", "friend@elsewhere.example", user).verdict.ok());
    EXPECT_TRUE(deliver(25, "192.0.2.40", "friend@elsewhere.example", user).verdict.ok());
}

TEST_F(FilterSession, IpBlockEntryIsRefusedWithoutAnyLookup) {
    auto o = deliver(25, "192.0.2.40");
    EXPECT_EQ(o.verdict.reply.to_string(),
              "550 5.7.1 Access denied, the IP address 192.0.2.40 is on the block list of this server");
    EXPECT_TRUE(o.tarpit);
    EXPECT_EQ(resolver->queries(), 0u);
}

TEST_F(FilterSession, IpAllowWinsOverIpBlockAndProviders) {
    // 192.0.2.30 is in ip_allow, in an ip_block range and listed by Main List.
    EXPECT_TRUE(deliver(25, "192.0.2.30").verdict.ok());
    EXPECT_EQ(resolver->queries(), 0u);
    EXPECT_TRUE(logged("client in ip_allow 192.0.2.30"));
}

TEST_F(FilterSession, IpBlockEntryAppliesUntilItExpires) {
    EXPECT_TRUE(deliver(25, "192.0.2.50").verdict.ok());  // expired 2020-01-01
    runtime->wall_now = [] { return *policy::parse_expiry("2019-12-31T23:00:00Z"); };
    EXPECT_EQ(deliver(25, "192.0.2.50").verdict.reply.code, "550");
}

TEST_F(FilterSession, RelayRefusalComesBeforeTheBlockList) {
    EXPECT_EQ(deliver(25, "192.0.2.10", "victim@elsewhere.example").verdict.reply.xcode, "5.7.54");
}

// ---- configuration errors -----------------------------------------------------

std::string errors_of(const std::string& text) {
    const std::string base = R"toml(
[[connector]]
name = "C"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0/0"]
)toml";
    auto r = config::load_string(text + base, "f.conf");
    return config_test::join_errors(r);
}

TEST(ConnectionFilterConfig, ProblemsAreReportedWithFileAndLine) {
    EXPECT_NE(errors_of("[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"a.example\"\n"
                        "bitmask_match = \"127.0.0.0\"\n")
                  .find("f.conf:4: block_list_provider.bitmask_match"),
              std::string::npos);
    EXPECT_NE(errors_of("[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"not a domain\"\n")
                  .find("f.conf:3: block_list_provider.lookup_domain"),
              std::string::npos);
    EXPECT_NE(errors_of("[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"a.example\"\n"
                        "bitmask_match = \"127.0.0.2\"\nip_addresses_match = [\"127.0.0.2\"]\n")
                  .find("give only one of"),
              std::string::npos);
    EXPECT_NE(errors_of("[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"a.example\"\n"
                        "[[block_list_provider]]\nname = \"a\"\nlookup_domain = \"b.example\"\n")
                  .find("f.conf:5: block_list_provider.name: 'a' is already used at f.conf:1"),
              std::string::npos);
    EXPECT_NE(errors_of("[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"a.example\"\n"
                        "rejection_response = \"451 4.7.1 later\"\n")
                  .find("f.conf:4: block_list_provider.rejection_response: a listing is refused for good"),
              std::string::npos);
    EXPECT_NE(errors_of("[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"a.example\"\n"
                        "rejection_response = \"" + std::string(470, 'x') + " {ip}\"\n")
                  .find("f.conf:4: block_list_provider.rejection_response: reply is"),
              std::string::npos);
    EXPECT_NE(errors_of("[[ip_block]]\nrange = \"192.0.2.0/33\"\n").find("f.conf:2: ip_block.range"),
              std::string::npos);
    EXPECT_NE(errors_of("[[ip_allow]]\nrange = \"192.0.2.1\"\nexpires = \"tomorrow\"\n")
                  .find("f.conf:3: ip_allow.expires"),
              std::string::npos);
    const auto unknown = config::load_string(
        "[[connector]]\nname = \"C\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"0.0.0.0/0\"]\n"
        "block_list_providers = [\"Nope\"]\n",
        "f.conf");
    EXPECT_NE(config_test::join_errors(unknown).find("f.conf:5: connector.block_list_providers: no "
                                                     "[[block_list_provider]] is named \"Nope\""),
              std::string::npos)
        << config_test::join_errors(unknown);
}

TEST(ConnectionFilterConfig, ListFileLinesAreReadWithExpiryAndBadLinesNamed) {
    config_test::TempDir dir;
    dir.write("block.txt", "# comment\n192.0.2.0/24\n198.51.100.1-198.51.100.9 2027-01-31\nnot-an-ip\n"
                           "203.0.113.1 someday\n");
    auto r = config::load_string("[connection_filtering]\nip_block_file = \"block.txt\"\n"
                                 "[[connector]]\nname = \"C\"\nbindings = [\"0.0.0.0:25\"]\n"
                                 "remote_ip_ranges = [\"0.0.0.0/0\"]\n",
                                 "f.conf", dir.path().string());
    const auto errors = config_test::join_errors(r);
    EXPECT_NE(errors.find("block.txt:4: "), std::string::npos) << errors;
    EXPECT_NE(errors.find("block.txt:5: \"someday\" is not an expiry date"), std::string::npos) << errors;
    dir.write("block.txt", "192.0.2.0/24\n198.51.100.1-198.51.100.9 2027-01-31\n");
    r = config::load_string("[connection_filtering]\nip_block_file = \"block.txt\"\n"
                            "[[connector]]\nname = \"C\"\nbindings = [\"0.0.0.0:25\"]\n"
                            "remote_ip_ranges = [\"0.0.0.0/0\"]\n",
                            "f.conf", dir.path().string());
    ASSERT_TRUE(r.config) << config_test::join_errors(r);
    EXPECT_EQ(r.config->connection_filter.block.size(), 2u);
    const auto before = *policy::parse_expiry("2027-01-30");
    EXPECT_NE(r.config->connection_filter.block.find(ip("198.51.100.5"), before), nullptr);
    EXPECT_EQ(r.config->connection_filter.block.find(ip("198.51.100.5"), *policy::parse_expiry("2027-02-01")),
              nullptr);
}

TEST(ConnectionFilterConfig, ProvidersWithoutPriorityFollowTheFileOrder) {
    auto r = config::load_string(
        "[[block_list_provider]]\nname = \"B\"\nlookup_domain = \"b.example\"\n"
        "[[block_list_provider]]\nname = \"A\"\nlookup_domain = \"a.example\"\npriority = 1\n"
        "[[connector]]\nname = \"C\"\nbindings = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"0.0.0.0/0\"]\n",
        "f.conf");
    ASSERT_TRUE(r.config) << config_test::join_errors(r);
    ASSERT_EQ(r.config->connection_filter.providers.size(), 2u);
    EXPECT_EQ(r.config->connection_filter.providers[0].name, "A");
}

}  // namespace
