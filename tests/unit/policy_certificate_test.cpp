// The client certificate as Postfix and sendmail report it, and how
// [[certificate_map]] entries match it. The macro values are the forms the
// two MTAs really send: Postfix's smtpd_milter.c (CN only, only when trusted,
// no {verify}) and sendmail's tls.c (one-line DN and CN, xtext, {verify}).
#include <gtest/gtest.h>

#include "policy/client_certificate.hpp"
#include "policy/session_rights.hpp"

using namespace policy;

namespace {

CertificateMacros postfix_trusted(std::string subject_cn, std::string issuer_cn) {
    CertificateMacros m;
    m.cert_subject = std::move(subject_cn);
    m.cert_issuer = std::move(issuer_cn);
    return m;
}

// sendmail 8.17 for a client certificate /O=Partner Inc/CN=mx.partner.example
// issued by /O=Partner Inc/CN=Partner CA (space is xtext "+20").
CertificateMacros sendmail_macros(std::string verify) {
    CertificateMacros m;
    m.verify = std::move(verify);
    m.cert_subject = "/O=Partner+20Inc/CN=mx.partner.example";
    m.cert_issuer = "/O=Partner+20Inc/CN=Partner+20CA";
    m.cn_subject = "mx.partner.example";
    m.cn_issuer = "Partner+20CA";
    return m;
}

CertificateMapping by_common_names(std::string subject, std::string issuer) {
    return {CertificateName::common_name(subject), CertificateName::common_name(issuer), PermissionGroup::Partners};
}

CertificateName dn(std::string_view text) {
    std::string why;
    auto name = CertificateName::parse_dn(text, &why);
    EXPECT_TRUE(name.has_value()) << text << ": " << why;
    return name.value_or(CertificateName{});
}

}  // namespace

TEST(ClientCertificate, PostfixCertificateMacrosMeanTrustedAndAreTheCommonNames) {
    const auto c = ClientCertificate::from_macros(postfix_trusted("mx.partner.example", "Partner CA"));
    EXPECT_TRUE(c.trusted);
    EXPECT_EQ(c.subject_cn, "mx.partner.example");
    EXPECT_EQ(c.issuer_cn, "Partner CA");
    EXPECT_TRUE(c.subject_dn.empty());
}

TEST(ClientCertificate, PostfixWithoutCertificateMacrosIsNotTrusted) {
    EXPECT_FALSE(ClientCertificate::from_macros({}).trusted);
    CertificateMacros empty;
    empty.cert_subject = "";
    EXPECT_FALSE(ClientCertificate::from_macros(empty).trusted);
}

// A sendmail whose {verify} does not reach the milter sends DNs for any
// certificate: nothing then says it was verified.
TEST(ClientCertificate, DistinguishedNameWithoutVerifyIsNotTrusted) {
    CertificateMacros m = sendmail_macros("OK");
    m.verify.reset();
    EXPECT_FALSE(ClientCertificate::from_macros(m).trusted);
}

TEST(ClientCertificate, SendmailVerifyOkIsTrustedWithDecodedNames) {
    const auto c = ClientCertificate::from_macros(sendmail_macros("OK"));
    EXPECT_TRUE(c.trusted);
    EXPECT_EQ(c.subject_cn, "mx.partner.example");
    EXPECT_EQ(c.issuer_cn, "Partner CA");
    EXPECT_EQ(c.subject_dn, "/O=Partner Inc/CN=mx.partner.example");
    EXPECT_EQ(c.issuer_dn, "/O=Partner Inc/CN=Partner CA");
}

TEST(ClientCertificate, SendmailVerifyOtherThanOkIsNotTrusted) {
    for (const char* verify : {"FAIL", "NO", "NOT", "NONE", "TEMP", "PROTOCOL", "SOFTWARE", "ok", ""})
        EXPECT_FALSE(ClientCertificate::from_macros(sendmail_macros(verify)).trusted) << verify;
}

TEST(ClientCertificate, SendmailPlaceholderForMissingCommonNameIsNoName) {
    CertificateMacros m = sendmail_macros("OK");
    m.cn_subject = "BadCertificateUnknown";
    m.cn_issuer = "BadCertificateTooLong";
    const auto c = ClientCertificate::from_macros(m);
    EXPECT_TRUE(c.subject_cn.empty());
    EXPECT_TRUE(c.issuer_cn.empty());
    EXPECT_FALSE(by_common_names("BadCertificateUnknown", "BadCertificateTooLong").matches(c));
}

TEST(Xtext, PlusAndTwoUpperCaseHexDigitsAreOneByte) {
    EXPECT_EQ(decode_xtext("a+2Bb+20c+3D"), std::optional<std::string>("a+b c="));
    EXPECT_EQ(decode_xtext("/CN=M+C3+BCller"), std::optional<std::string>("/CN=M\xc3\xbcller"));
    EXPECT_EQ(decode_xtext(""), std::optional<std::string>(""));
}

