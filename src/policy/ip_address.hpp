// An IPv4 or IPv6 address as one comparable value. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are normalised to IPv4 on parsing, so that a client the MTA
// reports in mapped form matches IPv4 ranges (Exchange does the same).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace policy {

using uint128 = unsigned __int128;

class IpAddress {
public:
    enum class Family : std::uint8_t { V4, V6 };

    IpAddress() = default;
    static IpAddress v4(std::uint32_t host_order);
    static IpAddress v6(uint128 host_order);

    // Accepts "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" (becomes V4),
    // "[2001:db8::1]" and "IPv6:2001:db8::1" (the forms MTAs put in macros).
    // Anything else, including trailing junk, zone ids and leading zeros
    // that inet_pton rejects, gives nullopt.
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::V4; }
    // The address as an integer: IPv4 in the low 32 bits.
    uint128 value() const { return value_; }
    // Number of address bits of the family: 32 or 128.
    int bits() const { return is_v4() ? 32 : 128; }

    std::string to_string() const;

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
    friend auto operator<=>(const IpAddress&, const IpAddress&) = default;

private:
    Family family_ = Family::V4;
    uint128 value_ = 0;
};

}  // namespace policy
