// The one home for ASCII case folding (src/util/ascii.hpp).
#include <gtest/gtest.h>

#include "util/ascii.hpp"

namespace {

TEST(AsciiFolding, OnlyLettersFold) {
    EXPECT_TRUE(util::ascii_iequals("Authentication-Results", "authentication-RESULTS"));
    // A 0x20 mask would equate these pairs; ASCII case folding does not.
    EXPECT_FALSE(util::ascii_iequals("@", "`"));
    EXPECT_FALSE(util::ascii_iequals("[", "{"));
    EXPECT_FALSE(util::ascii_iequals("]", "}"));
    EXPECT_FALSE(util::ascii_iequals("^", "~"));
    // Non-ASCII bytes are compared as they are (no locale).
    EXPECT_FALSE(util::ascii_iequals("\xc3\x9c", "\xc3\xbc"));
    EXPECT_EQ(util::ascii_lower("MX.Example.COM \xc3\x9c@["), "mx.example.com \xc3\x9c@[");
}

TEST(AsciiFolding, PrefixComparisonIsCaseInsensitiveAndBounded) {
    EXPECT_TRUE(util::ascii_istarts_with("V=SPF1 -all", "v=spf1"));
    EXPECT_FALSE(util::ascii_istarts_with("v=spf", "v=spf1"));
    EXPECT_TRUE(util::ascii_istarts_with("anything", ""));
}

TEST(DnsNameKey, LowerCaseWithoutTheRootDot) {
    EXPECT_EQ(util::dns_name_key("MX.Example.COM."), "mx.example.com");
    EXPECT_EQ(util::dns_name_key("mx.example.com"), "mx.example.com");
    EXPECT_EQ(util::dns_name_key("."), "");
    EXPECT_EQ(util::dns_name_key("a.."), "a.");  // only the root's dot goes
}

}  // namespace
