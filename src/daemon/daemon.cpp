#include "config/socket_spec.hpp"
#include "daemon/daemon.hpp"
#include "daemon/allocator.hpp"
#include "dns/unbound_resolver.hpp"

#include "auth/dkim_sign_options.hpp"

#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <openssl/crypto.h>
#if defined(__SANITIZE_ADDRESS__)
#define CM_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CM_LEAK_CHECK 1
#endif
#endif
#ifndef CM_LEAK_CHECK
#define CM_LEAK_CHECK 0
#endif
#if CM_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "config.h"
#include "daemon/cluster.hpp"
#include "daemon/spf_log.hpp"
#include "daemon/config_loader.hpp"
#include "daemon/dmarc_recording.hpp"
#include "daemon/descriptors.hpp"
#include "daemon/service_manager.hpp"
#include "log/log.hpp"
#include "metrics/endpoint.hpp"
#include "metrics/catalogue.hpp"
#include "milter/adapter.hpp"
#include "milter/engine.hpp"
#include "milter/listener.hpp"
#include "util/plural.hpp"

namespace daemon_main {

namespace {

struct Options {
    std::string config_path = kDefaultConfigPath;
    bool config_given = false;  // -c: the file must exist
    bool foreground = false;
    bool check_only = false;
    bool print_default = false;
    bool stay_root = false;   // -R: the administrator wants it to keep running as root
    std::string socket;       // -p: overrides [milter] socket
    std::string user;         // -u USER[:GROUP]
    std::string pidfile;      // -P
};

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: connector-milter [-c FILE] [-f] [-n] [-p SOCKET] [-u USER[:GROUP] | -R] [-P PIDFILE] [-V] [-d]\n"
                 "       connector-milter explain [-c FILE] --local ADDR:PORT --client IP [options]\n"
                 "       connector-milter status [--metrics URL | -c FILE] [--interval SECONDS]\n"
                 "  -c FILE   configuration; it must exist and be readable. Without -c: %s,\n"
                 "            or the embedded default policy when that file does not exist\n"
                 "  -f        stay in the foreground and log to stderr\n"
                 "  -n        check the configuration and exit (non-zero with file:line: message on error)\n"
                 "  -p SOCKET listen on SOCKET: inet:PORT@HOST, inet6:PORT@HOST, unix:/path or local:/path\n"
                 "  -u USER[:GROUP]  drop privileges to USER after opening the socket\n"
                 "  -R        keep running as root (refused otherwise when started as root without -u)\n"
                 "  -P FILE   write the process id to FILE (with -u, in a folder USER may write to,\n"
                 "            so that it can be removed at exit; a missing last folder is created)\n"
                 "  -d        print the embedded default configuration for this host and exit\n"
                 "  -V, --version  print the version and exit\n"
                 "  -h, --help     print this help and exit\n",
                 kDefaultConfigPath);
}

std::string g_config_path;
// Whether a reload may fall back to the embedded default: only when it runs
// already (no -c, no default file). A policy read from a file is never
// replaced by another one because the file went missing.
std::atomic<bool> g_reload_may_embed{false};
// [cluster] redis at start: the store is not rebuilt on reload.
std::string g_cluster_redis;

void log_findings(const Loaded& loaded) {
    for (auto& w : loaded.warnings) daemon_log::warning(w);
    for (auto& n : loaded.notes) daemon_log::info(n);
}

std::string policy_summary(const Loaded& loaded) {
    const auto& config = *loaded.runtime->config;
    return util::count_of(config.connectors.connectors().size(), "connector") + ", " +
           util::count_of(config.accepted_domains.entries().size(), "accepted domain");
}

// The one-line STATUS= of the service manager: where the daemon listens
// (set once before the engine starts) and what runs there.
std::string g_status_prefix;
std::string g_policy_status;

std::string policy_source(const Loaded& loaded) {
    return loaded.embedded ? std::string("the embedded default policy") : g_config_path;
}

std::string time_of_day() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char text[16];
    std::strftime(text, sizeof text, "%H:%M:%S", &tm);
    return text;
}

