// Rights, permission groups, principals and the session's rights.
#include <gtest/gtest.h>

#include "policy/session_rights.hpp"

using namespace policy;

namespace {

Rights rights_of(std::initializer_list<Right> list) {
    Rights r;
    for (const Right x : list) r.add(x);
    return r;
}

Principal principal(const char* text) { return Principal::parse(text).value(); }

Connector frontend() {
    Connector c;
    c.name = "Default Frontend";
    c.permission_groups = {PermissionGroup::AnonymousUsers, PermissionGroup::ExchangeUsers,
                           PermissionGroup::ExchangeServers};
    return c;
}

ClientIdentity anonymous() { return {}; }

ClientIdentity login(const char* user, bool tls) {
    ClientIdentity id;
    id.auth_user = user;
    id.auth_type = "PLAIN";
    id.tls = tls;
    return id;
}

}  // namespace

TEST(Rights, AnonymousUsersGroupMatchesExchangeTable) {
    EXPECT_EQ(group_rights(PermissionGroup::AnonymousUsers),
              rights_of({Right::Submit, Right::AcceptAnySender, Right::AcceptAuthoritativeDomainSender,
                         Right::AcceptRoutingHeaders}));
}

TEST(Rights, ExchangeUsersGroupMatchesExchangeTable) {
    EXPECT_EQ(group_rights(PermissionGroup::ExchangeUsers),
              rights_of({Right::Submit, Right::AcceptAnyRecipient, Right::BypassAntiSpam,
                         Right::AcceptRoutingHeaders}));
}

TEST(Rights, ExchangeServersGroupHasEveryRight) {
    const Rights r = group_rights(PermissionGroup::ExchangeServers);
    for (const Right x : {Right::Submit, Right::AcceptAnyRecipient, Right::AcceptAnySender,
                          Right::AcceptAuthoritativeDomainSender, Right::AcceptAuthenticationFlag,
                          Right::BypassAntiSpam, Right::BypassMessageSizeLimit, Right::AcceptRoutingHeaders,
                          Right::AcceptExch50, Right::AcceptOrganizationHeaders, Right::AcceptForestHeaders})
        EXPECT_TRUE(r.has(x)) << right_name(x);
}

TEST(Rights, PartnersGroupMatchesExchangeTable) {
    EXPECT_EQ(group_rights(PermissionGroup::Partners), rights_of({Right::Submit, Right::AcceptRoutingHeaders}));
}

TEST(Rights, ParsesNamesWithOrWithoutPrefixInAnyCase) {
    EXPECT_EQ(parse_right("Ms-Exch-SMTP-Accept-Any-Recipient"), Right::AcceptAnyRecipient);
    EXPECT_EQ(parse_right("ms-exch-smtp-accept-any-recipient"), Right::AcceptAnyRecipient);
    EXPECT_EQ(parse_right("SMTP-Submit"), Right::Submit);
    EXPECT_EQ(parse_right("Bypass-Message-Size-Limit"), Right::BypassMessageSizeLimit);
    EXPECT_FALSE(parse_right("Ms-Exch-SMTP-Relay"));
    EXPECT_FALSE(parse_right(""));
}

TEST(Rights, EveryRightNameParsesBackToItself) {
    for (int i = 0; i < kRightCount; ++i) {
        const auto r = static_cast<Right>(1u << i);
        EXPECT_EQ(parse_right(right_name(r)), r) << right_name(r);
    }
}

TEST(Rights, ToStringListsNamesInFixedOrderOrNone) {
    EXPECT_EQ(Rights().to_string(), "none");
    EXPECT_EQ(rights_of({Right::AcceptAnyRecipient, Right::Submit}).to_string(),
              "Ms-Exch-SMTP-Submit,Ms-Exch-SMTP-Accept-Any-Recipient");
}

TEST(Rights, PermissionGroupAcceptsAuthenticatedUsersAlias) {
    EXPECT_EQ(parse_permission_group("AuthenticatedUsers"), PermissionGroup::ExchangeUsers);
    EXPECT_EQ(parse_permission_group("exchangeusers"), PermissionGroup::ExchangeUsers);
    EXPECT_EQ(parse_permission_group("Partners"), PermissionGroup::Partners);
    EXPECT_FALSE(parse_permission_group("Everyone"));
}

