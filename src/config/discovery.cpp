// Finds the domains the local MTA already receives mail for, so that the
// embedded default policy (no config file) accepts exactly those, like an
// Exchange server whose accepted domains were set up with the organisation.
//
// Sources, all of them consulted:
// - Postfix: `postconf -x -h mydestination relay_domains virtual_mailbox_domains`
//   (-x expands $myhostname, $mydomain... as Postfix itself would);
// - sendmail: /etc/mail/local-host-names (class {w}) and /etc/mail/relay-domains
//   (class {R}), one name per line, '#' comments;
// and only when none of them names a domain: the host's own domain.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/host_name.hpp"
#include "policy/accepted_domains.hpp"

extern char** environ;

namespace config {
namespace {

// A file descriptor closed when it goes out of scope.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

struct FileActions {
    posix_spawn_file_actions_t actions{};
    bool ok = false;
    FileActions() { ok = posix_spawn_file_actions_init(&actions) == 0; }
    ~FileActions() {
        if (ok) posix_spawn_file_actions_destroy(&actions);
    }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
};

struct CommandResult {
    bool ran = false;         // the program started and exited by itself
    int exit_status = -1;
    std::string out;
    std::string err;
    std::string failure;      // why it did not run or was stopped
};

// Runs argv[0] (searched in PATH when it has no '/') without a shell, with
// stdin from /dev/null, collecting stdout and stderr, killing it when it
// runs past `timeout`. posix_spawnp is used rather than fork()+exec: it is
// the same fork/exec without running non-async-signal-safe code in a child
// of a multi-threaded process (reload runs while milter threads exist).
CommandResult run_command(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    CommandResult result;
    constexpr std::size_t kMaxOutput = 1 << 20;  // a sane postconf prints a few lines

    std::array<int, 2> out_pipe{-1, -1};
    std::array<int, 2> err_pipe{-1, -1};
    if (pipe2(out_pipe.data(), O_CLOEXEC) != 0) {
        result.failure = std::string("pipe: ") + std::strerror(errno);
        return result;
    }
    Fd out_read(out_pipe[0]);
    Fd out_write(out_pipe[1]);
    if (pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
        result.failure = std::string("pipe: ") + std::strerror(errno);
        return result;
    }
    Fd err_read(err_pipe[0]);
    Fd err_write(err_pipe[1]);

    FileActions fa;
    if (!fa.ok || posix_spawn_file_actions_addopen(&fa.actions, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_adddup2(&fa.actions, out_write.get(), 1) != 0 ||
        posix_spawn_file_actions_adddup2(&fa.actions, err_write.get(), 2) != 0) {
        result.failure = "cannot prepare the child's file descriptors";
        return result;
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa.actions, nullptr, argv.data(), environ);
    if (rc != 0) {
        result.failure = "cannot run " + args[0] + ": " + std::strerror(rc);
        return result;
    }
    out_write.reset();
    err_write.reset();

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool timed_out = false;
    std::array<char, 4096> buffer{};
    while (out_read.get() >= 0 || err_read.get() >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        std::array<pollfd, 2> fds{{{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}}};
        const int n = poll(fds.data(), fds.size(), static_cast<int>(left.count()));
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (n == 0) continue;  // deadline check at the top
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            Fd& fd = i == 0 ? out_read : err_read;
            std::string& sink = i == 0 ? result.out : result.err;
            const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
            if (got > 0) {
                if (sink.size() < kMaxOutput) sink.append(buffer.data(), static_cast<std::size_t>(got));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                fd.reset();
            }
        }
    }
    if (timed_out) kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        result.failure = args[0] + " did not finish within " + std::to_string(timeout.count()) + " ms";
        return result;
    }
    if (WIFEXITED(status)) {
        result.ran = true;
        result.exit_status = WEXITSTATUS(status);
        // posix_spawnp reports a missing program through exit status 127.
        if (result.exit_status == 127 && result.out.empty()) {
            result.ran = false;
            result.failure = args[0] + " not found";
        }
    } else {
        result.failure = args[0] + " was killed by signal " + std::to_string(WTERMSIG(status));
    }
    return result;
}

bool is_localhost(std::string_view domain) {
    return domain == "localhost" || domain.starts_with("localhost.") || domain == "localhost.localdomain";
}

// Adds one name found in `origin`, unless it is not a usable domain.
void add_domain(std::string_view raw, std::string_view origin, Discovery* d, std::vector<std::string>* found) {
    std::string_view name = raw;
    if (name.empty()) return;
    if (name.front() == '$') {
        d->log_lines.push_back(std::string(origin) + ": ignored unexpanded parameter " + std::string(name));
        return;
    }
    if (name.front() == '[') {  // an address literal ([192.0.2.1]) names no domain
        d->log_lines.push_back(std::string(origin) + ": ignored address literal " + std::string(name));
        return;
    }
    const auto normalized = policy::normalize_domain(name);
    if (!normalized) {
        d->log_lines.push_back(std::string(origin) + ": ignored \"" + std::string(name) + "\": not a domain name");
        return;
    }
    if (is_localhost(*normalized)) return;
    if (std::find(d->domains.begin(), d->domains.end(), *normalized) == d->domains.end())
        d->domains.push_back(*normalized);
    found->push_back(*normalized);
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out;
}

void from_postfix(const DiscoveryPaths& paths, Discovery* d) {
    if (paths.postconf.empty()) return;
    const CommandResult r = run_command(
        {paths.postconf, "-x", "-h", "mydestination", "relay_domains", "virtual_mailbox_domains"},
        paths.postconf_timeout);
    const std::string origin = "postfix (" + paths.postconf + ")";
    if (!r.ran) {
        d->log_lines.push_back(origin + ": " + r.failure);
        return;
    }
    if (r.exit_status != 0) {
        std::string why = r.err.substr(0, r.err.find('\n'));
        d->log_lines.push_back(origin + ": exited with status " + std::to_string(r.exit_status) +
                               (why.empty() ? "" : ": " + why));
        return;
    }
    std::vector<std::string> found;
    // postconf prints one line per parameter; Postfix lists are separated
    // by commas and/or whitespace.
    std::string token;
    auto flush = [&] {
        if (token.empty()) return;
        // Lookup tables ("hash:/etc/postfix/relay_domains") and files
        // ("/etc/postfix/domains") would need Postfix's own readers.
        if (token.front() == '/' || (token.find(':') != std::string::npos && token.front() != '[')) {
            d->log_lines.push_back(origin + ": not read: " + token +
                                   " (a lookup table or file; list its domains as [[accepted_domain]])");
        } else {
            add_domain(token, origin, d, &found);
        }
        token.clear();
    };
    for (const char ch : r.out) {
        if (ch == ',' || std::isspace(static_cast<unsigned char>(ch))) flush();
        else token.push_back(ch);
    }
    flush();
    d->log_lines.push_back(origin + ": " + (found.empty() ? std::string("no domains") : join(found)));
}

void from_sendmail_file(const std::string& path, Discovery* d) {
    if (path.empty()) return;
    std::ifstream in(path);
    if (!in) {
        d->log_lines.push_back("sendmail " + path + ": not present");
        return;
    }
    std::vector<std::string> found;
    std::string line;
    while (std::getline(in, line)) {
        std::string_view entry = line;
        if (const auto hash = entry.find('#'); hash != std::string_view::npos) entry = entry.substr(0, hash);
        // One name per line; be lenient about several separated by blanks.
        std::string token;
        for (const char ch : entry) {
            if (std::isspace(static_cast<unsigned char>(ch))) {
                add_domain(token, "sendmail " + path, d, &found);
                token.clear();
            } else {
                token.push_back(ch);
            }
        }
        add_domain(token, "sendmail " + path, d, &found);
    }
    d->log_lines.push_back("sendmail " + path + ": " + (found.empty() ? std::string("no domains") : join(found)));
}

}  // namespace

Discovery discover_mta_domains(const DiscoveryPaths& paths) {
    Discovery d;
    from_postfix(paths, &d);
    from_sendmail_file(paths.sendmail_local_host_names, &d);
    from_sendmail_file(paths.sendmail_relay_domains, &d);
    if (!d.domains.empty()) return d;

    const std::string host = paths.host_name.empty() ? local_host_name() : paths.host_name;
    const auto dot = host.find('.');
    if (dot == std::string::npos || dot + 1 >= host.size()) {
        d.log_lines.push_back("host name \"" + host +
                              "\" has no domain: no accepted domains; every recipient counts as relay");
        return d;
    }
    std::vector<std::string> found;
    add_domain(host.substr(dot + 1), "host name " + host, &d, &found);
    if (!found.empty()) d.log_lines.push_back("host name " + host + ": using its domain " + found.front());
    return d;
}

}  // namespace config
