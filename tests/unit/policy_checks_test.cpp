// The stage checks: HELO, MAIL (TLS, Submit, SIZE, sender), RCPT (relay,
// recipient limit), end-of-message size; and the relay-trick table.
#include <gtest/gtest.h>

#include "policy/checks.hpp"
#include "policy/message_checks.hpp"

using namespace policy;

namespace {

// Exchange's replies written out (not taken from the code under test).
constexpr const char* kRelayDenied = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain";
constexpr const char* kAnonymousSenderDenied =
    "550 5.7.1 Anonymous client does not have permissions to send as this sender";
constexpr const char* kSenderDenied = "550 5.7.1 Client does not have permissions to send as this sender";
constexpr const char* kAnonymousNoSubmit =
    "530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM";
constexpr const char* kAuthenticatedNoSubmit = "550 5.7.1 Client does not have permissions to submit to this server";
constexpr const char* kRequireTls = "530 5.7.0 Must issue a STARTTLS command first";  // RFC 3207 section 4
constexpr const char* kTooLarge = "552 5.3.4 Message size exceeds fixed maximum message size";
constexpr const char* kTooManyRecipients = "452 4.5.3 Too many recipients";
constexpr const char* kEhlo = "501 5.0.0 EHLO requires domain address";
constexpr const char* kInvalidAddress = "501 5.1.3 Invalid address";

Connector frontend() {
    Connector c;
    c.name = "Default Frontend";
    c.permission_groups = {PermissionGroup::AnonymousUsers, PermissionGroup::ExchangeUsers,
                           PermissionGroup::ExchangeServers};
    return c;
}

AcceptedDomains our_domains() {
    AcceptedDomains d;
    d.add("ours.example", DomainType::Authoritative);
    d.add("*.wild.example", DomainType::Authoritative);
    d.add("internal.example", DomainType::InternalRelay);
    d.add("partner.example", DomainType::ExternalRelay);
    d.add("b\xc3\xbc" "cher.example", DomainType::Authoritative);
    return d;
}

SessionRights anonymous(const Connector& c) { return resolve_session_rights(c, {}, {}); }

SessionRights authenticated(const Connector& c, const char* user) {
    ClientIdentity id;
    id.auth_user = user;
    id.tls = true;
    return resolve_session_rights(c, id, {});
}

SmtpPath path(std::string_view arg) {
    const PathParse p = parse_smtp_path(arg);
    EXPECT_TRUE(p.path) << arg << ": " << p.error;
    return p.path.value_or(SmtpPath{});
}

std::string reply_of(const Verdict& v) { return v.ok() ? "accepted" : v.reply.to_string(); }


// ---- RCPT: relay --------------------------------------------------------

TEST(CheckRcpt, AnonymousToAcceptedDomainIsAccepted) {
    const Connector c = frontend();
    EXPECT_TRUE(check_rcpt(c, anonymous(c), path("<alice@ours.example>"), 0, our_domains()).ok());
}

TEST(CheckRcpt, AnonymousRelayToNonAcceptedDomainIsRefusedWith5_7_54) {
    const Connector c = frontend();
    const Verdict v = check_rcpt(c, anonymous(c), path("<bob@outside.example>"), 0, our_domains());
    EXPECT_EQ(v.action, Verdict::Action::Reject);
    EXPECT_EQ(v.reply.to_string(), kRelayDenied);
    EXPECT_NE(v.reason.find("outside.example"), std::string::npos) << v.reason;
}

TEST(CheckRcpt, ExternalRelayDomainIsAcceptedForAnonymous) {
    const Connector c = frontend();
    EXPECT_TRUE(check_rcpt(c, anonymous(c), path("<x@partner.example>"), 0, our_domains()).ok());
}

TEST(CheckRcpt, AuthenticatedUserMayRelay) {
    const Connector c = frontend();
    EXPECT_TRUE(check_rcpt(c, authenticated(c, "alice"), path("<bob@outside.example>"), 0, our_domains()).ok());
}

TEST(CheckRcpt, AnonymousWithGrantedAcceptAnyRecipientMayRelay) {
    Connector c = frontend();
    c.grants.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAnyRecipient)});
    EXPECT_TRUE(check_rcpt(c, anonymous(c), path("<bob@outside.example>"), 0, our_domains()).ok());
}

