// Remote IP ranges as Exchange's RemoteIPRanges accepts them: a single
// address, CIDR, or an "a-b" range; IPv4 or IPv6.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "policy/ip_address.hpp"

namespace policy {

class IpRange {
public:
    IpRange() = default;
    IpRange(IpAddress first, IpAddress last);  // same family, first <= last

    // "10.0.0.80", "10.0.0.0/24", "10.0.0.1-10.0.0.9", "2001:db8::/32",
    // "::/0", "0.0.0.0-255.255.255.255". Host bits set in a CIDR are masked
    // off ("10.0.0.5/24" is 10.0.0.0/24). On failure returns nullopt and sets
    // *error to a sentence for the administrator.
    static std::optional<IpRange> parse(std::string_view text, std::string* error = nullptr);

    const IpAddress& first() const { return first_; }
    const IpAddress& last() const { return last_; }
    IpAddress::Family family() const { return first_.family(); }

    bool contains(const IpAddress& address) const;
    bool contains(const IpRange& other) const;
    bool overlaps(const IpRange& other) const;
    // last - first: 0 for a single address. Compares range sizes across
    // notations, which is how Exchange picks the most specific connector.
    uint128 span() const { return last_.value() - first_.value(); }

    // Canonical text: "10.0.0.80", "10.0.0.0/24" when the range is a CIDR
    // block, otherwise "a-b".
    std::string to_string() const;

    friend bool operator==(const IpRange&, const IpRange&) = default;

private:
    IpAddress first_;
    IpAddress last_;
};

}  // namespace policy
