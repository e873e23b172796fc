// Authentication-Results generation and parsing (RFC 8601).
#include "auth/authres.hpp"
#include "auth/authres_claim.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace {

using auth::AuthResult;
using auth::authserv_id_of;
using auth::claims_authserv_id;
using auth::format_authentication_results;
using auth::parse_authentication_results;

AuthResult spf_pass_mailfrom(std::string domain) {
    AuthResult r;
    r.method = "spf";
    r.result = "pass";
    r.properties = {{"smtp.mailfrom", std::move(domain)}};
    return r;
}

bool has_line_break(const std::string& s) {
    return s.find('\r') != std::string::npos || s.find('\n') != std::string::npos;
}

// ----------------------------------------------------------------------------
// Generation
// ----------------------------------------------------------------------------

TEST(AuthResFormat, NoResultsIsWrittenAsNone) {
    EXPECT_EQ(format_authentication_results("mx.example.com", {}), "mx.example.com; none");
}

// RFC 8601 section 2.2: CFWS may follow the authserv-id in both forms.
TEST(AuthResFormat, NoteIsACommentAfterTheAuthservIdAndParsesBack) {
    const std::string none = format_authentication_results("mx.example.com", {}, "", "no checks on \"Relay\" (a)");
    EXPECT_EQ(none, "mx.example.com (no checks on \"Relay\" \\(a\\)); none");
    const auto parsed_none = parse_authentication_results(none);
    ASSERT_TRUE(parsed_none.has_value());
    EXPECT_TRUE(parsed_none->none);
    EXPECT_EQ(parsed_none->note, "no checks on \"Relay\" (a)");

    const std::string some = format_authentication_results("mx", {{"dkim", "none", "", {}, ""}}, "\r\n\t", "spf\r\n");
    EXPECT_EQ(some, "mx\r\n\t(spf); dkim=none");
    const auto parsed_some = parse_authentication_results(some);
    ASSERT_TRUE(parsed_some.has_value());
    EXPECT_EQ(parsed_some->note, "spf");
    ASSERT_EQ(parsed_some->results.size(), 1u);
}

TEST(AuthResFormat, NoteOfOnlyControlBytesIsLeftOut) {
    EXPECT_EQ(format_authentication_results("mx", {}, "", "\r\n"), "mx; none");
}

TEST(AuthResFormat, IssueExampleIsReproducedExactly) {
    // The example header of issue 3, written by hand there.
    AuthResult spf{"spf", "pass", "", {{"smtp.mailfrom", "example.org"}, {"smtp.helo", "mail.example.org"}}, ""};
    AuthResult dkim{"dkim", "pass", "", {{"header.d", "example.org"}, {"header.s", "sel"}, {"header.b", "KBibyA54"}}, ""};
    AuthResult dmarc{"dmarc", "pass", "", {{"header.from", "example.org"}}, ""};
    EXPECT_EQ(format_authentication_results("mx.example.com", {spf, dkim, dmarc}),
              "mx.example.com; spf=pass smtp.mailfrom=example.org smtp.helo=mail.example.org; "
              "dkim=pass header.d=example.org header.s=sel header.b=\"KBibyA54\"; "
              "dmarc=pass header.from=example.org");
}

TEST(AuthResFormat, HeaderBWithSlashIsQuoted) {
    AuthResult r{"dkim", "pass", "", {{"header.b", "Qgi/FoC0"}}, ""};
    EXPECT_EQ(format_authentication_results("mx", {r}), "mx; dkim=pass header.b=\"Qgi/FoC0\"");
}

TEST(AuthResFormat, ValueWithPlusOrEqualsIsQuoted) {
    AuthResult r{"x-test", "pass", "", {{"header.x", "ab+c"}, {"header.y", "abc="}}, ""};
    EXPECT_EQ(format_authentication_results("mx", {r}),
              "mx; x-test=pass header.x=\"ab+c\" header.y=\"abc=\"");
}

