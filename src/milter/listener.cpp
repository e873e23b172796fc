#include "milter/listener.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace milter {

namespace {

int fail(std::string* error, const std::string& what, int fd = -1) {
    if (error) *error = what + ": " + std::strerror(errno);
    if (fd >= 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
    }
    return -1;
}

int open_unix(const std::string& path, std::string* error) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return fail(error, path);
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    // A socket left by an earlier run would make bind fail; anything else
    // at that path is not ours to remove.
    struct stat st{};
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(error, "socket");
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return fail(error, "bind " + path, fd);
    if (::listen(fd, SOMAXCONN) != 0) return fail(error, "listen " + path, fd);
    return fd;
}

int open_inet(int family, const std::string& port, const std::string& host, std::string* error) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        if (error) *error = "cannot resolve " + (host.empty() ? port : host) + ": " + gai_strerror(rc);
        return -1;
    }
    int fd = -1;
    std::string last = "no address";
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = std::string("socket: ") + std::strerror(errno);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) break;
        last = std::string("bind: ") + std::strerror(errno);
        ::close(fd);
        fd = -1;
    }
    ::freeaddrinfo(found);
    if (fd < 0 && error) *error = last;
    return fd;
}

}  // namespace

int open_listener(const config::SocketSpec& spec, std::string* error) {
    switch (spec.kind) {
    case config::SocketSpec::Kind::Unix: return open_unix(spec.path, error);
    case config::SocketSpec::Kind::Inet:
    case config::SocketSpec::Kind::Inet6:
        return open_inet(spec.kind == config::SocketSpec::Kind::Inet ? AF_INET : AF_INET6,
                         std::to_string(spec.port), spec.host, error);
    }
    if (error) *error = "unknown socket type";
    return -1;
}

}  // namespace milter
