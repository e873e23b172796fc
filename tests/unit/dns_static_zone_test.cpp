// The static zone file: parsing, errors with line numbers, and answers.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "dns/static_zone.hpp"

using dns::Status;
using dns::StaticZone;
using dns::Type;
using dns::ZoneError;

namespace {

std::string join(const std::vector<ZoneError>& errors) {
    std::string s;
    for (const auto& e : errors) s += e.to_string() + "\n";
    return s;
}

StaticZone parse_ok(std::string_view text) {
    std::vector<ZoneError> errors;
    StaticZone z = StaticZone::parse(text, "test.zone", errors);
    EXPECT_TRUE(errors.empty()) << join(errors);
    return z;
}

std::vector<ZoneError> errors_of(std::string_view text) {
    std::vector<ZoneError> errors;
    StaticZone::parse(text, "test.zone", errors);
    return errors;
}

// Expects exactly one error, on `line`, whose message contains `needle`.
void expect_error(std::string_view text, int line, std::string_view needle) {
    const auto errors = errors_of(text);
    ASSERT_EQ(errors.size(), 1u) << "zone text: " << text << "\nerrors:\n" << join(errors);
    EXPECT_EQ(errors[0].line, line) << errors[0].to_string();
    EXPECT_EQ(errors[0].file, "test.zone");
    EXPECT_NE(errors[0].message.find(needle), std::string::npos)
        << "message \"" << errors[0].message << "\" lacks \"" << needle << "\"";
}

std::vector<std::string> txt_strings(const StaticZone& z, std::string_view name) {
    const auto a = z.answer(name, Type::TXT);
    EXPECT_EQ(a.status, Status::Ok) << dns::status_name(a.status);
    if (a.records.size() != 1) {
        ADD_FAILURE() << "expected one TXT record, got " << a.records.size();
        return {};
    }
    return a.records[0].strings;
}

}  // namespace

// --- record types ---

TEST(DnsStaticZoneParse, ARecordHoldsTheFourAddressBytes) {
    const auto z = parse_ok("mail.example.com. IN A 192.0.2.10\n");
    const auto a = z.answer("mail.example.com", Type::A);
    ASSERT_EQ(a.status, Status::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].type, Type::A);
    EXPECT_EQ(a.records[0].address[0], 192);
    EXPECT_EQ(a.records[0].address[1], 0);
    EXPECT_EQ(a.records[0].address[2], 2);
    EXPECT_EQ(a.records[0].address[3], 10);
}

TEST(DnsStaticZoneParse, AaaaRecordHoldsTheSixteenAddressBytes) {
    const auto z = parse_ok("mail.example.com. IN AAAA 2001:db8::10\n");
    const auto a = z.answer("mail.example.com", Type::AAAA);
    ASSERT_EQ(a.status, Status::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    const std::array<std::uint8_t, 16> expected{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    EXPECT_EQ(a.records[0].address, expected);
}

TEST(DnsStaticZoneParse, TxtWithOneQuotedString) {
    const auto z = parse_ok("example.com. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n");
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{"v=spf1 ip4:192.0.2.0/24 -all"});
}

TEST(DnsStaticZoneParse, TxtWithSeveralStringsKeepsThemApart) {
    const auto z = parse_ok("example.com. IN TXT \"first string\" \"second string\"\n");
    const std::vector<std::string> expected{"first string", "second string"};
    EXPECT_EQ(txt_strings(z, "example.com"), expected);
}

TEST(DnsStaticZoneParse, TxtAsOneBareWord) {
    const auto z = parse_ok("example.com TXT v=spf1\n");
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{"v=spf1"});
}

TEST(DnsStaticZoneParse, TxtEscapesQuoteBackslashAndDecimal) {
    // RFC 1035 section 5.1: \" \\ and \DDD.
    const auto z = parse_ok(R"(example.com TXT "a\"b\\c\065\000d\;")" "\n");
    const std::string expected("a\"b\\cA\0d;", 9);
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{expected});
}

TEST(DnsStaticZoneParse, TxtEmptyStringIsAllowed) {
    const auto z = parse_ok("example.com TXT \"\"\n");
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{""});
}

TEST(DnsStaticZoneParse, TxtRawUtf8IsKeptAsBytes) {
    const auto z = parse_ok("example.com TXT \"caf\xc3\xa9\"\n");
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{"caf\xc3\xa9"});
}

