#include "daemon/dmarc_recording.hpp"

#include <mutex>
#include <string>

#include "log/log.hpp"
#include "state/report_recorder.hpp"
#include "state/report_store.hpp"

namespace daemon_main {

namespace {

struct Current {
    std::string database;
    std::uint32_t retention_days = 0;
    std::uint32_t queue_limit = 0;
    std::shared_ptr<state::ReportRecorder> recorder;
};

std::mutex g_mutex;
Current g_current;

}  // namespace

std::shared_ptr<state::EvaluationSink> dmarc_recorder(const config::DmarcSettings& settings) {
    const auto& r = settings.reports;
    std::lock_guard lock(g_mutex);
    if (!settings.enabled || !r.enabled) return nullptr;
    if (g_current.recorder && g_current.database == r.database && g_current.retention_days == r.retention_days &&
        g_current.queue_limit == r.queue_limit)
        return g_current.recorder;
    state::RecorderOptions options;
    options.queue_limit = r.queue_limit;
    options.retention = std::chrono::hours(24) * r.retention_days;
    const std::string path = r.database;
    auto open = [path](std::string* error) { return state::open_sqlite_store(path, error); };
    auto log = [](std::string_view line) { daemon_log::warning(line); };
    // The previous recorder (if any) lives on with the sessions that still
    // hold the old runtime, and stores its queue when the last one ends.
    g_current = {r.database, r.retention_days, r.queue_limit,
                 std::make_shared<state::ReportRecorder>(open, options, log)};
    return g_current.recorder;
}

void flush_dmarc_recorder(std::chrono::milliseconds limit) {
    std::shared_ptr<state::ReportRecorder> recorder;
    {
        std::lock_guard lock(g_mutex);
        recorder = g_current.recorder;
    }
    if (recorder && !recorder->flush(limit)) daemon_log::warning("DMARC report recording: queue not stored at exit");
}

}  // namespace daemon_main