TEST(AuthResFormat, AddressValueIsWrittenUnquoted) {
    AuthResult r{"auth", "pass", "", {{"smtp.auth", "user@example.org"}, {"header.i", "@example.org"}}, ""};
    EXPECT_EQ(format_authentication_results("mx", {r}),
              "mx; auth=pass smtp.auth=user@example.org header.i=@example.org");
}

TEST(AuthResFormat, IpV6ValueIsQuoted) {
    // ':' is an RFC 2045 tspecial: an unquoted IPv6 address does not parse.
    AuthResult r{"iprev", "pass", "", {{"policy.iprev", "2001:db8::1"}}, ""};
    EXPECT_EQ(format_authentication_results("mx", {r}), "mx; iprev=pass policy.iprev=\"2001:db8::1\"");
}

TEST(AuthResFormat, ReasonWithSpacesIsQuotedAndCommentFollowsResult) {
    AuthResult r{"spf", "none", "No SPF record", {{"smtp.helo", "mail.example.net"}}, "helo"};
    EXPECT_EQ(format_authentication_results("mx", {r}),
              "mx; spf=none (helo) reason=\"No SPF record\" smtp.helo=mail.example.net");
}

TEST(AuthResFormat, QuotesAndBackslashesAreEscapedInQuotedStrings) {
    AuthResult r{"spf", "fail", "", {{"smtp.helo", "a\"b\\c"}}, ""};
    EXPECT_EQ(format_authentication_results("mx", {r}), "mx; spf=fail smtp.helo=\"a\\\"b\\\\c\"");
}

TEST(AuthResFormat, ParenthesesAndBackslashesAreEscapedInComments) {
    AuthResult r{"spf", "pass", "", {}, "a) (b\\"};
    EXPECT_EQ(format_authentication_results("mx", {r}), "mx; spf=pass (a\\) \\(b\\\\)");
}

TEST(AuthResFormat, FoldReplacesTheSpaceBeforeEveryLaterResinfo) {
    const std::vector<AuthResult> rs{spf_pass_mailfrom("a.example"), spf_pass_mailfrom("b.example"),
                                     spf_pass_mailfrom("c.example")};
    EXPECT_EQ(format_authentication_results("mx", rs, "\r\n\t"),
              "mx; spf=pass smtp.mailfrom=a.example;\r\n\tspf=pass smtp.mailfrom=b.example;"
              "\r\n\tspf=pass smtp.mailfrom=c.example");
}

TEST(AuthResFormat, FoldThatIsNotWhiteSpaceIsIgnored) {
    const std::vector<AuthResult> rs{spf_pass_mailfrom("a.example"), spf_pass_mailfrom("b.example")};
    EXPECT_EQ(format_authentication_results("mx", rs, "\r\nX-Evil: 1\r\n\t"),
              "mx; spf=pass smtp.mailfrom=a.example; spf=pass smtp.mailfrom=b.example");
}

TEST(AuthResFormat, MethodThatIsNotAKeywordIsLeftOut) {
    AuthResult bad{"spf; dkim", "pass", "", {}, ""};
    EXPECT_EQ(format_authentication_results("mx", {bad}), "mx; none");
}

TEST(AuthResFormat, PropertyNameThatIsNotPtypeDotKeywordIsLeftOut) {
    AuthResult r{"spf", "pass", "", {{"smtp.mailfrom=x; dkim", "a"}, {"nodot", "b"}, {"smtp.helo", "c"}}, ""};
    EXPECT_EQ(format_authentication_results("mx", {r}), "mx; spf=pass smtp.helo=c");
}

TEST(AuthResFormat, AuthservIdThatIsNotATokenIsQuoted) {
    EXPECT_EQ(format_authentication_results("mx.example.com; spf=pass", {}),
              "\"mx.example.com; spf=pass\"; none");
}

// ----------------------------------------------------------------------------
// Injection: sender-controlled text cannot add a header line or a resinfo
// ----------------------------------------------------------------------------

struct Injection {
    const char* what;
    AuthResult result;
};

class AuthResInjection : public ::testing::TestWithParam<Injection> {};

