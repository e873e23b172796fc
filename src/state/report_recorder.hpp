// Records DMARC evaluations without ever making a session wait for the
// disk: sessions push onto a bounded queue, one writer thread of its own
// stores batches. A full queue, a full disk or a locked database lose
// evaluations (counted, logged), never mail.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "state/dmarc_evaluation.hpp"
#include "state/report_store.hpp"

namespace state {

struct RecorderOptions {
    std::size_t queue_limit = 10000;  // evaluations waiting for the writer; more are dropped
    std::size_t batch_limit = 512;    // evaluations per transaction
    // How long the writer waits for more evaluations before it stores a
    // batch smaller than batch_limit: one transaction per message would
    // cost more CPU than the message's own DMARC evaluation (BENCHMARKS.md).
    std::chrono::milliseconds linger{50};
    std::chrono::hours retention{24 * 31};  // older evaluations are removed (checked hourly)
    // Between two log lines about the same kind of loss.
    std::chrono::seconds log_interval{60};
};

class ReportRecorder final : public EvaluationSink {
public:
    // Opens the store in the writer thread (so that it happens after the
    // daemon has forked and dropped its privileges), again after a failure.
    using OpenStore = std::function<std::unique_ptr<ReportStore>(std::string* error)>;
    using Log = std::function<void(std::string_view)>;

    ReportRecorder(OpenStore open, RecorderOptions options, Log log);
    ~ReportRecorder() override;  // stores what is queued (best effort), then stops the thread
    ReportRecorder(const ReportRecorder&) = delete;
    ReportRecorder& operator=(const ReportRecorder&) = delete;

    // Takes the queue's lock for a push, nothing else; the writer thread is
    // started on the first call.
    void record(DmarcEvaluation evaluation) override;

    struct Counters {
        std::uint64_t stored = 0;
        std::uint64_t dropped_queue_full = 0;
        std::uint64_t dropped_store_error = 0;
    };
    Counters counters() const;
    // Waits until everything queued so far was stored or dropped, at most
    // `limit` (tests and the drain at exit). False on timeout.
    bool flush(std::chrono::milliseconds limit);
    // Stores what is queued (best effort), ends the writer thread and closes
    // the store: at exit, before the static objects the store's own
    // threads may use are destroyed. Later evaluations are not stored.
    void stop();

private:
    void run();
    void note_loss(std::string_view what, std::uint64_t count, std::chrono::steady_clock::time_point* last);

    OpenStore open_;
    RecorderOptions options_;
    Log log_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;
    std::deque<DmarcEvaluation> queue_;
    std::size_t in_flight_ = 0;  // taken by the writer, not yet stored or dropped
    bool stopping_ = false;
    int flushing_ = 0;  // callers waiting in flush()
    std::once_flag started_;
    std::thread writer_;
    std::atomic<std::uint64_t> stored_{0}, dropped_full_{0}, dropped_error_{0};
    std::chrono::steady_clock::time_point last_full_log_{};
    // Per cause of a store error (SQLite's message: "database or disk is
    // full", "database is locked", ...), so that a second cause within the
    // interval is still said once; at most kMaxLoggedCauses kept.
    static constexpr std::size_t kMaxLoggedCauses = 16;
    std::map<std::string, std::chrono::steady_clock::time_point> last_error_log_;
    // Evaluations lost to store errors since the last stored batch: a
    // batch stored after losses says that recording resumed.
    std::uint64_t lost_since_stored_ = 0;
};

}  // namespace state
