#include "daemon/config_loader.hpp"
#include "daemon/dmarc_recording.hpp"
#include "dns/make_resolver.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace daemon_main {

namespace {

// One path's own mode bits: writable by every user, or by a group other
// than root's. A folder with the sticky bit (/tmp) lets nobody but the owner
// rename or remove what is in it, so it is safe in that respect.
const char* unsafe_write_permission(const struct stat& st, bool folder) {
    if (folder && (st.st_mode & S_ISVTX)) return nullptr;
    if (st.st_mode & S_IWOTH) return "every user";
    if ((st.st_mode & S_IWGRP) && st.st_gid != 0) return "its group";
    return nullptr;
}

// Warns when `path`, or a folder above it, can be changed by users other
// than its owner and root: whoever can replace the file decides the policy.
// Reported, not refused, so that a mistake in permissions does not stop mail.
void check_permissions(const std::string& path, const std::string& what, std::vector<std::string>& warnings) {
    if (path.empty()) return;
    struct stat st{};
    if (stat(path.c_str(), &st) != 0) return;
    if (const char* who = unsafe_write_permission(st, false))
        warnings.push_back(path + " (" + what + ") is writable by " + who + ": chmod " +
                           (std::strcmp(who, "every user") == 0 ? "o-w " : "g-w ") + path);
    // The folders above it: whoever may write to one of them may replace
    // the file (or a folder on the way) with their own.
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(path, ec).lexically_normal();
    if (ec) return;
    while (dir.has_parent_path() && dir.parent_path() != dir) {
        dir = dir.parent_path();
        struct stat ds{};
        if (stat(dir.c_str(), &ds) != 0) continue;
        if (const char* who = unsafe_write_permission(ds, true))
            warnings.push_back("folder " + dir.string() + " above " + path + " (" + what + ") is writable by " + who +
                               ": chmod " + (std::strcmp(who, "every user") == 0 ? "o-w " : "g-w ") + dir.string());
    }
}

}  // namespace

Loaded load(const std::string& path, MissingFile missing) {
    Loaded loaded;
    std::shared_ptr<const config::Config> cfg;
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const int open_errno = errno;
    if (fd >= 0) close(fd);
    if (fd < 0 && open_errno == ENOENT && missing == MissingFile::MeansEmbeddedDefault) {
        loaded.embedded = true;
        auto discovery = config::discover_mta_domains();
        // The discovery's findings come back as the embedded config's notes.
        loaded.warnings.push_back(path +
                                  " does not exist: running the embedded default policy (connector-milter -d "
                                  "prints it as a file to start from)");
        cfg = config::embedded_default(discovery);
        if (!cfg) {
            loaded.errors.push_back("(embedded default): does not load; this is a bug");
            return loaded;
        }
    } else if (fd < 0) {
        loaded.errors.push_back(path + ": cannot read the configuration file: " + std::strerror(open_errno));
        return loaded;
    } else {
        auto result = config::load_file(path);
        for (auto& e : result.errors) loaded.errors.push_back(e.to_string());
        if (!result.config) return loaded;
        cfg = result.config;
    }
    for (auto& note : cfg->notes) loaded.notes.push_back(note);
    for (auto& warning : cfg->warnings) loaded.warnings.push_back(warning);
    if (!loaded.embedded) check_permissions(path, "configuration", loaded.warnings);
    for (auto& ranges : cfg->ranges_files) check_permissions(ranges, "remote_ip_ranges_file", loaded.warnings);
    for (auto& list : cfg->ip_list_files) check_permissions(list, "connection_filtering IP list", loaded.warnings);
    check_permissions(cfg->milter.sender_login_map, "sender_login_map", loaded.warnings);
    check_permissions(cfg->dns.static_zone, "static_zone", loaded.warnings);
    // The DNSSEC root key decides which answers are authentic, and the public
    // suffix list where DMARC's organizational domains begin (alignment).
    check_permissions(cfg->dns.trust_anchor_file, "trust_anchor_file", loaded.warnings);
    check_permissions(cfg->dmarc.public_suffix_list, "public_suffix_list", loaded.warnings);
    std::vector<dns::ZoneError> zone_errors;
    auto resolver = dns::make_resolver(cfg->dns, zone_errors);
    for (const auto& e : zone_errors) loaded.errors.push_back(e.to_string());
    if (!zone_errors.empty()) return loaded;
    auto build = session::build_runtime(cfg, std::move(resolver), dmarc_recorder(cfg->dmarc, cfg->cluster));
    for (auto& e : build.errors) loaded.errors.push_back(e);
    if (!build.errors.empty()) return loaded;
    loaded.runtime = build.runtime;
    return loaded;
}

}  // namespace daemon_main
