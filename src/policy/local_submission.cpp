#include "policy/local_submission.hpp"

namespace policy {

namespace {

// The two addresses Postfix puts in for a client that is not on the network
// (cleanup_milter_client_init, smtpd_peer_assume_local_client).
bool is_stand_in_address(const IpAddress& a) {
    static const IpAddress v4 = IpAddress::v4(0x7f000001);  // 127.0.0.1
    static const IpAddress v6 = IpAddress::v6(1);           // ::1
    return a == v4 || a == v6;
}

bool is_stand_in_address(std::string_view text) {
    const auto a = IpAddress::parse(text);
    return a && is_stand_in_address(*a);
}

// A port macro that names no real port: absent, or Postfix's and sendmail's
// "0" for "there is no socket".
bool no_port(std::string_view macro) { return macro.empty() || macro == "0"; }

}  // namespace

LocalSubmission recognise_local_submission(const ConnectEvidence& e) {
    switch (e.family) {
    case ConnectEvidence::Family::Inet:
        if (!e.address || !is_stand_in_address(*e.address) || e.port != 0) return LocalSubmission::No;
        if (!no_port(e.client_port) || !no_port(e.daemon_port)) return LocalSubmission::No;
        // Postfix's stand-in {client_addr} and {daemon_addr} repeat the
        // stand-in address; a macro that says otherwise contradicts it.
        if (!e.client_addr.empty() && IpAddress::parse(e.client_addr) != e.address) return LocalSubmission::No;
        if (!e.daemon_addr.empty() && IpAddress::parse(e.daemon_addr) != e.address) return LocalSubmission::No;
        return LocalSubmission::PostfixStandIn;
    case ConnectEvidence::Family::Unix:
        // A UNIX-domain socket only carries connections from this machine.
        return LocalSubmission::NoNetworkPeer;
    case ConnectEvidence::Family::None:
        // sendmail -bs on a pipe says "0"; Postfix smtpd on a pipe or UNIX
        // socket says 127.0.0.1 or ::1. Postfix's "unknown" (the peer went
        // away before smtpd could ask) is not a local peer, and neither is
        // a connection whose MTA says nothing: without {client_addr} there
        // is no evidence, and no evidence grants nothing.
        if (e.client_addr != "0" && !is_stand_in_address(e.client_addr)) return LocalSubmission::No;
        if (!e.daemon_addr.empty() && !is_stand_in_address(e.daemon_addr)) return LocalSubmission::No;
        if (!no_port(e.client_port) || !no_port(e.daemon_port)) return LocalSubmission::No;
        return e.client_addr == "0" ? LocalSubmission::NoNetworkPeer : LocalSubmission::PostfixStandIn;
    }
    return LocalSubmission::No;
}

std::string_view describe(LocalSubmission kind) {
    switch (kind) {
    case LocalSubmission::No: return "network client";
    case LocalSubmission::PostfixStandIn:
        return "Postfix's stand-in client with port 0 (sendmail command, pickup)";
    case LocalSubmission::NoNetworkPeer: return "no network peer (sendmail -bs, UNIX-domain socket)";
    }
    return "?";
}

Connector builtin_local_submission_connector() {
    Connector c;
    c.name = std::string(kBuiltinLocalConnectorName);
    c.origin = "built-in";
    c.bindings.push_back(*Binding::parse("local"));
    c.permission_groups = {PermissionGroup::AnonymousUsers};
    // A local user can write into the queue directly: the connector takes
    // none of that away (no relay or sender check).
    Rights rights;
    rights.add(Right::Submit).add(Right::AcceptAnySender).add(Right::AcceptAuthoritativeDomainSender)
        .add(Right::AcceptAnyRecipient);
    c.grants.emplace_back(Principal{}, rights);  // Principal{} is AnonymousUsers
    c.auth_mechanisms = static_cast<std::uint32_t>(AuthMechanism::None);
    c.max_inbound_connection_per_source.reset();
    c.max_inbound_connection_percentage_per_source.reset();
    c.max_inbound_connection.reset();
    c.tarpit_interval = std::chrono::milliseconds(0);
    return c;
}

}  // namespace policy
