// Loads the configuration the daemon and `explain` run on: the file when it
// exists, else the embedded default built from the MTA's own domains.
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
    std::vector<std::string> notes;                   // for the log
    bool embedded = false;
};

// A missing file selects the embedded default; any other problem is an error.
Loaded load(const std::string& path);

}  // namespace daemon_main