TEST(DnsStaticZoneParse, SemicolonInsideQuotesIsText) {
    const auto z = parse_ok("example.com TXT \"v=DMARC1; p=reject\" ; a comment\n");
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{"v=DMARC1; p=reject"});
}

TEST(DnsStaticZoneParse, CommentsAndBlankLinesAreIgnored) {
    const auto z = parse_ok("; a zone\n\n   \n\t; indented comment\nexample.com A 192.0.2.1 ; trailing\n");
    EXPECT_EQ(z.answer("example.com", Type::A).status, Status::Ok);
}

TEST(DnsStaticZoneParse, MxHoldsPreferenceAndTarget) {
    const auto z = parse_ok("example.com. IN MX 10 Mail.Example.com.\n");
    const auto a = z.answer("example.com", Type::MX);
    ASSERT_EQ(a.status, Status::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].preference, 10);
    EXPECT_EQ(a.records[0].target, "mail.example.com");
}

TEST(DnsStaticZoneParse, NullMxTargetIsTheRoot) {
    // RFC 7505: "MX 0 ." says the domain accepts no mail.
    const auto z = parse_ok("example.com MX 0 .\n");
    const auto a = z.answer("example.com", Type::MX);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].target, "");
}

TEST(DnsStaticZoneParse, PtrRecord) {
    const auto z = parse_ok("10.2.0.192.in-addr.arpa. IN PTR mail.example.com.\n");
    const auto a = z.answer("10.2.0.192.in-addr.arpa", Type::PTR);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].type, Type::PTR);
    EXPECT_EQ(a.records[0].target, "mail.example.com");
}

TEST(DnsStaticZoneParse, CnameQueryReturnsTheCnameItself) {
    const auto z = parse_ok("alias.example.com. IN CNAME mail.example.com.\n");
    const auto a = z.answer("alias.example.com", Type::CNAME);
    ASSERT_EQ(a.status, Status::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].target, "mail.example.com");
}

TEST(DnsStaticZoneParse, NsRecord) {
    const auto z = parse_ok("example.com NS ns1.example.net\n");
    const auto a = z.answer("example.com", Type::NS);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].target, "ns1.example.net");
}

TEST(DnsStaticZoneParse, TtlAndClassAreOptionalAndInEitherOrder) {
    const auto z = parse_ok(
        "a.example.com A 192.0.2.1\n"
        "b.example.com 300 A 192.0.2.2\n"
        "c.example.com IN A 192.0.2.3\n"
        "d.example.com 300 IN A 192.0.2.4\n"
        "e.example.com IN 300 A 192.0.2.5\n");
    for (const char* n : {"a", "b", "c", "d", "e"})
        EXPECT_EQ(z.answer(std::string(n) + ".example.com", Type::A).status, Status::Ok) << n;
    EXPECT_EQ(z.answer("d.example.com", Type::A).records.at(0).ttl, 300u);
    EXPECT_EQ(z.answer("e.example.com", Type::A).records.at(0).ttl, 300u);
}

TEST(DnsStaticZoneParse, TrailingDotIsOptionalInZoneAndQuery) {
    const auto z = parse_ok("one.example.com A 192.0.2.1\ntwo.example.com. A 192.0.2.2\n");
    EXPECT_EQ(z.answer("one.example.com.", Type::A).status, Status::Ok);
    EXPECT_EQ(z.answer("two.example.com", Type::A).status, Status::Ok);
}

TEST(DnsStaticZoneParse, NamesAndKeywordsAreCaseInsensitive) {
    const auto z = parse_ok("Mail.EXAMPLE.com in a 192.0.2.1\n");
    EXPECT_EQ(z.answer("mail.example.COM", Type::A).status, Status::Ok);
    EXPECT_TRUE(z.has_name("MAIL.example.com."));
}

TEST(DnsStaticZoneParse, EscapedBlanksInNamesAreDecoded) {
    // The openspf suite holds a name with two spaces in it.
    const auto z = parse_ok("macro%percent\\032\\032space%20url-space.example.com A 1.2.3.4\n");
    EXPECT_TRUE(z.has_name("macro%percent  space%20url-space.example.com"));
}

TEST(DnsStaticZoneParse, SpfTypeRecordMakesTheNameExistButIsNeverAnswered) {
    const auto z = parse_ok("spf.example.com SPF \"v=spf1 -all\"\n");
    EXPECT_TRUE(z.has_name("spf.example.com"));
    EXPECT_EQ(z.answer("spf.example.com", Type::TXT).status, Status::NoData);
    EXPECT_EQ(z.answer("spf.example.com", Type::SPF).status, Status::NoData);
}

