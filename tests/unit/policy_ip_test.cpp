// IP addresses, remote IP ranges and local bindings.
#include <gtest/gtest.h>

#include "policy/binding.hpp"
#include "policy/ip_address.hpp"
#include "policy/ip_range.hpp"

using namespace policy;

namespace {

IpAddress ip(const char* text) {
    const auto a = IpAddress::parse(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(IpAddress{});
}

IpRange range(const char* text) {
    std::string error;
    const auto r = IpRange::parse(text, &error);
    EXPECT_TRUE(r.has_value()) << text << ": " << error;
    return r.value_or(IpRange{});
}

}  // namespace

TEST(IpAddress, ParsesIpv4DottedQuadAsHostOrderValue) {
    const auto a = IpAddress::parse("192.0.2.1");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->value(), (static_cast<uint128>(192) << 24) | (0u << 16) | (2u << 8) | 1u);
}

TEST(IpAddress, ParsesIpv6) {
    const auto a = IpAddress::parse("2001:db8::1");
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->is_v4());
    EXPECT_EQ(a->value(), (static_cast<uint128>(0x20010db8) << 96) | 1);
}

TEST(IpAddress, MappedIpv6BecomesIpv4) {
    const auto a = IpAddress::parse("::ffff:10.0.0.80");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(*a, ip("10.0.0.80"));
}

TEST(IpAddress, AcceptsBracketedAndIpv6TaggedForms) {
    EXPECT_EQ(ip("[2001:db8::1]"), ip("2001:db8::1"));
    EXPECT_EQ(ip("IPv6:2001:db8::1"), ip("2001:db8::1"));
    EXPECT_EQ(ip("IPv6:::ffff:192.0.2.7"), ip("192.0.2.7"));
}

TEST(IpAddress, RejectsJunk) {
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4x",
                            "fe80::1%eth0", "01.2.3.4", "2001:db8:::1", "example.com", "IPv6:1.2.3.4",
                            "[1.2.3.4", "::1]"}) {
        EXPECT_FALSE(IpAddress::parse(bad)) << '"' << bad << '"';
    }
    EXPECT_FALSE(IpAddress::parse(std::string_view("1.2.3.4\0", 8)));
}

TEST(IpAddress, ToStringRoundTrips) {
    EXPECT_EQ(ip("10.0.0.80").to_string(), "10.0.0.80");
    EXPECT_EQ(ip("2001:DB8:0:0::1").to_string(), "2001:db8::1");
    EXPECT_EQ(ip("::ffff:192.0.2.1").to_string(), "192.0.2.1");
}

TEST(IpRange, SingleAddressHasZeroSpan) {
    const IpRange r = range("10.0.0.80");
    EXPECT_EQ(r.first(), ip("10.0.0.80"));
    EXPECT_EQ(r.last(), ip("10.0.0.80"));
    EXPECT_EQ(r.span(), 0u);
}

TEST(IpRange, CidrMasksHostBits) {
    const IpRange r = range("10.0.0.5/24");
    EXPECT_EQ(r.first(), ip("10.0.0.0"));
    EXPECT_EQ(r.last(), ip("10.0.0.255"));
    EXPECT_EQ(r.span(), 255u);
}

TEST(IpRange, SlashZeroCoversWholeFamily) {
    const IpRange v4 = range("0.0.0.0/0");
    EXPECT_EQ(v4.first(), ip("0.0.0.0"));
    EXPECT_EQ(v4.last(), ip("255.255.255.255"));
    const IpRange v6 = range("::/0");
    EXPECT_TRUE(v6.contains(ip("2001:db8::1")));
    EXPECT_TRUE(v6.contains(ip("::")));
    EXPECT_TRUE(v6.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
}

TEST(IpRange, DashRangeEqualsSameCidr) {
    EXPECT_EQ(range("10.0.0.0-10.0.0.255"), range("10.0.0.0/24"));
    EXPECT_EQ(range("0.0.0.0-255.255.255.255"), range("0.0.0.0/0"));
}

TEST(IpRange, Ipv6Cidr) {
    const IpRange r = range("2001:db8::/32");
    EXPECT_TRUE(r.contains(ip("2001:db8:ffff::1")));
    EXPECT_FALSE(r.contains(ip("2001:db9::1")));
}

TEST(IpRange, MappedClientMatchesIpv4Range) {
    EXPECT_TRUE(range("10.0.0.80").contains(ip("::ffff:10.0.0.80")));
    EXPECT_TRUE(range("10.0.0.0/24").contains(ip("::ffff:10.0.0.99")));
}

TEST(IpRange, Ipv4RangeNeverContainsIpv6Address) {
    EXPECT_FALSE(range("0.0.0.0/0").contains(ip("::1")));
    EXPECT_FALSE(range("::/0").contains(ip("10.0.0.1")));
}

TEST(IpRange, MappedIpv6CidrTranslatesPrefix) {
    EXPECT_EQ(range("::ffff:10.0.0.0/120"), range("10.0.0.0/24"));
}

TEST(IpRange, RejectsBadInput) {
    for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/24x", "2001:db8::/129",
                            "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "10.0.0.1-", "-10.0.0.1", "nonsense",
                            "10.0.0.0/024", "10.0.0.1 - 10.0.0.x"}) {
        std::string error;
        EXPECT_FALSE(IpRange::parse(bad, &error)) << '"' << bad << '"';
        EXPECT_FALSE(error.empty()) << '"' << bad << '"';
    }
}

