// A real redis-server for the tests of [cluster] (issue 16): started on a
// loopback port with its own data folder and no persistence, stopped at the
// end. redis-server comes from Debian's redis-server package
// (scripts/install-deps installs it).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon_process.hpp"

namespace milterclient {

// The redis-server binary, or "" when it is not installed.
std::string find_redis_server();

class RedisServer {
public:
    // Nothing runs until start().
    RedisServer(std::uint16_t port, std::string data_dir, std::string log_path);
    // Starts it and waits until its port accepts connections; false with
    // `why` set.
    bool start(std::string* why);
    void stop();
    bool running();
    // redis-cli -p PORT ARGS..., e.g. {"SCRIPT", "FLUSH"}.
    CommandResult cli(const std::vector<std::string>& args) const;
    std::uint16_t port() const { return port_; }

private:
    std::uint16_t port_;
    std::string data_dir_;
    std::string log_path_;
    std::unique_ptr<DaemonProcess> process_;
};

}  // namespace milterclient
