#include "daemon/log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace daemon_log {

namespace {
std::atomic<bool> g_stderr{true};
std::mutex g_stderr_mutex;
std::string g_ident = "connector-milter";
}  // namespace

void init(bool to_stderr, std::string_view ident) {
    g_ident = std::string(ident);
    g_stderr = to_stderr;
    if (!to_stderr) openlog(g_ident.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void write(Level level, std::string_view message) {
    if (!g_stderr) {
        int priority = level == Level::Error     ? LOG_ERR
                       : level == Level::Warning ? LOG_WARNING
                       : level == Level::Info    ? LOG_INFO
                                                 : LOG_DEBUG;
        syslog(priority, "%.*s", static_cast<int>(message.size()), message.data());
        return;
    }
    const char* tag = level == Level::Error ? "error: " : level == Level::Warning ? "warning: " : "";
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
    std::lock_guard lock(g_stderr_mutex);
    std::fprintf(stderr, "%s %s[%d]: %s%.*s\n", stamp, g_ident.c_str(), static_cast<int>(getpid()), tag,
                 static_cast<int>(message.size()), message.data());
    std::fflush(stderr);
}

}  // namespace daemon_log
