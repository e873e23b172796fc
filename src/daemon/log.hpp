// Logging: syslog facility mail, or stderr when running in the foreground.
#pragma once
#include <string_view>

namespace daemon_log {

enum class Level { Error, Warning, Info, Debug };

void init(bool to_stderr, std::string_view ident = "connector-milter");
void write(Level level, std::string_view message);
inline void error(std::string_view m) { write(Level::Error, m); }
inline void warning(std::string_view m) { write(Level::Warning, m); }
inline void info(std::string_view m) { write(Level::Info, m); }

}  // namespace daemon_log
