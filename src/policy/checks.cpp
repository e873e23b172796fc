#include "policy/checks.hpp"

namespace policy {

std::string_view reason_class_name(ReasonClass c) {
    switch (c) {
        case ReasonClass::None: return "none";
        case ReasonClass::Connector: return "connector";
        case ReasonClass::Connections: return "connections";
        case ReasonClass::Rate: return "rate";
        case ReasonClass::Helo: return "helo";
        case ReasonClass::Tls: return "tls";
        case ReasonClass::Submit: return "submit";
        case ReasonClass::Size: return "size";
        case ReasonClass::Recipients: return "recipients";
        case ReasonClass::Address: return "address";
        case ReasonClass::Relay: return "relay";
        case ReasonClass::Sender: return "sender";
        case ReasonClass::Spf: return "spf";
        case ReasonClass::Dkim: return "dkim";
        case ReasonClass::Dmarc: return "dmarc";
        case ReasonClass::Arc: return "arc";
        case ReasonClass::Dnsbl: return "dnsbl";
        case ReasonClass::IpBlock: return "ip_block";
        case ReasonClass::Cluster: return "cluster";
        case ReasonClass::Internal: return "internal";
        case ReasonClass::Count: break;
    }
    return "internal";
}

Verdict Verdict::refuse(const Reply& reply, std::string reason, ReasonClass reason_class) {
    Verdict v;
    v.reason_class = reason_class;
    // RFC 5321 section 4.2.1: 4yz is transient, 5yz permanent.
    v.action = reply.permanent() ? Action::Reject : Action::TempFail;
    v.reply = reply;
    v.reason = std::move(reason);
    return v;
}

namespace {

bool is_anonymous(const SessionRights& rights) {
    return rights.principals.empty() || rights.principals.front().kind == Principal::Kind::AnonymousUsers;
}

bool is_literal(std::string_view domain) { return !domain.empty() && domain.front() == '['; }

std::string in_connector(const Connector& c) { return " on connector '" + c.name + "'"; }

}  // namespace

Verdict check_helo(const Connector& c, std::string_view helo) {
    if (!c.require_ehlo_domain) return Verdict::accept();
    // RFC 5321 section 4.1.1.1: EHLO Domain / address-literal.
    if (is_literal(helo)) {
        const auto parsed = parse_smtp_path("x@" + std::string(helo));
        if (parsed.path && parsed.path->domain_is_literal) return Verdict::accept();
    } else if (helo.find('.') != std::string_view::npos) {
        if (normalize_domain(helo)) return Verdict::accept();
    }
    return Verdict::refuse(c.replies.get(ReplyId::EhloRequiresDomain),
                           "EHLO argument '" + std::string(helo.substr(0, 100)) +
                               "' is not a domain name or address literal" + in_connector(c), ReasonClass::Helo);
}

Verdict check_mail(const Connector& c, const SessionRights& rights, bool tls, const SmtpPath& sender,
                   std::optional<std::uint64_t> size_param, const AcceptedDomains& domains,
                   const SenderLoginMap& logins) {
    if (c.require_tls && !tls)
        return Verdict::refuse(c.replies.get(ReplyId::RequireTls),
                               "MAIL without STARTTLS" + in_connector(c) + ", which requires TLS", ReasonClass::Tls);
    if (!rights.rights.has(Right::Submit)) {
        if (is_anonymous(rights))
            return Verdict::refuse(c.replies.get(ReplyId::AnonymousNoSubmit),
                                   "anonymous session lacks Ms-Exch-SMTP-Submit" + in_connector(c), ReasonClass::Submit);
        return Verdict::refuse(c.replies.get(ReplyId::AuthenticatedNoSubmit),
                               rights.describe() + " lacks Ms-Exch-SMTP-Submit" + in_connector(c), ReasonClass::Submit);
    }
    // RFC 1870 section 6: refuse at MAIL when the declared SIZE is too big.
    if (size_param && c.max_message_size && *size_param > *c.max_message_size &&
        !rights.rights.has(Right::BypassMessageSizeLimit))
        return Verdict::refuse(c.replies.get(ReplyId::MessageTooLarge),
                               "SIZE=" + std::to_string(*size_param) + " exceeds max_message_size " +
                                   std::to_string(*c.max_message_size) + in_connector(c), ReasonClass::Size);
    return check_sender(c, rights, sender, domains, logins);
}

Verdict check_sender(const Connector& c, const SessionRights& rights, const SmtpPath& sender,
                     const AcceptedDomains& domains, const SenderLoginMap& logins) {
    if (sender.null_path) return Verdict::accept();
    const std::string address = sender.address();
    // Send-As: the mailbox owner and those the map names may use the address
    // whatever the group rights say, when the address is exactly the one the
    // MTA will use.
    const bool plain = !sender.domain.empty() && sender.routing_domains.size() == 1;
    if (plain && rights.authenticated && !rights.login.empty() && logins.allows(rights.login, address))
        return Verdict::accept();

    struct Judged {
        std::string domain;
        bool ours;
    };
    std::vector<Judged> judged;
    for (const auto& d : sender.routing_domains) judged.push_back({d, !is_literal(d) && domains.is_ours(d)});
    if (judged.empty()) judged.push_back({"(unqualified: the MTA's own domain)", true});

    for (const auto& [domain, ours] : judged) {
        const Right needed = ours ? Right::AcceptAuthoritativeDomainSender : Right::AcceptAnySender;
        if (rights.rights.has(needed)) continue;
        std::string reason = "sender " + address + " is " + (ours ? "in our domain " : "outside our domains (") +
                             domain + (ours ? "" : ")") + " and " + rights.describe() + " lacks " +
                             std::string(right_name(needed));
        if (rights.authenticated) reason += "; login '" + rights.login + "' may not send as it";
        reason += in_connector(c);
        const ReplyId id = is_anonymous(rights) ? ReplyId::AnonymousSenderDenied : ReplyId::SenderDenied;
        return Verdict::refuse(c.replies.get(id), std::move(reason), ReasonClass::Sender);
    }
    return Verdict::accept();
}

Verdict check_rcpt(const Connector& c, const SessionRights& rights, const SmtpPath& rcpt,
                   std::size_t accepted_so_far, const AcceptedDomains& domains) {
    if (rcpt.null_path)
        return Verdict::refuse(c.replies.get(ReplyId::InvalidAddress), "null recipient <>", ReasonClass::Address);
    if (accepted_so_far >= c.max_recipients_per_message &&
        !rights.rights.has(Right::BypassMessageSizeLimit))
        return Verdict::refuse(c.replies.get(ReplyId::TooManyRecipients),
                               "more than max_recipients_per_message " +
                                   std::to_string(c.max_recipients_per_message) + in_connector(c), ReasonClass::Recipients);
    // A bare local part without routing characters: the MTA delivers it
    // locally (or qualifies it with its own domain).
    if (rcpt.domain.empty() && rcpt.routing_domains.empty()) return Verdict::accept();

    // Every domain the MTA might route to must be accepted: a %-hack, bang
    // path, source route or quoted '@' pointing outside makes it a relay.
    const std::string* foreign = nullptr;
    for (const auto& d : rcpt.routing_domains) {
        if (is_literal(d) || !domains.match(d)) {
            foreign = &d;
            break;
        }
    }
    if (!foreign && !rcpt.routing_domains.empty()) return Verdict::accept();
    if (rights.rights.has(Right::AcceptAnyRecipient)) return Verdict::accept();
    const std::string where = foreign ? *foreign : std::string("(no domain)");
    return Verdict::refuse(c.replies.get(ReplyId::RelayDenied),
                           "relay to " + where + " denied for " + rcpt.address() + ": " +
                               (foreign && is_literal(*foreign) ? "an address literal is never"
                                                                : "not") +
                               " an accepted domain, and " + rights.describe() +
                               " lacks Ms-Exch-SMTP-Accept-Any-Recipient" + in_connector(c), ReasonClass::Relay);
}

Verdict check_message_size(const Connector& c, const SessionRights& rights, std::uint64_t size) {
    if (c.max_message_size && size > *c.max_message_size && !rights.rights.has(Right::BypassMessageSizeLimit))
        return Verdict::refuse(c.replies.get(ReplyId::MessageTooLarge),
                               "message of " + std::to_string(size) + " bytes exceeds max_message_size " +
                                   std::to_string(*c.max_message_size) + in_connector(c), ReasonClass::Size);
    return Verdict::accept();
}

Verdict check_header_size(const Connector& c, std::uint64_t header_size) {
    if (header_size > c.max_header_size)
        return Verdict::refuse(c.replies.get(ReplyId::HeaderTooLarge),
                               "headers reached " + std::to_string(header_size) +
                                   " bytes, over max_header_size " + std::to_string(c.max_header_size) +
                                   in_connector(c), ReasonClass::Size);
    return Verdict::accept();
}

}  // namespace policy
