#include "daemon/cluster.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "log/log.hpp"
#include "state/redis_limit_store.hpp"

namespace daemon_main {

std::optional<std::string> read_cluster_password(const config::ClusterSettings& cluster, std::string* error) {
    if (cluster.password_file.empty()) return std::string();
    std::ifstream in(cluster.password_file, std::ios::binary);
    if (!in) {
        *error = "cluster.password_file: cannot read " + cluster.password_file + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string password = text.str();
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r' || password.back() == ' ' ||
                                 password.back() == '\t'))
        password.pop_back();
    if (password.empty()) {
        *error = "cluster.password_file: " + cluster.password_file + " is empty";
        return std::nullopt;
    }
    struct stat st {};
    if (stat(cluster.password_file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
        daemon_log::warning("cluster.password_file: " + cluster.password_file +
                            " can be read by others than its owner (chmod 600)");
    return password;
}

std::shared_ptr<state::LimitStore> make_cluster_store(const config::ClusterSettings& cluster, std::string password,
                                                      bool observe_only) {
    return std::make_shared<state::RedisLimitStore>(
        cluster, std::move(password),
        [](daemon_log::Level level, std::string_view line) { daemon_log::write(level, line); }, observe_only);
}

std::string describe_cluster(const config::ClusterSettings& cluster) {
    if (!cluster.enabled) return "connection and rate limits counted in this process";
    return "connection and rate limits shared through redis at " + cluster.redis + " (key prefix \"" +
           cluster.key_prefix + "\", timeout " + std::to_string(cluster.timeout.count()) + "ms, leases renewed every " +
           std::to_string(cluster.lease_renewal.count()) + "ms and kept " + std::to_string(cluster.lease_time.count()) +
           "ms, on_unavailable = " +
           (cluster.on_unavailable == config::ClusterSettings::OnUnavailable::Local ? "local" : "tempfail") + ")";
}

}  // namespace daemon_main
