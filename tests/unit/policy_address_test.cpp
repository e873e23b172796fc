// SMTP envelope paths (RFC 5321) and RFC 5322 mailbox lists.
#include <gtest/gtest.h>

#include <random>

#include "policy/address.hpp"

using namespace policy;

namespace {

SmtpPath path(std::string_view arg) {
    const PathParse p = parse_smtp_path(arg);
    EXPECT_TRUE(p.path) << arg << ": " << p.error;
    return p.path.value_or(SmtpPath{});
}

std::vector<std::string> routes(std::string_view arg) { return path(arg).routing_domains; }

using Domains = std::vector<std::string>;

}  // namespace

TEST(SmtpPath, PlainAddressSplitsLocalPartAndDomain) {
    const SmtpPath p = path("<alice@example.com>");
    EXPECT_FALSE(p.null_path);
    EXPECT_EQ(p.local_part, "alice");
    EXPECT_EQ(p.domain, "example.com");
    EXPECT_EQ(p.routing_domains, Domains{"example.com"});
    EXPECT_EQ(p.address(), "alice@example.com");
}

TEST(SmtpPath, AngleBracketsAreOptional) {
    EXPECT_EQ(path("alice@example.com").domain, "example.com");
}

TEST(SmtpPath, NullPath) {
    const SmtpPath p = path("<>");
    EXPECT_TRUE(p.null_path);
    EXPECT_TRUE(p.routing_domains.empty());
    EXPECT_EQ(p.address(), "");
}

TEST(SmtpPath, DomainIsCaseFoldedAndTrailingDotStripped) {
    const SmtpPath p = path("<Alice@EXAMPLE.Com.>");
    EXPECT_EQ(p.domain, "example.com");
    EXPECT_EQ(p.local_part, "Alice");  // local parts keep their case (RFC 5321 section 2.4)
}

TEST(SmtpPath, ULabelDomainBecomesALabel) {
    EXPECT_EQ(path("<user@b\xc3\xbc" "cher.example>").domain, "xn--bcher-kva.example");
}

TEST(SmtpPath, UnqualifiedLocalPartHasNoRoutingDomain) {
    const SmtpPath p = path("<postmaster>");
    EXPECT_EQ(p.local_part, "postmaster");
    EXPECT_EQ(p.domain, "");
    EXPECT_TRUE(p.routing_domains.empty());
}

TEST(SmtpPath, AddressLiteralsAreKeptAsCanonicalLiterals) {
    const SmtpPath v4 = path("<user@[192.0.2.1]>");
    EXPECT_TRUE(v4.domain_is_literal);
    EXPECT_EQ(v4.domain, "[192.0.2.1]");
    const SmtpPath v6 = path("<user@[IPv6:2001:DB8:0::1]>");
    EXPECT_TRUE(v6.domain_is_literal);
    EXPECT_EQ(v6.domain, "[IPv6:2001:db8::1]");
    EXPECT_EQ(path("<user@[IPv6:::ffff:192.0.2.1]>").domain, "[192.0.2.1]");
}

TEST(SmtpPath, SourceRouteReportsEveryHopAfterFinalDomain) {
    const SmtpPath p = path("<@relay1.example,@[192.0.2.9]:user@final.example>");
    EXPECT_EQ(p.domain, "final.example");
    EXPECT_EQ(p.routing_domains, (Domains{"final.example", "relay1.example", "[192.0.2.9]"}));
}

TEST(SmtpPath, PercentHackReportsHiddenDomain) {
    EXPECT_EQ(routes("<user%outside.example@ours.example>"), (Domains{"ours.example", "outside.example"}));
}

TEST(SmtpPath, RepeatedPercentHackReportsEveryHop) {
    EXPECT_EQ(routes("<user%a.example%b.example@ours.example>"),
              (Domains{"ours.example", "b.example", "a.example"}));
}

TEST(SmtpPath, BangPathReportsEveryHop) {
    EXPECT_EQ(routes("<outside.example!user@ours.example>"), (Domains{"ours.example", "outside.example"}));
    EXPECT_EQ(routes("<a.example!b.example!user@ours.example>"),
              (Domains{"ours.example", "a.example", "b.example"}));
}

