#include "policy/rights.hpp"
#include "util/ascii.hpp"

#include <strings.h>

#include <array>
#include <cctype>

namespace policy {

namespace {

struct RightName {
    Right right;
    std::string_view name;
};

// Fixed order for to_string(): the order of the enum.
constexpr std::array<RightName, kRightCount> kRightNames{{
    {Right::Submit, "Ms-Exch-SMTP-Submit"},
    {Right::AcceptAnyRecipient, "Ms-Exch-SMTP-Accept-Any-Recipient"},
    {Right::AcceptAnySender, "Ms-Exch-SMTP-Accept-Any-Sender"},
    {Right::AcceptAuthoritativeDomainSender, "Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender"},
    {Right::AcceptAuthenticationFlag, "Ms-Exch-SMTP-Accept-Authentication-Flag"},
    {Right::BypassAntiSpam, "Ms-Exch-Bypass-Anti-Spam"},
    {Right::BypassMessageSizeLimit, "Ms-Exch-Bypass-Message-Size-Limit"},
    {Right::AcceptRoutingHeaders, "Ms-Exch-Accept-Headers-Routing"},
    {Right::AcceptExch50, "Ms-Exch-SMTP-Accept-Exch50"},
    {Right::AcceptOrganizationHeaders, "Ms-Exch-Accept-Headers-Organization"},
    {Right::AcceptForestHeaders, "Ms-Exch-Accept-Headers-Forest"},
}};

constexpr std::string_view kPrefix = "Ms-Exch-";


}  // namespace

Rights Rights::all() {
    return Rights((1u << kRightCount) - 1);
}

std::string Rights::to_string() const {
    std::string out;
    for (const auto& [right, name] : kRightNames) {
        if (!has(right)) continue;
        if (!out.empty()) out += ',';
        out += name;
    }
    return out.empty() ? "none" : out;
}

std::optional<Right> parse_right(std::string_view name) {
    for (const auto& [right, full] : kRightNames) {
        if (util::ascii_iequals(name, full) || util::ascii_iequals(name, full.substr(kPrefix.size()))) return right;
    }
    return std::nullopt;
}

std::string_view right_name(Right r) {
    for (const auto& [right, name] : kRightNames)
        if (right == r) return name;
    return "unknown";
}

std::optional<PermissionGroup> parse_permission_group(std::string_view name) {
    if (util::ascii_iequals(name, "AnonymousUsers")) return PermissionGroup::AnonymousUsers;
    if (util::ascii_iequals(name, "ExchangeUsers") || util::ascii_iequals(name, "AuthenticatedUsers"))
        return PermissionGroup::ExchangeUsers;
    if (util::ascii_iequals(name, "ExchangeServers")) return PermissionGroup::ExchangeServers;
    if (util::ascii_iequals(name, "Partners")) return PermissionGroup::Partners;
    return std::nullopt;
}

std::string_view permission_group_name(PermissionGroup g) {
    switch (g) {
    case PermissionGroup::AnonymousUsers: return "AnonymousUsers";
    case PermissionGroup::ExchangeUsers: return "ExchangeUsers";
    case PermissionGroup::ExchangeServers: return "ExchangeServers";
    case PermissionGroup::Partners: return "Partners";
    }
    return "unknown";
}

// Exchange 2016/2019 "Receive connector permission groups" table.
Rights group_rights(PermissionGroup g) {
    Rights r;
    switch (g) {
    case PermissionGroup::AnonymousUsers:
        r.add(Right::Submit).add(Right::AcceptAnySender).add(Right::AcceptAuthoritativeDomainSender)
            .add(Right::AcceptRoutingHeaders);
        break;
    case PermissionGroup::ExchangeUsers:
        r.add(Right::Submit).add(Right::AcceptAnyRecipient).add(Right::BypassAntiSpam)
            .add(Right::AcceptRoutingHeaders);
        break;
    case PermissionGroup::ExchangeServers:
        r = Rights::all();
        break;
    case PermissionGroup::Partners:
        r.add(Right::Submit).add(Right::AcceptRoutingHeaders);
        break;
    }
    return r;
}

std::optional<Principal> Principal::parse(std::string_view text, std::string* error) {
    Principal p;
    if (util::ascii_istarts_with(text, "user:")) {
        const std::string_view name = text.substr(5);
        bool bad = name.empty();
        for (const char ch : name)
            if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) bad = true;
        if (bad) {
            if (error) *error = "principal '" + std::string(text) + "': user:NAME needs a login without spaces or control bytes";
            return std::nullopt;
        }
        p.kind = Kind::User;
        p.user = util::ascii_lower(name);
        return p;
    }
    if (util::ascii_iequals(text, "AnonymousUsers")) p.kind = Kind::AnonymousUsers;
    else if (util::ascii_iequals(text, "AuthenticatedUsers") || util::ascii_iequals(text, "ExchangeUsers")) p.kind = Kind::AuthenticatedUsers;
    else if (util::ascii_iequals(text, "ExchangeServers")) p.kind = Kind::ExchangeServers;
    else if (util::ascii_iequals(text, "ExternallySecuredServers")) p.kind = Kind::ExternallySecuredServers;
    else if (util::ascii_iequals(text, "Partners")) p.kind = Kind::Partners;
    else {
        if (error)
            *error = "unknown principal '" + std::string(text) +
                     "' (expected AnonymousUsers, AuthenticatedUsers, ExchangeUsers, ExchangeServers, "
                     "ExternallySecuredServers, Partners or user:NAME)";
        return std::nullopt;
    }
    return p;
}

std::string Principal::to_string() const {
    switch (kind) {
    case Kind::AnonymousUsers: return "AnonymousUsers";
    case Kind::AuthenticatedUsers: return "AuthenticatedUsers";
    case Kind::ExchangeServers: return "ExchangeServers";
    case Kind::ExternallySecuredServers: return "ExternallySecuredServers";
    case Kind::Partners: return "Partners";
    case Kind::User: return "user:" + user;
    }
    return "unknown";
}

}  // namespace policy
