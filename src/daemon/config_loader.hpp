// Loads the configuration the daemon and `explain` run on: the file, or the
// embedded default built from the MTA's own domains when no file was named
// and the default file does not exist.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "session/runtime.hpp"

namespace daemon_main {

inline constexpr const char* kDefaultConfigPath = "/etc/connector-milter/connector-milter.conf";

struct Loaded {
    std::shared_ptr<const session::Runtime> runtime;  // null on error
    std::vector<std::string> errors;                  // "file:line: message"
    std::vector<std::string> notes;                   // for the log, LOG_INFO
    std::vector<std::string> warnings;                // for the log, LOG_WARNING
    bool embedded = false;
};

// What a missing file means.
enum class MissingFile {
    // An error: the file was named (-c), or the running policy came from it.
    // A typo in -c, or a file renamed while it is edited, must not turn into
    // another policy.
    IsAnError,
    // The embedded default, with a warning: no -c and no default file.
    MeansEmbeddedDefault,
};

// Any file that exists but cannot be read or does not validate is an error.
Loaded load(const std::string& path, MissingFile missing);

}  // namespace daemon_main
