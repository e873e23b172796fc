// The record side of DMARC aggregate reports: the SQLite store, the
// recorder's bounded queue and writer thread, and what a session records.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "session/auth_decisions.hpp"
#include "session/dmarc_report_record.hpp"
#include "metrics/catalogue.hpp"
#include "state/report_recorder.hpp"
#include "state/report_store.hpp"

namespace {

class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/state_report_test.XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

state::DmarcEvaluation sample(std::string domain, std::int64_t time) {
    state::DmarcEvaluation e;
    e.time = time;
    e.reporter = "mx1.example.net";
    e.policy_domain = std::move(domain);
    e.organizational_domain = e.policy_domain;
    e.rua = "mailto:d@" + e.policy_domain + "!10m";
    e.source_ip = "2001:db8::1";
    e.header_from = "news." + e.policy_domain;
    e.envelope_from = "";
    e.helo = "mail.example.org";
    e.envelope_to = "example.net";
    e.spf_domain = "mail.example.org";
    e.spf_scope = "helo";
    e.spf_result = "softfail";
    e.dkim = {{"a.example", "s1", "pass"}, {"b.example", "s2", "fail"}};
    e.p = "reject";
    e.sp = "quarantine";
    e.np = "reject";
    e.fo = "1";
    e.testing = 'y';
    e.adkim = 's';
    e.aspf = 'r';
    e.psd = 'n';
    e.discovery = "psl";
    e.dmarc_result = "fail";
    e.dkim_aligned = false;
    e.spf_aligned = true;
    e.disposition = "quarantine";
    e.reason_type = "policy_test_mode";
    e.reason_comment = "t=y <&>";
    return e;
}

std::vector<state::DmarcEvaluation> scan_all(state::ReportStore& store, std::int64_t since, std::int64_t until) {
    std::vector<state::DmarcEvaluation> out;
    std::string error;
    EXPECT_TRUE(store.scan(since, until, [&](const state::DmarcEvaluation& e) { out.push_back(e); }, &error)) << error;
    return out;
}

TEST(SqliteReportStore, EveryFieldComesBackAsStored) {
    TempDir dir;
    std::string error;
    auto store = state::open_sqlite_store(dir.file("r.sqlite"), &error);
    ASSERT_TRUE(store) << error;
    const auto e = sample("a.example", 500);
    ASSERT_TRUE(store->append({e}, &error)) << error;
    const auto got = scan_all(*store, 0, 1000);
    ASSERT_EQ(got.size(), 1u);
    const auto& g = got[0];
    EXPECT_EQ(g.time, e.time);
    EXPECT_EQ(g.reporter, e.reporter);
    EXPECT_EQ(g.policy_domain, e.policy_domain);
    EXPECT_EQ(g.rua, e.rua);
    EXPECT_EQ(g.source_ip, e.source_ip);
    EXPECT_EQ(g.header_from, e.header_from);
    EXPECT_EQ(g.envelope_from, e.envelope_from);
    EXPECT_EQ(g.helo, e.helo);
    EXPECT_EQ(g.envelope_to, e.envelope_to);
    EXPECT_EQ(g.spf_domain, e.spf_domain);
    EXPECT_EQ(g.spf_scope, e.spf_scope);
    EXPECT_EQ(g.spf_result, e.spf_result);
    EXPECT_EQ(g.dkim, e.dkim);
    EXPECT_EQ(g.p, e.p);
    EXPECT_EQ(g.sp, e.sp);
    EXPECT_EQ(g.np, e.np);
    EXPECT_EQ(g.fo, e.fo);
    EXPECT_EQ(g.testing, 'y');
    EXPECT_EQ(g.adkim, 's');
    EXPECT_EQ(g.psd, 'n');
    EXPECT_EQ(g.discovery, "psl");
    EXPECT_EQ(g.dmarc_result, "fail");
    EXPECT_FALSE(g.dkim_aligned);
    EXPECT_TRUE(g.spf_aligned);
    EXPECT_EQ(g.disposition, "quarantine");
    EXPECT_EQ(g.reason_type, "policy_test_mode");
    EXPECT_EQ(g.reason_comment, "t=y <&>");
}

TEST(SqliteReportStore, ScanKeepsToThePeriodAndGroupsByDomain) {
    TempDir dir;
    std::string error;
    auto store = state::open_sqlite_store(dir.file("r.sqlite"), &error);
    ASSERT_TRUE(store) << error;
    ASSERT_TRUE(store->append({sample("b.example", 10), sample("a.example", 11), sample("b.example", 12),
                               sample("a.example", 20), sample("a.example", 9)},
                              &error));
    const auto got = scan_all(*store, 10, 20);  // until is exclusive
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].policy_domain, "a.example");
    EXPECT_EQ(got[1].policy_domain, "b.example");
    EXPECT_EQ(got[2].policy_domain, "b.example");
}

