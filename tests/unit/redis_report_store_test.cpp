// The Redis report store ([dmarc.reports] store = "redis", issue 17)
// against a real redis-server that each test starts on a free loopback
// port with its own data folder: the same evaluations give the same
// report as from SQLite, a batch written twice counts once, content it did
// not write and an outage are clear errors, never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dmarc_evaluation_sample.hpp"
#include "milterclient/daemon_process.hpp"
#include "report/aggregate.hpp"
#include "report/feedback_xml.hpp"
#include "state/redis_report_store.hpp"
#include "state/report_recorder.hpp"

namespace {

using namespace std::chrono_literals;
using milterclient::DaemonProcess;

constexpr std::int64_t kDay = 1796256000;  // 2026-12-03T00:00:00Z

std::string redis_server() {
    for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

class RedisReportStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string binary = redis_server();
        ASSERT_FALSE(binary.empty()) << "redis-server not found (scripts/install-deps installs it)";
        port_ = milterclient::free_tcp_port();
        const std::string data = (dir_.path() / "redis").string();
        std::filesystem::create_directories(data);
        redis_ = std::make_unique<DaemonProcess>(
            std::vector<std::string>{binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", data,
                                     "--save", "", "--appendonly", "no", "--protected-mode", "no"},
            (dir_.path() / "redis.log").string());
        std::string why;
        ASSERT_TRUE(redis_->start("inet:" + std::to_string(port_) + "@127.0.0.1", 10s, &why)) << why;
        cluster_.enabled = true;
        cluster_.host = "127.0.0.1";
        cluster_.port = port_;
        cluster_.database = 2;
        cluster_.key_prefix = "t:";
        cluster_.reconnect_interval = 100ms;
    }
    void TearDown() override {
        if (redis_ && redis_->running()) redis_->stop(5s);
    }

    std::unique_ptr<state::RedisReportStore> store() {
        return std::make_unique<state::RedisReportStore>(cluster_, "", 31,
                                                         [this](daemon_log::Level, std::string_view line) {
                                                             log_ += std::string(line) + "\n";
                                                         });
    }
    // redis-cli's job, through a store's own client.
    state::RedisResult command(std::vector<std::string> argv) {
        state::RedisOptions o;
        o.host = "127.0.0.1";
        o.port = port_;
        o.database = 2;
        o.timeout = 2s;
        state::RedisClient client(o);
        return client.call(std::move(argv));
    }

    milterclient::TempDir dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<DaemonProcess> redis_;
    config::ClusterSettings cluster_;
    std::string log_;
};

using report_test::evaluation;

// A day of varied evaluations: several domains, sources, hosts and hours,
// a null reverse-path checked by HELO, a local-policy override with markup
// in its comment, a policy changed during the day, and evaluations of the
// days before and after that no report of this day may count.
std::vector<state::DmarcEvaluation> a_day_of_evaluations() {
    std::vector<state::DmarcEvaluation> out;
    for (int i = 0; i < 5; ++i) out.push_back(evaluation("a.example", "192.0.2.1", kDay + 3600 + i));
    for (int i = 0; i < 3; ++i) {
        auto e = evaluation("a.example", "2001:db8::25", kDay + 7200 + i * 60);
        e.reporter = "mx2.example.net";
        e.dkim.push_back({"esp.example", "k2", "fail"});
        out.push_back(e);
    }
    auto helo = evaluation("a.example", "198.51.100.7", kDay + 4 * 3600);
    helo.envelope_from = "";
    helo.helo = "mx.sender.example";
    helo.spf_domain = "mx.sender.example";
    helo.spf_scope = "helo";
    helo.spf_result = "softfail";
    helo.dkim.clear();
    helo.dkim_aligned = helo.spf_aligned = false;
    helo.dmarc_result = "fail";
    helo.disposition = "quarantine";
    helo.reason_type = "local_policy";
    helo.reason_comment = "reject_action <&> quarantine";
    out.push_back(helo);
    out.push_back(helo);
    auto changed = evaluation("a.example", "192.0.2.1", kDay + 20 * 3600);
    changed.p = "quarantine";
    changed.sp = "none";
    changed.np = "reject";
    changed.fo = "1";
    changed.testing = 'y';
    changed.adkim = 's';
    changed.psd = 'y';
    changed.discovery = "psl";
    out.push_back(changed);
    for (int i = 0; i < 7; ++i) out.push_back(evaluation("b.example", "10.0.0." + std::to_string(i % 3), kDay + i * 3000));
    out.push_back(evaluation("a.example", "203.0.113.9", kDay - 1));           // the day before
    out.push_back(evaluation("c.example", "203.0.113.9", kDay + 86400 + 5));  // the day after
    return out;
}