TEST_P(AuthResInjection, CannotAddHeaderOrResinfo) {
    const AuthResult& r = GetParam().result;
    for (const char* fold : {"", "\r\n\t"}) {
        const std::string value = format_authentication_results("mx.example.com", {r, spf_pass_mailfrom("ok.example")}, fold);
        // The only line breaks are the fold itself, each followed by a tab.
        std::string without_folds = value;
        for (std::size_t p; (p = without_folds.find("\r\n\t")) != std::string::npos;) without_folds.erase(p, 3);
        EXPECT_FALSE(has_line_break(without_folds)) << value;
        std::string error;
        const auto parsed = parse_authentication_results(value, &error);
        ASSERT_TRUE(parsed) << value << ": " << error;
        EXPECT_EQ(parsed->authserv_id, "mx.example.com");
        ASSERT_EQ(parsed->results.size(), 2u) << value;
        EXPECT_EQ(parsed->results[0].method, r.method);
        EXPECT_EQ(parsed->results[0].properties.size(), r.properties.size()) << value;
        EXPECT_EQ(parsed->results[1], spf_pass_mailfrom("ok.example"));
    }
}

INSTANTIATE_TEST_SUITE_P(
    SenderControlledText, AuthResInjection,
    ::testing::Values(
        Injection{"CrLfInHelo", {"spf", "pass", "", {{"smtp.helo", "evil.example\r\nX-Injected: yes"}}, ""}},
        Injection{"LfTabInHelo", {"spf", "pass", "", {{"smtp.helo", "evil.example\n\tdkim=pass"}}, ""}},
        Injection{"NulInDomain", {"spf", "pass", "", {{"smtp.mailfrom", std::string("a\0b.example", 11)}}, ""}},
        Injection{"SemicolonInDomain", {"spf", "pass", "", {{"smtp.mailfrom", "example.org; dkim=pass header.d=bank.example"}}, ""}},
        Injection{"QuoteInDomain", {"spf", "pass", "", {{"smtp.mailfrom", "example.org\"; dmarc=pass \""}}, ""}},
        Injection{"BackslashQuoteInSelector", {"dkim", "fail", "", {{"header.s", "sel\\\"; dkim=pass"}}, ""}},
        Injection{"TrailingBackslash", {"dkim", "fail", "", {{"header.s", "sel\\"}}, ""}},
        Injection{"CommentBreakout", {"spf", "pass", "", {{"smtp.helo", "h.example"}}, "x) ; dkim=pass (y"}},
        Injection{"ReasonBreakout", {"dkim", "fail", "bad\"; dkim=pass reason=\"", {}, ""}},
        Injection{"AtSignsInHelo", {"spf", "none", "", {{"smtp.helo", "a@b@c;d"}}, ""}}),
    [](const ::testing::TestParamInfo<Injection>& param_info) { return std::string(param_info.param.what); });

TEST(AuthResInjection, CrLfIsRemovedNotKeptInTheValue) {
    AuthResult r{"spf", "pass", "", {{"smtp.helo", "evil.example\r\nX-Injected: yes"}}, ""};
    const auto parsed = parse_authentication_results(format_authentication_results("mx", {r}));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->results.at(0).properties.at(0).second, "evil.exampleX-Injected: yes");
}

// ----------------------------------------------------------------------------
// Round trip of what we generate
// ----------------------------------------------------------------------------