TEST(SqliteReportStore, PruneRemovesOnlyOlderEvaluations) {
    TempDir dir;
    std::string error;
    auto store = state::open_sqlite_store(dir.file("r.sqlite"), &error);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->append({sample("a.example", 5), sample("a.example", 15)}, &error));
    std::uint64_t removed = 0;
    ASSERT_TRUE(store->prune(10, &removed, &error));
    EXPECT_EQ(removed, 1u);
    EXPECT_EQ(scan_all(*store, 0, 100).size(), 1u);
}

TEST(SqliteReportStore, DatabaseIsInWalMode) {
    TempDir dir;
    std::string error;
    ASSERT_TRUE(state::open_sqlite_store(dir.file("r.sqlite"), &error));
    EXPECT_TRUE(std::filesystem::exists(dir.file("r.sqlite-wal")) ||
                std::filesystem::exists(dir.file("r.sqlite")));
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("r.sqlite").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

// ---- the recorder ------------------------------------------------------

TEST(ReportRecorder, EvaluationsReachTheStoreFromTheWriterThread) {
    TempDir dir;
    const std::string path = dir.file("r.sqlite");
    state::ReportRecorder recorder([&](std::string* e) { return state::open_sqlite_store(path, e); }, {}, {});
    // Recent evaluations (time 0: stamped now) stay; one older than the
    // retention (31 days by default) is removed by the hourly prune, which
    // runs after the first batch.
    recorder.record(sample("a.example", 1000));
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
    for (int i = 0; i < 100; ++i) recorder.record(sample("a.example", 0));
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
    EXPECT_EQ(recorder.counters().stored, 101u);
    std::string error;
    auto reader = state::open_sqlite_store(path, &error);
    EXPECT_EQ(scan_all(*reader, 0, INT64_MAX).size(), 100u);
}

TEST(ReportRecorder, AnUnopenableDatabaseLosesEvaluationsNotTime) {
    auto& lost = metrics::catalogue().dmarc_report_records.with({"store_error"});
    const auto lost_before = lost.value();
    std::vector<std::string> logged;
    std::mutex log_mutex;
    state::ReportRecorder recorder(
        [](std::string* e) { return state::open_sqlite_store("/nonexistent-folder/x/r.sqlite", e); }, {},
        [&](std::string_view line) {
            std::lock_guard lock(log_mutex);
            logged.emplace_back(line);
        });
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 50; ++i) recorder.record(sample("a.example", 1000 + i));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
    EXPECT_EQ(recorder.counters().stored, 0u);
    EXPECT_EQ(recorder.counters().dropped_store_error, 50u);
    // And in metrics (issue 18): dmarc_report_records_total{result="store_error"}.
    EXPECT_EQ(lost.value() - lost_before, 50u);
    std::lock_guard lock(log_mutex);
    ASSERT_EQ(logged.size(), 1u);  // one line per interval, not one per evaluation
    EXPECT_NE(logged[0].find("mail flow is not affected"), std::string::npos);
}

