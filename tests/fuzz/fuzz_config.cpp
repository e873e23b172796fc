// Fuzz target: the TOML configuration loader (config::load_string).
// Any text must give either a Config or file:line errors, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // A base directory that does not exist: relative file names in the
    // fuzzed config (remote_ip_ranges_file, sender_login_map, ...) must
    // produce an error, not read the working directory.
    const auto result = config::load_string(text, "fuzz.conf", "/nonexistent/connector-milter-fuzz");
    if (result.config && !result.errors.empty()) fuzz::violation("config returned together with errors");
    if (!result.config && result.errors.empty()) fuzz::violation("no config and no error");
    for (const auto& e : result.errors) {
        if (e.message.empty()) fuzz::violation("empty error message");
        (void)e.to_string();
    }
    if (result.config) {
        // Every connector that loaded must be selectable without trouble.
        const auto& map = result.config->connectors;
        for (const auto& c : map.connectors())
            if (map.find(c.name) == nullptr) fuzz::violation("connector not found by its name: " + c.name);
    }
    return 0;
}
