// The resolver's counters (issue 18, "DNS: queries upstream, cache hits,
// timeouts, SERVFAIL, budget exhausted") against a local test server: each
// outcome moves its own counter by exactly one.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "dns/static_zone.hpp"
#include "dns/unbound_resolver.hpp"
#include "dns_test_server.hpp"
#include "metrics/catalogue.hpp"

using namespace std::chrono_literals;
using dns::Budget;
using dns::Status;
using dns::Type;
using dnstest::TestDnsServer;

namespace {

std::uint64_t value(metrics::CounterFamily& family, const metrics::LabelValues& labels = {}) {
    return family.with(labels).value();
}

// The counters of the whole family, before and after one action.
struct Snapshot {
    std::uint64_t queries, hits, exhausted, ok, nxdomain, servfail, timeout;
    static Snapshot now() {
        const auto& c = metrics::catalogue();
        return {value(c.dns_queries),        value(c.dns_cache_hits),
                value(c.dns_budget_exhausted), value(c.dns_answers, {"ok"}),
                value(c.dns_answers, {"nxdomain"}), value(c.dns_answers, {"servfail"}),
                value(c.dns_answers, {"timeout"})};
    }
};

dns::UnboundOptions options_for(const TestDnsServer& server, std::chrono::milliseconds timeout) {
    dns::UnboundOptions o;
    o.timeout = timeout;
    o.nameservers = {server.forwarder()};
    return o;
}

}  // namespace

TEST(DnsCounters, AnAnswerIsOneUpstreamQueryAndOneOkThenACacheHit) {
    TestDnsServer server;
    server.add_a("mail.example.com", "192.0.2.10");
    dns::UnboundResolver r(options_for(server, 2000ms));
    Budget b = Budget::unlimited();
    const auto before = Snapshot::now();
    ASSERT_EQ(r.query("mail.example.com", Type::A, b).status, Status::Ok);
    auto after = Snapshot::now();
    EXPECT_EQ(after.queries - before.queries, 1u);
    EXPECT_EQ(after.ok - before.ok, 1u);
    EXPECT_EQ(after.hits - before.hits, 0u);
    ASSERT_EQ(r.query("mail.example.com", Type::A, b).status, Status::Ok);
    const auto again = Snapshot::now();
    EXPECT_EQ(again.hits - after.hits, 1u);
    EXPECT_EQ(again.queries - after.queries, 0u);
}

TEST(DnsCounters, ServFailAndTimeoutAreCountedApart) {
    TestDnsServer server;
    server.set_servfail("broken.example.com");
    server.add_a("slow.example.com", "192.0.2.1");
    server.set_delay("slow.example.com", 5000ms);
    dns::UnboundResolver r(options_for(server, 1500ms));
    Budget b = Budget::unlimited();
    const auto before = Snapshot::now();
    ASSERT_EQ(r.query("broken.example.com", Type::TXT, b).status, Status::ServFail);
    ASSERT_EQ(r.query("slow.example.com", Type::A, b).status, Status::Timeout);
    const auto after = Snapshot::now();
    EXPECT_EQ(after.servfail - before.servfail, 1u);
    EXPECT_EQ(after.timeout - before.timeout, 1u);
    EXPECT_EQ(after.queries - before.queries, 2u);
    EXPECT_EQ(after.ok - before.ok, 0u);
}

TEST(DnsCounters, AQuestionOverTheBudgetIsCountedAndNotAsked) {
    TestDnsServer server;
    server.add_a("mail.example.com", "192.0.2.10");
    dns::UnboundResolver r(options_for(server, 2000ms));
    Budget spent(0, 5000ms);
    const auto before = Snapshot::now();
    ASSERT_EQ(r.query("mail.example.com", Type::A, spent).status, Status::BudgetExhausted);
    const auto after = Snapshot::now();
    EXPECT_EQ(after.exhausted - before.exhausted, 1u);
    EXPECT_EQ(after.queries - before.queries, 0u);
}

TEST(DnsCounters, TheStaticResolverCountsASpentBudgetToo) {
    std::vector<dns::ZoneError> errors;
    auto zone = std::make_shared<const dns::StaticZone>(dns::StaticZone::parse("a.example. IN A 192.0.2.1\n", "zone", errors));
    dns::StaticResolver r(zone);
    Budget spent(0, 5000ms);
    const auto before = Snapshot::now();
    EXPECT_EQ(r.query("a.example", Type::A, spent).status, Status::BudgetExhausted);
    EXPECT_EQ(Snapshot::now().exhausted - before.exhausted, 1u);
}