TEST(IpRange, ContainsAndOverlaps) {
    const IpRange a = range("10.0.0.0/24");
    EXPECT_TRUE(a.contains(range("10.0.0.128/25")));
    EXPECT_FALSE(range("10.0.0.128/25").contains(a));
    EXPECT_TRUE(a.overlaps(range("10.0.0.200-10.0.1.5")));
    EXPECT_FALSE(a.overlaps(range("10.0.1.0/24")));
    EXPECT_FALSE(a.contains(ip("10.0.1.0")));
    EXPECT_TRUE(a.contains(ip("10.0.0.0")));
    EXPECT_TRUE(a.contains(ip("10.0.0.255")));
}

TEST(IpRange, ToStringIsCanonical) {
    EXPECT_EQ(range("10.0.0.7/24").to_string(), "10.0.0.0/24");
    EXPECT_EQ(range("10.0.0.0-10.0.0.255").to_string(), "10.0.0.0/24");
    EXPECT_EQ(range("10.0.0.1-10.0.0.9").to_string(), "10.0.0.1-10.0.0.9");
    EXPECT_EQ(range("10.0.0.80").to_string(), "10.0.0.80");
    EXPECT_EQ(range("::/0").to_string(), "::/0");
    EXPECT_EQ(range("0.0.0.0-255.255.255.255").to_string(), "0.0.0.0/0");
}

TEST(Binding, ParsesSpecificWildcardIpv6AndDaemonName) {
    const auto a = Binding::parse("10.0.0.50:25");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->kind(), Binding::Kind::Address);
    EXPECT_EQ(a->port(), 25);
    const auto w = Binding::parse("0.0.0.0:25");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->kind(), Binding::Kind::Wildcard);
    const auto w6 = Binding::parse("[::]:587");
    ASSERT_TRUE(w6);
    EXPECT_EQ(w6->kind(), Binding::Kind::Wildcard);
    EXPECT_FALSE(w6->address().is_v4());
    const auto s6 = Binding::parse("[2001:db8::1]:25");
    ASSERT_TRUE(s6);
    EXPECT_EQ(s6->kind(), Binding::Kind::Address);
    const auto n = Binding::parse("name:MSA");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->kind(), Binding::Kind::DaemonName);
    EXPECT_EQ(n->daemon_name(), "MSA");
}

TEST(Binding, RejectsBadInput) {
    for (const char* bad : {"", "10.0.0.50", "10.0.0.50:0", "10.0.0.50:65536", "10.0.0.50:x", "2001:db8::1:25",
                            "[2001:db8::1]", "[2001:db8::1]25", "host.example:25", "name:", ":25"}) {
        std::string error;
        EXPECT_FALSE(Binding::parse(bad, &error)) << '"' << bad << '"';
        EXPECT_FALSE(error.empty()) << '"' << bad << '"';
    }
}

TEST(Binding, SpecificAddressMatchesOnlyThatAddressAndPort) {
    const auto b = Binding::parse("10.0.0.50:25");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->matches({ip("10.0.0.50"), 25, ""}));
    EXPECT_TRUE(b->matches({ip("::ffff:10.0.0.50"), 25, ""}));
    EXPECT_FALSE(b->matches({ip("10.0.0.51"), 25, ""}));
    EXPECT_FALSE(b->matches({ip("10.0.0.50"), 587, ""}));
}

TEST(Binding, SpecificAddressNeverMatchesUnknownEndpoint) {
    const auto b = Binding::parse("10.0.0.50:25");
    ASSERT_TRUE(b);
    EXPECT_FALSE(b->matches({std::nullopt, 25, ""}));
    EXPECT_FALSE(b->matches({ip("10.0.0.50"), std::nullopt, ""}));
    EXPECT_FALSE(b->matches({}));
}

TEST(Binding, WildcardMatchesAnyAddressOfItsFamilyOnItsPort) {
    const auto v4 = Binding::parse("0.0.0.0:25");
    const auto v6 = Binding::parse("[::]:25");
    ASSERT_TRUE(v4 && v6);
    EXPECT_TRUE(v4->matches({ip("192.0.2.9"), 25, ""}));
    EXPECT_FALSE(v4->matches({ip("2001:db8::9"), 25, ""}));
    EXPECT_FALSE(v4->matches({ip("192.0.2.9"), 587, ""}));
    EXPECT_TRUE(v6->matches({ip("2001:db8::9"), 25, ""}));
    EXPECT_FALSE(v6->matches({ip("192.0.2.9"), 25, ""}));
}

TEST(Binding, WildcardWithMissingMacrosDecidesOnWhatIsKnown) {
    const auto w = Binding::parse("0.0.0.0:25");
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->matches({std::nullopt, 25, ""}));
    EXPECT_FALSE(w->matches({std::nullopt, 587, ""}));
    EXPECT_TRUE(w->matches({}));
}

TEST(Binding, DaemonNameMatchesCaseInsensitively) {
    const auto b = Binding::parse("name:MSA");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->matches({std::nullopt, std::nullopt, "msa"}));
    EXPECT_FALSE(b->matches({std::nullopt, std::nullopt, "MTA"}));
    EXPECT_FALSE(b->matches({ip("10.0.0.50"), 587, ""}));
}

TEST(Binding, ToStringRoundTrips) {
    for (const char* text : {"10.0.0.50:25", "0.0.0.0:25", "[::]:25", "[2001:db8::1]:587", "name:MSA"}) {
        const auto b = Binding::parse(text);
        ASSERT_TRUE(b) << text;
        EXPECT_EQ(b->to_string(), text);
    }
}