TEST(AuthResRoundTrip, EveryShapeWeGenerateParsesBackToTheSameResults) {
    const std::vector<AuthResult> rs{
        {"spf", "pass", "", {{"smtp.mailfrom", "example.org"}, {"smtp.helo", "mail.example.org"}}, ""},
        {"spf", "temperror", "DNS timeout", {{"smtp.mailfrom", "postmaster@helo.example"}}, "mx.example.com: timeout"},
        {"spf", "none", "", {{"smtp.helo", "[192.0.2.1]"}}, ""},
        {"auth", "pass", "", {{"smtp.auth", "user+tag@example.org"}}, ""},
        {"dkim", "pass", "", {{"header.d", "example.org"}, {"header.i", "@example.org"}, {"header.s", "sel_1"},
                              {"header.a", "rsa-sha256"}, {"header.b", "ab+/cd=="}}, "2048-bit key"},
        {"dkim", "neutral", "no key (NXDOMAIN)", {{"header.d", "xn--bcher-kva.example"}}, ""},
        {"dmarc", "fail", "", {{"header.from", "example.org"}, {"policy.dmarc", "reject"}}, "p=reject"},
        {"iprev", "pass", "", {{"policy.iprev", "2001:db8::1"}}, ""},
        {"spf", "pass", "", {{"smtp.mailfrom", "\"quoted local\"@example.org"}}, "utf-8 \xc3\xa9"},
    };
    for (const char* fold : {"", "\n\t", "\r\n\t"}) {
        const std::string value = format_authentication_results("mx.example.com", rs, fold);
        std::string error;
        const auto parsed = parse_authentication_results(value, &error);
        ASSERT_TRUE(parsed) << value << ": " << error;
        EXPECT_EQ(parsed->authserv_id, "mx.example.com");
        EXPECT_FALSE(parsed->none);
        EXPECT_EQ(parsed->results, rs) << value;
    }
}

TEST(AuthResRoundTrip, NoneParsesBackAsNone) {
    const auto parsed = parse_authentication_results(format_authentication_results("mx.example.com", {}));
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->none);
    EXPECT_TRUE(parsed->results.empty());
}

// ----------------------------------------------------------------------------
// Parsing
// ----------------------------------------------------------------------------

TEST(AuthResParse, CommentsFoldingAndSpacesAroundDelimitersAreAccepted) {
    const auto parsed = parse_authentication_results(
        " (lead) example.com (outer (inner) \\) x)\r\n\t; spf (c1) = pass (good)\n reason = \"r s\""
        " smtp . mailfrom = a@b.example (c2); dkim / 1 = fail header.b=\"x/y\"");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->authserv_id, "example.com");
    ASSERT_EQ(parsed->results.size(), 2u);
    const AuthResult& spf = parsed->results[0];
    EXPECT_EQ(spf.method, "spf");
    EXPECT_EQ(spf.result, "pass");
    EXPECT_EQ(spf.reason, "r s");
    // The comment right after the result is the resinfo's comment; the one
    // between method and '=' is CFWS only.
    EXPECT_EQ(spf.comment, "good");
    ASSERT_EQ(spf.properties.size(), 1u);
    EXPECT_EQ(spf.properties[0], (std::pair<std::string, std::string>{"smtp.mailfrom", "a@b.example"}));
    EXPECT_EQ(parsed->results[1].method, "dkim/1");
    EXPECT_EQ(parsed->results[1].properties.at(0).second, "x/y");
}

TEST(AuthResParse, NestedCommentTextIsKept) {
    const auto parsed = parse_authentication_results("mx; spf=pass (a (b) \\(c)");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->results.at(0).comment, "a (b) (c");
}

TEST(AuthResParse, VersionIsRead) {
    const auto parsed = parse_authentication_results("example.com 1; none");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->version, 1);
    EXPECT_TRUE(parsed->none);
}

TEST(AuthResParse, QuotedAuthservIdIsUnquoted) {
    const auto parsed = parse_authentication_results("\"mx \\\"x\\\"\"; none");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->authserv_id, "mx \"x\"");
}

TEST(AuthResParse, NamesAreLowerCasedValuesKeepCase) {
    const auto parsed = parse_authentication_results("mx; SPF=Pass smtp.MailFrom=Example.ORG");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->results.at(0).method, "spf");
    EXPECT_EQ(parsed->results.at(0).result, "pass");
    EXPECT_EQ(parsed->results.at(0).properties.at(0),
              (std::pair<std::string, std::string>{"smtp.mailfrom", "Example.ORG"}));
}

TEST(AuthResParse, PropertyWithoutPtypeIsSkipped) {
    const auto parsed = parse_authentication_results("mx; x-tls=pass version=TLSv1.2 smtp.tlsbits=256");
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->results.at(0).properties.size(), 1u);
    EXPECT_EQ(parsed->results.at(0).properties[0].first, "smtp.tlsbits");
}