TEST(CheckRcpt, NullRecipientIsInvalid) {
    const Connector c = frontend();
    EXPECT_EQ(reply_of(check_rcpt(c, anonymous(c), path("<>"), 0, our_domains())), kInvalidAddress);
}

TEST(CheckRcpt, RecipientOverLimitGets452) {
    Connector c = frontend();
    c.max_recipients_per_message = 3;
    const SessionRights s = anonymous(c);
    EXPECT_TRUE(check_rcpt(c, s, path("<a@ours.example>"), 2, our_domains()).ok());
    const Verdict v = check_rcpt(c, s, path("<a@ours.example>"), 3, our_domains());
    EXPECT_EQ(v.action, Verdict::Action::TempFail);
    EXPECT_EQ(v.reply.to_string(), kTooManyRecipients);
}

TEST(CheckRcpt, BypassMessageSizeLimitLiftsRecipientLimit) {
    Connector c = frontend();
    c.max_recipients_per_message = 3;
    c.grants.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::BypassMessageSizeLimit)});
    EXPECT_TRUE(check_rcpt(c, anonymous(c), path("<a@ours.example>"), 500, our_domains()).ok());
}

// ---- Relay tricks ---------------------------------------------------------
// Each address is checked the way the routing MTA would route it. "refused"
// means an anonymous session on the internet-facing connector gets 550
// 5.7.54; "accepted" means it stays within accepted domains (or is local).

struct RelayCase {
    const char* address;
    bool accepted;
    const char* why;
};

constexpr RelayCase kRelayTricks[] = {
    {"<alice@ours.example>", true, "plain accepted domain"},
    {"<alice@OURS.Example>", true, "mixed-case domain"},
    {"<alice@ours.example.>", true, "trailing dot is the same domain"},
    {"<alice@ours.example..>", false, "two trailing dots: not a domain (parse error)"},
    {"<postmaster>", true, "unqualified local part stays local"},
    {"<alice@b\xc3\xbc" "cher.example>", true, "U-label of an accepted IDN domain"},
    {"<alice@xn--bcher-kva.example>", true, "A-label of an accepted IDN domain"},
    {"<alice@xn--bcher-kva.example.evil.example>", false, "accepted IDN as a prefix of a foreign domain"},
    {"<alice@sub.ours.example>", false, "subdomain of an exact (non-wildcard) accepted domain"},
    {"<alice@deep.sub.wild.example>", true, "subdomain covered by a wildcard"},
    {"<alice@ours.example.evil.example>", false, "accepted domain as a prefix"},
    {"<alice@evilours.example>", false, "accepted domain as a suffix without a dot"},
    {"<user%outside.example@ours.example>", false, "percent hack to a foreign domain"},
    {"<user%OUTSIDE.example.@ours.example>", false, "percent hack with case and trailing dot"},
    {"<user%internal.example@ours.example>", true, "percent hack between accepted domains"},
    {"<user%outside.example>", false, "unqualified percent hack"},
    {"<user%@ours.example>", false, "percent hack to an empty host"},
    {"<outside.example!user@ours.example>", false, "bang path"},
    {"<ours.example!outside.example!user@ours.example>", false, "two-hop bang path"},
    {"<outside.example!user>", false, "unqualified bang path"},
    {"<internal.example!user@ours.example>", true, "bang path between accepted domains"},
    {"<@ours.example:user@outside.example>", false, "source route ending outside"},
    {"<@outside.example:user@ours.example>", false, "source route through a foreign hop"},
    {"<@ours.example,@internal.example:user@ours.example>", true, "source route within accepted domains"},
    {"<\"user@outside.example\"@ours.example>", false, "quoted local part hiding '@'"},
    {"<\"user%outside.example\"@ours.example>", false, "quoted local part hiding '%'"},
    {"<\"outside.example!user\"@ours.example>", false, "quoted local part hiding '!'"},
    {"<\"user@outside.example\">", false, "unqualified quoted '@'"},
    {"<\"john doe\"@ours.example>", true, "harmless quoted local part"},
    {"<user@[192.0.2.1]>", false, "IPv4 address literal"},
    {"<user@[IPv6:2001:db8::1]>", false, "IPv6 address literal"},
    {"<user%[192.0.2.1]@ours.example>", false, "percent hack to a literal"},
    {"<user@outside.example@ours.example>", false, "unquoted second '@'"},
    {"<user@>", false, "empty domain"},
    {"<@ours.example>", false, "missing local part"},
    {"<>", false, "null path as recipient"},
    {"<user@ours.example\x01>", false, "control byte"},
    {"<user@ours.example\r\nRCPT TO:<x@outside.example>>", false, "CRLF injection"},
    {"<user\xc0\x80@ours.example>", true, "overlong UTF-8 in the local part stays local"},
};

