#include "policy/connection_filter.hpp"

#include <algorithm>
#include <charconv>

#include "util/ascii.hpp"

namespace policy {

namespace {

constexpr std::uint32_t kLoopback8 = 0x7f000000u;  // 127.0.0.0/8

bool in_127_8(const IpAddress& a) { return a.is_v4() && (static_cast<std::uint32_t>(a.value()) >> 24) == 127; }

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

std::string block_list_query_name(const IpAddress& client, std::string_view zone) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string name;
    const uint128 v = client.value();
    if (client.is_v4()) {
        // RFC 5782 section 2.1: d.c.b.a for a.b.c.d.
        for (int octet = 0; octet < 4; ++octet) {
            name += std::to_string(static_cast<unsigned>((v >> (8 * octet)) & 0xff));
            name += '.';
        }
    } else {
        // RFC 5782 section 2.4: 32 nibbles, least significant first.
        for (int nibble = 0; nibble < 32; ++nibble) {
            name += kHex[static_cast<unsigned>((v >> (4 * nibble)) & 0xf)];
            name += '.';
        }
    }
    name += util::dns_name_key(zone);
    return name;
}

bool is_list_error(const IpAddress& answer) {
    return answer.is_v4() && (static_cast<std::uint32_t>(answer.value()) >> 8) == 0x7fffffu;
}

bool BlockListMatch::matches(const IpAddress& answer) const {
    switch (kind) {
        case Kind::Any: return in_127_8(answer) && !is_list_error(answer);
        case Kind::Addresses: return std::find(addresses.begin(), addresses.end(), answer) != addresses.end();
        case Kind::Bitmask:
            return in_127_8(answer) && !is_list_error(answer) &&
                   ((static_cast<std::uint32_t>(answer.value()) & bitmask & ~kLoopback8 & 0x00ffffffu) != 0);
    }
    return false;
}

std::string BlockListMatch::describe() const {
    switch (kind) {
        case Kind::Any: return "any";
        case Kind::Addresses: {
            std::string out;
            for (const auto& a : addresses) out += (out.empty() ? "" : ", ") + a.to_string();
            return out;
        }
        case Kind::Bitmask: return "bitmask " + IpAddress::v4(bitmask).to_string();
    }
    return {};
}

// Exchange's default RejectionResponse of an IP block list provider.
Reply BlockListProvider::default_block_list_rejection() {
    return Reply{"550", "5.7.1", "Recipient not authorized, your IP has been found on a block list"};
}

Reply BlockListProvider::rejection_for(const IpAddress& client) const {
    return expand_reply_template(rejection, name, client);
}

Reply expand_reply_template(const Reply& tmpl, std::string_view provider, const IpAddress& client) {
    Reply out = tmpl;
    out.text = replace_all(replace_all(out.text, "{provider}", provider), "{ip}", client.to_string());
    return out;
}

std::string check_reply_template(const Reply& tmpl, std::string_view provider) {
    // The longest address text there is (IPv4-mapped addresses are shown
    // as IPv4, so no longer form reaches a reply).
    const auto longest = IpAddress::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    return check_reply(expand_reply_template(tmpl, provider, *longest));
}

const IpListEntry* IpList::find(const IpAddress& client, std::chrono::system_clock::time_point now) const {
    for (const auto& e : entries_)
        if (e.range.contains(client) && (!e.expires || now < *e.expires)) return &e;
    return nullptr;
}

std::optional<std::chrono::system_clock::time_point> parse_expiry(std::string_view text) {
    using namespace std::chrono;
    const auto number = [&](std::size_t at, std::size_t digits, int& out) {
        if (at + digits > text.size()) return false;
        const char* first = text.data() + at;
        for (std::size_t i = 0; i < digits; ++i)
            if (first[i] < '0' || first[i] > '9') return false;
        return std::from_chars(first, first + digits, out).ec == std::errc();
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!number(0, 4, y) || text.size() < 10 || text[4] != '-' || !number(5, 2, mo) || text[7] != '-' ||
        !number(8, 2, d))
        return std::nullopt;
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!date.ok()) return std::nullopt;
    std::size_t at = 10;
    seconds offset{0};
    if (at < text.size()) {
        if (text[at] != 'T' && text[at] != 't' && text[at] != ' ') return std::nullopt;
        if (!number(at + 1, 2, h) || at + 3 >= text.size() || text[at + 3] != ':' || !number(at + 4, 2, mi))
            return std::nullopt;
        at += 6;
        if (at < text.size() && text[at] == ':') {
            if (!number(at + 1, 2, s)) return std::nullopt;
            at += 3;
        }
        if (h > 23 || mi > 59 || s > 60) return std::nullopt;
        if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
            ++at;
        } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
            int oh = 0, om = 0;
            if (!number(at + 1, 2, oh) || at + 3 >= text.size() || text[at + 3] != ':' || !number(at + 4, 2, om) ||
                oh > 23 || om > 59)
                return std::nullopt;
            offset = hours(oh) + minutes(om);
            if (text[at] == '-') offset = -offset;
            at += 6;
        }
        if (at != text.size()) return std::nullopt;
    }
    // The wall time minus its offset from UTC is the UTC instant.
    return system_clock::time_point(sys_days(date)) + hours(h) + minutes(mi) + seconds(s) - offset;
}

Reply ConnectionFilter::default_ip_block_rejection() {
    return Reply{"550", "5.7.1", "Access denied, the IP address {ip} is on the block list of this server"};
}

// RFC 3463 section 3.5: X.4.3 "Directory server failure" (DNS).
Reply ConnectionFilter::default_tempfail_reply() {
    return Reply{"451", "4.4.3", "Block list {provider} could not be checked, try again later"};
}

bool ConnectionFilter::exempt(const SmtpPath& recipient) const {
    const std::string local = util::ascii_lower(recipient.local_part);
    const std::string whole = util::ascii_lower(recipient.address());
    for (const auto& e : exempt_recipients) {
        if (e.find('@') == std::string::npos ? e == local : e == whole) return true;
    }
    return false;
}

const BlockListProvider* ConnectionFilter::provider(std::string_view name) const {
    for (const auto& p : providers)
        if (util::ascii_iequals(p.name, name)) return &p;
    return nullptr;
}

}  // namespace policy
