// The TLS client certificate as the MTA reports it, and the names of
// [[certificate_map]] that are matched against it.
//
// Postfix and sendmail describe the same certificate differently:
// - Postfix (smtpd_milter.c) sends {cert_subject} and {cert_issuer} only for a
//   certificate that chains to a CA it trusts (smtpd_tls_CAfile/CApath), and
//   then the value is the subject's common name and the issuer's common name
//   (the issuer's organisation when the issuer has no CN), UTF-8, not encoded.
//   It has no {verify}.
// - sendmail (tls.c) sends them for every certificate, verified or not:
//   {verify} is "OK" only for a verified one; {cert_subject}/{cert_issuer} are
//   whole distinguished names in OpenSSL's one-line form "/C=US/O=Org/CN=name",
//   {cn_subject}/{cn_issuer} the common names; all of them as RFC 3461 xtext.
// ClientCertificate is the MTA-neutral result; a map entry keyed by common
// name matches on both MTAs, one keyed by a whole distinguished name only on
// sendmail (Postfix never reports one).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace policy {

// The certificate macros the MTA sent; nullopt: the macro was not sent.
struct CertificateMacros {
    std::optional<std::string> verify;        // sendmail only
    std::optional<std::string> cert_subject;
    std::optional<std::string> cert_issuer;
    std::optional<std::string> cn_subject;    // sendmail only
    std::optional<std::string> cn_issuer;     // sendmail only
};

struct ClientCertificate {
    bool trusted = false;     // the MTA verified it against the CAs it trusts
    std::string subject_cn;   // empty: unknown
    std::string issuer_cn;    // Postfix: the issuer's O when it has no CN
    std::string subject_dn;   // sendmail only: "/C=US/O=Org/CN=name"
    std::string issuer_dn;    // sendmail only
    std::string verify;       // sendmail's {verify}, for log lines; empty on Postfix

    static ClientCertificate from_macros(const CertificateMacros& macros);
};

// RFC 3461 section 4 xtext: "+" and two upper-case hex digits stand for one
// byte. nullopt when `text` is not valid xtext.
std::optional<std::string> decode_xtext(std::string_view text);

// One side (subject or issuer) of a [[certificate_map]] entry.
struct CertificateName {
    enum class Kind {
        CommonName,         // compared with the common name (both MTAs)
        DistinguishedName,  // compared with the whole one-line DN (sendmail only)
    };
    Kind kind = Kind::CommonName;
    std::string value;

    // subject_cn / issuer_cn: the common name itself.
    static CertificateName common_name(std::string_view cn);
    // subject / issuer: "CN=name" (a common name, the form of earlier
    // versions) or a distinguished name in sendmail's one-line form
    // "/C=US/O=Org/CN=name". Anything else (a bare name, RFC 4514's
    // "CN=name, O=Org") is refused with a hint in *error.
    static std::optional<CertificateName> parse_dn(std::string_view text, std::string* error);

    // The CN of a one-line DN ("" when it has none); the value of a CN name.
    std::string common_name_part() const;
    bool matches(std::string_view cn, std::string_view dn) const;
    std::string to_string() const;  // as written in the config: "CN=..." or "/.../CN=..."
};

}  // namespace policy
