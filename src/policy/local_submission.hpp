// Local submissions: mail that a program on this machine hands to the MTA
// without an SMTP client on the network (Postfix's sendmail command through
// postdrop and pickup, `sendmail -bs` on a pipe, an MTA listening on a
// UNIX-domain socket). They are recognised from what the MTA really sends at
// connect, never from anything a network client says, and are given the
// connector bound to "local" (or the built-in one), like mail dropped into
// Exchange's Pickup directory, which bypasses the receive connectors.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/connector.hpp"
#include "policy/ip_address.hpp"

namespace policy {

// The milter connect event and macros as the MTA sent them, before any
// interpretation. Macro strings are empty when the MTA did not send them.
struct ConnectEvidence {
    // The address family of the connect event's hostaddr: SMFIA_INET or
    // SMFIA_INET6 (Inet), SMFIA_UNIX (Unix), SMFIA_UNKNOWN (None: no
    // address at all).
    enum class Family : std::uint8_t { Inet, Unix, None };
    Family family = Family::None;
    std::optional<IpAddress> address;  // hostaddr, Inet only
    std::uint16_t port = 0;            // hostaddr's port, Inet only
    std::string client_addr;           // {client_addr}
    std::string client_port;           // {client_port}
    std::string daemon_addr;           // {daemon_addr}
    std::string daemon_port;           // {daemon_port}
};

enum class LocalSubmission : std::uint8_t {
    No,
    // Postfix cleanup(8) emulating SMTP for non_smtpd_milters (pickup,
    // internal bounces), or Postfix smtpd on a pipe or UNIX socket
    // (`sendmail -bs`): client 127.0.0.1 or ::1, client port 0.
    PostfixStandIn,
    // No network peer at all: sendmail `-bs` on a pipe (SMFIA_UNKNOWN,
    // {client_addr} "0"), an MTA daemon on a UNIX-domain socket.
    NoNetworkPeer,
};

// Decides from the evidence alone (pure).
//
// Postfix invents "localhost [127.0.0.1]" (or [::1] when IPv6 comes first
// in inet_protocols) with client port 0 for mail that has no SMTP client
// (cleanup_milter.c, smtpd_peer.c); its {daemon_addr} is the same address
// and its {daemon_port} is "0". A TCP connection never has port 0, so a
// network client cannot produce this: only a host that Postfix trusts with
// XCLIENT (smtpd_authorized_xclient_hosts) or the PROXY protocol can claim
// ADDR=127.0.0.1 PORT=0, and with {daemon_port} in the macro list it must
// also claim DESTPORT=0. Such a host can already claim any client address,
// so it is trusted as the MTA itself is.
//
// sendmail calls milters only from its SMTP server (srvrsmtp.c): for
// `sendmail -bs` on a pipe getpeername() fails, the connect event has no
// address (SMFIA_UNKNOWN) and {client_addr} is "0". A daemon connection
// always has an Internet or UNIX-domain peer. A connect event without an
// address and without {client_addr} is not taken for a local submission:
// missing evidence never widens what a session may do.
//
// Anything else is not a local submission: a peer address that is not
// loopback, a real port, a {daemon_port} other than "0", Postfix's
// "unknown" client (the peer went away), or an address macro that
// contradicts the event.
LocalSubmission recognise_local_submission(const ConnectEvidence& evidence);

// For logs: "Postfix's stand-in client with port 0 (sendmail command, pickup)", ...
std::string_view describe(LocalSubmission kind);

// The connector that applies to local submissions when no connector binds
// "local": everything a local user could do by writing into the queue
// directly. AnonymousUsers with Submit, Accept-Any-Sender,
// Accept-Authoritative-Domain-Sender and Accept-Any-Recipient; no TLS or
// EHLO-domain requirement, no connection or rate limit, no tarpit; the
// default message size and recipient limits.
Connector builtin_local_submission_connector();

// The name of that connector in logs and `explain`.
inline constexpr std::string_view kBuiltinLocalConnectorName = "Local submission (built-in)";

}  // namespace policy
