// The /metrics endpoint: metrics::registry() in the Prometheus text format
// (prometheus-cpp's TextSerializer), served over HTTP by libmicrohttpd.
// No HTTP code of ours.
//
// Why libmicrohttpd rather than prometheus-cpp's own Exposer: the Exposer
// serves through civetweb, and Debian 12 builds civetweb without IPv6 and
// without unix-domain sockets (mg_check_feature), so "[::1]:9892" and
// "unix:/path" could not be offered. libmicrohttpd (Debian's
// libmicrohttpd-dev, GNU, maintained) serves a listening socket handed to
// it (MHD_OPTION_LISTEN_SOCKET) whatever its family, so one code path
// serves all three forms: the socket is opened here with the milter
// socket's own code (milter::open_listener), and libmicrohttpd only speaks
// HTTP on it.
//
// Threads: one of libmicrohttpd's, polling its connections (an event loop,
// so a slow or silent client does not hold up the next scrape). A scrape
// copies the counters' values (atomic loads) under the families' mutexes,
// which sessions never take once their counters are resolved: a scrape
// never holds up a session. Stopping wakes that thread through its
// inter-thread channel (MHD_USE_ITC): no wait for a poll timeout.
#pragma once
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "config/socket_spec.hpp"

namespace metrics {

// Limits of the endpoint, documented in connector-milter.conf(5), [metrics].
// Connections served at once (more wait in the listen queue); a scrape is
// one short request, so a few are plenty for Prometheus and a status.
inline constexpr unsigned kEndpointConnectionLimit = 16;
// A connection idle this long is closed (a client that never sends its
// request, or keeps an idle keep-alive).
inline constexpr unsigned kEndpointIdleTimeoutSeconds = 10;
// A unix socket's mode: its owner (the daemon's user) and group may
// connect; nobody else.
inline constexpr mode_t kEndpointSocketMode = 0660;

struct UnixSocketOwner {
    uid_t uid;
    gid_t gid;
};

class Endpoint {
public:
    // Listens on `listen` (config::parse_metrics_listen) and serves GET
    // /metrics; null with `error` set when it cannot (the port is taken,
    // the folder does not exist). A unix socket replaces a stale socket
    // left at that path (never another kind of file), gets mode
    // kEndpointSocketMode and, with `owner`, that owner (the user the
    // daemon drops to), and is removed when the Endpoint is destroyed.
    // Start it after fork(): threads do not survive one.
    static std::unique_ptr<Endpoint> start(const config::SocketSpec& listen, std::optional<UnixSocketOwner> owner,
                                           std::string* error);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

private:
    struct Impl;
    explicit Endpoint(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Removes the unix socket at `path` if a socket is there (not another kind
// of file): for the daemon's exit paths that do not destroy the Endpoint.
void remove_endpoint_socket(const std::string& path);

}  // namespace metrics
