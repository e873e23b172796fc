// Logging: syslog facility mail, or stderr when running in the foreground.
// A room of its own below milter/ and daemon/, so that the protocol engines
// log without depending on the daemon (the namespace keeps its name,
// daemon_log: it is the daemon process's log).
// Levels: errors (the daemon cannot do what it was asked) at LOG_ERR,
// warnings (it runs, but probably not as the administrator meant: unsafe
// file permissions, the fallback policy, no accepted domains) at
// LOG_WARNING, decisions and lifecycle at LOG_INFO. Under systemd (stderr is
// the journal) the lines carry a "<N>" priority prefix and no time stamp.
//
// [milter] log_format = "json" (set_format) writes every line as one JSON
// object: decision lines with their fields (log/record.hpp), other lines as
// {"message": ...}; each with "level", and "time" where nothing else stamps
// the line (standard error outside the journal).
#pragma once
#include <string_view>

#include "log/record.hpp"

namespace daemon_log {

enum class Level { Error, Warning, Info, Debug };

int syslog_priority(Level level);
void init(bool to_stderr, std::string_view ident = "connector-milter");
// Without stderr logging, errors and warnings also go to stderr until this
// is called (the daemon has detached from the terminal).
void detached();
void write(Level level, std::string_view message);
// From the configuration, at start and at each reload.
void set_format(Format format);
// A decision line rendered by render() (log/record.hpp), at level info: a
// JSON object gets its level (and time) added, a text line is written as is.
void decision(std::string_view line);
inline void error(std::string_view m) { write(Level::Error, m); }
inline void warning(std::string_view m) { write(Level::Warning, m); }
inline void info(std::string_view m) { write(Level::Info, m); }

}  // namespace daemon_log