TEST(Principal, ParsesEveryKindAndLowerCasesUser) {
    EXPECT_EQ(principal("ExchangeUsers").kind, Principal::Kind::AuthenticatedUsers);
    EXPECT_EQ(principal("ExternallySecuredServers").kind, Principal::Kind::ExternallySecuredServers);
    const Principal u = principal("user:Alice@Example.COM");
    EXPECT_EQ(u.kind, Principal::Kind::User);
    EXPECT_EQ(u.user, "alice@example.com");
    EXPECT_EQ(u.to_string(), "user:alice@example.com");
    std::string error;
    EXPECT_FALSE(Principal::parse("Administrators", &error));
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(Principal::parse("user:", &error));
}

TEST(SessionRights, AnonymousSessionGetsAnonymousRightsWhenConnectorListsGroup) {
    const SessionRights s = resolve_session_rights(frontend(), anonymous(), {});
    EXPECT_FALSE(s.authenticated);
    EXPECT_EQ(s.describe(), "AnonymousUsers");
    EXPECT_EQ(s.rights, group_rights(PermissionGroup::AnonymousUsers));
}

TEST(SessionRights, AnonymousSessionGetsNothingWhenGroupNotListed) {
    Connector c = frontend();
    c.permission_groups = {PermissionGroup::ExchangeUsers};
    EXPECT_TRUE(resolve_session_rights(c, anonymous(), {}).rights.empty());
}

TEST(SessionRights, LoginOverTlsGetsExchangeUsersRights) {
    const SessionRights s = resolve_session_rights(frontend(), login("Alice", true), {});
    EXPECT_TRUE(s.authenticated);
    EXPECT_EQ(s.login, "alice");
    EXPECT_EQ(s.describe(), "AuthenticatedUsers(user:alice)");
    EXPECT_EQ(s.rights, group_rights(PermissionGroup::ExchangeUsers));
}

TEST(SessionRights, BasicAuthRequireTlsIgnoresLoginWithoutTls) {
    const SessionRights s = resolve_session_rights(frontend(), login("alice", false), {});
    EXPECT_FALSE(s.authenticated);
    EXPECT_EQ(s.describe(), "AnonymousUsers");
    EXPECT_FALSE(s.rights.has(Right::AcceptAnyRecipient));
    EXPECT_NE(s.note.find("BasicAuthRequireTLS"), std::string::npos) << s.note;
}

TEST(SessionRights, BasicAuthWithoutRequireTlsCountsLoginWithoutTls) {
    Connector c = frontend();
    c.auth_mechanisms = static_cast<std::uint32_t>(AuthMechanism::BasicAuth);
    EXPECT_TRUE(resolve_session_rights(c, login("alice", false), {}).authenticated);
}

TEST(SessionRights, LoginIgnoredWhenConnectorOffersNoAuth) {
    Connector c = frontend();
    c.auth_mechanisms = static_cast<std::uint32_t>(AuthMechanism::Tls);
    const SessionRights s = resolve_session_rights(c, login("alice", true), {});
    EXPECT_FALSE(s.authenticated);
    EXPECT_FALSE(s.rights.has(Right::AcceptAnyRecipient));
}

TEST(SessionRights, ExternalAuthoritativeMakesEverySessionAnExchangeServer) {
    Connector c;
    c.name = "Partner link";
    c.permission_groups = {PermissionGroup::ExchangeServers};
    c.auth_mechanisms = static_cast<std::uint32_t>(AuthMechanism::ExternalAuthoritative);
    const SessionRights s = resolve_session_rights(c, anonymous(), {});
    EXPECT_TRUE(s.externally_secured);
    EXPECT_EQ(s.describe(), "ExternallySecuredServers");
    EXPECT_EQ(s.rights, Rights::all());
}

