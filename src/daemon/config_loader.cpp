#include "daemon/config_loader.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace daemon_main {

namespace {

// Files that decide who may relay must not be writable by others: a local
// user who can edit them can open the relay. Reported, not refused, so that
// a mistake in permissions does not stop mail.
void check_permissions(const std::string& path, const char* what, std::vector<std::string>& notes) {
    if (path.empty()) return;
    struct stat st{};
    if (stat(path.c_str(), &st) != 0) return;
    if (st.st_mode & S_IWOTH)
        notes.push_back("warning: " + path + " (" + what + ") is writable by every user: chmod o-w " + path);
    else if ((st.st_mode & S_IWGRP) && st.st_gid != 0)
        notes.push_back("warning: " + path + " (" + what + ") is writable by its group: chmod g-w " + path);
}

}  // namespace

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
    if (!loaded.embedded) check_permissions(path, "configuration", loaded.notes);
    check_permissions(cfg->milter.sender_login_map, "sender_login_map", loaded.notes);
    check_permissions(cfg->dns.static_zone, "static_zone", loaded.notes);
    auto build = session::build_runtime(cfg);
    for (auto& e : build.errors) loaded.errors.push_back(e);
    if (!build.errors.empty()) return loaded;
    loaded.runtime = build.runtime;
    return loaded;
}

}  // namespace daemon_main