void reload() {
    service_manager::reloading();
    auto loaded = load(g_config_path, g_reload_may_embed ? MissingFile::MeansEmbeddedDefault : MissingFile::IsAnError);
    if (!loaded.runtime) {
        metrics::catalogue().config_reloads.with({"failed"}).inc();
        daemon_log::error("reload of " + g_config_path + " failed; keeping the running configuration:");
        for (auto& e : loaded.errors) daemon_log::error("  " + e);
        service_manager::ready(g_status_prefix + "; reload at " + time_of_day() + " failed (" +
                               (loaded.errors.empty() ? std::string("see the log") : loaded.errors.front()) +
                               "), running " + g_policy_status);
        return;
    }
    daemon_log::set_format(loaded.runtime->config->milter.log_format);
    log_findings(loaded);
    milter::Registry::instance().set_runtime(loaded.runtime);
    metrics::catalogue().config_reloads.with({"ok"}).inc();
    metrics::config_loaded_now();
    g_reload_may_embed = loaded.embedded;
    if (loaded.runtime->config->cluster.redis != g_cluster_redis)
        daemon_log::warning("reload: [cluster] changed; where limits are counted changes at the next restart only");
    daemon_log::info("reloaded " + policy_source(loaded) + ": " + policy_summary(loaded) +
                     "; new connections use it, sessions in flight keep theirs");
    g_policy_status = policy_source(loaded) + " (" + policy_summary(loaded) + ", reloaded at " + time_of_day() + ")";
    service_manager::ready(g_status_prefix + ", " + g_policy_status);
}

// Signals (libmilter engine; the native engine handles them in its event
// loop, see milter/engine.hpp). libmilter starts a thread of its own that waits with sigwait()
// for SIGHUP, SIGTERM and SIGINT and then stops at once, abandoning the
// sessions that wait for their next command. Which of two waiting threads
// the kernel hands a process signal to is not defined, so instead of racing
// it, the daemon takes sigwait() from libmilter (below): libmilter's signal
// thread stays parked for good, and every signal goes to our thread, which
// waits with sigwaitinfo().
//
// The stop does not go through libmilter either. smfi_stop() closes the
// listening socket under a lock that libmilter's listener holds for its
// whole accept poll of up to 5 s, and the listener destroys that lock, and
// libmilter's atexit handler its other one, while a stopping thread may
// still be using them (ThreadSanitizer reports each). After the drain no
// session is left to serve, so the daemon ends the process itself: it
// removes its pid file and unix socket, runs the leak check in sanitizer
// builds, and _exit()s, leaving libmilter's threads and their memory to the
// kernel.
std::optional<std::string> g_socket_path;
// The metrics endpoint's unix socket ([metrics] listen = "unix:/path"),
// removed on the same exit paths.
std::optional<std::string> g_metrics_socket_path;

// The pid file. It is written as root before -u drops privileges, and
// removed at exit as USER: that needs write access to its folder, so a
// missing last folder is created for USER. Where USER cannot remove the file
// (a folder only root may write to), the descriptor kept open from before
// the drop empties it, so that no stale process id is left behind.
std::string g_pidfile;
int g_pidfile_fd = -1;

void remove_pidfile() {
    if (g_pidfile.empty()) return;
    if (unlink(g_pidfile.c_str()) == 0 || errno == ENOENT) return;
    // check_pidfile_removable() warned at start; leave no stale process id.
    if (g_pidfile_fd >= 0) (void)!ftruncate(g_pidfile_fd, 0);
}

void log_drain_started(std::chrono::seconds timeout, int sessions) {
    const std::string waiting = "waiting up to " + std::to_string(timeout.count()) + " s for " +
                                util::count_of(static_cast<std::size_t>(sessions), "session") + " in flight";
    service_manager::stopping("stopping: " + waiting);
    daemon_log::info("stopping: new connections get 421 4.3.2; " + waiting);
}

// Sessions still open are cut short: the MTA then applies its
// milter_default_action (tempfail) to them.
void log_stopped(int left) {
    if (left > 0)
        daemon_log::warning("stopped, " + util::count_of(static_cast<std::size_t>(left), "session") +
                            " cut short after the drain timeout");
    else
        daemon_log::info("stopped");
}