TEST(DnsStaticZoneParse, CrLfLineEndingsAreAccepted) {
    const auto z = parse_ok("example.com TXT \"x\"\r\nmail.example.com A 192.0.2.1\r\n");
    EXPECT_EQ(txt_strings(z, "example.com"), std::vector<std::string>{"x"});
}

TEST(DnsStaticZoneParse, LastLineWithoutNewlineIsParsed) {
    const auto z = parse_ok("example.com A 192.0.2.1");
    EXPECT_EQ(z.answer("example.com", Type::A).status, Status::Ok);
}

TEST(DnsStaticZoneParse, IdenticalRecordsCountOnce) {
    const auto z = parse_ok("example.com A 192.0.2.1\nexample.com A 192.0.2.1\nexample.com A 192.0.2.2\n");
    EXPECT_EQ(z.answer("example.com", Type::A).records.size(), 2u);
}

TEST(DnsStaticZoneParse, LongestLegalNameIsAccepted) {
    // 63+1+63+1+63+1+61 = 253 octets.
    const std::string name = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                             "." + std::string(61, 'd');
    ASSERT_EQ(name.size(), 253u);
    const auto z = parse_ok(name + ". A 192.0.2.1\n");
    EXPECT_TRUE(z.has_name(name));
}

// --- errors, each with its line ---

TEST(DnsStaticZoneErrors, UnknownTypeIsReportedWithItsLine) {
    expect_error("; header\n\nexample.com IN FOO bar\n", 3, "unknown record type");
}

TEST(DnsStaticZoneErrors, BadIpv4Address) { expect_error("example.com A 192.0.2.300\n", 1, "bad IPv4"); }
TEST(DnsStaticZoneErrors, Ipv6AddressInARecord) { expect_error("example.com A 2001:db8::1\n", 1, "bad IPv4"); }
TEST(DnsStaticZoneErrors, BadIpv6Address) { expect_error("x A 1.2.3.4\nexample.com AAAA 2001:db8:::1\n", 2, "bad IPv6"); }
TEST(DnsStaticZoneErrors, MissingType) { expect_error("example.com 300 IN\n", 1, "missing record type"); }
TEST(DnsStaticZoneErrors, MissingAddress) { expect_error("example.com A\n", 1, "takes 1 value"); }
TEST(DnsStaticZoneErrors, TwoAddressesOnOneLine) { expect_error("example.com A 192.0.2.1 192.0.2.2\n", 1, "found 2"); }
TEST(DnsStaticZoneErrors, UnterminatedQuote) { expect_error("example.com TXT \"v=spf1 -all\n", 1, "unterminated"); }
TEST(DnsStaticZoneErrors, DecimalEscapeAbove255) { expect_error("example.com TXT \"\\256\"\n", 1, "above 255"); }
TEST(DnsStaticZoneErrors, DecimalEscapeWithTwoDigits) { expect_error("example.com TXT \"\\12x\"\n", 1, "three decimal digits"); }
TEST(DnsStaticZoneErrors, TextGluedToClosingQuote) { expect_error("example.com TXT \"a\"b\n", 1, "closing quote"); }

TEST(DnsStaticZoneErrors, StringLongerThan255Octets) {
    expect_error("example.com TXT \"" + std::string(256, 'x') + "\"\n", 1, "at most 255");
}

TEST(DnsStaticZoneErrors, SeveralBareWordsInTxt) { expect_error("example.com TXT v=spf1 -all\n", 1, "must be quoted"); }
TEST(DnsStaticZoneErrors, TxtWithoutText) { expect_error("example.com TXT\n", 1, "at least one string"); }

TEST(DnsStaticZoneErrors, LabelLongerThan63Octets) {
    expect_error(std::string(64, 'a') + ".example.com A 192.0.2.1\n", 1, "63 octets");
}

TEST(DnsStaticZoneErrors, NameLongerThan253Octets) {
    std::string name;
    for (int i = 0; i < 127; ++i) name += "a.";
    expect_error(name + "com A 192.0.2.1\n", 1, "253 octets");
}

TEST(DnsStaticZoneErrors, TenThousandLabelNameIsRefused) {
    std::string name;
    for (int i = 0; i < 10000; ++i) name += "x.";
    expect_error(name + " TXT \"a\"\n", 1, "253 octets");
}