TEST(SmtpPath, QuotedLocalPartWithAtOrPercentReportsHiddenDomain) {
    const SmtpPath p = path("<\"user@outside.example\"@ours.example>");
    EXPECT_TRUE(p.local_part_quoted);
    EXPECT_EQ(p.local_part, "user@outside.example");
    EXPECT_EQ(p.routing_domains, (Domains{"ours.example", "outside.example"}));
    EXPECT_EQ(routes("<\"user%outside.example\"@ours.example>"), (Domains{"ours.example", "outside.example"}));
}

TEST(SmtpPath, HiddenDomainsAreNormalisedToo) {
    EXPECT_EQ(routes("<user%OUTSIDE.Example.@ours.example>"), (Domains{"ours.example", "outside.example"}));
}

TEST(SmtpPath, UnqualifiedPercentHackReportsHiddenDomain) {
    const SmtpPath p = path("<user%outside.example>");
    EXPECT_EQ(p.domain, "");
    EXPECT_EQ(p.routing_domains, Domains{"outside.example"});
}

TEST(SmtpPath, JunkHostInLocalPartIsReportedAsItIs) {
    // Not a domain name, so it can never match an accepted domain.
    EXPECT_EQ(routes("<user%@ours.example>"), (Domains{"ours.example", ""}));
}

TEST(SmtpPath, QuotedLocalPartIsUnquotedAndRequotedForAddress) {
    const SmtpPath p = path("<\"john \\\"jd\\\" doe\"@example.com>");
    EXPECT_EQ(p.local_part, "john \"jd\" doe");
    EXPECT_EQ(p.address(), "\"john \\\"jd\\\" doe\"@example.com");
    EXPECT_EQ(p.routing_domains, Domains{"example.com"});
}

TEST(SmtpPath, RejectsMalformedPaths) {
    const std::string long_path = "<" + std::string(250, 'a') + "@example.com>";
    for (const std::string& bad : {
             std::string(""), std::string("<"), std::string(">"), std::string("<user@example.com"),
             std::string("user@example.com>"), std::string("<<user@example.com>>"),
             std::string("<user@>"), std::string("<@example.com>"), std::string("<\"\"@example.com>"),
             std::string("<\"user@example.com>"), std::string("<user\"@example.com>"),
             std::string("<user@[192.0.2.1>"), std::string("<user@192.0.2.1]>"),
             std::string("<user@[999.0.2.1]>"), std::string("<user@[mail.example]>"),
             std::string("<user@exa mple.com>"), std::string("<user name@example.com>"),
             std::string("<user@example..com>"), std::string("<user@.example.com>"),
             std::string("<user@example.com\0.evil>", 24), std::string("<user@example.com\r\n>"),
             std::string("<user\x01@example.com>"), std::string("<user@example.com\x7f>"),
             std::string("<@relay.example>"), std::string("<@relay.example:>"), std::string("<@:user@example.com>"),
             std::string("<@relay.example,:user@example.com>"), std::string("<user@exa_mple.com>"),
             long_path}) {
        const PathParse p = parse_smtp_path(bad);
        EXPECT_FALSE(p.path) << '"' << bad << '"';
        EXPECT_FALSE(p.error.empty()) << '"' << bad << '"';
    }
}

TEST(SmtpPath, AcceptsPathOfExactly256Octets) {
    const std::string domain = "example.com";
    const std::string local(256 - 2 - 1 - domain.size(), 'a');
    EXPECT_TRUE(parse_smtp_path("<" + local + "@" + domain + ">").path);
    EXPECT_FALSE(parse_smtp_path("<" + local + "a@" + domain + ">").path);
}

TEST(SmtpPath, NeverCrashesOnRandomBytes) {
    std::mt19937 rng(12345);
    const std::string alphabet = "<>@%!\"\\[]:,. aZ0.-\x01\xc3\xbc";
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int len = static_cast<int>(rng() % 40);
        for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
        const PathParse p = parse_smtp_path(s);
        EXPECT_TRUE(p.path.has_value() != !p.error.empty()) << s;
    }
}

TEST(MailboxList, PlainAddress) {
    const auto r = parse_mailbox_list("alice@example.com");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].local_part, "alice");
    EXPECT_EQ(r.mailboxes[0].domain, "example.com");
}