void remove_runtime_files() {
    remove_pidfile();
    if (g_metrics_socket_path) metrics::remove_endpoint_socket(*g_metrics_socket_path);
    struct stat st{};
    if (g_socket_path && lstat(g_socket_path->c_str(), &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(g_socket_path->c_str());
}

[[noreturn]] void drain_and_exit(std::chrono::seconds timeout) {
    auto& registry = milter::Registry::instance();
    registry.start_draining();
    log_drain_started(timeout, registry.active_sessions());
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (registry.active_sessions() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    log_stopped(registry.active_sessions());
    // The process ends with _exit(): what the DMARC report recorder still
    // holds is stored first (a bounded wait).
    flush_dmarc_recorder(std::chrono::seconds(5));
    remove_runtime_files();
    std::fflush(nullptr);
#if CM_LEAK_CHECK
    __lsan_do_leak_check();
#endif
    _exit(0);
}

void signal_thread() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
    for (;;) {
        const int sig = sigwaitinfo(&set, nullptr);
        if (sig < 0) continue;  // EINTR
        if (sig == SIGUSR1) {
            reload();
            continue;
        }
        auto runtime = milter::Registry::instance().runtime();
        drain_and_exit(runtime->config->milter.drain_timeout);
    }
}

bool start_signal_thread() {
    std::thread(signal_thread).detach();
    return true;
}

// libmilter writes a reply as several small packets at end of message (a
// header change, then the verdict); with Nagle's algorithm the second waits
// for the MTA's delayed ACK, about 40 ms per message. libmilter offers no
// hook on accepted sockets, but Linux copies TCP_NODELAY from the listening
// socket to every accepted one, so it is set on the listener it opened.
void disable_nagle_on_listeners() {
    for (int fd = 0; fd < 1024; ++fd) {
        int listening = 0, domain = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
        len = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) continue;
        if (domain != AF_INET && domain != AF_INET6) continue;
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            daemon_log::warning(std::string("cannot set TCP_NODELAY on the milter socket: ") + std::strerror(errno));
    }
}

struct User {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

// -u USER[:GROUP]; logs why not.
std::optional<User> find_user(const std::string& spec) {
    std::string user = spec, group;
    if (auto colon = spec.find(':'); colon != std::string::npos) {
        user = spec.substr(0, colon);
        group = spec.substr(colon + 1);
    }
    errno = 0;
    passwd* pw = getpwnam(user.c_str());
    if (!pw) {
        daemon_log::error("-u " + spec + ": no such user " + user);
        return std::nullopt;
    }
    User found{pw->pw_name, pw->pw_uid, pw->pw_gid};
    if (!group.empty()) {
        struct group* gr = getgrnam(group.c_str());
        if (!gr) {
            daemon_log::error("-u " + spec + ": no such group " + group);
            return std::nullopt;
        }
        found.gid = gr->gr_gid;
    }
    return found;
}

bool drop_privileges(const std::string& spec, const User& user) {
    if (getuid() != 0) {
        if (getuid() == user.uid) return true;
        daemon_log::error("-u " + spec + ": only root can change user");
        return false;
    }
    if (initgroups(user.name.c_str(), user.gid) != 0 || setgid(user.gid) != 0 || setuid(user.uid) != 0) {
        daemon_log::error("-u " + spec + ": cannot change to that user: " + std::strerror(errno));
        return false;
    }
    return true;
}

std::string folder_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Writes the pid file before the drop to `user` (if any). A missing last
// folder is created for that user. O_NOFOLLOW: the folder may belong to the
// unprivileged user, who must not be able to point root at another file.
void write_pidfile(const std::string& path, const std::optional<User>& user) {
    const std::string folder = folder_of(path);
    struct stat st{};
    if (stat(folder.c_str(), &st) != 0 && errno == ENOENT) {
        if (mkdir(folder.c_str(), 0755) != 0)
            daemon_log::warning("cannot create the pid file's folder " + folder + ": " + std::strerror(errno));
        else if (user && geteuid() == 0 && chown(folder.c_str(), user->uid, user->gid) != 0)
            daemon_log::warning("cannot give " + folder + " to " + user->name + ": " + std::strerror(errno));
    }
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        daemon_log::warning("cannot write pid file " + path + ": " + std::strerror(errno));
        return;
    }
    const std::string pid = std::to_string(getpid()) + "\n";
    if (::write(fd, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
        daemon_log::warning("cannot write pid file " + path + ": " + std::strerror(errno));
    g_pidfile = path;
    g_pidfile_fd = fd;
}

// After the drop: can this process remove its pid file at exit?
void check_pidfile_removable(const std::string& user) {
    if (g_pidfile.empty()) return;
    const std::string folder = folder_of(g_pidfile);
    if (access(folder.c_str(), W_OK | X_OK) == 0) return;
    daemon_log::warning("pid file " + g_pidfile + ": " + user + " may not write to " + folder +
                        ", so the file cannot be removed at exit (it will be emptied instead); give -P a path in a "
                        "folder " + user + " may write to, e.g. /run/connector-milter/connector-milter.pid");
}

// Sizes the descriptor budget from what is open now (listener, log, DNS)
// and says so, with a warning for connectors that allow more connections
// than the budget holds.
void log_descriptor_budget(const OpenFilesLimit& limit, const config::Config& config) {
    if (!limit.problem.empty())
        daemon_log::warning("cannot raise the open files limit (" + limit.problem + "); it stays at " +
                            std::to_string(limit.soft));
    const std::size_t open = open_descriptors();
    // libunbound's sockets beyond its own defaults (dns::upstream_sockets,
    // from the same limit) are set aside as well.
    const unsigned dns_sockets = dns::upstream_sockets(limit.soft).total();
    // So are those of the native engine's event loops, opened after this
    // (read at start, as the engine is).
    const std::size_t loop_descriptors =
        config.milter.engine == config::MilterEngine::Native
            ? milter::engine_descriptors(milter::event_loop_count(config.milter.event_loops))
            : 0;
    const auto reserve = config.milter.descriptor_reserve;
    const auto budget = connection_budget(
        limit.soft, open + (dns_sockets - dns::kLibunboundDefaultSockets) + loop_descriptors, reserve);
    milter::Registry::instance().connections().set_budget(budget);
    daemon_log::info("open files limit " + std::to_string(limit.soft) +
                     (limit.soft != limit.previous ? " (raised from " + std::to_string(limit.previous) + ")" : "") +
                     ", hard limit " + std::to_string(limit.hard) + ", " + std::to_string(open) +
                     " open, descriptor_reserve " + std::to_string(reserve) +
                     ", DNS sockets " + std::to_string(dns_sockets) + " (" +
                     std::to_string(dns_sockets - dns::kLibunboundDefaultSockets) + " set aside besides): up to " +
                     std::to_string(budget.sessions) + " milter sessions, then 421 4.3.2; beyond " +
                     std::to_string(budget.connections) + " connections, closed at negotiation");
    for (const auto& c : config.connectors.connectors()) {
        if (!c.max_inbound_connection || *c.max_inbound_connection <= budget.sessions) continue;
        daemon_log::warning("connector \"" + c.name + "\": max_inbound_connection " +
                            std::to_string(*c.max_inbound_connection) + " is more than the " +
                            std::to_string(budget.sessions) +
                            " sessions the open files limit allows; raise LimitNOFILE (systemd) or ulimit -n");
    }
}

bool daemonize() {
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid > 0) _exit(0);
    setsid();
    if (chdir("/") != 0) return false;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2) close(null);
    }
    return true;
}

}  // namespace