TEST(AuthResParse, UnquotedBase64HeaderBIsAcceptedLeniently) {
    const auto parsed = parse_authentication_results("mx; dkim=pass header.b=Qgi/FoC0+x=");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->results.at(0).properties.at(0).second, "Qgi/FoC0+x=");
}

struct Malformed {
    const char* what;
    const char* value;
};

class AuthResParseRejects : public ::testing::TestWithParam<Malformed> {};

TEST_P(AuthResParseRejects, WithAnError) {
    std::string error;
    EXPECT_FALSE(parse_authentication_results(GetParam().value, &error)) << GetParam().value;
    EXPECT_FALSE(error.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, AuthResParseRejects,
    ::testing::Values(
        Malformed{"Empty", ""},
        Malformed{"AuthservIdOnly", "example.com"},
        Malformed{"NoneWithResults", "example.com; none; spf=pass"},
        Malformed{"ResultsThenNone", "example.com; spf=pass; none"},
        Malformed{"TrailingSemicolon", "example.com; spf=pass;"},
        Malformed{"MissingResult", "example.com; spf="},
        Malformed{"MissingEquals", "example.com; spf pass"},
        Malformed{"UnterminatedComment", "example.com; spf=pass (oops"},
        Malformed{"UnterminatedQuote", "example.com; spf=pass smtp.helo=\"oops"},
        Malformed{"BareLineBreakStartsNewHeader", "example.com; spf=pass\r\nX-Evil: yes"},
        Malformed{"BareCr", "example.com; spf=pass\r smtp.helo=x"},
        Malformed{"UnquotedIpv6", "example.com; iprev=pass policy.iprev=2001:db8::1"},
        Malformed{"PropertiesNotSeparated", "example.com; spf=pass smtp.helo=\"a\"smtp.mailfrom=b"},
        Malformed{"MethodWithBadKeyword", "example.com; -spf=pass"},
        Malformed{"BadPtype", "example.com; spf=pass smtp_x.helo=a"},
        Malformed{"ReasonAfterProperty", "example.com; spf=pass smtp.helo=a reason"}),
    [](const ::testing::TestParamInfo<Malformed>& param_info) { return std::string(param_info.param.what); });

// Pseudo-random headers built from the grammar's own characters: the parser
// must never crash, and whatever it accepts must survive being written by us
// and read again (a cheap, deterministic cousin of a fuzz target).
TEST(AuthResParse, RandomInputsThatParseRoundTripThroughTheWriter) {
    static const std::vector<std::string> pieces = {
        "mx.example.com", "a", "spf", "dkim", "=", "pass", "fail", ";", " ", " ", "\r\n ", "(", ")", "\\",
        "\"", ".", "@", "smtp", "mailfrom", "header", "b", "reason", "/", "1", "none", "x-y", "+", ":", "\xc3\xa9"};
    std::mt19937 rng(8601);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        // A valid header, then up to five random insertions or deletions.
        std::string value =
            "mx.example.com; spf=pass (ok) smtp.mailfrom=a@b.example; dkim=fail reason=\"r s\" header.b=\"x/y\"";
        const int mutations = static_cast<int>(rng() % 6);
        for (int k = 0; k < mutations; ++k) {
            const std::size_t at = rng() % (value.size() + 1);
            if (rng() % 3 == 0 && at < value.size()) value.erase(at, 1);
            else value.insert(at, pieces[rng() % pieces.size()]);
        }
        const auto parsed = parse_authentication_results(value);
        (void)authserv_id_of(value);
        (void)claims_authserv_id(value, {"mx.example.com"});
        if (!parsed) continue;
        ++accepted;
        const std::string written = format_authentication_results(parsed->authserv_id, parsed->results);
        const auto again = parse_authentication_results(written);
        ASSERT_TRUE(again) << "input: " << value << "\nwritten: " << written;
        EXPECT_EQ(again->authserv_id, parsed->authserv_id) << written;
        EXPECT_EQ(again->none, parsed->none) << written;
        EXPECT_EQ(again->results, parsed->results) << "input: " << value << "\nwritten: " << written;
    }
    EXPECT_GT(accepted, 4000);  // the generator must reach the accepting paths
}

