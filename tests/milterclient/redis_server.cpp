#include "redis_server.hpp"

#include <unistd.h>

#include <filesystem>

namespace milterclient {

std::string find_redis_server() {
    for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

RedisServer::RedisServer(std::uint16_t port, std::string data_dir, std::string log_path)
    : port_(port), data_dir_(std::move(data_dir)), log_path_(std::move(log_path)) {}

bool RedisServer::start(std::string* why) {
    const std::string binary = find_redis_server();
    if (binary.empty()) {
        *why = "redis-server not found (scripts/install-deps installs it)";
        return false;
    }
    std::filesystem::create_directories(data_dir_);
    process_ = std::make_unique<DaemonProcess>(
        std::vector<std::string>{binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", data_dir_,
                                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"},
        log_path_);
    return process_->start("inet:" + std::to_string(port_) + "@127.0.0.1", std::chrono::seconds(10), why);
}

void RedisServer::stop() {
    if (process_ && process_->running()) process_->stop(std::chrono::seconds(5));
    process_.reset();
}

bool RedisServer::running() { return process_ && process_->running(); }

CommandResult RedisServer::cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{
        (std::filesystem::path(find_redis_server()).parent_path() / "redis-cli").string(), "-p",
        std::to_string(port_)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(5));
}

}  // namespace milterclient