TEST(DnsStaticZoneErrors, EmptyLabel) { expect_error("a..example.com A 192.0.2.1\n", 1, "empty label"); }
TEST(DnsStaticZoneErrors, TtlAboveRfc2181Maximum) { expect_error("example.com 2147483648 A 192.0.2.1\n", 1, "TTL"); }
TEST(DnsStaticZoneErrors, ClassOtherThanIn) { expect_error("example.com CH TXT \"x\"\n", 1, "only IN"); }
TEST(DnsStaticZoneErrors, MxPreferenceAbove65535) { expect_error("example.com MX 65536 mail.example.com\n", 1, "preference"); }
TEST(DnsStaticZoneErrors, MxWithoutTarget) { expect_error("example.com MX 10\n", 1, "takes 2 values"); }
TEST(DnsStaticZoneErrors, RootAsCnameTarget) { expect_error("example.com CNAME .\n", 1, "root"); }
TEST(DnsStaticZoneErrors, TimeoutWithData) { expect_error("slow.example.com TIMEOUT 5\n", 1, "takes 0 values"); }

TEST(DnsStaticZoneErrors, CnameBesideOtherData) {
    expect_error("a.example.com A 192.0.2.1\na.example.com CNAME b.example.com\n", 2, "RFC 1034");
}

TEST(DnsStaticZoneErrors, OtherDataBesideCname) {
    expect_error("a.example.com CNAME b.example.com\na.example.com TXT \"x\"\n", 2, "has a CNAME");
}

TEST(DnsStaticZoneErrors, SecondCname) {
    expect_error("a.example.com CNAME b.example.com\na.example.com CNAME c.example.com\n", 2, "second CNAME");
}

TEST(DnsStaticZoneErrors, TimeoutAndServfailForOneName) {
    expect_error("a.example.com TIMEOUT\na.example.com SERVFAIL\n", 2, "both TIMEOUT and SERVFAIL");
}

TEST(DnsStaticZoneErrors, Parentheses) { expect_error("example.com TXT ( \"a\" )\n", 1, "parentheses"); }
TEST(DnsStaticZoneErrors, Directive) { expect_error("$ORIGIN example.com.\n", 1, "directives"); }
TEST(DnsStaticZoneErrors, AtSign) { expect_error("@ A 192.0.2.1\n", 1, "full name"); }
TEST(DnsStaticZoneErrors, Wildcard) { expect_error("*.example.com A 192.0.2.1\n", 1, "wildcard"); }
TEST(DnsStaticZoneErrors, NonAsciiName) { expect_error("caf\xc3\xa9.example A 192.0.2.1\n", 1, "A-label"); }
TEST(DnsStaticZoneErrors, QuotedOwner) { expect_error("\"example.com\" A 192.0.2.1\n", 1, "must not be quoted"); }
TEST(DnsStaticZoneErrors, EscapedDotInName) { expect_error("a\\.b.example.com A 192.0.2.1\n", 1, "escaped dot"); }

TEST(DnsStaticZoneErrors, NulByte) {
    expect_error(std::string("example.com TXT \"a\0b\"\n", 22), 1, "control character 0x00");
}

TEST(DnsStaticZoneErrors, IndentedLineWithoutOwner) {
    expect_error("example.com A 192.0.2.1\n   IN A 192.0.2.2\n", 2, "missing owner");
}

TEST(DnsStaticZoneErrors, GoodLinesAroundABadOneAreKept) {
    std::vector<ZoneError> errors;
    const auto z = StaticZone::parse("a.example.com A 192.0.2.1\nb.example.com A nonsense\nc.example.com A 192.0.2.3\n",
                                     "test.zone", errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].line, 2);
    EXPECT_TRUE(z.has_name("a.example.com"));
    EXPECT_FALSE(z.has_name("b.example.com"));
    EXPECT_TRUE(z.has_name("c.example.com"));
}

TEST(DnsStaticZoneErrors, EveryBadLineIsReported) {
    const auto errors = errors_of("a A x\nb A y\nc A 192.0.2.1\nd A z\n");
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[0].line, 1);
    EXPECT_EQ(errors[1].line, 2);
    EXPECT_EQ(errors[2].line, 4);
}

TEST(DnsStaticZoneErrors, ToStringIsFileColonLineColonMessage) {
    const ZoneError e{"/etc/zone", 4, "bad IPv4 address"};
    EXPECT_EQ(e.to_string(), "/etc/zone:4: bad IPv4 address");
}

