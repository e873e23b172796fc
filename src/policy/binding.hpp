// A connector's local binding: the address and port the client connected to
// ({daemon_addr}/{daemon_port}), a wildcard address of one family, the
// MTA's daemon name ({daemon_name}) for set-ups that pass no address, or
// "local": the local submissions of policy/local_submission.hpp.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/ip_address.hpp"

namespace policy {

// What the MTA told us about the local end of the connection. Any part may
// be missing when the MTA does not send the macro.
struct LocalEndpoint {
    std::optional<IpAddress> address;
    std::optional<std::uint16_t> port;
    std::string daemon_name;
};

// The port a wildcard binding compares with when the MTA sent no
// {daemon_port}: the public MX port.
inline constexpr std::uint16_t kUnknownPortCountsAs = 25;

class Binding {
public:
    enum class Kind : std::uint8_t { Address, Wildcard, DaemonName, Local };

    // "10.0.0.50:25", "0.0.0.0:25", "[::]:25", "[2001:db8::1]:587",
    // "name:MSA", "local". Port 1-65535 required for address forms.
    static std::optional<Binding> parse(std::string_view text, std::string* error = nullptr);

    Kind kind() const { return kind_; }
    const IpAddress& address() const { return address_; }  // Address; Wildcard: 0.0.0.0 or ::
    std::uint16_t port() const { return port_; }
    const std::string& daemon_name() const { return daemon_name_; }

    // Address: address and port equal (fail-closed: never matches when the
    // MTA did not send both). Wildcard: same family and port equal; when the
    // MTA sent no address the port alone decides, and a port it did not send
    // counts as 25 (kUnknownPortCountsAs). DaemonName: case-insensitive name
    // equality. Local: never (local submissions are matched by kind, see
    // ConnectorMap::select_local).
    bool matches(const LocalEndpoint& local) const;

    std::string to_string() const;

    friend bool operator==(const Binding&, const Binding&) = default;

private:
    Kind kind_ = Kind::Wildcard;
    IpAddress address_;
    std::uint16_t port_ = 0;
    std::string daemon_name_;
};

}  // namespace policy
