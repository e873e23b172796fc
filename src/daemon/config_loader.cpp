#include "daemon/config_loader.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace daemon_main {

Loaded load(const std::string& path) {
    Loaded loaded;
    std::shared_ptr<const config::Config> cfg;
    struct stat st{};
    if (stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        loaded.embedded = true;
        auto discovery = config::discover_mta_domains();
        // The discovery's findings come back as the embedded config's notes.
        loaded.notes.push_back(path + " does not exist: running the embedded default policy");
        cfg = config::embedded_default(discovery);
        if (!cfg) {
            loaded.errors.push_back("(embedded default): does not load; this is a bug");
            return loaded;
        }
    } else {
        auto result = config::load_file(path);
        for (auto& e : result.errors) loaded.errors.push_back(e.to_string());
        if (!result.config) return loaded;
        cfg = result.config;
    }
    for (auto& note : cfg->notes) loaded.notes.push_back(note);
    auto build = session::build_runtime(cfg);
    for (auto& e : build.errors) loaded.errors.push_back(e);
    if (!build.errors.empty()) return loaded;
    loaded.runtime = build.runtime;
    return loaded;
}

}  // namespace daemon_main
