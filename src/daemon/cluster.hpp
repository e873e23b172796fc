// [cluster] for the daemon and `explain`: the Redis password read at start
// (before privileges are dropped: the file may be root's alone) and the
// shared limit store built from the settings.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "config/settings.hpp"
#include "state/limit_store.hpp"

namespace daemon_main {

// The password in cluster.password_file (trailing blanks and line ends
// removed); empty without a file; nullopt with `error` set when the file
// cannot be read or is empty.
std::optional<std::string> read_cluster_password(const config::ClusterSettings& cluster, std::string* error);

// The Redis store for [cluster], logging through daemon_log. With
// `observe_only` (explain) it counts and compares but adds nothing.
std::shared_ptr<state::LimitStore> make_cluster_store(const config::ClusterSettings& cluster, std::string password,
                                                      bool observe_only);

// One line for the start-up log: where the limits are counted.
std::string describe_cluster(const config::ClusterSettings& cluster);

}  // namespace daemon_main