TEST(RelayTricks, EachAddressIsRefusedOrAcceptedAsTheMtaWouldRouteIt) {
    const Connector c = frontend();
    const SessionRights s = anonymous(c);
    const AcceptedDomains domains = our_domains();
    for (const auto& t : kRelayTricks) {
        const PathParse p = parse_smtp_path(t.address);
        const bool accepted = p.path && check_rcpt(c, s, *p.path, 0, domains).ok();
        EXPECT_EQ(accepted, t.accepted) << t.address << " (" << t.why << ") "
                                        << (p.path ? "" : "parse error: " + p.error);
        if (p.path && !t.accepted && !p.path->null_path) {
            EXPECT_EQ(reply_of(check_rcpt(c, s, *p.path, 0, domains)), kRelayDenied) << t.address;
        }
    }
}

// Issue 12: Postfix (smtputf8_enable = no) and sendmail route a name that is
// ours only through UTS #46 mapping as written, to a foreign next hop: it is
// a relay recipient, and as a sender it still needs the right to use ours.
TEST(RelayTricks, NamesOursOnlyThroughUts46MappingAreForeignForTheRelayCheck) {
    const Connector c = frontend();
    for (const char* rcpt : {"<user@\xef\xbd\x8f\xef\xbd\x95\xef\xbd\x92\xef\xbd\x93.example>",  // fullwidth "ours"
                             "<user@ours\xe3\x80\x82" "example>",                                   // ideographic full stop
                             "<user@ours\xef\xbc\x8e" "example>",                                   // fullwidth full stop
                             "<user@ou\xc2\xadrs.example>",                                          // soft hyphen
                             "<user%ou\xc2\xadrs.example@ours.example>"}) {
        const SmtpPath p = path(rcpt);
        EXPECT_EQ(reply_of(check_rcpt(c, anonymous(c), p, 0, our_domains())), kRelayDenied) << rcpt;
        EXPECT_TRUE(check_rcpt(c, authenticated(c, "alice"), p, 0, our_domains()).ok()) << rcpt;
    }
    // The IDNA 2008 form itself, in Unicode or as A-labels, is ours.
    EXPECT_TRUE(check_rcpt(c, anonymous(c), path("<user@b\xc3\xbc" "cher.example>"), 0, our_domains()).ok());
    EXPECT_TRUE(check_rcpt(c, anonymous(c), path("<user@xn--bcher-kva.example>"), 0, our_domains()).ok());
}

TEST(CheckSender, LookAlikeOfOurDomainStillNeedsTheAuthoritativeDomainRight) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAuthoritativeDomainSender)});
    EXPECT_EQ(reply_of(check_mail(c, anonymous(c), true, path("<ceo@ours\xe3\x80\x82" "example>"), std::nullopt,
                                  our_domains(), {})),
              kAnonymousSenderDenied);
}

TEST(RelayTricks, NulByteCannotTruncateTheDomain) {
    const Connector c = frontend();
    const std::string arg("<user@outside.example\0@ours.example>", 36);
    const PathParse p = parse_smtp_path(arg);
    EXPECT_FALSE(p.path && check_rcpt(c, anonymous(c), *p.path, 0, our_domains()).ok());
}

TEST(RelayTricks, OverLongAddressIsNotAccepted) {
    const Connector c = frontend();
    const std::string arg = "<" + std::string(300, 'a') + "@ours.example>";
    const PathParse p = parse_smtp_path(arg);
    EXPECT_FALSE(p.path);
    EXPECT_NE(p.error.find("256"), std::string::npos) << p.error;
}

