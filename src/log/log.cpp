#include "log/log.hpp"

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include "log/record.hpp"

namespace daemon_log {

namespace {
std::atomic<bool> g_stderr{true};
std::atomic<bool> g_journal{false};
std::atomic<bool> g_detached{false};
std::atomic<Format> g_format{Format::Text};
std::mutex g_stderr_mutex;
std::string g_ident = "connector-milter";
}  // namespace

int syslog_priority(Level level) {
    switch (level) {
        case Level::Error: return LOG_ERR;
        case Level::Warning: return LOG_WARNING;
        case Level::Info: return LOG_INFO;
        case Level::Debug: break;
    }
    return LOG_DEBUG;
}

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected
// to the service's stderr (systemd.exec(5)). Comparing it with stderr itself
// tells a service started by systemd from a child that merely inherited the
// variable with another stderr (a terminal, a file).
bool stderr_is_journal() {
    const char* value = std::getenv("JOURNAL_STREAM");
    if (value == nullptr) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(value, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st{};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void init(bool to_stderr, std::string_view ident) {
    g_ident = std::string(ident);
    g_stderr = to_stderr;
    g_journal = to_stderr && stderr_is_journal();
    if (!to_stderr) openlog(g_ident.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void detached() { g_detached = true; }

void set_format(Format format) { g_format = format; }

namespace {

const char* level_name(Level level) {
    switch (level) {
        case Level::Error: return "error";
        case Level::Warning: return "warning";
        case Level::Info: return "info";
        case Level::Debug: break;
    }
    return "debug";
}

// `object` is one JSON object ("{...}"); "level" and, on standard error
// outside the journal, "time" (RFC 3339, UTC) go in before its end.
void write_json(Level level, std::string_view object) {
    std::string line(object.substr(0, object.size() - 1));
    if (line.size() > 1) line += ',';
    line += "\"level\":\"";
    line += level_name(level);
    line += '"';
    if (g_stderr && !g_journal) {
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        line += ",\"time\":\"";
        line += stamp;
        line += '"';
    }
    line += '}';
    if (!g_stderr) {
        syslog(syslog_priority(level), "%s", line.c_str());
        return;
    }
    std::lock_guard lock(g_stderr_mutex);
    if (g_journal) std::fprintf(stderr, "<%d>", syslog_priority(level));
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace

void decision(std::string_view line) {
    if (line.size() >= 2 && line.front() == '{' && line.back() == '}') {
        write_json(Level::Info, line);
        return;
    }
    write(Level::Info, line);
}

void write(Level level, std::string_view message) {
    if (g_format == Format::Json) {
        write_json(level, "{\"message\":" + json_string(message) + "}");
        // Until the daemon detaches, errors also reach the terminal as text.
        if (g_stderr || g_detached || (level != Level::Error && level != Level::Warning)) return;
        std::lock_guard lock(g_stderr_mutex);
        std::fprintf(stderr, "%s: %s%.*s\n", g_ident.c_str(), level == Level::Error ? "error: " : "warning: ",
                     static_cast<int>(message.size()), message.data());
        return;
    }
    if (!g_stderr) {
        syslog(syslog_priority(level), "%.*s", static_cast<int>(message.size()), message.data());
        // Until the daemon detaches, whoever started it is watching the
        // terminal: a start that fails says why there too.
        if (!g_detached && (level == Level::Error || level == Level::Warning)) {
            std::lock_guard lock(g_stderr_mutex);
            std::fprintf(stderr, "%s: %s%.*s\n", g_ident.c_str(), level == Level::Error ? "error: " : "warning: ",
                         static_cast<int>(message.size()), message.data());
        }
        return;
    }
    const char* tag = level == Level::Error ? "error: " : level == Level::Warning ? "warning: " : "";
    if (g_journal) {
        // The journal stamps every line and records the pid itself; a
        // "<N>" prefix gives the line its syslog priority (sd-daemon(3)).
        std::lock_guard lock(g_stderr_mutex);
        std::fprintf(stderr, "<%d>%s%.*s\n", syslog_priority(level), tag, static_cast<int>(message.size()),
                     message.data());
        std::fflush(stderr);
        return;
    }
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
