// Running the built daemon from tests and benchmarks: a private temporary
// folder, a free loopback port, a bounded command run, and one daemon process
// started in the foreground with its output in a file. Every wait is bounded
// and a daemon still running when its DaemonProcess goes away is killed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace milterclient {

// A private temporary folder, removed with everything in it.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    // Writes (replaces) `name` in the folder; returns its full path.
    std::string write(const std::string& name, const std::string& text) const;

private:
    std::filesystem::path path_;
};

// A loopback TCP port nobody listens on right now (bind to port 0).
std::uint16_t free_tcp_port();

// $DAEMON, or an empty string when it is not set.
std::string daemon_path();

struct CommandResult {
    bool timed_out = false;
    bool exited = false;     // false: killed by a signal
    int exit_code = -1;      // when exited
    int signal = 0;          // when killed
    std::string output;      // stdout and stderr together
};

// Runs a command to completion (bounded by `timeout`, then SIGKILL).
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// One daemon process, started in the foreground with its output in a file.
class DaemonProcess {
public:
    DaemonProcess(std::vector<std::string> argv, std::string log_path);
    ~DaemonProcess();  // SIGKILL if still running
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    // Starts it and waits until `socket_spec` accepts connections, the
    // process exits, or `timeout` passes. Returns false with `why` set.
    bool start(const std::string& socket_spec, std::chrono::milliseconds timeout, std::string* why);
    bool running();
    // Waits up to `timeout` for the process to exit; true when it did (it is
    // then reaped, and stop() reports how it ended).
    bool exits_within(std::chrono::milliseconds timeout);
    void signal(int sig);
    // SIGTERM (unless `send_sigterm` is false: it was sent already), then
    // waits up to `grace`; SIGKILL after that. The result says how it ended
    // (also when it had ended before).
    CommandResult stop(std::chrono::milliseconds grace, bool send_sigterm = true);
    std::string log() const;
    // Waits (bounded) until the log holds `text`; false when `timeout`
    // passed first.
    bool log_shows(const std::string& text, std::chrono::milliseconds timeout) const;
    pid_t pid() const { return pid_; }

private:
    bool reap(std::chrono::milliseconds timeout, CommandResult* result);
    std::vector<std::string> argv_;
    std::string log_path_;
    pid_t pid_ = -1;
    std::optional<CommandResult> ended_;  // how it ended, once reaped
};

}  // namespace milterclient
