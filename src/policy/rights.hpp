// Exchange's extended rights, permission groups and principals.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace policy {

enum class Right : std::uint32_t {
    Submit = 1u << 0,                           // Ms-Exch-SMTP-Submit
    AcceptAnyRecipient = 1u << 1,               // Ms-Exch-SMTP-Accept-Any-Recipient
    AcceptAnySender = 1u << 2,                  // Ms-Exch-SMTP-Accept-Any-Sender
    AcceptAuthoritativeDomainSender = 1u << 3,  // Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender
    AcceptAuthenticationFlag = 1u << 4,         // Ms-Exch-SMTP-Accept-Authentication-Flag
    BypassAntiSpam = 1u << 5,                   // Ms-Exch-Bypass-Anti-Spam
    BypassMessageSizeLimit = 1u << 6,           // Ms-Exch-Bypass-Message-Size-Limit
    AcceptRoutingHeaders = 1u << 7,             // Ms-Exch-Accept-Headers-Routing
    AcceptExch50 = 1u << 8,                     // Ms-Exch-SMTP-Accept-Exch50
    AcceptOrganizationHeaders = 1u << 9,        // Ms-Exch-Accept-Headers-Organization
    AcceptForestHeaders = 1u << 10,             // Ms-Exch-Accept-Headers-Forest
};
inline constexpr int kRightCount = 11;

class Rights {
public:
    constexpr Rights() = default;
    constexpr explicit Rights(std::uint32_t bits) : bits_(bits) {}
    static Rights all();

    bool has(Right r) const { return (bits_ & static_cast<std::uint32_t>(r)) != 0; }
    Rights& add(Right r) { bits_ |= static_cast<std::uint32_t>(r); return *this; }
    Rights& add(Rights r) { bits_ |= r.bits_; return *this; }
    Rights& remove(Rights r) { bits_ &= ~r.bits_; return *this; }
    std::uint32_t bits() const { return bits_; }
    bool empty() const { return bits_ == 0; }
    // "Ms-Exch-SMTP-Submit,Ms-Exch-SMTP-Accept-Any-Recipient" (fixed order), or "none".
    std::string to_string() const;

    friend bool operator==(const Rights&, const Rights&) = default;

private:
    std::uint32_t bits_ = 0;
};

// Case-insensitive; accepts the names with or without the "Ms-Exch-" prefix
// ("Ms-Exch-SMTP-Submit", "ms-exch-smtp-submit", "SMTP-Submit").
std::optional<Right> parse_right(std::string_view name);
std::string_view right_name(Right r);

enum class PermissionGroup : std::uint8_t {
    AnonymousUsers,
    ExchangeUsers,      // authenticated users; "AuthenticatedUsers" is accepted as an alias
    ExchangeServers,
    Partners,
};
std::optional<PermissionGroup> parse_permission_group(std::string_view name);
std::string_view permission_group_name(PermissionGroup g);
// Exchange 2016/2019's table of rights per permission group.
Rights group_rights(PermissionGroup g);

// Who a grant or deny applies to.
struct Principal {
    enum class Kind : std::uint8_t {
        AnonymousUsers,
        AuthenticatedUsers,         // alias ExchangeUsers
        ExchangeServers,
        ExternallySecuredServers,
        Partners,
        User,                       // "user:NAME": one SMTP AUTH login (case-insensitive)
    };
    Kind kind = Kind::AnonymousUsers;
    std::string user;  // for Kind::User, lower-cased

    // "AnonymousUsers", "AuthenticatedUsers", "ExchangeUsers",
    // "ExchangeServers", "ExternallySecuredServers", "Partners", "user:NAME".
    static std::optional<Principal> parse(std::string_view text, std::string* error = nullptr);
    std::string to_string() const;
    friend bool operator==(const Principal&, const Principal&) = default;
};

}  // namespace policy
