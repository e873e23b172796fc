#include "metrics/endpoint.hpp"

#include <microhttpd.h>
#include <prometheus/text_serializer.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>

#include "log/log.hpp"
#include "metrics/catalogue.hpp"
#include "milter/listener.hpp"

namespace metrics {

namespace {

// The Prometheus text format, version 0.0.4 (what prometheus-cpp writes).
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

MHD_Result answer(MHD_Connection* connection, unsigned status, const std::string& body, const char* content_type) {
    MHD_Response* response =
        MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    const MHD_Result queued = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return queued;
}

// libmicrohttpd's request callback, on its thread. No exception may leave
// it (a C library's callback): a failed collection is a 500.
MHD_Result serve(void*, MHD_Connection* connection, const char* url, const char* method, const char*,
                 const char*, std::size_t*, void**) {
    try {
        if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && std::strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return answer(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
        if (std::strcmp(url, "/metrics") != 0)
            return answer(connection, MHD_HTTP_NOT_FOUND, "the metrics are at /metrics\n", "text/plain");
        const std::string body = prometheus::TextSerializer().Serialize(registry().collect());
        return answer(connection, MHD_HTTP_OK, body, kContentType);
    } catch (const std::exception& e) {
        daemon_log::warning(std::string("metrics: a scrape failed: ") + e.what());
        return answer(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n", "text/plain");
    }
}

// libmicrohttpd's own complaints (a failed accept, a connection limit hit)
// go to our log.
void log_library(void*, const char* format, va_list args) {
    char line[512];
    std::vsnprintf(line, sizeof line, format, args);
    std::string text(line);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    daemon_log::warning("metrics endpoint (libmicrohttpd): " + text);
}

}  // namespace

void remove_endpoint_socket(const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
}

struct Endpoint::Impl {
    MHD_Daemon* daemon = nullptr;
    std::string unix_path;  // empty for IP listeners
};

Endpoint::Endpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// MHD_stop_daemon wakes the polling thread through its ITC, closes the
// connections and the listening socket, and joins the thread.
Endpoint::~Endpoint() {
    if (!impl_) return;
    if (impl_->daemon) MHD_stop_daemon(impl_->daemon);
    if (!impl_->unix_path.empty()) remove_endpoint_socket(impl_->unix_path);
}

std::unique_ptr<Endpoint> Endpoint::start(const config::SocketSpec& listen, std::optional<UnixSocketOwner> owner,
                                          std::string* error) {
    std::string ignored;
    if (!error) error = &ignored;
    (void)catalogue();  // every family exists before the first scrape
    auto impl = std::make_unique<Impl>();
    const bool unix_socket = listen.kind == config::SocketSpec::Kind::Unix;
    // A unix socket is created owner-only and then given its mode, so that
    // it is never briefly wider than kEndpointSocketMode.
    const mode_t old_umask = unix_socket ? ::umask(0177) : 0;
    const int fd = milter::open_listener(listen, error);
    if (unix_socket) ::umask(old_umask);
    if (fd < 0) return nullptr;
    if (unix_socket) {
        impl->unix_path = listen.path;
        if (::chmod(listen.path.c_str(), kEndpointSocketMode) != 0 ||
            (owner && ::chown(listen.path.c_str(), owner->uid, owner->gid) != 0)) {
            *error = "cannot set the mode or owner of " + listen.path + ": " + std::strerror(errno);
            ::close(fd);
            remove_endpoint_socket(listen.path);
            return nullptr;
        }
    }
    impl->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, nullptr, nullptr, serve,
        nullptr, MHD_OPTION_EXTERNAL_LOGGER, log_library, nullptr, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, kEndpointConnectionLimit, MHD_OPTION_CONNECTION_TIMEOUT,
        kEndpointIdleTimeoutSeconds, MHD_OPTION_END);
    if (impl->daemon == nullptr) {
        *error = "libmicrohttpd could not start serving";
        ::close(fd);
        if (unix_socket) remove_endpoint_socket(listen.path);
        return nullptr;
    }
    return std::unique_ptr<Endpoint>(new Endpoint(std::move(impl)));
}

}  // namespace metrics
