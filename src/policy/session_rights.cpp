#include "policy/session_rights.hpp"
#include "util/ascii.hpp"

#include <algorithm>

namespace policy {

namespace {

Principal principal_of(Principal::Kind kind, std::string user = {}) {
    Principal p;
    p.kind = kind;
    p.user = std::move(user);
    return p;
}

void append_note(std::string& note, std::string_view text) {
    if (!note.empty()) note += "; ";
    note += text;
}

}  // namespace

std::string SessionRights::describe() const {
    if (principals.empty()) return "none";
    std::string out = principals.front().to_string();
    if (principals.size() > 1) {
        out += '(';
        for (std::size_t i = 1; i < principals.size(); ++i) {
            if (i > 1) out += ',';
            out += principals[i].to_string();
        }
        out += ')';
    }
    return out;
}

SessionRights resolve_session_rights(const Connector& connector, const ClientIdentity& client,
                                     const std::vector<CertificateMapping>& certificate_map) {
    SessionRights s;

    if (connector.has_mechanism(AuthMechanism::ExternalAuthoritative)) {
        // Exchange: "the connection is considered externally secured by a
        // security mechanism that is external to Exchange" (IPsec, a private
        // link); every session gets the Exchange servers' rights, no AUTH.
        s.externally_secured = true;
        s.principals.push_back(principal_of(Principal::Kind::ExternallySecuredServers));
        s.rights = group_rights(PermissionGroup::ExchangeServers);
        s.note = "externally secured (ExternalAuthoritative connector)";
    } else {
        if (!client.auth_user.empty()) {
            const bool offers_auth = connector.has_mechanism(AuthMechanism::BasicAuth) ||
                                     connector.has_mechanism(AuthMechanism::BasicAuthRequireTls) ||
                                     connector.has_mechanism(AuthMechanism::Integrated);
            if (!offers_auth) {
                append_note(s.note, "login ignored: connector offers neither BasicAuth nor Integrated");
            } else if (connector.has_mechanism(AuthMechanism::BasicAuthRequireTls) && !client.tls) {
                // Exchange offers AUTH only after STARTTLS with
                // BasicAuthRequireTLS; a login without TLS did not happen on
                // this connector's terms, so it gives nothing.
                append_note(s.note, "login ignored: BasicAuthRequireTLS without TLS");
            } else {
                s.authenticated = true;
                s.login = util::ascii_lower(client.auth_user);
                s.principals.push_back(principal_of(Principal::Kind::AuthenticatedUsers));
                s.principals.push_back(principal_of(Principal::Kind::User, s.login));
                if (connector.has_group(PermissionGroup::ExchangeUsers))
                    s.rights.add(group_rights(PermissionGroup::ExchangeUsers));
                else
                    append_note(s.note, "connector does not list ExchangeUsers");
            }
        }
        const ClientCertificate& cert = client.certificate;
        if (!cert.trusted && !cert.subject_dn.empty()) {
            append_note(s.note, "client certificate " + cert.subject_dn + " not verified by the MTA ({verify}=" +
                                    cert.verify + ")");
        } else if (cert.trusted && std::none_of(certificate_map.begin(), certificate_map.end(),
                                                [&](const CertificateMapping& m) { return m.matches(cert); })) {
            append_note(s.note, "trusted client certificate CN=" + cert.subject_cn + " (issuer CN=" + cert.issuer_cn +
                                    ") matches no [[certificate_map]] entry");
        }
        if (cert.trusted) {
            for (const auto& m : certificate_map) {
                if (!m.matches(cert)) continue;
                if (m.group != PermissionGroup::ExchangeServers && m.group != PermissionGroup::Partners) continue;
                if (!connector.has_group(m.group)) {
                    append_note(s.note, "certificate maps to " + std::string(permission_group_name(m.group)) +
                                            ", which the connector does not list");
                    break;
                }
                s.principals.push_back(principal_of(m.group == PermissionGroup::ExchangeServers
                                                        ? Principal::Kind::ExchangeServers
                                                        : Principal::Kind::Partners));
                s.rights.add(group_rights(m.group));
                break;
            }
        }
        if (s.principals.empty()) {
            s.principals.push_back(principal_of(Principal::Kind::AnonymousUsers));
            if (connector.has_group(PermissionGroup::AnonymousUsers))
                s.rights.add(group_rights(PermissionGroup::AnonymousUsers));
        }
    }

    // Add-ADPermission: grants add to, explicit denies remove from the
    // union; as in Active Directory an explicit deny always wins.
    const auto applies = [&](const Principal& p) {
        return std::find(s.principals.begin(), s.principals.end(), p) != s.principals.end();
    };
    for (const auto& [principal, rights] : connector.grants)
        if (applies(principal)) s.rights.add(rights);
    for (const auto& [principal, rights] : connector.denies)
        if (applies(principal)) s.rights.remove(rights);
    return s;
}

}  // namespace policy