// The XML of every domain's report, as the report command builds them.
std::map<std::string, std::string> reports_from(state::ReportStore& store, std::int64_t since, std::int64_t until,
                                                std::uint64_t* evaluations) {
    std::map<std::string, std::string> xml;
    report::Aggregator aggregator([&](report::DomainReport&& r) {
        report::Rows rows;
        for (const auto& [key, count] : r.rows) rows.emplace_back(&key, count);
        const report::ReportMetadata meta{"Example", "dmarc@example.net", "", "id-" + r.policy_domain, since,
                                          until - 1, "test"};
        xml[r.policy_domain] = report::feedback_xml(meta, r, rows);
    });
    *evaluations = 0;
    std::string error;
    EXPECT_TRUE(store.scan_counted(since, until, [&](const state::DmarcEvaluation& e, std::uint64_t count) {
        *evaluations += count;
        aggregator.add(e, count);
    }, &error)) << error;
    aggregator.finish();
    return xml;
}

TEST_F(RedisReportStoreTest, TheSameEvaluationsGiveTheSameReportsAsFromSqlite) {
    const auto evaluations = a_day_of_evaluations();
    std::string error;
    auto sqlite = state::open_sqlite_store((dir_.path() / "dmarc.sqlite").string(), &error);
    ASSERT_TRUE(sqlite) << error;
    ASSERT_TRUE(sqlite->append(evaluations, &error)) << error;
    auto redis = store();
    // In several batches, as the recorder writes them.
    const std::size_t half = evaluations.size() / 2;
    ASSERT_TRUE(redis->append({evaluations.begin(), evaluations.begin() + half}, &error)) << error;
    ASSERT_TRUE(redis->append({evaluations.begin() + half, evaluations.end()}, &error)) << error;

    std::uint64_t from_sqlite = 0, from_redis = 0;
    const auto expected = reports_from(*sqlite, kDay, kDay + 86400, &from_sqlite);
    const auto got = reports_from(*redis, kDay, kDay + 86400, &from_redis);
    EXPECT_EQ(from_sqlite, evaluations.size() - 2);
    EXPECT_EQ(from_redis, from_sqlite);
    ASSERT_EQ(got.size(), 2U);
    ASSERT_EQ(expected.size(), 2U);
    for (const auto& [domain, xml] : expected) {
        ASSERT_TRUE(got.count(domain)) << domain;
        EXPECT_EQ(got.at(domain), xml) << domain;
    }
    // The changed policy is the one reported, as from SQLite.
    EXPECT_NE(got.at("a.example").find("<p>quarantine</p>"), std::string::npos) << got.at("a.example");
}

TEST_F(RedisReportStoreTest, ABatchWrittenAgainIsCountedOnce) {
    auto redis = store();
    const std::vector<state::DmarcEvaluation> batch(4, evaluation("a.example", "192.0.2.1", kDay + 60));
    std::string error;
    bool duplicate = true;
    ASSERT_TRUE(redis->append_batch("mx1:1:1", batch, &error, &duplicate)) << error;
    EXPECT_FALSE(duplicate);
    ASSERT_TRUE(redis->append_batch("mx1:1:1", batch, &error, &duplicate)) << error;
    EXPECT_TRUE(duplicate);
    // Another host's batch of the same evaluations counts.
    ASSERT_TRUE(redis->append_batch("mx2:1:1", batch, &error, &duplicate)) << error;
    EXPECT_FALSE(duplicate);
    std::uint64_t count = 0;
    reports_from(*redis, kDay, kDay + 86400, &count);
    EXPECT_EQ(count, 8U);
}

TEST_F(RedisReportStoreTest, KeysExpireRetentionDaysAfterTheirDay) {
    auto redis = store();
    std::string error;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    ASSERT_TRUE(redis->append({evaluation("a.example", "192.0.2.1", now)}, &error)) << error;
    const std::int64_t day = now - now % 86400;
    char name[16];
    const std::time_t t = day;
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(name, sizeof name, "%Y-%m-%d", &tm);
    for (const std::string& key : {std::string("t:dmarc:") + name + ":a.example", std::string("t:dmarc:domains:") + name}) {
        const auto r = command({"EXPIRETIME", key});
        ASSERT_TRUE(r.ok) << r.error;
        EXPECT_EQ(r.reply.integer, day + 86400 + 31 * 86400) << key;
    }
}