// ---- MAIL ---------------------------------------------------------------

TEST(CheckMail, RequireTlsWithoutTlsIsRefused530_5_7_0) {
    Connector c = frontend();
    c.require_tls = true;
    const Verdict v = check_mail(c, anonymous(c), false, path("<a@outside.example>"), std::nullopt, our_domains(), {});
    EXPECT_EQ(v.action, Verdict::Action::Reject);
    EXPECT_EQ(v.reply.to_string(), kRequireTls);
    EXPECT_TRUE(check_mail(c, anonymous(c), true, path("<a@outside.example>"), std::nullopt, our_domains(), {}).ok());
}

TEST(CheckMail, RequireTlsIsCheckedBeforeSubmit) {
    Connector c = frontend();
    c.require_tls = true;
    c.permission_groups = {};
    EXPECT_EQ(reply_of(check_mail(c, anonymous(c), false, path("<>"), std::nullopt, our_domains(), {})), kRequireTls);
}

TEST(CheckMail, AnonymousWithoutSubmitGets530_5_7_57) {
    Connector c = frontend();
    c.permission_groups = {PermissionGroup::ExchangeUsers};
    EXPECT_EQ(reply_of(check_mail(c, anonymous(c), true, path("<>"), std::nullopt, our_domains(), {})),
              kAnonymousNoSubmit);
}

TEST(CheckMail, AuthenticatedWithoutSubmitGets550_5_7_1) {
    Connector c = frontend();
    c.permission_groups = {PermissionGroup::AnonymousUsers};
    EXPECT_EQ(reply_of(check_mail(c, authenticated(c, "alice"), true, path("<>"), std::nullopt, our_domains(), {})),
              kAuthenticatedNoSubmit);
}

TEST(CheckMail, SizeOverLimitGets552_5_3_4) {
    Connector c = frontend();
    c.max_message_size = 1000;
    EXPECT_EQ(reply_of(check_mail(c, anonymous(c), true, path("<>"), 1001, our_domains(), {})), kTooLarge);
    EXPECT_TRUE(check_mail(c, anonymous(c), true, path("<>"), 1000, our_domains(), {}).ok());
    EXPECT_TRUE(check_mail(c, anonymous(c), true, path("<>"), std::nullopt, our_domains(), {}).ok());
}

TEST(CheckMail, UnlimitedSizeAcceptsAnySize) {
    Connector c = frontend();
    c.max_message_size = std::nullopt;
    EXPECT_TRUE(check_mail(c, anonymous(c), true, path("<>"), UINT64_MAX, our_domains(), {}).ok());
}

TEST(CheckMail, ExternallySecuredSessionBypassesSizeLimit) {
    Connector c = frontend();
    c.auth_mechanisms = static_cast<std::uint32_t>(AuthMechanism::ExternalAuthoritative);
    c.max_message_size = 1000;
    const SessionRights s = resolve_session_rights(c, {}, {});
    EXPECT_TRUE(check_mail(c, s, false, path("<a@ours.example>"), 5000, our_domains(), {}).ok());
    EXPECT_TRUE(check_message_size(c, s, 5000).ok());
}

TEST(CheckMail, NullSenderPassesSenderCheck) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(),
                        Rights().add(Right::AcceptAnySender).add(Right::AcceptAuthoritativeDomainSender)});
    EXPECT_TRUE(check_mail(c, anonymous(c), true, path("<>"), std::nullopt, our_domains(), {}).ok());
}

TEST(CheckMail, SenderCheckRunsLast) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAuthoritativeDomainSender)});
    EXPECT_EQ(reply_of(check_mail(c, anonymous(c), true, path("<ceo@ours.example>"), std::nullopt, our_domains(), {})),
              kAnonymousSenderDenied);
}

TEST(CheckMessageSize, RealSizeOverLimitGets552) {
    Connector c = frontend();
    c.max_message_size = 1000;
    EXPECT_EQ(reply_of(check_message_size(c, anonymous(c), 1001)), kTooLarge);
    EXPECT_TRUE(check_message_size(c, anonymous(c), 1000).ok());
}

