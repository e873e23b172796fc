#include "state/report_recorder.hpp"

#include <vector>

#include "metrics/catalogue.hpp"

namespace state {

namespace {

// metrics: dmarc_report_records_total{result}, resolved once.
struct RecordCounters {
    metrics::Counter& stored;
    metrics::Counter& queue_full;
    metrics::Counter& store_error;
};

const RecordCounters& record_counters() {
    static const RecordCounters c{metrics::catalogue().dmarc_report_records.with({"stored"}),
                                  metrics::catalogue().dmarc_report_records.with({"queue_full"}),
                                  metrics::catalogue().dmarc_report_records.with({"store_error"})};
    return c;
}

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

ReportRecorder::ReportRecorder(OpenStore open, RecorderOptions options, Log log)
    : open_(std::move(open)), options_(options), log_(std::move(log)) {
    if (options_.queue_limit == 0) options_.queue_limit = 1;
    if (options_.batch_limit == 0) options_.batch_limit = 1;
}

ReportRecorder::~ReportRecorder() { stop(); }

void ReportRecorder::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    // The thread once started (or never to be): joinable() is then stable.
    std::call_once(started_, [] {});
    if (writer_.joinable()) writer_.join();
}

void ReportRecorder::record(DmarcEvaluation evaluation) {
    // The thread starts here, not in the constructor: the daemon builds its
    // runtime before it forks into the background, and a fork keeps only
    // the calling thread.
    std::call_once(started_, [this] { writer_ = std::thread([this] { run(); }); });
    if (evaluation.time == 0) evaluation.time = now_seconds();
    bool full = false, wake = false;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= options_.queue_limit) {
            full = true;
        } else {
            queue_.push_back(std::move(evaluation));
            // The writer waits for a first evaluation, then (lingering) for
            // a full batch: only those two moments need to wake it.
            wake = queue_.size() == 1 || queue_.size() == options_.batch_limit;
        }
    }
    if (full) {
        const auto n = ++dropped_full_;
        record_counters().queue_full.inc();
        std::lock_guard lock(mutex_);
        note_loss("the queue is full (" + std::to_string(options_.queue_limit) +
                      " waiting; the database is slow or unavailable)",
                  n, &last_full_log_);
        return;
    }
    if (wake) wake_.notify_one();
}

// Called with mutex_ held; logs at most once per log_interval per kind.
void ReportRecorder::note_loss(std::string_view what, std::uint64_t count,
                               std::chrono::steady_clock::time_point* last) {
    const auto now = std::chrono::steady_clock::now();
    if (*last != std::chrono::steady_clock::time_point{} && now - *last < options_.log_interval) return;
    *last = now;
    if (log_)
        log_("DMARC report recording: evaluation not recorded, " + std::string(what) + "; " + std::to_string(count) +
             " lost so far; mail flow is not affected");
}

ReportRecorder::Counters ReportRecorder::counters() const {
    return {stored_.load(), dropped_full_.load(), dropped_error_.load()};
}

bool ReportRecorder::flush(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    // The writer stops lingering: what is queued is stored now.
    ++flushing_;
    wake_.notify_one();
    const bool idle = idle_.wait_for(lock, limit, [&] { return queue_.empty() && in_flight_ == 0; });
    --flushing_;
    return idle;
}

void ReportRecorder::run() {
    std::unique_ptr<ReportStore> store;
    auto last_open_attempt = std::chrono::steady_clock::time_point{};
    auto last_prune = std::chrono::steady_clock::time_point{};
    std::vector<DmarcEvaluation> batch;
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait_for(lock, std::chrono::minutes(1), [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) break;
        if (!queue_.empty() && options_.linger.count() > 0)
            wake_.wait_for(lock, options_.linger,
                           [&] { return stopping_ || flushing_ || queue_.size() >= options_.batch_limit; });
        batch.clear();
        while (!queue_.empty() && batch.size() < options_.batch_limit) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        in_flight_ = batch.size();
        lock.unlock();

        std::string error;
        const auto now = std::chrono::steady_clock::now();
        // A store that cannot be opened is tried again at most once a
        // second; meanwhile batches are dropped, so the queue stays short.
        if (!store && (last_open_attempt == std::chrono::steady_clock::time_point{} ||
                       now - last_open_attempt >= std::chrono::seconds(1))) {
            last_open_attempt = now;
            store = open_(&error);
        }
        bool ok = false;
        if (store) {
            ok = batch.empty() || store->append(batch, &error);
            if (ok && (last_prune == std::chrono::steady_clock::time_point{} || now - last_prune >= std::chrono::hours(1))) {
                last_prune = now;
                std::uint64_t removed = 0;
                std::string prune_error;
                const auto retention = std::chrono::duration_cast<std::chrono::seconds>(options_.retention).count();
                if (!store->prune(now_seconds() - retention, &removed, &prune_error) && log_)
                    log_("DMARC report recording: cannot remove old evaluations: " + prune_error);
            }
        } else if (error.empty()) {
            error = "the database could not be opened (retried every second)";
        }
        lock.lock();
        if (ok) {
            stored_ += batch.size();
            record_counters().stored.inc(batch.size());
            if (lost_since_stored_ != 0 && !batch.empty()) {
                if (log_)
                    log_("DMARC report recording: storing again after " + std::to_string(lost_since_stored_) +
                         " evaluations lost to store errors");
                lost_since_stored_ = 0;
                last_error_log_.clear();
            }
        } else if (!batch.empty()) {
            const auto n = (dropped_error_ += batch.size());
            record_counters().store_error.inc(batch.size());
            lost_since_stored_ += batch.size();
            if (last_error_log_.size() >= kMaxLoggedCauses && !last_error_log_.count(error)) last_error_log_.clear();
            note_loss("cannot store: " + error, n, &last_error_log_[error]);
            // A failed database connection may be stuck (e.g. a corrupt
            // file replaced meanwhile): open it afresh next time. Not for
            // a lock or a full disk (SQLite rolled back, the connection is
            // sound): a reopen would only add a second cause to the log.
            // Nor for a store whose client reconnects by itself (Redis).
            if (store && store->reopen_after_error() && error.find("locked") == std::string::npos &&
                error.find("busy") == std::string::npos && error.find("full") == std::string::npos) {
                lock.unlock();
                store.reset();
                lock.lock();
            }
        }
        in_flight_ = 0;
        if (queue_.empty()) idle_.notify_all();
    }
    in_flight_ = 0;
    idle_.notify_all();
}

}  // namespace state