TEST_F(RedisReportStoreTest, ContentItDidNotWriteIsAClearErrorNotACrash) {
    auto redis = store();
    std::string error;
    ASSERT_TRUE(redis->append({evaluation("a.example", "192.0.2.1", kDay + 60)}, &error)) << error;
    // A field in no format of ours.
    ASSERT_TRUE(command({"HSET", "t:dmarc:2026-12-03:a.example", "r1garbage", "1"}).ok);
    EXPECT_FALSE(redis->scan_counted(kDay, kDay + 86400, [](const state::DmarcEvaluation&, std::uint64_t) {}, &error));
    EXPECT_NE(error.find("a field or count that connector-milter did not write"), std::string::npos) << error;
    // A count that is not one.
    ASSERT_TRUE(command({"DEL", "t:dmarc:2026-12-03:a.example"}).ok);
    ASSERT_TRUE(command({"HSET", "t:dmarc:2026-12-03:a.example",
                         state::encode_row(evaluation("a.example", "192.0.2.1", kDay + 60)), "-3"}).ok);
    error.clear();
    EXPECT_FALSE(redis->scan_counted(kDay, kDay + 86400, [](const state::DmarcEvaluation&, std::uint64_t) {}, &error));
    EXPECT_NE(error.find("did not write"), std::string::npos) << error;
    // A key of another type: Redis's own error, named.
    ASSERT_TRUE(command({"DEL", "t:dmarc:2026-12-03:a.example"}).ok);
    ASSERT_TRUE(command({"SET", "t:dmarc:2026-12-03:a.example", "x"}).ok);
    error.clear();
    EXPECT_FALSE(redis->scan_counted(kDay, kDay + 86400, [](const state::DmarcEvaluation&, std::uint64_t) {}, &error));
    EXPECT_NE(error.find("HSCAN t:dmarc:2026-12-03:a.example: redis answered: WRONGTYPE"), std::string::npos)
        << error;
    // Writing into it is refused the same way, and said.
    error.clear();
    EXPECT_FALSE(redis->append({evaluation("a.example", "192.0.2.1", kDay + 60)}, &error));
    EXPECT_NE(error.find("WRONGTYPE"), std::string::npos) << error;
}

TEST_F(RedisReportStoreTest, RowsDecodeOnlyFromWhatEncodeWrote) {
    auto e = a_day_of_evaluations()[8];  // the HELO one, with markup
    state::DmarcEvaluation back;
    const std::string row = state::encode_row(e);
    ASSERT_TRUE(state::decode_row(row, &back));
    EXPECT_EQ(back.reason_comment, e.reason_comment);
    EXPECT_EQ(back.helo, e.helo);
    EXPECT_EQ(back.time, e.time - e.time % 3600);
    for (std::size_t cut = 0; cut < row.size(); ++cut)
        EXPECT_FALSE(state::decode_row(row.substr(0, cut), &back)) << cut;
    EXPECT_FALSE(state::decode_row(row + "x", &back));
    EXPECT_FALSE(state::decode_row("r1999999999999:", &back));
    // Many long DKIM results: the row stays under its limit.
    for (int i = 0; i < 60; ++i) e.dkim.push_back({std::string(300, 'd'), std::string(300, 's'), "fail"});
    EXPECT_LE(state::encode_row(e).size(), state::RedisReportStore::kMaxRowBytes);
}

TEST_F(RedisReportStoreTest, APeriodNotOnTheHourIsRefused) {
    auto redis = store();
    std::string error;
    EXPECT_FALSE(redis->scan_counted(kDay + 1, kDay + 86400, [](const state::DmarcEvaluation&, std::uint64_t) {},
                                     &error));
    EXPECT_NE(error.find("whole UTC hour"), std::string::npos) << error;
}

TEST_F(RedisReportStoreTest, WithRedisDownEvaluationsAreDroppedCountedAndLoggedWithoutBlocking) {
    std::vector<std::string> lines;
    std::mutex lines_mutex;
    state::RecorderOptions options;
    options.log_interval = 0s;
    state::ReportRecorder recorder([this](std::string*) -> std::unique_ptr<state::ReportStore> { return store(); },
                                   options, [&](std::string_view line) {
                                       std::lock_guard lock(lines_mutex);
                                       lines.emplace_back(line);
                                   });
    recorder.record(evaluation("a.example", "192.0.2.1", kDay + 60));
    ASSERT_TRUE(recorder.flush(5s));
    EXPECT_EQ(recorder.counters().stored, 1U);
    redis_->stop(5s);
    const auto before = std::chrono::steady_clock::now();
    for (int i = 0; i < 3; ++i) recorder.record(evaluation("a.example", "192.0.2.1", kDay + 60));
    // record() only queues.
    EXPECT_LT(std::chrono::steady_clock::now() - before, 100ms);
    ASSERT_TRUE(recorder.flush(10s));
    EXPECT_EQ(recorder.counters().stored, 1U);
    EXPECT_EQ(recorder.counters().dropped_store_error, 3U);
    std::lock_guard lock(lines_mutex);
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find("cannot store: redis: "), std::string::npos) << lines.back();
}

}  // namespace
