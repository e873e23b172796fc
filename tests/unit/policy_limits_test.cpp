// Connection and message-rate limits.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "policy/limits.hpp"

using namespace policy;
using namespace std::chrono_literals;

namespace {

Connector limited(std::optional<std::uint32_t> total, std::optional<std::uint32_t> per_source,
                  std::optional<std::uint32_t> percentage) {
    Connector c;
    c.name = "Frontend";
    c.max_inbound_connection = total;
    c.max_inbound_connection_per_source = per_source;
    c.max_inbound_connection_percentage_per_source = percentage;
    return c;
}

Connector rate_limited(std::optional<std::uint32_t> per_minute) {
    Connector c;
    c.name = "Submission";
    c.message_rate_limit = per_minute;
    return c;
}

}  // namespace

TEST(ConnectionTracker, PerSourceLimitRefusesTheExtraConnection) {
    ConnectionTracker t;
    const Connector c = limited(std::nullopt, 2, std::nullopt);
    EXPECT_TRUE(t.open(c, "192.0.2.1"));
    EXPECT_TRUE(t.open(c, "192.0.2.1"));
    EXPECT_FALSE(t.open(c, "192.0.2.1"));
    EXPECT_TRUE(t.open(c, "192.0.2.2"));
    EXPECT_EQ(t.total("Frontend"), 3u);
}

TEST(ConnectionTracker, ClosingFreesASlot) {
    ConnectionTracker t;
    const Connector c = limited(std::nullopt, 1, std::nullopt);
    EXPECT_TRUE(t.open(c, "192.0.2.1"));
    EXPECT_FALSE(t.open(c, "192.0.2.1"));
    t.close(c, "192.0.2.1");
    EXPECT_TRUE(t.open(c, "192.0.2.1"));
}

TEST(ConnectionTracker, TotalLimitRefusesAnySource) {
    ConnectionTracker t;
    const Connector c = limited(2, std::nullopt, std::nullopt);
    EXPECT_TRUE(t.open(c, "a"));
    EXPECT_TRUE(t.open(c, "b"));
    EXPECT_FALSE(t.open(c, "c"));
    EXPECT_EQ(t.total("Frontend"), 2u);
}

TEST(ConnectionTracker, PercentagePerSourceIsShareOfTotal) {
    ConnectionTracker t;
    // 10% of 50 = 5 per source.
    const Connector c = limited(50, std::nullopt, 10);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(t.open(c, "a")) << i;
    EXPECT_FALSE(t.open(c, "a"));
    EXPECT_TRUE(t.open(c, "b"));
}

TEST(ConnectionTracker, PercentageShareIsAtLeastOne) {
    ConnectionTracker t;
    const Connector c = limited(10, std::nullopt, 2);  // 2% of 10 rounds to 0
    EXPECT_TRUE(t.open(c, "a"));
    EXPECT_FALSE(t.open(c, "a"));
}

TEST(ConnectionTracker, RefusedOpenCountsNothing) {
    ConnectionTracker t;
    const Connector c = limited(std::nullopt, 1, std::nullopt);
    EXPECT_TRUE(t.open(c, "a"));
    EXPECT_FALSE(t.open(c, "a"));
    EXPECT_EQ(t.total("Frontend"), 1u);
    t.close(c, "a");
    EXPECT_EQ(t.total("Frontend"), 0u);
}

TEST(ConnectionTracker, ConnectorsAreCountedSeparately) {
    ConnectionTracker t;
    Connector a = limited(1, std::nullopt, std::nullopt);
    Connector b = a;
    b.name = "Other";
    EXPECT_TRUE(t.open(a, "x"));
    EXPECT_TRUE(t.open(b, "x"));
    EXPECT_FALSE(t.open(a, "y"));
}

TEST(ConnectionTracker, UnmatchedCloseDoesNotUnderflow) {
    ConnectionTracker t;
    const Connector c = limited(1, std::nullopt, std::nullopt);
    t.close(c, "a");
    EXPECT_EQ(t.total("Frontend"), 0u);
    EXPECT_TRUE(t.open(c, "a"));
    EXPECT_FALSE(t.open(c, "b"));
}

TEST(ConnectionTracker, ConcurrentOpensNeverExceedTheLimit) {
    ConnectionTracker t;
    const Connector c = limited(100, std::nullopt, std::nullopt);
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            for (int k = 0; k < 50; ++k)
                if (t.open(c, "src" + std::to_string(i))) ++admitted;
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(admitted.load(), 100);
    EXPECT_EQ(t.total("Frontend"), 100u);
}

TEST(RateLimiter, UnlimitedAdmitsEverything) {
    RateLimiter r;
    const Connector c = rate_limited(std::nullopt);
    const auto now = RateLimiter::Clock::time_point{} + 1h;
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(r.admit(c, "a", now));
}

TEST(RateLimiter, RefusesBeyondLimitWithinAMinute) {
    RateLimiter r;
    const Connector c = rate_limited(3);
    const auto t0 = RateLimiter::Clock::time_point{} + 1h;
    EXPECT_TRUE(r.admit(c, "a", t0));
    EXPECT_TRUE(r.admit(c, "a", t0 + 10s));
    EXPECT_TRUE(r.admit(c, "a", t0 + 20s));
    EXPECT_FALSE(r.admit(c, "a", t0 + 30s));
    EXPECT_TRUE(r.admit(c, "b", t0 + 30s));
}

TEST(RateLimiter, WindowSlides) {
    RateLimiter r;
    const Connector c = rate_limited(2);
    const auto t0 = RateLimiter::Clock::time_point{} + 1h;
    EXPECT_TRUE(r.admit(c, "a", t0));
    EXPECT_TRUE(r.admit(c, "a", t0 + 30s));
    EXPECT_FALSE(r.admit(c, "a", t0 + 59s));
    EXPECT_TRUE(r.admit(c, "a", t0 + 61s));   // the first has left the window
    EXPECT_FALSE(r.admit(c, "a", t0 + 62s));
    EXPECT_TRUE(r.admit(c, "a", t0 + 91s));
}

TEST(RateLimiter, RefusedMessagesAreNotCounted) {
    RateLimiter r;
    const Connector c = rate_limited(1);
    const auto t0 = RateLimiter::Clock::time_point{} + 1h;
    EXPECT_TRUE(r.admit(c, "a", t0));
    for (int i = 1; i < 50; ++i) EXPECT_FALSE(r.admit(c, "a", t0 + std::chrono::seconds(i)));
    EXPECT_TRUE(r.admit(c, "a", t0 + 61s));
}

TEST(RateLimiter, ManyDistinctKeysStayAdmissibleAfterSweep) {
    // Beyond the sweep threshold old keys are pruned; new keys still work
    // and a key still inside its window is still limited.
    RateLimiter r;
    const Connector c = rate_limited(1);
    const auto t0 = RateLimiter::Clock::time_point{} + 1h;
    for (int i = 0; i < 10000; ++i) EXPECT_TRUE(r.admit(c, "k" + std::to_string(i), t0));
    EXPECT_TRUE(r.admit(c, "late", t0 + 2min));
    EXPECT_FALSE(r.admit(c, "late", t0 + 2min + 1s));
    EXPECT_TRUE(r.admit(c, "k1", t0 + 2min));
}