TEST(DnsStaticZoneErrors, ArbitraryBytesNeverCrashAndErrorsNameRealLines) {
    std::mt19937 rng(20261122);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> length(0, 300);
    const std::string alphabet = " \t\"\\;.()0123456789aAzZ$@*\n\r";
    for (int round = 0; round < 300; ++round) {
        std::string text;
        const int n = length(rng) * 10;
        for (int i = 0; i < n; ++i) {
            const int b = byte(rng);
            text += b < 128 ? alphabet[static_cast<std::size_t>(b) % alphabet.size()] : static_cast<char>(b);
        }
        const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
        const auto errors = errors_of(text);
        for (const auto& e : errors) {
            ASSERT_GE(e.line, 1);
            ASSERT_LE(e.line, lines);
            ASSERT_FALSE(e.message.empty());
        }
    }
}

TEST(DnsStaticZoneErrors, MegabyteLineIsRefused) {
    expect_error("example.com TXT \"" + std::string(1 << 20, 'x') + "\"\n", 1, "at most 255");
}

TEST(DnsStaticZoneLoad, MissingFileIsAnErrorNamingIt) {
    std::vector<ZoneError> errors;
    StaticZone::load("/nonexistent/zone.txt", errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].file, "/nonexistent/zone.txt");
    EXPECT_NE(errors[0].message.find("cannot open"), std::string::npos);
}

TEST(DnsStaticZoneLoad, FileErrorsCarryThePath) {
    char path[] = "/tmp/dns_zone_testXXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    {
        std::ofstream out(path);
        out << "ok.example.com A 192.0.2.1\nbad.example.com A 1.2.3\n";
    }
    std::vector<ZoneError> errors;
    const auto z = StaticZone::load(path, errors);
    std::remove(path);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].to_string().rfind(std::string(path) + ":2: ", 0), 0u) << errors[0].to_string();
    EXPECT_TRUE(z.has_name("ok.example.com"));
}

// --- answers ---

TEST(DnsStaticZoneAnswer, UnknownNameIsNxDomain) {
    const auto z = parse_ok("example.com A 192.0.2.1\n");
    EXPECT_EQ(z.answer("other.example.net", Type::A).status, Status::NxDomain);
}

TEST(DnsStaticZoneAnswer, KnownNameWithoutTheTypeIsNoData) {
    const auto z = parse_ok("example.com A 192.0.2.1\n");
    const auto a = z.answer("example.com", Type::TXT);
    EXPECT_EQ(a.status, Status::NoData);
    EXPECT_TRUE(a.records.empty());
}

TEST(DnsStaticZoneAnswer, AncestorOfAHeldNameIsNoData) {
    // RFC 8020: an empty non-terminal exists.
    const auto z = parse_ok("sel._domainkey.example.com TXT \"v=DKIM1; p=\"\n");
    EXPECT_EQ(z.answer("_domainkey.example.com", Type::TXT).status, Status::NoData);
    EXPECT_EQ(z.answer("other._domainkey.example.com", Type::TXT).status, Status::NxDomain);
}

TEST(DnsStaticZoneAnswer, OnlyRecordsOfTheAskedTypeAreReturned) {
    const auto z = parse_ok("example.com A 192.0.2.1\nexample.com TXT \"x\"\nexample.com MX 10 mx.example.com\n");
    const auto a = z.answer("example.com", Type::TXT);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].type, Type::TXT);
}

TEST(DnsStaticZoneAnswer, TimeoutNameTimesOutForEveryType) {
    const auto z = parse_ok("slow.example.com. IN TIMEOUT\n");
    EXPECT_EQ(z.answer("slow.example.com", Type::A).status, Status::Timeout);
    EXPECT_EQ(z.answer("slow.example.com", Type::TXT).status, Status::Timeout);
}

TEST(DnsStaticZoneAnswer, TimeoutNameStillAnswersTheTypesItLists) {
    // The openspf suite's zonedata: "TXT answers, everything else times out".
    const auto z = parse_ok("slow.example.com TIMEOUT\nslow.example.com TXT \"v=spf1 -all\"\n");
    EXPECT_EQ(z.answer("slow.example.com", Type::TXT).status, Status::Ok);
    EXPECT_EQ(z.answer("slow.example.com", Type::MX).status, Status::Timeout);
}

