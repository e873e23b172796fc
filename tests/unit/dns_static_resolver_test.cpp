// StaticResolver: answers from a zone, charges the budget, counts queries.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "dns/static_zone.hpp"

using namespace std::chrono_literals;
using dns::Budget;
using dns::Status;
using dns::Type;

namespace {
std::shared_ptr<const dns::StaticZone> zone() {
    std::vector<dns::ZoneError> errors;
    auto z = std::make_shared<dns::StaticZone>(dns::StaticZone::parse(
        "example.com. IN TXT \"v=spf1 -all\"\n"
        "mail.example.com. IN A 192.0.2.10\n",
        "test.zone", errors));
    EXPECT_TRUE(errors.empty());
    return z;
}
}  // namespace

TEST(DnsStaticResolver, AnswersFromTheZone) {
    dns::StaticResolver r(zone());
    Budget b = Budget::unlimited();
    const auto a = r.query("example.com", Type::TXT, b);
    ASSERT_EQ(a.status, Status::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].txt(), "v=spf1 -all");
    EXPECT_EQ(r.query("nothere.example.com", Type::A, b).status, Status::NxDomain);
}

TEST(DnsStaticResolver, EachQueryChargesTheBudgetOnce) {
    dns::StaticResolver r(zone());
    Budget b(10, 10s);
    r.query("example.com", Type::TXT, b);
    r.query("nothere.example.com", Type::A, b);
    EXPECT_EQ(b.queries_used(), 2u);
}

TEST(DnsStaticResolver, CountsQueries) {
    dns::StaticResolver r(zone());
    Budget b = Budget::unlimited();
    EXPECT_EQ(r.queries(), 0u);
    r.query("example.com", Type::TXT, b);
    r.query("mail.example.com", Type::A, b);
    r.query("mail.example.com", Type::MX, b);
    EXPECT_EQ(r.queries(), 3u);
}

TEST(DnsStaticResolver, SpentQueryCountGivesBudgetExhaustedWithoutAsking) {
    dns::StaticResolver r(zone());
    Budget b(1, 10s);
    EXPECT_EQ(r.query("example.com", Type::TXT, b).status, Status::Ok);
    const auto second = r.query("example.com", Type::TXT, b);
    EXPECT_EQ(second.status, Status::BudgetExhausted);
    EXPECT_TRUE(second.records.empty());
    EXPECT_EQ(r.queries(), 1u);
}

TEST(DnsStaticResolver, PassedDeadlineGivesBudgetExhausted) {
    dns::StaticResolver r(zone());
    Budget b(100, 50ms, Budget::Clock::now() - 1s);
    EXPECT_EQ(r.query("example.com", Type::TXT, b).status, Status::BudgetExhausted);
    EXPECT_EQ(r.queries(), 0u);
}

TEST(DnsStaticResolver, SpfTypeIsNoDataAndFree) {
    std::vector<dns::ZoneError> errors;
    auto z = std::make_shared<dns::StaticZone>(
        dns::StaticZone::parse("example.com SPF \"v=spf1 -all\"\n", "t", errors));
    ASSERT_TRUE(errors.empty());
    dns::StaticResolver r(z);
    Budget b(1, 10s);
    EXPECT_EQ(r.query("example.com", Type::SPF, b).status, Status::NoData);
    EXPECT_EQ(b.queries_used(), 0u);
    EXPECT_EQ(r.queries(), 0u);
}

TEST(DnsStaticResolver, WithoutZoneEverythingIsNxDomain) {
    dns::StaticResolver r(nullptr);
    Budget b = Budget::unlimited();
    EXPECT_EQ(r.query("example.com", Type::TXT, b).status, Status::NxDomain);
}
