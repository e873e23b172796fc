// Who the session is (its principal) and which extended rights the chosen
// connector gives it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "policy/client_certificate.hpp"
#include "policy/connector.hpp"
#include "policy/rights.hpp"

namespace policy {

// What the MTA reported about the client, from the milter macros.
struct ClientIdentity {
    std::string auth_user;          // {auth_authen}; empty = not authenticated
    std::string auth_type;          // {auth_type}
    bool tls = false;               // {tls_version} or {cipher} present
    ClientCertificate certificate;  // {verify} {cert_subject} {cert_issuer} {cn_subject} {cn_issuer}
};

// A trusted client certificate mapped to a permission group by the config
// ([[certificate_map]]): subject and, when set, issuer must match.
struct CertificateMapping {
    CertificateName subject;
    std::optional<CertificateName> issuer;  // none: any issuer the MTA trusts
    PermissionGroup group = PermissionGroup::Partners;
    bool matches(const ClientCertificate& c) const {
        return c.trusted && subject.matches(c.subject_cn, c.subject_dn) &&
               (!issuer || issuer->matches(c.issuer_cn, c.issuer_dn));
    }
};

struct SessionRights {
    std::vector<Principal> principals;  // the first is the main one, e.g. AuthenticatedUsers then user:alice
    Rights rights;
    bool authenticated = false;         // SMTP AUTH accepted on this connector
    bool externally_secured = false;    // ExternalAuthoritative connector
    std::string login;                  // lower-cased SMTP AUTH login
    std::string note;                   // why, e.g. "login ignored: BasicAuthRequireTLS without TLS"
    std::string describe() const;       // "AnonymousUsers", "AuthenticatedUsers(user:alice)", ...
};

// Exchange's rules:
// - ExternalAuthoritative on the connector: every session is an externally
//   secured server with ExchangeServers' rights.
// - An SMTP AUTH login counts when the connector offers BasicAuth or
//   Integrated (BasicAuthRequireTLS: only over TLS); then principals are
//   AuthenticatedUsers and user:LOGIN, with ExchangeUsers' rights when the
//   connector lists ExchangeUsers.
// - A trusted certificate mapped to ExchangeServers or Partners, when the
//   connector lists that group, gives that group's rights.
// - Otherwise AnonymousUsers, with its rights when the connector lists it.
// Then grants for any of the principals are added and denies removed
// (a deny always wins).
SessionRights resolve_session_rights(const Connector& connector, const ClientIdentity& client,
                                     const std::vector<CertificateMapping>& certificate_map);

}  // namespace policy
