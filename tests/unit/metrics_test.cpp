// src/metrics: the lock-free values, their exposition, and reading it back.
#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "metrics/catalogue.hpp"
#include "metrics/registry.hpp"
#include "metrics/scrape.hpp"
#include "session/counters.hpp"

namespace {

using namespace std::chrono_literals;

std::string text_of(const metrics::Registry& r) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, r.collect());
    return out.str();
}

TEST(Metrics, CountsFromManyThreadsAreNotLost) {
    metrics::Registry r;
    auto& c = r.counter("t_total", "test", {"k"}).with({"v"});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 100000; ++i) c.inc();
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(c.value(), 400000u);
}

TEST(Metrics, HistogramBucketsAreCumulativeAndTheSumIsInSeconds) {
    metrics::Registry r;
    auto& h = r.histogram("t_seconds", "test", {}, {0.001, 0.01, 0.1}).with({});
    h.observe(500us);    // <= 1 ms
    h.observe(1ms);      // <= 1 ms (upper bounds are inclusive)
    h.observe(50ms);     // <= 100 ms
    h.observe(2s);       // +Inf
    const auto samples = metrics::parse_exposition(text_of(r));
    EXPECT_EQ(metrics::sum_of(samples, "t_seconds_bucket", {{"le", "0.001"}}), 2);
    EXPECT_EQ(metrics::sum_of(samples, "t_seconds_bucket", {{"le", "0.01"}}), 2);
    EXPECT_EQ(metrics::sum_of(samples, "t_seconds_bucket", {{"le", "0.1"}}), 3);
    EXPECT_EQ(metrics::sum_of(samples, "t_seconds_bucket", {{"le", "+Inf"}}), 4);
    EXPECT_EQ(metrics::sum_of(samples, "t_seconds_count"), 4);
    EXPECT_NEAR(*metrics::sum_of(samples, "t_seconds_sum"), 2.0515, 1e-9);
}

TEST(Metrics, AFamilyThatHidesZerosShowsASeriesFromItsFirstEventOn) {
    metrics::Registry r;
    auto& family = r.counter("t_total", "test", {"reason"}, metrics::ShowZero::No);
    auto& relay = family.with({"relay"});
    family.with({"size"});
    EXPECT_FALSE(metrics::sum_of(metrics::parse_exposition(text_of(r)), "t_total"));
    relay.inc();
    const auto samples = metrics::parse_exposition(text_of(r));
    EXPECT_EQ(metrics::sum_of(samples, "t_total", {{"reason", "relay"}}), 1);
    EXPECT_FALSE(metrics::sum_of(samples, "t_total", {{"reason", "size"}}));
}

TEST(Metrics, LabelValuesAreEscapedAndReadBack) {
    metrics::Registry r;
    r.counter("t_total", "test", {"connector"}).with({"A \"quoted\" \\ name"}).inc(3);
    std::size_t bad = 0;
    const auto samples = metrics::parse_exposition(text_of(r), &bad);
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(metrics::sum_of(samples, "t_total", {{"connector", "A \"quoted\" \\ name"}}), 3);
}

TEST(Metrics, AConnectorsDecisionCountsItsStageActionAndReason) {
    const auto& cat = metrics::catalogue();
    const session::ConnectorCounters counters("Unit Connector");
    auto& relay = cat.decision_reasons.with({"Unit Connector", "relay", "reject"});
    auto& rcpt = cat.decisions.with({"Unit Connector", "rcpt", "reject"});
    const auto relay_before = relay.value(), rcpt_before = rcpt.value();
    counters.decision(session::CountedStage::Rcpt, session::CountedAction::Reject, policy::ReasonClass::Relay);
    EXPECT_EQ(relay.value(), relay_before + 1);
    EXPECT_EQ(rcpt.value(), rcpt_before + 1);
}

TEST(Metrics, EveryReasonClassHasItsOwnLabel) {
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < policy::kReasonClassCount; ++i) {
        const std::string name(policy::reason_class_name(static_cast<policy::ReasonClass>(i)));
        EXPECT_EQ(std::count(seen.begin(), seen.end(), name), 0) << name;
        seen.push_back(name);
    }
}

}  // namespace
