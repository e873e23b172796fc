// The milter socket as administrators write it ([milter] socket, -p), parsed
// once: the config check (-n), the daemon (libmilter's smfi_setconn, the
// socket's mode and group) and the native engine's listener all use this.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace config {

struct SocketSpec {
    enum class Kind : std::uint8_t { Unix, Inet, Inet6 };
    Kind kind = Kind::Unix;
    std::string path;   // Unix: absolute path
    std::uint16_t port = 0;  // Inet, Inet6: 1-65535
    std::string host;   // Inet, Inet6: empty = every address

    // The form libmilter's smfi_setconn() takes: "local:/path",
    // "inet:PORT@HOST", "inet6:PORT@HOST" (no "@HOST" for every address).
    std::string libmilter_form() const;
};

// "inet:PORT@HOST", "inet6:PORT@HOST", "local:/path", "unix:/path", or a
// bare "/path" (a unix socket, as libmilter reads it). The type is
// case-insensitive. nullopt with `why` set for anything else.
std::optional<SocketSpec> parse_socket_spec(std::string_view spec, std::string* why = nullptr);

// [metrics] listen: "ADDRESS:PORT" with an IPv4 address ("127.0.0.1:9892";
// "0.0.0.0:9892" for every IPv4 address), "[ADDRESS]:PORT" with an IPv6
// one ("[::1]:9892"; "[::]:9892" for every address), or "unix:/path"
// (also "local:/path", read by parse_socket_spec). Addresses only: a host
// name is refused, as nothing resolves it at start. A unix path must fit
// in sockaddr_un (107 bytes).
std::optional<SocketSpec> parse_metrics_listen(std::string_view listen, std::string* why = nullptr);

}  // namespace config
