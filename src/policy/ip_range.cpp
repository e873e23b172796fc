#include "policy/ip_range.hpp"

#include <charconv>

namespace policy {

IpRange::IpRange(IpAddress first, IpAddress last) : first_(first), last_(last) {}

namespace {

uint128 host_mask(int bits, int prefix) {
    // Low (bits - prefix) bits set.
    const int host_bits = bits - prefix;
    if (host_bits <= 0) return 0;
    if (host_bits >= 128) return ~static_cast<uint128>(0);
    return (static_cast<uint128>(1) << host_bits) - 1;
}

void set_error(std::string* error, std::string message) {
    if (error) *error = std::move(message);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<IpRange> IpRange::parse(std::string_view text, std::string* error) {
    text = trim(text);
    const std::string shown(text);
    if (text.empty()) {
        set_error(error, "empty IP range");
        return std::nullopt;
    }
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        const auto base = IpAddress::parse(trim(text.substr(0, slash)));
        if (!base) {
            set_error(error, "'" + shown + "': not an IP address before '/'");
            return std::nullopt;
        }
        // A mapped IPv6 CIDR ("::ffff:10.0.0.0/120") was normalised to V4;
        // its prefix counts IPv6 bits, so it is translated below.
        const bool written_as_v6 = text.substr(0, slash).find(':') != std::string_view::npos;
        const int max_prefix = written_as_v6 ? 128 : base->bits();
        const std::string_view len_text = trim(text.substr(slash + 1));
        int prefix = -1;
        const auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
        if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() ||
            prefix < 0 || prefix > max_prefix || (len_text.size() > 1 && len_text[0] == '0')) {
            set_error(error, "'" + shown + "': prefix length must be 0-" + std::to_string(max_prefix));
            return std::nullopt;
        }
        if (base->is_v4() && written_as_v6) {
            if (prefix < 96) {
                set_error(error, "'" + shown + "': an IPv4-mapped prefix must be /96 or longer");
                return std::nullopt;
            }
            prefix -= 96;
        }
        const uint128 mask = host_mask(base->bits(), prefix);
        const uint128 lo = base->value() & ~mask;
        const uint128 hi = lo | mask;
        if (base->is_v4())
            return IpRange(IpAddress::v4(static_cast<std::uint32_t>(lo)),
                           IpAddress::v4(static_cast<std::uint32_t>(hi)));
        return IpRange(IpAddress::v6(lo), IpAddress::v6(hi));
    }
    if (const auto dash = text.find('-'); dash != std::string_view::npos) {
        const auto a = IpAddress::parse(trim(text.substr(0, dash)));
        const auto b = IpAddress::parse(trim(text.substr(dash + 1)));
        if (!a || !b) {
            set_error(error, "'" + shown + "': expected FIRST-LAST with two IP addresses");
            return std::nullopt;
        }
        if (a->family() != b->family()) {
            set_error(error, "'" + shown + "': both ends of a range must be IPv4 or both IPv6");
            return std::nullopt;
        }
        if (b->value() < a->value()) {
            set_error(error, "'" + shown + "': the first address is greater than the last");
            return std::nullopt;
        }
        return IpRange(*a, *b);
    }
    const auto single = IpAddress::parse(text);
    if (!single) {
        set_error(error, "'" + shown + "' is not an IP address, CIDR block or FIRST-LAST range");
        return std::nullopt;
    }
    return IpRange(*single, *single);
}

bool IpRange::contains(const IpAddress& address) const {
    return address.family() == family() && first_.value() <= address.value() &&
           address.value() <= last_.value();
}

bool IpRange::contains(const IpRange& other) const {
    return other.family() == family() && first_.value() <= other.first_.value() &&
           other.last_.value() <= last_.value();
}

bool IpRange::overlaps(const IpRange& other) const {
    return other.family() == family() && first_.value() <= other.last_.value() &&
           other.first_.value() <= last_.value();
}

std::string IpRange::to_string() const {
    if (first_ == last_) return first_.to_string();
    // A CIDR block: span + 1 is a power of two and first is aligned to it.
    const uint128 span_value = span();
    const bool all_ones = (span_value & (span_value + 1)) == 0;
    if (all_ones && (first_.value() & span_value) == 0) {
        int host_bits = 0;
        for (uint128 v = span_value; v != 0; v >>= 1) ++host_bits;
        return first_.to_string() + "/" + std::to_string(first_.bits() - host_bits);
    }
    return first_.to_string() + "-" + last_.to_string();
}

}  // namespace policy
