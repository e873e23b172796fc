// Accepted domains and domain normalisation.
#include <gtest/gtest.h>

#include "policy/accepted_domains.hpp"

using namespace policy;

namespace {

AcceptedDomains domains(std::initializer_list<std::pair<const char*, DomainType>> list) {
    AcceptedDomains d;
    for (const auto& [pattern, type] : list) {
        std::string error;
        EXPECT_TRUE(d.add(pattern, type, &error)) << pattern << ": " << error;
    }
    return d;
}

std::string matched(const AcceptedDomains& d, std::string_view domain) {
    const auto m = d.match(domain);
    return m ? m->to_string() : "(none)";
}

}  // namespace

TEST(NormalizeDomain, LowerCasesAndStripsOneTrailingDot) {
    EXPECT_EQ(normalize_domain("Example.COM."), "example.com");
    EXPECT_FALSE(normalize_domain("example.com.."));
}

TEST(NormalizeDomain, ConvertsULabelsToALabels) {
    // bücher.example: A-label from RFC 3492's algorithm.
    EXPECT_EQ(normalize_domain("b\xc3\xbc" "cher.example"), "xn--bcher-kva.example");
    EXPECT_EQ(normalize_domain("B\xc3\x9c" "CHER.Example"), "xn--bcher-kva.example");
}

TEST(NormalizeDomain, NonTransitionalKeepsSharpS) {
    // IDNA 2008 / UTS 46 non-transitional: "faß" is not "fass".
    EXPECT_EQ(normalize_domain("fa\xc3\x9f.de"), "xn--fa-hia.de");
}

TEST(NormalizeDomain, RejectsUnusableNames) {
    const std::string long_label(64, 'a');
    std::string long_name;
    for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
    long_name += "com";
    for (const std::string& bad : {std::string(""), std::string("."), std::string("a..b"), std::string(".a"),
                                  long_label + ".com", long_name, std::string("ex ample.com"),
                                  std::string("exa_mple.com"), std::string("ex\xff" "ample.com"),
                                  std::string("\xc3(.com"), std::string("a\0b.com", 7), std::string("[1.2.3.4]")}) {
        EXPECT_FALSE(normalize_domain(bad)) << '"' << bad << '"';
    }
    EXPECT_TRUE(normalize_domain(std::string(63, 'a') + ".com"));
}

TEST(AcceptedDomains, ExactEntryMatchesOnlyThatDomain) {
    const auto d = domains({{"o365info.com", DomainType::Authoritative}});
    EXPECT_EQ(matched(d, "o365info.com"), "o365info.com");
    EXPECT_EQ(matched(d, "sub.o365info.com"), "(none)");
    EXPECT_EQ(matched(d, "xo365info.com"), "(none)");
    EXPECT_EQ(matched(d, "o365info.com.evil.example"), "(none)");
}

TEST(AcceptedDomains, MatchingIgnoresCaseAndTrailingDot) {
    const auto d = domains({{"O365info.com.", DomainType::Authoritative}});
    EXPECT_EQ(matched(d, "O365INFO.COM."), "o365info.com");
}

TEST(AcceptedDomains, WildcardCoversDomainAndSubdomains) {
    const auto d = domains({{"*.contoso.com", DomainType::InternalRelay}});
    EXPECT_EQ(matched(d, "contoso.com"), "*.contoso.com");
    EXPECT_EQ(matched(d, "a.b.contoso.com"), "*.contoso.com");
    EXPECT_EQ(matched(d, "evilcontoso.com"), "(none)");
    EXPECT_EQ(matched(d, "contoso.com.evil.example"), "(none)");
}

TEST(AcceptedDomains, ExactEntryBeatsWildcard) {
    const auto d = domains({{"*.contoso.com", DomainType::InternalRelay},
                            {"sales.contoso.com", DomainType::ExternalRelay}});
    const auto m = d.match("sales.contoso.com");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type, DomainType::ExternalRelay);
    EXPECT_EQ(matched(d, "eu.sales.contoso.com"), "*.contoso.com");
}

