// Exchange's connection filtering: IP allow and block lists and IP block
// list providers (DNS block lists, RFC 5782), as plain values. The lookups
// themselves are auth/dnsbl's; what a session does with them is session/'s.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address.hpp"
#include "policy/ip_address.hpp"
#include "policy/ip_range.hpp"
#include "policy/replies.hpp"

namespace policy {

// The name a DNS block list is asked about `client` (RFC 5782 section 2.1:
// the IPv4 octets in reverse order; section 2.4: the 32 nibbles of an IPv6
// address in reverse order), under `zone`: 192.0.2.99 at zen.example gives
// "99.2.0.192.zen.example".
std::string block_list_query_name(const IpAddress& client, std::string_view zone);

// Which A records of a block list's answer mean "listed" (Exchange's
// AnyMatch, IPAddressesMatch, BitmaskMatch).
struct BlockListMatch {
    enum class Kind : std::uint8_t { Any, Addresses, Bitmask };
    Kind kind = Kind::Any;
    std::vector<IpAddress> addresses;  // Addresses: IPv4 only
    std::uint32_t bitmask = 0;         // Bitmask: the low 24 bits count

    // Any: an address in 127.0.0.0/8 (RFC 5782 section 2.3: entries are
    // 127.0.0.2 and up; anything else is not a block list answer), except
    // 127.255.255.0/24, see is_list_error(). Addresses: one of them.
    // Bitmask: in 127.0.0.0/8 and sharing a set bit with the mask in the
    // three low octets (127.0.0.4 & 127.0.0.6 matches, 127.0.0.8 does not).
    bool matches(const IpAddress& answer) const;
    // "any", "127.0.0.2, 127.0.0.3", "bitmask 127.0.0.6"
    std::string describe() const;
};

// Spamhaus-style error answers (127.255.255.252 to .255: typing error,
// query through a public resolver, over the free-use limit): the list did
// not answer the question. They never count as a listing.
bool is_list_error(const IpAddress& answer);

// What a provider's DNS failure (SERVFAIL, timeout, spent budget, a list
// error answer) does to the session.
enum class BlockListFailure : std::uint8_t {
    Ignore,    // the provider is skipped for this session (logged)
    TempFail,  // RCPT gets 451 4.4.3 (sendmail's enhdnsbl `t` flag)
};

struct BlockListProvider {
    std::string name;
    std::string lookup_domain;  // normalised, no trailing dot
    BlockListMatch match;
    std::uint32_t priority = 0;  // lower first
    bool enabled = true;
    // The refusal; its text may hold {provider} and {ip}, replaced when it
    // is sent. The default is Exchange's.
    Reply rejection = default_block_list_rejection();
    BlockListFailure on_failure = BlockListFailure::Ignore;
    std::string origin;  // "file:line"

    static Reply default_block_list_rejection();
    // The rejection with {provider} and {ip} filled in.
    Reply rejection_for(const IpAddress& client) const;
};

// {provider} and {ip} in `tmpl` replaced. The result of a template that
// check_block_list_template() accepted always passes check_reply().
Reply expand_reply_template(const Reply& tmpl, std::string_view provider, const IpAddress& client);
// Why `tmpl` could give a reply an MTA refuses (checked with the longest
// IP address text and `provider`); empty when every expansion is good.
std::string check_reply_template(const Reply& tmpl, std::string_view provider);

// One [[ip_allow]]/[[ip_block]] entry or list file line.
struct IpListEntry {
    IpRange range;
    // Exchange's -ExpirationTime: the entry stops applying at that moment.
    std::optional<std::chrono::system_clock::time_point> expires;
    std::string origin;  // "file:line"
};

class IpList {
public:
    void add(IpListEntry entry) { entries_.push_back(std::move(entry)); }
    // The first entry that holds `client` and has not expired at `now`.
    const IpListEntry* find(const IpAddress& client, std::chrono::system_clock::time_point now) const;
    bool empty() const { return entries_.empty(); }
    std::size_t size() const { return entries_.size(); }

private:
    std::vector<IpListEntry> entries_;
};

// "2027-01-31", "2027-01-31T12:00:00Z", "2027-01-31 12:00", "...+02:00":
// an ISO 8601 date (00:00 UTC that day) or date and time (UTC unless an
// offset is given). nullopt when it is none of these.
std::optional<std::chrono::system_clock::time_point> parse_expiry(std::string_view text);

struct ConnectionFilter {
    std::vector<BlockListProvider> providers;  // sorted by priority
    IpList allow;
    IpList block;
    // RCPT to these is never refused by connection filtering: "postmaster"
    // (a local part alone: at any domain; RFC 5321 section 4.5.1 wants
    // postmaster reachable) or a whole address. Lower case.
    std::vector<std::string> exempt_recipients{"postmaster"};
    // [[ip_block]] refusal; {ip} is replaced.
    Reply ip_block_rejection = default_ip_block_rejection();
    // A provider whose failure action is tempfail; {provider} and {ip}.
    Reply tempfail_reply = default_tempfail_reply();

    static Reply default_ip_block_rejection();
    static Reply default_tempfail_reply();
    bool exempt(const SmtpPath& recipient) const;
    const BlockListProvider* provider(std::string_view name) const;  // case-insensitive
};

}  // namespace policy