TEST(DnsStaticZoneAnswer, ServfailNameFailsForTypesItDoesNotList) {
    const auto z = parse_ok("broken.example.com. IN SERVFAIL\nbroken.example.com A 192.0.2.1\n");
    EXPECT_EQ(z.answer("broken.example.com", Type::TXT).status, Status::ServFail);
    EXPECT_EQ(z.answer("broken.example.com", Type::A).status, Status::Ok);
}

TEST(DnsStaticZoneAnswer, CnameIsFollowedToTheTarget) {
    const auto z = parse_ok("alias.example.com. IN CNAME mail.example.com.\nmail.example.com. IN A 192.0.2.10\n");
    const auto a = z.answer("alias.example.com", Type::A);
    ASSERT_EQ(a.status, Status::Ok);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].type, Type::A);
    EXPECT_EQ(a.records[0].address[3], 10);
    EXPECT_EQ(a.canonical_name, "mail.example.com");
}

TEST(DnsStaticZoneAnswer, CnameChainIsFollowed) {
    const auto z = parse_ok("a.example.com CNAME b.example.com\nb.example.com CNAME c.example.com\n"
                            "c.example.com CNAME d.example.com\nd.example.com TXT \"end\"\n");
    const auto a = z.answer("a.example.com", Type::TXT);
    ASSERT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.records.at(0).txt(), "end");
    EXPECT_EQ(a.canonical_name, "d.example.com");
}

TEST(DnsStaticZoneAnswer, CnameToAnAbsentNameIsNxDomainAtTheTarget) {
    const auto z = parse_ok("alias.example.com CNAME gone.example.com\n");
    const auto a = z.answer("alias.example.com", Type::A);
    EXPECT_EQ(a.status, Status::NxDomain);
    EXPECT_EQ(a.canonical_name, "gone.example.com");
}

TEST(DnsStaticZoneAnswer, CnameTargetWithoutTheTypeIsNoData) {
    const auto z = parse_ok("alias.example.com CNAME mail.example.com\nmail.example.com A 192.0.2.1\n");
    EXPECT_EQ(z.answer("alias.example.com", Type::TXT).status, Status::NoData);
}

TEST(DnsStaticZoneAnswer, CnameToItselfIsServFail) {
    // openspf: loop4.example.com / cname.example.com
    const auto z = parse_ok("cname.example.com CNAME CNAME.example.com.\n");
    EXPECT_EQ(z.answer("cname.example.com", Type::A).status, Status::ServFail);
}

TEST(DnsStaticZoneAnswer, CnameLoopOfTwoIsServFail) {
    const auto z = parse_ok("a.example.com CNAME b.example.com\nb.example.com CNAME a.example.com\n");
    const auto a = z.answer("a.example.com", Type::TXT);
    EXPECT_EQ(a.status, Status::ServFail);
    EXPECT_TRUE(a.records.empty());
}

TEST(DnsStaticZoneAnswer, OverlongCnameChainIsServFail) {
    std::string text;
    for (int i = 0; i < 40; ++i)
        text += "n" + std::to_string(i) + ".example.com CNAME n" + std::to_string(i + 1) + ".example.com\n";
    text += "n40.example.com A 192.0.2.1\n";
    const auto z = parse_ok(text);
    EXPECT_EQ(z.answer("n0.example.com", Type::A).status, Status::ServFail);
    EXPECT_EQ(z.answer("n38.example.com", Type::A).status, Status::Ok);
}

TEST(DnsStaticZoneAnswer, SpfTypeIsNoDataForAnyName) {
    const auto z = parse_ok("example.com TXT \"v=spf1 -all\"\n");
    EXPECT_EQ(z.answer("example.com", Type::SPF).status, Status::NoData);
    EXPECT_EQ(z.answer("absent.example.net", Type::SPF).status, Status::NoData);
}

TEST(DnsStaticZoneAnswer, ProgrammaticAddAndAddFailure) {
    StaticZone z;
    dns::Record r;
    r.type = Type::TXT;
    r.strings = {"hello"};
    z.add("Example.COM.", r);
    z.add_failure("slow.example.com", Status::Timeout);
    EXPECT_EQ(z.answer("example.com", Type::TXT).records.at(0).txt(), "hello");
    EXPECT_EQ(z.answer("slow.example.com", Type::A).status, Status::Timeout);
    EXPECT_TRUE(z.has_name("slow.example.com"));
}
