#include "daemon_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "milter_client.hpp"

extern char** environ;

namespace milterclient {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/connector-milter-protocol.XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr)
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = buf.data();
    // The daemon may drop privileges (-u) and must still read its config on
    // reload.
    ::chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    const fs::path tmp = path_ / (name + ".tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw std::runtime_error("cannot write " + tmp.string());
    }
    ::chmod(tmp.c_str(), 0644);
    // rename(): a reload never sees a half-written file.
    fs::rename(tmp, p);
    return p.string();
}

std::uint16_t free_tcp_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket");
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    socklen_t len = sizeof sin;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) < 0) {
        ::close(fd);
        throw std::runtime_error("bind to a free port failed");
    }
    ::close(fd);
    return ntohs(sin.sin_port);
}

std::string daemon_path() {
    const char* d = std::getenv("DAEMON");
    return d != nullptr ? std::string(d) : std::string();
}

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// posix_spawn with stdin from /dev/null and stdout+stderr into `log_path`.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // A clean signal state: the test runner may block or ignore signals.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    return pid;
}

void fill_status(int status, CommandResult* r) {
    if (WIFEXITED(status)) {
        r->exited = true;
        r->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        r->exited = false;
        r->signal = WTERMSIG(status);
    }
}

// waitpid bounded by `timeout`; true when the child was reaped.
bool wait_child(pid_t pid, std::chrono::milliseconds timeout, CommandResult* r) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            fill_status(status, r);
            return true;
        }
        if (w < 0 && errno != EINTR) return true;  // not our child any more
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    TempDir tmp;
    const std::string out = (tmp.path() / "output").string();
    CommandResult r;
    const pid_t pid = spawn(argv, out);
    if (!wait_child(pid, timeout, &r)) {
        r.timed_out = true;
        ::kill(pid, SIGKILL);
        wait_child(pid, 5000ms, &r);
    }
    r.output = read_file(out);
    return r;
}

// ---------------------------------------------------------------------------

DaemonProcess::DaemonProcess(std::vector<std::string> argv, std::string log_path)
    : argv_(std::move(argv)), log_path_(std::move(log_path)) {}

DaemonProcess::~DaemonProcess() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        CommandResult ignored;
        wait_child(pid_, 5000ms, &ignored);
        pid_ = -1;
    }
}

bool DaemonProcess::start(const std::string& socket_spec, std::chrono::milliseconds timeout,
                          std::string* why) {
    pid_ = spawn(argv_, log_path_);
    const auto deadline = Clock::now() + timeout;
    Options probe_options;
    probe_options.timeout = 500ms;
    while (Clock::now() < deadline) {
        CommandResult r;
        if (wait_child(pid_, 0ms, &r)) {
            pid_ = -1;
            *why = "the daemon exited before accepting connections (" +
                   (r.exited ? "exit status " + std::to_string(r.exit_code)
                             : "signal " + std::to_string(r.signal)) +
                   ")";
            return false;
        }
        try {
            // Connecting is enough; the daemon sees a connection that closes
            // before option negotiation, which it must shrug off anyway.
            Session probe(socket_spec, probe_options);
            return true;
        } catch (const Error&) {
            std::this_thread::sleep_for(50ms);
        }
    }
    *why = "the daemon did not accept connections on " + socket_spec + " within " +
           std::to_string(timeout.count()) + " ms";
    return false;
}

bool DaemonProcess::running() {
    if (pid_ <= 0) return false;
    CommandResult r;
    if (wait_child(pid_, 0ms, &r)) {
        pid_ = -1;
        ended_ = r;
        return false;
    }
    return true;
}

bool DaemonProcess::exits_within(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return true;
    CommandResult r;
    if (!wait_child(pid_, timeout, &r)) return false;
    pid_ = -1;
    ended_ = r;
    return true;
}

void DaemonProcess::signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
}

CommandResult DaemonProcess::stop(std::chrono::milliseconds grace, bool send_sigterm) {
    CommandResult r;
    if (pid_ <= 0) {
        if (ended_) r = *ended_;
        else r.exit_code = -1;
        r.output = log();
        return r;
    }
    if (send_sigterm) ::kill(pid_, SIGTERM);
    if (!wait_child(pid_, grace, &r)) {
        r.timed_out = true;
        ::kill(pid_, SIGKILL);
        wait_child(pid_, 5000ms, &r);
    }
    pid_ = -1;
    r.output = log();
    return r;
}

std::string DaemonProcess::log() const { return read_file(log_path_); }

bool DaemonProcess::log_shows(const std::string& text, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        if (log().find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

}  // namespace milterclient