// ----------------------------------------------------------------------------
// authserv-id helpers used for removing forged headers (RFC 8601 section 5)
// ----------------------------------------------------------------------------

TEST(AuthResAuthservId, LeadingTokenIsReturnedEvenIfTheRestIsGarbage) {
    EXPECT_EQ(authserv_id_of("mx.example.com; this is ((( not valid"), "mx.example.com");
}

TEST(AuthResAuthservId, LeadingCommentAndQuotesAreSkipped) {
    EXPECT_EQ(authserv_id_of(" (c)\r\n \"mx.example.com\"; spf=pass"), "mx.example.com");
}

TEST(AuthResAuthservId, NothingUsableGivesNoId) {
    EXPECT_FALSE(authserv_id_of(""));
    EXPECT_FALSE(authserv_id_of("   ; spf=pass"));
    EXPECT_FALSE(authserv_id_of("(unterminated mx.example.com; spf=pass"));
}

TEST(AuthResClaims, OurIdIsMatchedCaseInsensitively) {
    EXPECT_TRUE(claims_authserv_id("MX.Example.COM; spf=pass smtp.mailfrom=x.example", {"mx.example.com"}));
}

TEST(AuthResClaims, AnyConfiguredIdMatches) {
    EXPECT_TRUE(claims_authserv_id("old-mx.example.com; none", {"mx.example.com", "old-mx.example.com"}));
}

TEST(AuthResClaims, AnotherHostsHeaderIsNotClaimed) {
    EXPECT_FALSE(claims_authserv_id("mx.example.net; spf=pass smtp.mailfrom=x.example", {"mx.example.com"}));
}

TEST(AuthResClaims, LongerNameWithOurIdAsPrefixIsNotClaimed) {
    EXPECT_FALSE(claims_authserv_id("mx.example.com.evil.example; spf=pass", {"mx.example.com"}));
}

TEST(AuthResClaims, UnparsableHeaderWithOurIdIsClaimed) {
    ASSERT_FALSE(parse_authentication_results("mx.example.com; spf=pass; garbage ((("));
    EXPECT_TRUE(claims_authserv_id("mx.example.com; spf=pass; garbage (((", {"mx.example.com"}));
}

TEST(AuthResClaims, UnparsableHeaderOfAnotherHostIsNotClaimed) {
    EXPECT_FALSE(claims_authserv_id("mx.example.net; garbage (((", {"mx.example.com"}));
}

TEST(AuthResClaims, TrailingDotDoesNotHideAForgery) {
    EXPECT_TRUE(claims_authserv_id("mx.example.com.; spf=pass", {"mx.example.com"}));
}

TEST(AuthResClaims, QuotedIdIsCompared) {
    EXPECT_TRUE(claims_authserv_id("\"MX.example.com\"; none", {"mx.example.com"}));
}

// ----------------------------------------------------------------------------
// Forgeries that hide our authserv-id from a strict parser but not from a
// lenient reader (SpamAssassin's AuthRes plugin, OpenDMARC's and OpenARC's
// isspace() tokenizers, mail readers): all of them are ours to remove.
// ----------------------------------------------------------------------------

struct Disguise {
    const char* what;
    std::string value;
};

class AuthResDisguisedForgery : public ::testing::TestWithParam<Disguise> {};

TEST_P(AuthResDisguisedForgery, IsClaimed) {
    EXPECT_TRUE(claims_authserv_id(GetParam().value, {"mx.contoso.test"})) << GetParam().value;
}