// ---- Sender check ---------------------------------------------------------

TEST(CheckSender, AnonymousMaySpoofAuthoritativeDomainWithExchangesDefaultRights) {
    const Connector c = frontend();
    EXPECT_TRUE(check_sender(c, anonymous(c), path("<ceo@ours.example>"), our_domains(), {}).ok());
}

TEST(CheckSender, AnonymousSpoofingAuthoritativeDomainIsRefusedWhenRightDenied) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAuthoritativeDomainSender)});
    const Verdict v = check_sender(c, anonymous(c), path("<ceo@ours.example>"), our_domains(), {});
    EXPECT_EQ(reply_of(v), kAnonymousSenderDenied);
    EXPECT_NE(v.reason.find("Accept-Authoritative-Domain-Sender"), std::string::npos) << v.reason;
    // Internal-relay domains are ours too; external-relay ones are not.
    EXPECT_EQ(reply_of(check_sender(c, anonymous(c), path("<x@internal.example>"), our_domains(), {})),
              kAnonymousSenderDenied);
    EXPECT_TRUE(check_sender(c, anonymous(c), path("<x@partner.example>"), our_domains(), {}).ok());
    EXPECT_TRUE(check_sender(c, anonymous(c), path("<x@outside.example>"), our_domains(), {}).ok());
}

TEST(CheckMail, AnonymousSpoofHidingBehindCaseOrTrailingDotIsStillOurDomain) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAuthoritativeDomainSender)});
    for (const char* spoof : {"<ceo@OURS.Example>", "<ceo@ours.example.>", "<ceo@x.WILD.example>",
                              "<ceo@xn--bcher-kva.example>", "<ceo@b\xc3\xbc" "cher.example>"}) {
        EXPECT_EQ(reply_of(check_mail(c, anonymous(c), true, path(spoof), std::nullopt, our_domains(), {})),
                  kAnonymousSenderDenied)
            << spoof;
    }
}

TEST(CheckSender, AnonymousWithoutAcceptAnySenderMayNotUseForeignSender) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAnySender)});
    EXPECT_EQ(reply_of(check_sender(c, anonymous(c), path("<x@outside.example>"), our_domains(), {})),
              kAnonymousSenderDenied);
    EXPECT_TRUE(check_sender(c, anonymous(c), path("<x@ours.example>"), our_domains(), {}).ok());
}

// Issue 12: Postfix and sendmail rewrite <ceo>, <ceo%ours.example> and
// <ours.example!ceo> to ceo@<domain>; the sender check must see that domain.
TEST(CheckSender, RoutedAndUnqualifiedSendersAreJudgedByTheDomainTheMtaRewritesThemTo) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAuthoritativeDomainSender)});
    for (const char* spoof : {"<ceo>", "<ceo%ours.example>", "<ours.example!ceo>", "<ceo%ours.example@outside.example>",
                              "<\"ceo@ours.example\"@outside.example>", "<@outside.example:ceo@ours.example>"}) {
        const Verdict v = check_mail(c, anonymous(c), true, path(spoof), std::nullopt, our_domains(), {});
        EXPECT_EQ(reply_of(v), kAnonymousSenderDenied) << spoof;
    }
    EXPECT_TRUE(check_mail(c, anonymous(c), true, path("<ceo%outside.example>"), std::nullopt, our_domains(), {}).ok());
}

TEST(CheckSender, SenderLoginMapGrantsOnlyThePlainAddress) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("ExchangeUsers").value(),
                        Rights().add(Right::AcceptAuthoritativeDomainSender).add(Right::AcceptAnySender)});
    SenderLoginMap logins;
    ASSERT_TRUE(logins.add_line("alice@ours.example alice"));
    const SessionRights s = authenticated(c, "alice");
    EXPECT_TRUE(check_sender(c, s, path("<alice@ours.example>"), our_domains(), logins).ok());
    for (const char* spoof : {"<ceo>", "<ceo%ours.example>", "<ours.example!ceo>", "<alice%ours.example@ours.example>"})
        EXPECT_EQ(reply_of(check_sender(c, s, path(spoof), our_domains(), logins)), kSenderDenied) << spoof;
}