TEST(MailboxList, DisplayNameAndAngleAddress) {
    const auto r = parse_mailbox_list("\"Smith, John\" <John.Smith@Example.COM>");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].address(), "John.Smith@example.com");
}

TEST(MailboxList, SeveralMailboxesWithCommentsAndFolding) {
    const auto r = parse_mailbox_list(
        "Alice (the (nested) boss) <alice@a.example>,\r\n bob@b.example (Bob),\r\n\t=?utf-8?q?C=C3=A9line?= "
        "<celine@c.example>");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 3u);
    EXPECT_EQ(r.mailboxes[0].address(), "alice@a.example");
    EXPECT_EQ(r.mailboxes[1].address(), "bob@b.example");
    EXPECT_EQ(r.mailboxes[2].address(), "celine@c.example");
}

TEST(MailboxList, UnquotedAtInDisplayNameStillYieldsTheAngleAddress) {
    // Mail readers show and reply to the angle address; it must not hide
    // behind a parse error.
    const auto r = parse_mailbox_list("attacker@outside.example <ceo@ours.example>");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].address(), "ceo@ours.example");
}

TEST(MailboxList, QuotedLocalPartIsUnquoted) {
    const auto r = parse_mailbox_list("<\"user@other.example\"@example.com>");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].local_part, "user@other.example");
    EXPECT_EQ(r.mailboxes[0].domain, "example.com");
}

TEST(MailboxList, GroupsContributeTheirMembers) {
    const auto r = parse_mailbox_list("Team: a@x.example, B <b@y.example>;, c@z.example");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 3u);
    EXPECT_EQ(r.mailboxes[1].domain, "y.example");
    EXPECT_EQ(r.mailboxes[2].domain, "z.example");
}

TEST(MailboxList, EmptyGroupParsesWithoutMailboxes) {
    const auto r = parse_mailbox_list("undisclosed-recipients:;");
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_TRUE(r.mailboxes.empty());
}

TEST(MailboxList, ObsoleteRouteAndDomainSpacing) {
    const auto r = parse_mailbox_list("<@relay.example:user@example . com>");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].address(), "user@example.com");
}

TEST(MailboxList, DomainIsNormalisedIncludingIdn) {
    const auto r = parse_mailbox_list("M\xc3\xbcller <mueller@B\xc3\x9c" "CHER.example.>");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].domain, "xn--bcher-kva.example");
}

TEST(MailboxList, LiteralDomain) {
    const auto r = parse_mailbox_list("user@[192.0.2.1]");
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.mailboxes.size(), 1u);
    EXPECT_EQ(r.mailboxes[0].domain, "[192.0.2.1]");
}

TEST(MailboxList, RejectsUnparsableValues) {
    for (const std::string& bad :
         {std::string(""), std::string("   "), std::string("John Smith"), std::string("<alice@example.com"),
          std::string("alice@"), std::string("\"unterminated <a@b.example>"), std::string("(unterminated a@b.example"),
          std::string("a@b.example c@d.example"), std::string("<>"), std::string("a@b.example\0", 12),
          std::string("Team: a@b.example"), std::string("a@exa_mple.com"), std::string("a@[not-an-ip]"),
          std::string("a@b..example"), std::string("a@b.example>")}) {
        const auto r = parse_mailbox_list(bad);
        EXPECT_FALSE(r.error.empty()) << '"' << bad << '"';
        EXPECT_TRUE(r.mailboxes.empty()) << '"' << bad << '"';
    }
}

TEST(MailboxList, NeverCrashesOnRandomBytes) {
    std::mt19937 rng(54321);
    const std::string alphabet = "<>@,;:.()\"\\[] aZ0-\r\n\t\x01\xc3";
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        const int len = static_cast<int>(rng() % 60);
        for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
        const auto r = parse_mailbox_list(s);
        if (!r.error.empty()) {
            EXPECT_TRUE(r.mailboxes.empty()) << s;
        }
    }
}

TEST(MailboxList, DeeplyNestedCommentsDoNotOverflow) {
    const std::string deep = std::string(100000, '(') + std::string(100000, ')') + " a@b.example";
    const auto r = parse_mailbox_list(deep);
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.mailboxes.size(), 1u);
}
