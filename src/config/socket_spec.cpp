#include "config/socket_spec.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>

#include "util/ascii.hpp"

namespace config {

std::string SocketSpec::libmilter_form() const {
    switch (kind) {
    case Kind::Unix: return "local:" + path;
    case Kind::Inet:
    case Kind::Inet6: {
        std::string out = (kind == Kind::Inet ? "inet:" : "inet6:") + std::to_string(port);
        if (!host.empty()) out += "@" + host;
        return out;
    }
    }
    return {};
}

std::optional<SocketSpec> parse_socket_spec(std::string_view spec, std::string* why) {
    auto refuse = [&](std::string message) -> std::optional<SocketSpec> {
        if (why) *why = std::move(message);
        return std::nullopt;
    };
    SocketSpec out;
    if (!spec.empty() && spec.front() == '/') {
        out.path = std::string(spec);
        return out;
    }
    const auto colon = spec.find(':');
    if (colon == std::string_view::npos)
        return refuse("expected inet:PORT@HOST, inet6:PORT@HOST, local:/path or unix:/path");
    const std::string type = util::ascii_lower(spec.substr(0, colon));
    const std::string_view rest = spec.substr(colon + 1);
    if (type == "local" || type == "unix") {
        if (rest.empty() || rest.front() != '/')
            return refuse("a local socket needs an absolute path (local:/run/connector-milter/milter.sock)");
        out.path = std::string(rest);
        return out;
    }
    if (type != "inet" && type != "inet6")
        return refuse("unknown socket type '" + type + "': use inet, inet6, local or unix");
    out.kind = type == "inet" ? SocketSpec::Kind::Inet : SocketSpec::Kind::Inet6;
    const auto at = rest.find('@');
    const std::string_view port = rest.substr(0, at);
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
        return refuse("the port must be a number from 1 to 65535 (inet:8894@127.0.0.1)");
    out.port = static_cast<std::uint16_t>(value);
    if (at != std::string_view::npos) {
        if (at + 1 == rest.size()) return refuse("nothing after '@': name the host or address to listen on");
        out.host = std::string(rest.substr(at + 1));
    }
    return out;
}

}  // namespace config

namespace config {

std::optional<SocketSpec> parse_metrics_listen(std::string_view listen, std::string* why) {
    auto refuse = [&](std::string message) -> std::optional<SocketSpec> {
        if (why) *why = std::move(message);
        return std::nullopt;
    };
    const std::string lower = util::ascii_lower(listen.substr(0, std::min<std::size_t>(listen.size(), 6)));
    if (lower.rfind("unix:", 0) == 0 || lower.rfind("local:", 0) == 0) {
        auto spec = parse_socket_spec(listen);
        if (!spec) return refuse("a unix socket needs an absolute path (unix:/run/connector-milter/metrics.sock)");
        // sockaddr_un's sun_path (108 bytes on Linux) with its NUL.
        if (spec->path.size() >= sizeof(sockaddr_un{}.sun_path))
            return refuse("the socket path is longer than " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) +
                          " bytes, the most a unix-domain socket address holds");
        return spec;
    }
    SocketSpec out;
    std::string_view port;
    if (!listen.empty() && listen.front() == '[') {
        const auto close = listen.find(']');
        if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
            return refuse("expected [IPV6-ADDRESS]:PORT, e.g. [::1]:9892");
        out.kind = SocketSpec::Kind::Inet6;
        out.host = std::string(listen.substr(1, close - 1));
        in6_addr a6{};
        if (inet_pton(AF_INET6, out.host.c_str(), &a6) != 1)
            return refuse("'" + out.host + "' is not an IPv6 address (a host name is not resolved here)");
        port = listen.substr(close + 2);
    } else {
        const auto colon = listen.rfind(':');
        if (colon == std::string_view::npos || colon == 0)
            return refuse("expected ADDRESS:PORT (127.0.0.1:9892), [IPV6-ADDRESS]:PORT ([::1]:9892) or unix:/path");
        out.kind = SocketSpec::Kind::Inet;
        out.host = std::string(listen.substr(0, colon));
        in_addr a4{};
        if (inet_pton(AF_INET, out.host.c_str(), &a4) != 1)
            return refuse("'" + out.host + "' is not an IPv4 address (a host name is not resolved here; write an "
                          "IPv6 address in brackets, [::1]:9892)");
        port = listen.substr(colon + 1);
    }
    unsigned value = 0;
    const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
        return refuse("the port must be a number from 1 to 65535 (127.0.0.1:9892)");
    out.port = static_cast<std::uint16_t>(value);
    return out;
}

}  // namespace config