TEST(SessionRights, GrantAddsRightToAnonymous) {
    Connector c = frontend();
    c.grants.push_back({principal("AnonymousUsers"), rights_of({Right::AcceptAnyRecipient})});
    EXPECT_TRUE(resolve_session_rights(c, anonymous(), {}).rights.has(Right::AcceptAnyRecipient));
    EXPECT_TRUE(resolve_session_rights(c, anonymous(), {}).rights.has(Right::Submit));
}

TEST(SessionRights, GrantForOtherPrincipalDoesNotApply) {
    Connector c = frontend();
    c.grants.push_back({principal("AuthenticatedUsers"), rights_of({Right::BypassMessageSizeLimit})});
    EXPECT_FALSE(resolve_session_rights(c, anonymous(), {}).rights.has(Right::BypassMessageSizeLimit));
    EXPECT_TRUE(resolve_session_rights(c, login("bob", true), {}).rights.has(Right::BypassMessageSizeLimit));
}

TEST(SessionRights, GrantToOneUserAppliesOnlyToThatLogin) {
    Connector c = frontend();
    c.grants.push_back({principal("user:Alice"), rights_of({Right::BypassMessageSizeLimit})});
    EXPECT_TRUE(resolve_session_rights(c, login("ALICE", true), {}).rights.has(Right::BypassMessageSizeLimit));
    EXPECT_FALSE(resolve_session_rights(c, login("bob", true), {}).rights.has(Right::BypassMessageSizeLimit));
}

TEST(SessionRights, DenyRemovesAGroupRight) {
    Connector c = frontend();
    c.denies.push_back({principal("AnonymousUsers"), rights_of({Right::AcceptAuthoritativeDomainSender})});
    const SessionRights s = resolve_session_rights(c, anonymous(), {});
    EXPECT_FALSE(s.rights.has(Right::AcceptAuthoritativeDomainSender));
    EXPECT_TRUE(s.rights.has(Right::AcceptAnySender));
}

TEST(SessionRights, DenyWinsOverGrantWhateverTheOrder) {
    Connector c = frontend();
    c.denies.push_back({principal("user:alice"), rights_of({Right::AcceptAnyRecipient})});
    c.grants.push_back({principal("AuthenticatedUsers"), rights_of({Right::AcceptAnyRecipient})});
    EXPECT_FALSE(resolve_session_rights(c, login("alice", true), {}).rights.has(Right::AcceptAnyRecipient));
}

TEST(SessionRights, TrustedCertificateMapsToPartners) {
    Connector c = frontend();
    c.permission_groups.push_back(PermissionGroup::Partners);
    ClientIdentity id;
    id.tls = true;
    id.certificate.trusted = true;
    id.certificate.subject_cn = "mx.partner.example";
    id.certificate.issuer_cn = "Partner CA";
    const std::vector<CertificateMapping> map{{CertificateName::common_name("mx.partner.example"),
                                               CertificateName::common_name("Partner CA"), PermissionGroup::Partners}};
    const SessionRights s = resolve_session_rights(c, id, map);
    EXPECT_EQ(s.describe(), "Partners");
    EXPECT_EQ(s.rights, group_rights(PermissionGroup::Partners));
}

TEST(SessionRights, UntrustedOrWrongIssuerCertificateStaysAnonymous) {
    Connector c = frontend();
    ClientIdentity id;
    id.tls = true;
    id.certificate.subject_cn = "mx.partner.example";
    id.certificate.issuer_cn = "Other CA";
    const std::vector<CertificateMapping> map{{CertificateName::common_name("mx.partner.example"),
                                               CertificateName::common_name("Partner CA"),
                                               PermissionGroup::ExchangeServers}};
    EXPECT_EQ(resolve_session_rights(c, id, map).describe(), "AnonymousUsers");
    id.certificate.trusted = true;
    EXPECT_EQ(resolve_session_rights(c, id, map).describe(), "AnonymousUsers");
    id.certificate.issuer_cn = "Partner CA";
    EXPECT_EQ(resolve_session_rights(c, id, map).describe(), "ExchangeServers");
}
