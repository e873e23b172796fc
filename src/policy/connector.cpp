#include "policy/connector.hpp"

#include <strings.h>

#include <algorithm>
#include <array>

namespace policy {

std::optional<AuthMechanism> parse_auth_mechanism(std::string_view name) {
    struct Entry {
        std::string_view name;
        AuthMechanism mechanism;
    };
    static constexpr std::array<Entry, 7> kNames{{
        {"None", AuthMechanism::None},
        {"Tls", AuthMechanism::Tls},
        {"Integrated", AuthMechanism::Integrated},
        {"BasicAuth", AuthMechanism::BasicAuth},
        {"BasicAuthRequireTLS", AuthMechanism::BasicAuthRequireTls},
        {"ExchangeServer", AuthMechanism::ExchangeServer},
        {"ExternalAuthoritative", AuthMechanism::ExternalAuthoritative},
    }};
    for (const auto& e : kNames)
        if (e.name.size() == name.size() && strncasecmp(e.name.data(), name.data(), name.size()) == 0)
            return e.mechanism;
    return std::nullopt;
}

bool Connector::has_group(PermissionGroup g) const {
    return std::find(permission_groups.begin(), permission_groups.end(), g) != permission_groups.end();
}

}  // namespace policy
