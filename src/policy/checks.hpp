// The policy's decisions at each SMTP stage. Pure functions of plain values:
// no libmilter, no I/O, no clock.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/accepted_domains.hpp"
#include "policy/address.hpp"
#include "policy/connector.hpp"
#include "policy/sender_login_map.hpp"
#include "policy/session_rights.hpp"

namespace policy {

// Why a session was refused, in a few bounded classes: the reason label of
// connector_milter_decision_reasons_total (metrics/catalogue.hpp), which
// must never carry the free text of `reason` (it names domains and
// addresses). Every refusal names one, so that a counter exists for it.
enum class ReasonClass : std::uint8_t {
    None,         // continue
    Connector,    // no connector matches the connection (or its binding is unknown)
    Connections,  // max_inbound_connection* reached
    Rate,         // message_rate_limit reached
    Helo,         // require_ehlo_domain
    Tls,          // require_tls without STARTTLS
    Submit,       // no Ms-Exch-SMTP-Submit
    Size,         // message or header size, SIZE=
    Recipients,   // max_recipients_per_message
    Address,      // an address that does not parse
    Relay,        // a recipient outside the accepted domains without Accept-Any-Recipient
    Sender,       // a sender (MAIL FROM or From:) the session may not use
    Spf,
    Dkim,
    Dmarc,        // DMARC policy, its temperror, a From: without one usable domain
    Arc,
    Dnsbl,        // a DNS block list provider lists the client, or failed with dns_failure = tempfail
    IpBlock,      // the client is in [[ip_block]]
    Cluster,      // shared limits cannot be checked: Redis down and [cluster] on_unavailable = tempfail
    Internal,     // the milter's own trouble: an exception, a quarantine it could not apply
    Count
};
inline constexpr std::size_t kReasonClassCount = static_cast<std::size_t>(ReasonClass::Count);
// "relay", "sender", ... (the label value).
std::string_view reason_class_name(ReasonClass c);

struct Verdict {
    enum class Action : std::uint8_t { Continue, Reject, TempFail };
    Action action = Action::Continue;
    Reply reply;          // for Reject/TempFail
    std::string reason;   // for the log: "relay to outside.example denied: no Accept-Any-Recipient"
    ReasonClass reason_class = ReasonClass::None;  // for the counters

    bool ok() const { return action == Action::Continue; }
    static Verdict accept() { return {}; }
    // Reject or TempFail from the code.
    static Verdict refuse(const Reply& reply, std::string reason, ReasonClass reason_class);
};

// EHLO/HELO: with require_ehlo_domain the argument must be a domain name
// (at least one dot, normalize_domain() accepts it) or an address literal.
Verdict check_helo(const Connector& c, std::string_view helo);

// MAIL FROM, in this order: RequireTLS, Submit, SIZE= against
// max_message_size (unless Bypass-Message-Size-Limit), then the sender check.
Verdict check_mail(const Connector& c, const SessionRights& rights, bool tls,
                   const SmtpPath& sender, std::optional<std::uint64_t> size_param,
                   const AcceptedDomains& domains, const SenderLoginMap& logins);

// The sender check shared by MAIL FROM and the From: header. The sender is
// judged by every domain the MTA may route or rewrite it to: Postfix and
// sendmail turn <ceo%contoso.test> and <contoso.test!ceo> into
// ceo@contoso.test, and qualify an unqualified <ceo> with their own domain
// ($myorigin, $j), which is taken to be one of ours. For each such domain:
// - in an authoritative or internal-relay domain: needs
//   Accept-Authoritative-Domain-Sender;
// - outside them: needs Accept-Any-Sender;
// - an authenticated session may send as its own login (when it is an
//   address) and as what the sender login map grants it, for a plain
//   user@domain only (a routed form is not the address the map names).
// The null sender passes. Refuses with AnonymousSenderDenied or SenderDenied.
Verdict check_sender(const Connector& c, const SessionRights& rights, const SmtpPath& sender,
                     const AcceptedDomains& domains, const SenderLoginMap& logins);

// RCPT TO: `accepted_so_far` recipients have been accepted in this message.
// Over max_recipients_per_message -> TooManyRecipients (unless
// Bypass-Message-Size-Limit). A recipient any of whose routing domains is
// not an accepted domain needs Accept-Any-Recipient, else RelayDenied.
// Address literals are never accepted domains.
Verdict check_rcpt(const Connector& c, const SessionRights& rights, const SmtpPath& rcpt,
                   std::size_t accepted_so_far, const AcceptedDomains& domains);

// The size received so far (headers and body) against max_message_size,
// checked as the message comes in and at its end.
Verdict check_message_size(const Connector& c, const SessionRights& rights, std::uint64_t size);

// The header block received so far against max_header_size ->
// HeaderTooLarge. Every session is bound by it (Bypass-Message-Size-Limit
// included): it is what keeps a message's headers in memory bounded.
Verdict check_header_size(const Connector& c, std::uint64_t header_size);

}  // namespace policy
