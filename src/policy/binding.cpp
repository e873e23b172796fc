#include "policy/binding.hpp"
#include "util/ascii.hpp"


#include <charconv>

namespace policy {

namespace {

void set_error(std::string* error, std::string message) {
    if (error) *error = std::move(message);
}

}  // namespace

std::optional<Binding> Binding::parse(std::string_view text, std::string* error) {
    const std::string shown(text);
    Binding b;
    if (util::ascii_iequals(text, "local")) {
        b.kind_ = Kind::Local;
        return b;
    }
    if (text.size() >= 5 && util::ascii_iequals(text.substr(0, 5), "name:")) {
        const std::string_view name = text.substr(5);
        if (name.empty()) {
            set_error(error, "binding '" + shown + "': empty daemon name");
            return std::nullopt;
        }
        for (const char ch : name) {
            if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) {
                set_error(error, "binding '" + shown + "': daemon name contains a space or control byte");
                return std::nullopt;
            }
        }
        b.kind_ = Kind::DaemonName;
        b.daemon_name_ = std::string(name);
        return b;
    }
    std::string_view host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            set_error(error, "binding '" + shown + "': expected [IPv6]:PORT");
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            set_error(error, "binding '" + shown + "': expected ADDRESS:PORT, [IPv6]:PORT, name:DAEMON_NAME or local");
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port < 1 || port > 65535) {
        set_error(error, "binding '" + shown + "': port must be 1-65535");
        return std::nullopt;
    }
    const auto address = IpAddress::parse(host);
    if (!address) {
        set_error(error, "binding '" + shown + "': '" + std::string(host) + "' is not an IP address");
        return std::nullopt;
    }
    b.address_ = *address;
    b.port_ = static_cast<std::uint16_t>(port);
    // 0.0.0.0 and :: mean "every local address of the family", as in
    // Exchange's Bindings ("0.0.0.0:25", "[::]:25").
    b.kind_ = address->value() == 0 ? Kind::Wildcard : Kind::Address;
    return b;
}

bool Binding::matches(const LocalEndpoint& local) const {
    switch (kind_) {
    case Kind::Local:
        return false;
    case Kind::DaemonName:
        return !local.daemon_name.empty() && util::ascii_iequals(local.daemon_name, daemon_name_);
    case Kind::Address:
        // Fail closed: a specific binding never matches an unknown endpoint.
        return local.address && local.port && *local.address == address_ && *local.port == port_;
    case Kind::Wildcard:
        // An MTA that does not pass {daemon_port} is taken to be serving
        // port 25, the public MX port where the least privileged connector
        // sits: a wildcard bound to another port (a relay on 2525, a
        // submission port) must not capture connections of unknown port.
        if (local.port.value_or(kUnknownPortCountsAs) != port_) return false;
        if (local.address && local.address->family() != address_.family()) return false;
        return true;
    }
    return false;
}

std::string Binding::to_string() const {
    switch (kind_) {
    case Kind::Local:
        return "local";
    case Kind::DaemonName:
        return "name:" + daemon_name_;
    case Kind::Address:
    case Kind::Wildcard:
        if (address_.is_v4()) return address_.to_string() + ":" + std::to_string(port_);
        return "[" + address_.to_string() + "]:" + std::to_string(port_);
    }
    return {};
}

}  // namespace policy