int run_daemon(int argc, char** argv) {
    // OpenSSL (DKIM) would tear itself down in an atexit handler while
    // libmilter's worker threads may still be alive and hold OpenSSL
    // per-thread state; the daemon leaves that memory to the kernel at exit
    // instead. The first OpenSSL call decides, so this comes first.
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
    // Before any thread starts (daemon/allocator.hpp).
    tune_allocator();
    Options opt;
    int c;
    opterr = 0;
    static const option long_options[] = {
        {"help", no_argument, nullptr, 'h'}, {"version", no_argument, nullptr, 'V'}, {nullptr, 0, nullptr, 0}};
    while ((c = getopt_long(argc, argv, "c:fnp:u:P:RVdh", long_options, nullptr)) != -1) {
        switch (c) {
            case 'c':
                opt.config_path = optarg;
                opt.config_given = true;
                break;
            case 'f': opt.foreground = true; break;
            case 'n': opt.check_only = true; break;
            case 'p': opt.socket = optarg; break;
            case 'u': opt.user = optarg; break;
            case 'R': opt.stay_root = true; break;
            case 'P': opt.pidfile = optarg; break;
            case 'd': opt.print_default = true; break;
            case 'V': std::printf("connector-milter %s\n", PACKAGE_VERSION); return 0;
            case 'h': usage(stdout); return 0;
            default:
                if (optopt != 0)
                    std::fprintf(stderr, "connector-milter: unknown option or missing argument: -%c\n", optopt);
                else
                    std::fprintf(stderr, "connector-milter: unknown option: %s\n", argv[optind - 1]);
                usage(stderr);
                return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "connector-milter: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (opt.print_default) {
        std::fputs(config::embedded_default_text(config::discover_mta_domains()).c_str(), stdout);
        return 0;
    }

    daemon_log::init(opt.foreground || opt.check_only);
    route_libspf2_messages();
    // Before anything opens descriptors, and before threads exist.
    const OpenFilesLimit open_files = opt.check_only ? OpenFilesLimit{} : raise_open_files_limit();
    g_config_path = opt.config_path;
    auto loaded = load(opt.config_path, opt.config_given ? MissingFile::IsAnError : MissingFile::MeansEmbeddedDefault);
    if (!loaded.runtime) {
        for (auto& e : loaded.errors) {
            if (opt.check_only) std::fprintf(stderr, "%s\n", e.c_str());
            else daemon_log::error(e);
        }
        if (!opt.check_only) daemon_log::error("configuration has errors; not starting");
        return 1;
    }
    if (opt.check_only) {
        for (auto& w : loaded.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        for (auto& n : loaded.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
        std::printf("%s: OK (%s)\n", loaded.embedded ? "(embedded default)" : opt.config_path.c_str(),
                    policy_summary(loaded).c_str());
        // What DKIM signing will sign with (issue 15): each key, then each
        // signing table entry, in the order they are tried.
        const auto& signing = loaded.runtime->config->dkim_signing;
        for (const auto& k : signing.keys)
            std::printf("dkim key %s: d=%s s=%s a=%s (%u bits) from %s (%s)\n", k.name.c_str(), k.domain.c_str(),
                        k.selector.c_str(), std::string(auth::dkim_sign_algorithm(k.type)).c_str(), k.bits,
                        k.file.c_str(), k.origin.c_str());
        for (const auto& r : signing.rules) {
            std::string keys;
            for (const auto& k : r.keys) keys += (keys.empty() ? "" : ", ") + k;
            std::printf("dkim signing %s %s -> %s (%s)\n",
                        r.kind == auth::DkimSigningRule::Kind::Exact ? "entry" : "pattern", r.pattern.c_str(),
                        keys.c_str(), r.origin.c_str());
        }
        return 0;
    }
    daemon_log::set_format(loaded.runtime->config->milter.log_format);
    log_findings(loaded);
    g_reload_may_embed = loaded.embedded;
    // A filter that parses every byte a client sends should not do so as
    // root: refuse unless told where to go (-u) or told explicitly (-R).
    if (geteuid() == 0 && opt.user.empty() && !opt.stay_root) {
        daemon_log::error("refusing to run as root: give -u USER[:GROUP] to drop privileges after opening "
                          "the socket, or -R to stay root on purpose");
        return 1;
    }
    // Looked up before anything is opened or forked, so that a typo in -u
    // ends the start with status 1 where the administrator sees it.
    std::optional<User> user;
    if (!opt.user.empty() && !(user = find_user(opt.user))) return 1;
    const auto& milter_settings = loaded.runtime->config->milter;
    const auto& cluster = loaded.runtime->config->cluster;
    g_cluster_redis = cluster.redis;
    // Before privileges are dropped: the file may be root's alone.
    std::string cluster_password;
    if (cluster.enabled) {
        std::string why;
        const auto password = read_cluster_password(cluster, &why);
        if (!password) {
            daemon_log::error(why);
            return 1;
        }
        cluster_password = *password;
        set_dmarc_cluster_password(cluster_password);
    }
    const std::string socket = opt.socket.empty() ? milter_settings.socket : opt.socket;
    std::string socket_error;
    const auto spec = config::parse_socket_spec(socket, &socket_error);
    if (!spec) {
        daemon_log::error("bad socket \"" + socket + "\": " + socket_error);
        return 1;
    }
    milter::Registry::instance().set_runtime(loaded.runtime);
    metrics::config_loaded_now();

    // Signals are blocked before any thread exists, so that every thread
    // inherits the mask: libmilter's own signal thread takes SIGHUP, SIGTERM
    // and SIGINT, ours takes SIGUSR1.
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // unblocked again only in the signal thread

    const bool native = milter_settings.engine == config::MilterEngine::Native;
    std::string conn = spec->libmilter_form();
    if (!native &&
        (smfi_setconn(conn.data()) != MI_SUCCESS || smfi_register(milter::filter_description()) != MI_SUCCESS)) {
        daemon_log::error("cannot register the filter with libmilter");
        return 1;
    }
    const std::optional<std::string> path =
        spec->kind == config::SocketSpec::Kind::Unix ? std::optional<std::string>(spec->path) : std::nullopt;
    // With socket_mode set, the unix socket is created owner-only and then
    // given its mode, so that it is never briefly wider than configured.
    const bool restrict_socket = path && milter_settings.socket_mode;
    mode_t old_umask = restrict_socket ? umask(0177) : 0;
    int listen_fd = -1;
    if (native) {
        std::string why;
        listen_fd = milter::open_listener(*spec, &why);
        if (listen_fd < 0) {
            daemon_log::error("cannot open socket " + socket + ": " + why);
            return 1;
        }
    } else if (smfi_opensocket(true) != MI_SUCCESS) {
        daemon_log::error("cannot open socket " + socket + ": " + std::strerror(errno));
        return 1;
    }
    if (restrict_socket) umask(old_umask);
    if (!native) disable_nagle_on_listeners();
    if (path) {
        if (milter_settings.socket_mode && chmod(path->c_str(), *milter_settings.socket_mode) != 0)
            daemon_log::warning("chmod " + *path + ": " + std::strerror(errno));
        if (!milter_settings.socket_group.empty()) {
            group* gr = getgrnam(milter_settings.socket_group.c_str());
            if (!gr || chown(path->c_str(), static_cast<uid_t>(-1), gr->gr_gid) != 0)
                daemon_log::warning("cannot give " + *path + " to group " + milter_settings.socket_group);
        }
    }
    if (!opt.foreground) {
        if (!daemonize()) {
            daemon_log::error(std::string("cannot become a daemon: ") + std::strerror(errno));
            return 1;
        }
        daemon_log::detached();
    }
    // [metrics] listen: libmicrohttpd's thread starts here, after the fork;
    // before the privilege drop, so that a unix socket can be given to the
    // user the daemon runs as.
    std::unique_ptr<metrics::Endpoint> metrics_endpoint;
    if (const auto& listen = loaded.runtime->config->metrics.listen; !listen.empty()) {
        std::string why;
        const auto metrics_spec = config::parse_metrics_listen(listen, &why);
        std::optional<metrics::UnixSocketOwner> owner;
        if (user) owner = metrics::UnixSocketOwner{user->uid, user->gid};
        if (metrics_spec) metrics_endpoint = metrics::Endpoint::start(*metrics_spec, owner, &why);
        if (!metrics_endpoint) {
            daemon_log::error("cannot serve metrics on " + listen + " ([metrics] listen): " + why);
            return 1;
        }
        if (metrics_spec->kind == config::SocketSpec::Kind::Unix) g_metrics_socket_path = metrics_spec->path;
        daemon_log::info("metrics at /metrics on " + listen);
    }
    if (!opt.pidfile.empty()) write_pidfile(opt.pidfile, user);
    if (user) {
        if (!drop_privileges(opt.user, *user)) {
            remove_pidfile();
            return 1;
        }
        check_pidfile_removable(user->name);
    }

    g_socket_path = path;
    // After the fork and the privilege drop: the store runs a thread.
    if (cluster.enabled) {
        try {
            milter::Registry::instance().shared()->limits =
                make_cluster_store(cluster, std::move(cluster_password), false);
        } catch (const std::exception& e) {
            daemon_log::error(std::string("[cluster]: ") + e.what());
            remove_pidfile();
            return 1;
        }
    }
    daemon_log::info(describe_cluster(cluster));
    const std::string listening = std::string("connector-milter ") + PACKAGE_VERSION + " listening on " + socket +
                                  " with " + policy_source(loaded) + " (" + policy_summary(loaded) +
                                  ", authserv-id " + loaded.runtime->authserv_id;
    g_status_prefix = std::string("listening on ") + socket + ", " + (native ? "native" : "libmilter") + " engine";
    g_policy_status = policy_source(loaded) + " (" + policy_summary(loaded) + ")";
    if (native) {
        // The native engine handles the signals in its loop and returns
        // after the drain: the process ends through main(), destructors
        // and leak checker included.
        log_descriptor_budget(open_files, *loaded.runtime->config);
        daemon_log::info(listening + ", native milter engine)");
        service_manager::ready(g_status_prefix + ", " + g_policy_status);
        milter::EngineOptions hooks;
        hooks.workers = milter_settings.workers;
        hooks.work_queue_limit = milter_settings.work_queue_limit;
        hooks.event_loops = milter_settings.event_loops;
        hooks.reload = reload;
        hooks.drain_started = log_drain_started;
        hooks.stopped = log_stopped;
        const int rc = milter::run_native_engine(listen_fd, hooks);
        ::close(listen_fd);
        // Sessions are over: the Redis client's thread ends here, before
        // the static objects it reads are destroyed on the way out.
        milter::Registry::instance().shared()->limits.reset();
        // The same for the DMARC report recorder's writer and store threads,
        // after it stored what it holds.
        stop_dmarc_recorder(std::chrono::seconds(5));
        remove_runtime_files();
        return rc;
    }
    if (!start_signal_thread()) {
        daemon_log::error(std::string("cannot set up signal handling: ") + std::strerror(errno));
        remove_pidfile();
        return 1;
    }
    // libmilter's own idle timeout (its default is 7210 s): with its worker
    // pool it is applied by a sweep once per 600 s, so the idle reaper does
    // the timely work; this one also covers connections that never send a
    // command, which the daemon never hears of.
    smfi_settimeout(static_cast<int>(milter_settings.idle_timeout.count()));
    log_descriptor_budget(open_files, *loaded.runtime->config);
    milter::Registry::instance().start_idle_reaper();
    daemon_log::info(listening + ", libmilter engine)");
    // smfi_opensocket() above listens already: connections wait in its queue.
    service_manager::ready(g_status_prefix + ", " + g_policy_status);
    // smfi_main() returns only when libmilter gives up (its listener failed);
    // a signal ends the process in drain_and_exit().
    const int rc = smfi_main();
    daemon_log::error("libmilter stopped serving (smfi_main returned " + std::to_string(rc) + ")");
    remove_pidfile();
    return 1;
}

}  // namespace daemon_main

// libmilter's signal thread calls sigwait() for SIGHUP/SIGTERM/SIGINT; this
// definition in the executable takes precedence over the C library's for
// calls from libmilter. It parks that thread for good (see signal_thread:
// the daemon drains and ends the process itself). Any other caller gets the
// real behaviour.
extern "C" int sigwait(const sigset_t* set, int* sig) {
    if (sigismember(set, SIGTERM) == 1) {
        for (;;) pause();  // every signal is blocked in this thread
    }
    const int got = sigwaitinfo(set, nullptr);
    if (got < 0) return errno;
    *sig = got;
    return 0;
}
