// One receive connector: where it applies (bindings, remote ranges) and what
// sessions on it may do (permission groups, grants, denies, limits, replies).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/binding.hpp"
#include "policy/ip_range.hpp"
#include "policy/message_checks.hpp"
#include "policy/replies.hpp"
#include "policy/rights.hpp"

namespace policy {

enum class AuthMechanism : std::uint32_t {
    None = 1u << 0,
    Tls = 1u << 1,
    Integrated = 1u << 2,
    BasicAuth = 1u << 3,
    BasicAuthRequireTls = 1u << 4,
    ExchangeServer = 1u << 5,
    ExternalAuthoritative = 1u << 6,
};
// "None", "Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS",
// "ExchangeServer", "ExternalAuthoritative" (case-insensitive).
std::optional<AuthMechanism> parse_auth_mechanism(std::string_view name);

enum class RateSource : std::uint8_t { IpAddress, User, All };

// Defaults are Exchange 2016/2019's receive connector defaults.
struct Connector {
    std::string name;
    std::string origin;  // "file:line" where it was defined, for messages
    bool enabled = true;

    std::vector<Binding> bindings;
    std::vector<IpRange> remote_ranges;
    // Mailing lists and forwarding services whose mail may fail DMARC only
    // because forwarding broke SPF and DKIM: a DMARC fail from these
    // addresses is delivered with disposition none (reason
    // trusted_forwarder, RFC 9990 PolicyOverrideType).
    std::vector<IpRange> trusted_forwarders;
    std::vector<PermissionGroup> permission_groups;
    std::uint32_t auth_mechanisms = static_cast<std::uint32_t>(AuthMechanism::Tls) |
                                    static_cast<std::uint32_t>(AuthMechanism::BasicAuth) |
                                    static_cast<std::uint32_t>(AuthMechanism::BasicAuthRequireTls) |
                                    static_cast<std::uint32_t>(AuthMechanism::Integrated);
    std::vector<std::pair<Principal, Rights>> grants;  // Add-ADPermission
    std::vector<std::pair<Principal, Rights>> denies;  // Add-ADPermission -Deny

    bool require_tls = false;
    bool require_ehlo_domain = false;
    std::optional<std::uint64_t> max_message_size = 36ull * 1024 * 1024;  // bytes; nullopt = unlimited
    // Exchange's MaxHeaderSize: the whole header block, as received. Also
    // bounds the memory one message's headers can take in the daemon.
    std::uint64_t max_header_size = 256ull * 1024;  // bytes
    std::uint32_t max_recipients_per_message = 200;
    std::optional<std::uint32_t> max_inbound_connection_per_source = 20;
    std::optional<std::uint32_t> max_inbound_connection_percentage_per_source = 2;
    std::optional<std::uint32_t> max_inbound_connection = 5000;
    std::optional<std::uint32_t> message_rate_limit;  // messages per minute; nullopt = unlimited
    RateSource message_rate_source = RateSource::IpAddress;
    std::chrono::milliseconds tarpit_interval{5000};
    // Which of SPF, DKIM and DMARC run for sessions on this connector (when
    // [spf]/[dkim]/[dmarc] enable them). A relay connector for internal
    // devices leaves out SPF and DMARC: the organisation's public SPF
    // records never list those devices' private addresses.
    CheckSet checks = CheckSet::all();
    // Exchange's connection filtering on this connector: [[ip_allow]],
    // [[ip_block]] and the block list providers named here (empty: every
    // enabled [[block_list_provider]]). Never for sessions that
    // authenticate or hold Ms-Exch-Bypass-Anti-Spam.
    bool connection_filtering = false;
    std::vector<std::string> block_list_providers;
    // DKIM-sign the mail of sessions whose principal may be signed (see
    // policy/signing.hpp): a submission or relay connector, never the
    // anonymous side of an internet-facing one.
    bool dkim_sign = false;

    ReplyTable replies;

    bool has_group(PermissionGroup g) const;
    bool has_mechanism(AuthMechanism m) const {
        return (auth_mechanisms & static_cast<std::uint32_t>(m)) != 0;
    }
};

}  // namespace policy