TEST(AcceptedDomains, LongestWildcardWins) {
    const auto d = domains({{"*.contoso.com", DomainType::Authoritative},
                            {"*.eu.contoso.com", DomainType::ExternalRelay}});
    EXPECT_EQ(matched(d, "mx.eu.contoso.com"), "*.eu.contoso.com");
    EXPECT_EQ(matched(d, "eu.contoso.com"), "*.eu.contoso.com");
    EXPECT_EQ(matched(d, "us.contoso.com"), "*.contoso.com");
}

TEST(AcceptedDomains, IdnEntryMatchesBothULabelAndALabelForms) {
    const auto d = domains({{"b\xc3\xbc" "cher.example", DomainType::Authoritative}});
    EXPECT_EQ(matched(d, "xn--bcher-kva.example"), "xn--bcher-kva.example");
    EXPECT_EQ(matched(d, "B\xc3\xbc" "CHER.example."), "xn--bcher-kva.example");
}

// Issue 12: an MTA that does not apply UTS #46 (Postfix with
// smtputf8_enable = no, sendmail) routes these as written, to a foreign
// next hop, so they are not ours.
TEST(AcceptedDomains, NamesOursOnlyThroughUts46MappingDoNotMatch) {
    const auto d = domains({{"b\xc3\xbc" "cher.example", DomainType::Authoritative},
                            {"contoso.test", DomainType::Authoritative}});
    EXPECT_EQ(matched(d, "B\xc3\x9c" "CHER.example"), "(none)");                   // Unicode upper case
    EXPECT_EQ(matched(d, "\xef\xbd\x83\xef\xbd\x8f\xef\xbd\x8e\xef\xbd\x94\xef\xbd\x8f\xef\xbd\x93\xef\xbd\x8f.test"),
              "(none)");                                                                 // fullwidth
    EXPECT_EQ(matched(d, "contoso\xe3\x80\x82test"), "(none)");                        // ideographic full stop
    EXPECT_EQ(matched(d, "contoso\xef\xbc\x8etest"), "(none)");                        // fullwidth full stop
    EXPECT_EQ(matched(d, "con\xc2\xadtoso.test"), "(none)");                            // soft hyphen
    EXPECT_EQ(unmapped_form("contoso\xe3\x80\x82test"), "contoso\xe3\x80\x82test");
    EXPECT_FALSE(unmapped_form("b\xc3\xbc" "cher.example"));
    EXPECT_FALSE(unmapped_form("CONTOSO.test"));
}

TEST(AcceptedDomains, IsOursForAuthoritativeAndInternalRelayOnly) {
    const auto d = domains({{"auth.example", DomainType::Authoritative},
                            {"internal.example", DomainType::InternalRelay},
                            {"external.example", DomainType::ExternalRelay}});
    EXPECT_TRUE(d.is_ours("auth.example"));
    EXPECT_TRUE(d.is_ours("internal.example"));
    EXPECT_FALSE(d.is_ours("external.example"));
    EXPECT_FALSE(d.is_ours("other.example"));
}

TEST(AcceptedDomains, RejectsBadPatternsAndDuplicates) {
    AcceptedDomains d;
    std::string error;
    EXPECT_FALSE(d.add("", DomainType::Authoritative, &error));
    EXPECT_FALSE(error.empty());
    EXPECT_FALSE(d.add("*", DomainType::Authoritative, &error));
    EXPECT_FALSE(d.add("*.", DomainType::Authoritative, &error));
    EXPECT_FALSE(d.add("a.*.example", DomainType::Authoritative, &error));
    EXPECT_TRUE(d.add("example.com", DomainType::Authoritative, &error));
    error.clear();
    EXPECT_FALSE(d.add("EXAMPLE.com.", DomainType::Authoritative, &error));
    EXPECT_NE(error.find("twice"), std::string::npos) << error;
    EXPECT_EQ(d.entries().size(), 1u);
}

TEST(AcceptedDomains, DomainTypeNamesRoundTrip) {
    for (const auto t : {DomainType::Authoritative, DomainType::InternalRelay, DomainType::ExternalRelay})
        EXPECT_EQ(parse_domain_type(domain_type_name(t)), t);
    EXPECT_FALSE(parse_domain_type("Authoritative "));
}
