// The per-message DNS budget, the enum names and TXT joining.
#include <gtest/gtest.h>

#include <chrono>

#include "dns/resolver.hpp"

using namespace std::chrono_literals;
using dns::Budget;

namespace {
const Budget::Clock::time_point t0 = Budget::Clock::now();
}

TEST(DnsBudget, ChargeSucceedsUntilTheQueryCountIsSpent) {
    Budget b(3, 10s, t0);
    EXPECT_TRUE(b.charge(t0));
    EXPECT_TRUE(b.charge(t0));
    EXPECT_TRUE(b.charge(t0));
    EXPECT_FALSE(b.charge(t0));
    EXPECT_EQ(b.queries_used(), 3u);
}

TEST(DnsBudget, ChargeFailsOnceTheDeadlineIsReached) {
    Budget b(100, 100ms, t0);
    EXPECT_TRUE(b.charge(t0 + 99ms));
    EXPECT_FALSE(b.charge(t0 + 100ms));
    EXPECT_FALSE(b.charge(t0 + 1s));
    EXPECT_EQ(b.queries_used(), 1u);
}

TEST(DnsBudget, DeadlineIsStartPlusTime) {
    const Budget b(5, 250ms, t0);
    EXPECT_EQ(b.deadline(), t0 + 250ms);
}

TEST(DnsBudget, RemainingCountsDownAndStopsAtZero) {
    const Budget b(5, 100ms, t0);
    EXPECT_EQ(b.remaining(t0 + 30ms), 70ms);
    EXPECT_EQ(b.remaining(t0 + 100ms), 0ms);
    EXPECT_EQ(b.remaining(t0 + 5s), 0ms);
}

TEST(DnsBudget, ZeroQueryBudgetRefusesTheFirstQuery) {
    Budget b(0, 10s, t0);
    EXPECT_FALSE(b.charge(t0));
}

TEST(DnsBudget, ZeroTimeBudgetRefusesTheFirstQuery) {
    Budget b(10, 0ms, t0);
    EXPECT_FALSE(b.charge(t0));
}

TEST(DnsBudget, NegativeTimeBudgetIsAlreadyExpired) {
    Budget b(10, -5ms, t0);
    EXPECT_FALSE(b.charge(t0));
    EXPECT_EQ(b.remaining(t0), 0ms);
}

TEST(DnsBudget, HugeTimeBudgetSaturatesInsteadOfOverflowing) {
    Budget b(1, std::chrono::milliseconds::max(), t0);
    EXPECT_GT(b.deadline(), t0 + 24h * 365 * 100);
    EXPECT_TRUE(b.charge(t0 + 24h));
}

TEST(DnsBudget, UnlimitedBudgetNeverRefuses) {
    Budget b = Budget::unlimited();
    for (int i = 0; i < 10000; ++i) ASSERT_TRUE(b.charge(t0 + 24h * 365)) << "query " << i;
    EXPECT_GT(b.remaining(t0), std::chrono::milliseconds(24h * 365 * 100));
}

TEST(DnsNames, TypeNamesAreTheMnemonics) {
    EXPECT_EQ(dns::type_name(dns::Type::A), "A");
    EXPECT_EQ(dns::type_name(dns::Type::AAAA), "AAAA");
    EXPECT_EQ(dns::type_name(dns::Type::TXT), "TXT");
    EXPECT_EQ(dns::type_name(dns::Type::MX), "MX");
    EXPECT_EQ(dns::type_name(dns::Type::PTR), "PTR");
    EXPECT_EQ(dns::type_name(dns::Type::CNAME), "CNAME");
    EXPECT_EQ(dns::type_name(dns::Type::NS), "NS");
    EXPECT_EQ(dns::type_name(dns::Type::SPF), "SPF");
}

TEST(DnsNames, StatusNamesAreDistinct) {
    EXPECT_EQ(dns::status_name(dns::Status::Ok), "ok");
    EXPECT_EQ(dns::status_name(dns::Status::NxDomain), "nxdomain");
    EXPECT_EQ(dns::status_name(dns::Status::NoData), "nodata");
    EXPECT_EQ(dns::status_name(dns::Status::ServFail), "servfail");
    EXPECT_EQ(dns::status_name(dns::Status::Timeout), "timeout");
    EXPECT_EQ(dns::status_name(dns::Status::BudgetExhausted), "budget-exhausted");
}

TEST(DnsNames, OnlyFailuresAreTemporary) {
    EXPECT_FALSE(dns::is_temporary(dns::Status::NxDomain));
    EXPECT_FALSE(dns::is_temporary(dns::Status::NoData));
    EXPECT_TRUE(dns::is_temporary(dns::Status::ServFail));
    EXPECT_TRUE(dns::is_temporary(dns::Status::Timeout));
    EXPECT_TRUE(dns::is_temporary(dns::Status::BudgetExhausted));
}

TEST(DnsRecord, TxtJoinsStringsWithoutSeparator) {
    dns::Record r;
    r.type = dns::Type::TXT;
    r.strings = {"v=spf1 ", "ip4:192.0.2.1", " -all"};
    EXPECT_EQ(r.txt(), "v=spf1 ip4:192.0.2.1 -all");
}