// A database locked by another process (an exclusive transaction held
// open): the writer gives up after the busy timeout, the sessions never
// wait, and once the lock is gone recording resumes.
TEST(ReportRecorder, ALockedDatabaseDropsBatchesAndRecoversWhenUnlocked) {
    TempDir dir;
    const std::string path = dir.file("r.sqlite");
    std::string error;
    ASSERT_TRUE(state::open_sqlite_store(path, &error));
    sqlite3* locker = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &locker), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(locker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    state::ReportRecorder recorder([&](std::string* e) { return state::open_sqlite_store(path, e, 50); }, {},
                                   [](std::string_view) {});
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) recorder.record(sample("a.example", 1000 + i));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
    EXPECT_EQ(recorder.counters().stored, 0u);
    EXPECT_EQ(recorder.counters().dropped_store_error, 20u);
    ASSERT_EQ(sqlite3_exec(locker, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(locker);
    // The next batch waits for the reopen interval (1 s) at most.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (recorder.counters().stored == 0 && std::chrono::steady_clock::now() < deadline) {
        recorder.record(sample("a.example", 2000));
        recorder.flush(std::chrono::seconds(5));
        if (recorder.counters().stored == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GE(recorder.counters().stored, 1u);
}

// A store that only appends (the recorder's tests need nothing else).
class AppendOnlyStore : public state::ReportStore {
public:
    bool scan(std::int64_t, std::int64_t, const std::function<void(const state::DmarcEvaluation&)>&,
              std::string*) override {
        return true;
    }
    bool prune(std::int64_t, std::uint64_t*, std::string*) override { return true; }
};

// A store whose appends fail with the script's errors in turn ("" stores);
// the script goes on across reopens.
class ScriptedStore final : public AppendOnlyStore {
public:
    ScriptedStore(const std::vector<std::string>& errors, std::size_t& next) : errors_(errors), next_(next) {}
    bool append(const std::vector<state::DmarcEvaluation>&, std::string* error) override {
        const std::string e = next_ < errors_.size() ? errors_[next_++] : std::string();
        if (e.empty()) return true;
        *error = e;
        return false;
    }

private:
    const std::vector<std::string>& errors_;
    std::size_t& next_;
};

// A full disk and then a lock within one log interval: each cause is said
// once (the administrator learns of both), however many batches fail, and
// one line says when storing works again.
TEST(ReportRecorder, EachCauseOfLossIsLoggedOnceAndTheRecoveryToo) {
    const std::vector<std::string> script{"database or disk is full", "database or disk is full",
                                          "database is locked",       "database is locked",
                                          "database is locked",       "",
                                          ""};
    std::size_t next = 0;
    std::vector<std::string> logged;
    std::mutex log_mutex;
    state::RecorderOptions options;
    options.batch_limit = 1;
    state::ReportRecorder recorder([&](std::string*) { return std::make_unique<ScriptedStore>(script, next); },
                                   options, [&](std::string_view line) {
                                       std::lock_guard lock(log_mutex);
                                       logged.emplace_back(line);
                                   });
    for (std::size_t i = 0; i < script.size(); ++i) {
        recorder.record(sample("a.example", 1000 + static_cast<int>(i)));
        ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
        // After a full disk the store is reopened, at most once a second.
        if (i == 0 || i == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    }
    EXPECT_EQ(recorder.counters().dropped_store_error, 5u);
    EXPECT_EQ(recorder.counters().stored, 2u);
    std::lock_guard lock(log_mutex);
    ASSERT_EQ(logged.size(), 3u);
    EXPECT_NE(logged[0].find("cannot store: database or disk is full; 1 lost so far"), std::string::npos)
        << logged[0];
    EXPECT_NE(logged[1].find("cannot store: database is locked; 3 lost so far"), std::string::npos) << logged[1];
    EXPECT_NE(logged[2].find("storing again after 5 evaluations lost"), std::string::npos) << logged[2];
}

// Evaluations that arrive one by one within the linger time share one
// transaction: a transaction per message costs more CPU than the DMARC
// evaluation it records (BENCHMARKS.md, "DMARC report recording").
TEST(ReportRecorder, EvaluationsArrivingTogetherShareOneTransaction) {
    class CountingStore final : public AppendOnlyStore {
    public:
        explicit CountingStore(std::atomic<int>& appends) : appends_(appends) {}
        bool append(const std::vector<state::DmarcEvaluation>&, std::string*) override {
            ++appends_;
            return true;
        }

    private:
        std::atomic<int>& appends_;
    };
    std::atomic<int> appends{0};
    state::RecorderOptions options;
    options.linger = std::chrono::seconds(30);  // flush() ends it, not the clock
    state::ReportRecorder recorder([&](std::string*) { return std::make_unique<CountingStore>(appends); }, options,
                                   [](std::string_view) {});
    for (int i = 0; i < 20; ++i) {
        recorder.record(sample("a.example", 1000 + i));
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
    EXPECT_EQ(recorder.counters().stored, 20u);
    EXPECT_EQ(appends.load(), 1);
}

TEST(ReportRecorder, AFullQueueDropsAndCountsInsteadOfWaiting) {
    std::mutex gate;
    std::unique_lock hold(gate);  // the store blocks until released
    class SlowStore final : public AppendOnlyStore {
    public:
        explicit SlowStore(std::mutex& m) : m_(m) {}
        bool append(const std::vector<state::DmarcEvaluation>&, std::string*) override {
            std::lock_guard lock(m_);
            return true;
        }

    private:
        std::mutex& m_;
    };
    state::RecorderOptions options;
    options.queue_limit = 5;
    options.batch_limit = 1;
    state::ReportRecorder recorder([&](std::string*) { return std::make_unique<SlowStore>(gate); }, options,
                                   [](std::string_view) {});
    for (int i = 0; i < 20; ++i) recorder.record(sample("a.example", 1000 + i));
    // At most one batch in the writer's hands plus five queued.
    EXPECT_GE(recorder.counters().dropped_queue_full, 14u);
    hold.unlock();
    ASSERT_TRUE(recorder.flush(std::chrono::seconds(10)));
    const auto c = recorder.counters();
    EXPECT_EQ(c.stored + c.dropped_queue_full, 20u);
}

// ---- what a session records ------------------------------------------

auth::DmarcVerdict failing_verdict(auth::DmarcPolicy asked) {
    auth::DmarcVerdict v;
    v.result = auth::DmarcResult::Fail;
    v.policy = "reject";
    v.applied_policy = "reject";
    v.disposition = asked;
    v.policy_domain = v.from_domain = "example.org";
    v.rua = "mailto:d@example.org";
    return v;
}

TEST(SessionDmarcRecord, ARejectedFailIsReportedAsRejectWithoutReason) {
    const auto e = session::dmarc_evaluation({}, failing_verdict(auth::DmarcPolicy::Reject),
                                             {session::CheckAction::Reject, "x"});
    EXPECT_EQ(e.disposition, "reject");
    EXPECT_EQ(e.reason_type, "");
    EXPECT_EQ(e.dmarc_result, "fail");
}

TEST(SessionDmarcRecord, ALocalActionOtherThanThePolicysIsALocalPolicyOverride) {
    const auto e = session::dmarc_evaluation({}, failing_verdict(auth::DmarcPolicy::Reject), {});
    EXPECT_EQ(e.disposition, "none");
    EXPECT_EQ(e.reason_type, "local_policy");
}

TEST(SessionDmarcRecord, AnArcOrForwarderOverrideIsReportedWithItsReason) {
    auto v = failing_verdict(auth::DmarcPolicy::Reject);
    // As message_auth leaves the verdict after apply_dmarc_override.
    ASSERT_TRUE(session::apply_dmarc_override(v, std::nullopt, {}, true));
    auto e = session::dmarc_evaluation({}, v, {});
    EXPECT_EQ(e.disposition, "none");
    EXPECT_EQ(e.reason_type, "trusted_forwarder");
    EXPECT_EQ(e.reason_comment, "client is a trusted forwarder");

    v = failing_verdict(auth::DmarcPolicy::Reject);
    v.override_reason = auth::DmarcOverride::LocalPolicy;
    v.override_comment = "arc=pass, trusted sealer lists.example (i=1) saw dmarc=pass";
    v.disposition = auth::DmarcPolicy::None;
    e = session::dmarc_evaluation({}, v, {});
    EXPECT_EQ(e.reason_type, "local_policy");
    EXPECT_EQ(e.reason_comment, v.override_comment);
}

TEST(SessionDmarcRecord, TestingModeLoweringIsPolicyTestMode) {
    auto v = failing_verdict(auth::DmarcPolicy::Quarantine);
    v.testing = true;
    const auto e = session::dmarc_evaluation({}, v, {session::CheckAction::Quarantine, "x"});
    EXPECT_EQ(e.disposition, "quarantine");
    EXPECT_EQ(e.reason_type, "policy_test_mode");
    EXPECT_EQ(e.testing, 'y');
}

TEST(SessionDmarcRecord, ADeferralIsNoDispositionWithReasonOther) {
    const auto e = session::dmarc_evaluation({}, failing_verdict(auth::DmarcPolicy::Reject),
                                             {session::CheckAction::Defer, "temperror"});
    EXPECT_EQ(e.disposition, "none");
    EXPECT_EQ(e.reason_type, "other");
}

TEST(SessionDmarcRecord, APassUnderAnEnforcingPolicyIsDispositionPass) {
    auth::DmarcVerdict v;
    v.result = auth::DmarcResult::Pass;
    v.policy = v.applied_policy = "quarantine";
    v.dkim_aligned = true;
    v.policy_domain = "example.org";
    auto e = session::dmarc_evaluation({}, v, {});
    EXPECT_EQ(e.disposition, "pass");
    EXPECT_TRUE(e.dkim_aligned);
    v.policy = v.applied_policy = "none";
    e = session::dmarc_evaluation({}, v, {});
    EXPECT_EQ(e.disposition, "none");
}

TEST(SessionDmarcRecord, PassingSignaturesComeFirstAndTheSpfScopeIsKept) {
    session::EvaluationFacts f;
    f.spf_checked = true;
    f.spf_scope_helo = true;
    f.spf_domain = f.helo = "mx.example.org";
    f.spf_result = auth::SpfResult::Pass;
    auth::DkimSignatureResult bad, good;
    bad.result = auth::DkimResult::Fail;
    bad.domain = "bad.example";
    good.result = auth::DkimResult::Pass;
    good.domain = "good.example";
    f.dkim = {bad, good};
    const auto e = session::dmarc_evaluation(f, failing_verdict(auth::DmarcPolicy::Reject),
                                             {session::CheckAction::Reject, ""});
    ASSERT_EQ(e.dkim.size(), 2u);
    EXPECT_EQ(e.dkim[0].domain, "good.example");
    EXPECT_EQ(e.spf_scope, "helo");
    EXPECT_EQ(e.helo, "mx.example.org");
    EXPECT_EQ(e.spf_result, "pass");
}

TEST(SessionDmarcRecord, OurOwnReportsAreRecognisedByTheirEnvelopeSender) {
    EXPECT_TRUE(session::is_own_report("DMARC@reports.example", "dmarc@reports.example"));
    EXPECT_FALSE(session::is_own_report("other@reports.example", "dmarc@reports.example"));
    EXPECT_FALSE(session::is_own_report("", ""));
}

}  // namespace