INSTANTIATE_TEST_SUITE_P(
    LenientReaders, AuthResDisguisedForgery,
    ::testing::Values(
        Disguise{"FormFeedBeforeId", "\x0cmx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"VerticalTabBeforeId", "\x0bmx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"SpacesInsideId", "mx . contoso . test; spf=pass smtp.mailfrom=bank.example"},
        Disguise{"CommentInsideId", "mx(x).contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"LeadingNoBreakSpaceUtf8", "\xc2\xa0mx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"LeadingNoBreakSpaceLatin1", "\xa0mx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"ControlA", "\x01mx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"Delete", "\x7fmx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"UnclosedCommentBefore", "(mx.contoso.test; dkim=pass header.d=bank.example"},
        Disguise{"UnclosedCommentAfter", "mx.contoso.test (; dkim=pass header.d=bank.example"},
        Disguise{"EncodedWordQ", "=?utf-8?q?mx.contoso.test?=; dkim=pass header.d=bank.example"},
        Disguise{"EncodedWordB", "=?UTF-8?B?bXguY29udG9zby50ZXN0?=; dkim=pass header.d=bank.example"},
        Disguise{"EncodedWordHidingControl", "=?us-ascii?Q?=0Cmx.contoso.test?=; dkim=pass"},
        Disguise{"IdeographicSpace", "\xe3\x80\x80mx.contoso.test; dkim=pass"},
        Disguise{"ZeroWidthSpaceInside", "mx.con\xe2\x80\x8btoso.test; dkim=pass"},
        Disguise{"SoftHyphenInside", "mx.con\xc2\xadtoso.test; dkim=pass"},
        Disguise{"FullwidthLetters", "\xef\xbd\x8d\xef\xbd\x98.contoso.test; dkim=pass"},
        Disguise{"IdeographicFullStop", "mx\xe3\x80\x82" "contoso.test; dkim=pass"},
        Disguise{"QuotedWithSpaces", "\" mx.contoso.test \"; dkim=pass"},
        Disguise{"BackslashInside", "mx.con\\toso.test; dkim=pass"},
        Disguise{"TabsAndFolding", "\r\n\t mx.contoso.test\r\n ; dkim=pass"},
        Disguise{"TrailingJunkToken", "mx.contoso.test \x0c; dkim=pass"},
        Disguise{"EscapedParenReadAsClosing", "(c\\)mx.contoso.test (x; dkim=pass"},
        Disguise{"SemicolonInsideLeadingComment", "(c\\;)mx.contoso.test; dkim=pass"},
        Disguise{"NothingReadable", "\x01\x02 (((; dkim=pass header.d=bank.example"},
        Disguise{"Empty", ""}),
    [](const ::testing::TestParamInfo<Disguise>& param_info) { return std::string(param_info.param.what); });

TEST(AuthResClaims, OtherHostWithJunkIsStillKept) {
    // Junk alone does not make a header ours: the id must read as ours.
    EXPECT_FALSE(claims_authserv_id("\x0cmx.example.net; dkim=pass", {"mx.contoso.test"}));
    EXPECT_FALSE(claims_authserv_id("mx . example . net; spf=pass", {"mx.contoso.test"}));
    EXPECT_FALSE(claims_authserv_id("=?utf-8?q?mx.example.net?=; dkim=pass", {"mx.contoso.test"}));
}

TEST(AuthResClaims, OurNameInAnotherHostsCommentIsNotClaimed) {
    EXPECT_FALSE(claims_authserv_id("mx.example.net (via mx.contoso.test); spf=pass", {"mx.contoso.test"}));
}

TEST(AuthResClaims, OurNameAsAResultValueIsNotClaimed) {
    EXPECT_FALSE(claims_authserv_id("mx.example.net; spf=pass smtp.helo=mx.contoso.test", {"mx.contoso.test"}));
}

TEST(AuthResLenientReadings, OneReadingPerWayOfSkippingJunk) {
    const auto readings = auth::lenient_authserv_id_readings("mx (c) . example . com x; spf=pass");
    // Joined tokens, first token, last token; with the comment unwrapped, the
    // joined text keeps the comment's letters.
    EXPECT_NE(std::find(readings.begin(), readings.end(), "mx.example.comx"), readings.end());
    EXPECT_NE(std::find(readings.begin(), readings.end(), "mx"), readings.end());
    EXPECT_NE(std::find(readings.begin(), readings.end(), "x"), readings.end());
    EXPECT_NE(std::find(readings.begin(), readings.end(), "mxc.example.comx"), readings.end());
}

}  // namespace
