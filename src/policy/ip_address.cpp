#include "policy/ip_address.hpp"

#include <arpa/inet.h>
#include <strings.h>

#include <array>
#include <cstring>

namespace policy {

IpAddress IpAddress::v4(std::uint32_t host_order) {
    IpAddress a;
    a.family_ = Family::V4;
    a.value_ = host_order;
    return a;
}

IpAddress IpAddress::v6(uint128 host_order) {
    IpAddress a;
    a.family_ = Family::V6;
    a.value_ = host_order;
    return a;
}

namespace {

// RFC 4291 section 2.5.5.2: ::ffff:0:0/96 carries an IPv4 address.
constexpr uint128 kMappedPrefix = static_cast<uint128>(0xffffu) << 32;
constexpr uint128 kMappedMask = ~static_cast<uint128>(0xffffffffu);

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    // MTAs write IPv6 clients as "IPv6:2001:db8::1" (sendmail, RFC 5321
    // address-literal tag) or in brackets; strip exactly one such wrapper.
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    bool tagged_v6 = false;
    if (text.size() > 5 && strncasecmp(text.data(), "IPv6:", 5) == 0) {
        text.remove_prefix(5);
        tagged_v6 = true;
    }
    // inet_pton needs a NUL-terminated string; longest IPv6 text is 45 chars.
    if (text.empty() || text.size() > 45) return std::nullopt;
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';

    if (!tagged_v6) {
        in_addr a4{};
        if (inet_pton(AF_INET, buf, &a4) == 1) return v4(ntohl(a4.s_addr));
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, buf, &a6) != 1) return std::nullopt;
    uint128 v = 0;
    for (unsigned char byte : a6.s6_addr) v = (v << 8) | byte;
    if ((v & kMappedMask) == kMappedPrefix)
        return v4(static_cast<std::uint32_t>(v & 0xffffffffu));
    return v6(v);
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4()) {
        in_addr a4{};
        a4.s_addr = htonl(static_cast<std::uint32_t>(value_));
        inet_ntop(AF_INET, &a4, buf, sizeof buf);
    } else {
        in6_addr a6{};
        uint128 v = value_;
        for (int i = 15; i >= 0; --i) {
            a6.s6_addr[i] = static_cast<unsigned char>(v & 0xff);
            v >>= 8;
        }
        inet_ntop(AF_INET6, &a6, buf, sizeof buf);
    }
    return buf;
}

}  // namespace policy
