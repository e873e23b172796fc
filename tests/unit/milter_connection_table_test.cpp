// The descriptor budget and the idle bookkeeping of milter connections
// (issue 12 item 4).
#include <gtest/gtest.h>

#include <vector>

#include "daemon/descriptors.hpp"
#include "milter/connection_table.hpp"

namespace {

using milter::ConnectionTable;
using Admission = ConnectionTable::Admission;
using namespace std::chrono_literals;

const int kIds[8] = {};
const void* id(int i) { return &kIds[i]; }

TEST(ConnectionBudget, SessionsGetWhatTheLimitLeavesAfterOpenDescriptorsAndTheReserve) {
    const auto b = daemon_main::connection_budget(1024, 10, 64);
    EXPECT_EQ(b.sessions, 950U);
    // Half the reserve may go to connections that are then turned away.
    EXPECT_EQ(b.connections, 982U);
}

TEST(ConnectionBudget, ALimitBelowTheReserveStillServesOneSession) {
    const auto b = daemon_main::connection_budget(50, 10, 64);
    EXPECT_EQ(b.sessions, 1U);
    EXPECT_EQ(b.connections, 33U);
}

TEST(ConnectionTable, ConnectionsBeyondTheSessionsBudgetAreRefusedAndBeyondTheConnectionsBudgetClosed) {
    ConnectionTable t;
    t.set_budget({2, 3});
    const auto now = ConnectionTable::Clock::now();
    EXPECT_EQ(t.open(id(0), -1, now), Admission::Serve);
    EXPECT_EQ(t.open(id(1), -1, now), Admission::Serve);
    EXPECT_EQ(t.open(id(2), -1, now), Admission::Refuse);
    EXPECT_EQ(t.open(id(3), -1, now), Admission::Close);
    t.close(id(3));
    t.close(id(0));
    EXPECT_EQ(t.size(), 2U);
    EXPECT_EQ(t.open(id(4), -1, now), Admission::Refuse);
}

TEST(ConnectionTable, WithoutABudgetEveryConnectionIsServed) {
    ConnectionTable t;
    const auto now = ConnectionTable::Clock::now();
    for (int i = 0; i < 8; ++i) EXPECT_EQ(t.open(id(i), -1, now), Admission::Serve);
}

TEST(ConnectionTable, OnlyConnectionsSilentForTheIdleTimeAndNotInAnEventAreShutOnce) {
    ConnectionTable t;
    const auto t0 = ConnectionTable::Clock::now();
    t.open(id(0), 10, t0);        // silent since t0
    t.open(id(1), 11, t0);        // answered an event at t0 + 8 s
    t.open(id(2), 12, t0);        // in an event that started before
    t.open(id(3), -1, t0);        // socket unknown: never shut
    t.end_event(id(1), t0 + 8s);
    t.begin_event(id(2));
    std::vector<int> shut;
    const auto record = [&](int fd) { shut.push_back(fd); };
    EXPECT_EQ(t.shut_idle(10s, t0 + 9s, record), 0U);
    EXPECT_EQ(t.shut_idle(10s, t0 + 10s, record), 1U);
    EXPECT_EQ(shut, std::vector<int>{10});
    // Not twice while the engine closes it.
    EXPECT_EQ(t.shut_idle(10s, t0 + 11s, record), 0U);
    // A closed connection's descriptor number is never shut afterwards.
    t.close(id(1));
    EXPECT_EQ(t.shut_idle(10s, t0 + 30s, record), 0U);
    t.end_event(id(2), t0 + 30s);
    EXPECT_EQ(t.shut_idle(10s, t0 + 40s, record), 1U);
    EXPECT_EQ(shut, (std::vector<int>{10, 12}));
}

}  // namespace