TEST(Xtext, MalformedXtextIsRefusedAndMatchesNothing) {
    EXPECT_EQ(decode_xtext("a+2"), std::nullopt);
    EXPECT_EQ(decode_xtext("a+"), std::nullopt);
    EXPECT_EQ(decode_xtext("a+2b"), std::nullopt);   // RFC 3461: upper-case hex only
    EXPECT_EQ(decode_xtext("a+G0"), std::nullopt);
    CertificateMacros m = sendmail_macros("OK");
    m.cn_subject = "mx.partner.example+";
    EXPECT_FALSE(by_common_names("mx.partner.example", "Partner CA").matches(ClientCertificate::from_macros(m)));
}

// The point of issue 11 item 5: one entry, both MTAs.
TEST(CertificateMapping, CommonNameEntryMatchesPostfixAndSendmail) {
    const CertificateMapping entry = by_common_names("mx.partner.example", "Partner CA");
    EXPECT_TRUE(entry.matches(ClientCertificate::from_macros(postfix_trusted("mx.partner.example", "Partner CA"))));
    EXPECT_TRUE(entry.matches(ClientCertificate::from_macros(sendmail_macros("OK"))));
}

TEST(CertificateMapping, CommonNamesCompareWithoutCase) {
    const CertificateMapping entry = by_common_names("MX.Partner.Example", "partner ca");
    EXPECT_TRUE(entry.matches(ClientCertificate::from_macros(postfix_trusted("mx.partner.example", "Partner CA"))));
}

TEST(CertificateMapping, UnverifiedSendmailCertificateNeverMatches) {
    const CertificateMapping entry = by_common_names("mx.partner.example", "Partner CA");
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(sendmail_macros("FAIL"))));
}

TEST(CertificateMapping, OtherIssuerDoesNotMatch) {
    const CertificateMapping entry = by_common_names("mx.partner.example", "Partner CA");
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(postfix_trusted("mx.partner.example", "Other CA"))));
    CertificateMacros m = sendmail_macros("OK");
    m.cn_issuer = "Other+20CA";
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(m)));
}

TEST(CertificateMapping, EntryWithoutIssuerMatchesAnyTrustedIssuer) {
    const CertificateMapping entry{CertificateName::common_name("mx.partner.example"), std::nullopt,
                                   PermissionGroup::Partners};
    EXPECT_TRUE(entry.matches(ClientCertificate::from_macros(postfix_trusted("mx.partner.example", "Other CA"))));
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(postfix_trusted("mx.other.example", "Partner CA"))));
}

TEST(CertificateMapping, DistinguishedNameEntryMatchesSendmailOnly) {
    const CertificateMapping entry{dn("/O=Partner Inc/CN=mx.partner.example"), dn("/O=Partner Inc/CN=Partner CA"),
                                   PermissionGroup::Partners};
    EXPECT_TRUE(entry.matches(ClientCertificate::from_macros(sendmail_macros("OK"))));
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(sendmail_macros("FAIL"))));
    // Postfix reports the CN: a whole DN is never among its macros.
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(postfix_trusted("mx.partner.example", "Partner CA"))));
    EXPECT_FALSE(entry.matches(
        ClientCertificate::from_macros(postfix_trusted("/O=Partner Inc/CN=mx.partner.example", "Partner CA"))));
}

TEST(CertificateMapping, DistinguishedNameEntryDoesNotMatchAnotherOrganisation) {
    const CertificateMapping entry{dn("/O=Partner Inc/CN=mx.partner.example"), std::nullopt, PermissionGroup::Partners};
    CertificateMacros m = sendmail_macros("OK");
    m.cert_subject = "/O=Mallory/CN=mx.partner.example";
    EXPECT_FALSE(entry.matches(ClientCertificate::from_macros(m)));
}

TEST(CertificateName, CnEqualsIsTheCommonNameAsInEarlierVersions) {
    const CertificateName n = dn("CN=mx.partner.example");
    EXPECT_EQ(n.kind, CertificateName::Kind::CommonName);
    EXPECT_EQ(n.value, "mx.partner.example");
    EXPECT_EQ(dn("cn=Partner CA").value, "Partner CA");
}

TEST(CertificateName, SlashFormIsAWholeDistinguishedName) {
    const CertificateName n = dn("/C=US/O=Partner Inc/CN=mx.partner.example");
    EXPECT_EQ(n.kind, CertificateName::Kind::DistinguishedName);
    EXPECT_EQ(n.common_name_part(), "mx.partner.example");
    EXPECT_EQ(dn("/C=US/O=Partner Inc").common_name_part(), "");
}

TEST(CertificateName, BareNameAndCommaFormAreRefusedWithAHint) {
    std::string why;
    EXPECT_FALSE(CertificateName::parse_dn("mx.partner.example", &why));
    EXPECT_NE(why.find("subject_cn"), std::string::npos) << why;
    EXPECT_FALSE(CertificateName::parse_dn("CN=mx.partner.example, O=Partner Inc", &why));
    EXPECT_NE(why.find("/C=US/O=Org/CN=name"), std::string::npos) << why;
    EXPECT_FALSE(CertificateName::parse_dn("O=Partner Inc", &why));
    EXPECT_FALSE(CertificateName::parse_dn("", &why));
    EXPECT_FALSE(CertificateName::parse_dn("CN=", &why));
    EXPECT_FALSE(CertificateName::parse_dn("/CN", &why));
}
