#include "daemon/dmarc_recording.hpp"

#include <mutex>
#include <string>

#include "log/log.hpp"
#include "state/redis_report_store.hpp"
#include "state/report_recorder.hpp"
#include "state/report_store.hpp"

namespace daemon_main {

namespace {

struct Current {
    config::DmarcReportSettings::Store store = config::DmarcReportSettings::Store::Sqlite;
    std::string redis;
    std::string database;
    std::uint32_t retention_days = 0;
    std::uint32_t queue_limit = 0;
    std::shared_ptr<state::ReportRecorder> recorder;
};

std::mutex g_mutex;
Current g_current;
std::string g_cluster_password;  // guarded by g_mutex

}  // namespace

std::shared_ptr<state::EvaluationSink> dmarc_recorder(const config::DmarcSettings& settings,
                                                      const config::ClusterSettings& cluster) {
    const auto& r = settings.reports;
    std::lock_guard lock(g_mutex);
    if (!settings.enabled || !r.enabled) return nullptr;
    const std::string redis = r.store == config::DmarcReportSettings::Store::Redis ? cluster.redis : std::string();
    if (g_current.recorder && g_current.store == r.store && g_current.redis == redis &&
        g_current.database == r.database && g_current.retention_days == r.retention_days &&
        g_current.queue_limit == r.queue_limit)
        return g_current.recorder;
    state::RecorderOptions options;
    options.queue_limit = r.queue_limit;
    options.retention = std::chrono::hours(24) * r.retention_days;
    state::ReportRecorder::OpenStore open;
    if (r.store == config::DmarcReportSettings::Store::Redis) {
        open = [cluster, retention = r.retention_days](std::string*) -> std::unique_ptr<state::ReportStore> {
            std::string password;
            {
                std::lock_guard held(g_mutex);
                password = g_cluster_password;
            }
            return std::make_unique<state::RedisReportStore>(
                cluster, std::move(password), retention,
                [](daemon_log::Level level, std::string_view line) {
                    daemon_log::write(level, std::string("DMARC report recording: ") + std::string(line));
                });
        };
    } else {
        const std::string path = r.database;
        open = [path](std::string* error) { return state::open_sqlite_store(path, error); };
    }
    auto log = [](std::string_view line) { daemon_log::warning(line); };
    // The previous recorder (if any) lives on with the sessions that still
    // hold the old runtime, and stores its queue when the last one ends.
    g_current = {r.store, redis, r.database, r.retention_days, r.queue_limit,
                 std::make_shared<state::ReportRecorder>(open, options, log)};
    return g_current.recorder;
}

void set_dmarc_cluster_password(std::string password) {
    std::lock_guard lock(g_mutex);
    g_cluster_password = std::move(password);
}

void flush_dmarc_recorder(std::chrono::milliseconds limit) {
    std::shared_ptr<state::ReportRecorder> recorder;
    {
        std::lock_guard lock(g_mutex);
        recorder = g_current.recorder;
    }
    if (recorder && !recorder->flush(limit)) daemon_log::warning("DMARC report recording: queue not stored at exit");
}

void stop_dmarc_recorder(std::chrono::milliseconds limit) {
    flush_dmarc_recorder(limit);
    std::shared_ptr<state::ReportRecorder> recorder;
    {
        std::lock_guard lock(g_mutex);
        recorder = g_current.recorder;
    }
    if (recorder) recorder->stop();
}

}  // namespace daemon_main