TEST(CheckSender, FromHeaderMailboxIsJudgedLikeTheEnvelope) {
    Connector c = frontend();
    c.denies.push_back({Principal::parse("AnonymousUsers").value(), Rights().add(Right::AcceptAuthoritativeDomainSender)});
    for (const char* from : {"ceo%ours.example", "CEO <ceo>", "ours.example!ceo", "<ceo@ours.example>"}) {
        const auto list = parse_mailbox_list(from);
        ASSERT_TRUE(list.error.empty()) << from << ": " << list.error;
        ASSERT_EQ(list.mailboxes.size(), 1U) << from;
        EXPECT_EQ(reply_of(check_sender(c, anonymous(c), list.mailboxes[0].as_path(), our_domains(), {})),
                  kAnonymousSenderDenied)
            << from;
    }
}

TEST(CheckSender, AuthenticatedUserMaySendAsOwnLogin) {
    const Connector c = frontend();
    const SessionRights s = authenticated(c, "Alice@Ours.Example");
    EXPECT_TRUE(check_sender(c, s, path("<alice@ours.example>"), our_domains(), {}).ok());
}

TEST(CheckSender, AuthenticatedUserMaySendAsSenderLoginMapAddress) {
    const Connector c = frontend();
    SenderLoginMap logins;
    ASSERT_TRUE(logins.add_line("sales@ours.example alice, bob"));
    ASSERT_TRUE(logins.add_line("@internal.example carol"));
    EXPECT_TRUE(check_sender(c, authenticated(c, "bob"), path("<Sales@ours.example>"), our_domains(), logins).ok());
    EXPECT_TRUE(
        check_sender(c, authenticated(c, "carol"), path("<anyone@internal.example>"), our_domains(), logins).ok());
}

TEST(CheckSender, AuthenticatedUserMayNotSendAsSomeoneElse) {
    const Connector c = frontend();
    SenderLoginMap logins;
    ASSERT_TRUE(logins.add_line("sales@ours.example alice"));
    const Verdict v =
        check_sender(c, authenticated(c, "mallory"), path("<sales@ours.example>"), our_domains(), logins);
    EXPECT_EQ(reply_of(v), kSenderDenied);
    EXPECT_NE(v.reason.find("mallory"), std::string::npos) << v.reason;
    EXPECT_EQ(reply_of(check_sender(c, authenticated(c, "alice@ours.example"), path("<bob@outside.example>"),
                                    our_domains(), logins)),
              kSenderDenied);
}

TEST(CheckSender, NullSenderPassesUnqualifiedSenderNeedsTheAuthoritativeDomainRight) {
    Connector c = frontend();
    c.permission_groups = {};
    EXPECT_TRUE(check_sender(c, anonymous(c), path("<>"), our_domains(), {}).ok());
    const Verdict v = check_sender(c, anonymous(c), path("<root>"), our_domains(), {});
    EXPECT_EQ(reply_of(v), kAnonymousSenderDenied);
    EXPECT_NE(v.reason.find("unqualified"), std::string::npos) << v.reason;
}

TEST(SenderLoginMap, RejectsMalformedLinesAndSkipsComments) {
    SenderLoginMap m;
    std::string error;
    EXPECT_TRUE(m.add_line("# comment", &error));
    EXPECT_TRUE(m.add_line("   ", &error));
    EXPECT_FALSE(m.add_line("sales@ours.example", &error));
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(m.add_line("not-an-address alice", &error));
    EXPECT_FALSE(m.add_line("x@bad_domain alice", &error));
    EXPECT_FALSE(m.allows("alice", "sales@ours.example"));
}

TEST(SenderLoginMap, DomainEntryDoesNotCoverOtherDomains) {
    SenderLoginMap m;
    ASSERT_TRUE(m.add_line("@ours.example carol"));
    EXPECT_TRUE(m.allows("CAROL", "x@OURS.example"));
    EXPECT_FALSE(m.allows("carol", "x@sub.ours.example"));
    EXPECT_FALSE(m.allows("carol", "x@outside.example"));
}

// ---- HELO -----------------------------------------------------------------

TEST(CheckHelo, RequiredDomainRefusesBareWordsWith501) {
    Connector c = frontend();
    c.require_ehlo_domain = true;
    EXPECT_EQ(reply_of(check_helo(c, "localhost")), kEhlo);
    EXPECT_EQ(reply_of(check_helo(c, "")), kEhlo);
    EXPECT_EQ(reply_of(check_helo(c, "bad..example")), kEhlo);
    EXPECT_EQ(reply_of(check_helo(c, "[not.an.ip]")), kEhlo);
    EXPECT_TRUE(check_helo(c, "mx.example.com").ok());
    EXPECT_TRUE(check_helo(c, "[192.0.2.1]").ok());
    EXPECT_TRUE(check_helo(c, "[IPv6:2001:db8::1]").ok());
}

TEST(CheckHelo, NotRequiredAcceptsAnything) {
    EXPECT_TRUE(check_helo(frontend(), "localhost").ok());
}

// ---- Verdicts and overrides -----------------------------------------------

TEST(Verdict, RefuseTempFailsFor4xxAndRejectsFor5xx) {
    EXPECT_EQ(Verdict::refuse(Reply::parse("421 4.3.2 busy").value(), "r", ReasonClass::Rate).action, Verdict::Action::TempFail);
    EXPECT_EQ(Verdict::refuse(Reply::parse("554 5.7.1 no").value(), "r", ReasonClass::Relay).action, Verdict::Action::Reject);
}

TEST(CheckRcpt, UsesConnectorsReplyOverride) {
    Connector c = frontend();
    c.replies.set(ReplyId::RelayDenied, Reply::parse("550 5.7.1 Relaying denied").value());
    EXPECT_EQ(reply_of(check_rcpt(c, anonymous(c), path("<x@outside.example>"), 0, our_domains())),
              "550 5.7.1 Relaying denied");
}

// --- which message checks run (policy/message_checks.hpp)

TEST(MessageChecks, BypassAntiSpamSkipsEveryCheckWhateverTheConnectorLists) {
    const CheckPlan plan = plan_checks(CheckSet::all(), true, CheckSet::all());
    EXPECT_TRUE(plan.run.empty());
    for (MessageCheck c : kMessageChecks) EXPECT_EQ(plan.skip(c), CheckSkip::BypassAntiSpam);
}

TEST(MessageChecks, LocalSubmissionSkipsEveryCheckAndSaysSoBeforeBypass) {
    const CheckPlan plan = plan_checks(CheckSet::all(), true, CheckSet::all(), true);
    EXPECT_TRUE(plan.run.empty());
    EXPECT_EQ(plan.skipped(CheckSkip::LocalSubmission), CheckSet::all());
}

TEST(MessageChecks, ConnectorListComesBeforeTheGlobalSwitches) {
    const CheckSet connector = CheckSet().add(MessageCheck::Dkim).add(MessageCheck::Spf);
    const CheckSet enabled = CheckSet().add(MessageCheck::Dkim).add(MessageCheck::Dmarc);
    const CheckPlan plan = plan_checks(connector, false, enabled);
    EXPECT_EQ(plan.run, CheckSet().add(MessageCheck::Dkim));
    EXPECT_EQ(plan.skip(MessageCheck::Spf), CheckSkip::DisabledGlobally);
    EXPECT_EQ(plan.skip(MessageCheck::Dmarc), CheckSkip::NotOnConnector);
    EXPECT_EQ(plan.skipped(CheckSkip::NotOnConnector).to_string(), "dmarc");
}

TEST(MessageChecks, NamesParseOnlyInLowerCaseAndListInFixedOrder) {
    EXPECT_EQ(parse_message_check("dmarc"), MessageCheck::Dmarc);
    EXPECT_FALSE(parse_message_check("DMARC").has_value());
    EXPECT_FALSE(parse_message_check("sender-id").has_value());
    EXPECT_EQ(CheckSet().add(MessageCheck::Dmarc).add(MessageCheck::Spf).to_string(), "spf, dmarc");
    EXPECT_EQ(CheckSet::all().to_string(), "spf, dkim, dmarc");
}

}  // namespace
