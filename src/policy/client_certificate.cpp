#include "policy/client_certificate.hpp"
#include "util/ascii.hpp"

#include <algorithm>
#include <cctype>

namespace policy {

namespace {

// X.520 compares names with caseIgnoreMatch; host names in a CN are
// case-insensitive too (RFC 4343).
bool same_ignoring_case(std::string_view a, std::string_view b) {
    return util::ascii_iequals(a, b);
}

int hex_digit(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

std::string decoded_or_empty(const std::optional<std::string>& macro) {
    if (!macro) return {};
    return decode_xtext(*macro).value_or(std::string());
}

// sendmail puts these words into {cn_subject}/{cn_issuer} when the name has
// no CN, a CN too long for its buffer, or a CN with a NUL byte (tls.c,
// CHECK_X509_NAME): none of them is a name.
std::string sendmail_common_name(const std::optional<std::string>& macro) {
    std::string cn = decoded_or_empty(macro);
    if (cn == "BadCertificateUnknown" || cn == "BadCertificateTooLong" || cn == "BadCertificateContainsNUL")
        return {};
    return cn;
}

}  // namespace

std::optional<std::string> decode_xtext(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char ch = text[i];
        if (ch != '+') {
            out += ch;
            continue;
        }
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex_digit(text[i + 1]), lo = hex_digit(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

ClientCertificate ClientCertificate::from_macros(const CertificateMacros& m) {
    ClientCertificate c;
    if (m.verify) {
        // sendmail: the macros describe any certificate the client showed;
        // only {verify} = OK says that it chains to a CA sendmail trusts
        // (CACERT, CACERT_PATH). "TRUSTED" is DANE, a client-side result.
        c.verify = *m.verify;
        c.trusted = *m.verify == "OK";
        c.subject_dn = decoded_or_empty(m.cert_subject);
        c.issuer_dn = decoded_or_empty(m.cert_issuer);
        c.subject_cn = sendmail_common_name(m.cn_subject);
        c.issuer_cn = sendmail_common_name(m.cn_issuer);
        return c;
    }
    // Postfix: {cert_subject} is there only for a trusted certificate
    // (IF_TRUSTED in smtpd_milter.c). A value in sendmail's DN form without
    // {verify} means a sendmail whose {verify} did not reach us: then nothing
    // says the certificate was verified.
    if (!m.cert_subject || m.cert_subject->empty() || m.cert_subject->front() == '/') return c;
    c.trusted = true;
    c.subject_cn = *m.cert_subject;
    c.issuer_cn = m.cert_issuer.value_or(std::string());
    return c;
}

CertificateName CertificateName::common_name(std::string_view cn) {
    CertificateName n;
    n.kind = Kind::CommonName;
    n.value = std::string(cn);
    return n;
}

std::optional<CertificateName> CertificateName::parse_dn(std::string_view text, std::string* error) {
    const auto fail = [&](std::string why) -> std::optional<CertificateName> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (text.empty()) return fail("must not be empty");
    if (text.front() == '/') {
        // OpenSSL's X509_NAME_oneline form, as sendmail reports it:
        // "/TYPE=value" for each attribute.
        if (text.size() < 4 || text.find('=') == std::string_view::npos)
            return fail("\"" + std::string(text) + "\" is not a distinguished name like /O=Org/CN=name");
        CertificateName n;
        n.kind = Kind::DistinguishedName;
        n.value = std::string(text);
        return n;
    }
    const std::size_t equals = text.find('=');
    if (equals == std::string_view::npos)
        return fail("\"" + std::string(text) + "\" is not a distinguished name; for a common name write "
                    "subject_cn/issuer_cn = \"" + std::string(text) + "\"");
    if (same_ignoring_case(text.substr(0, equals), "CN") && text.find('=', equals + 1) == std::string_view::npos &&
        equals + 1 < text.size())
        return common_name(text.substr(equals + 1));
    return fail("\"" + std::string(text) +
                "\": write a whole distinguished name as sendmail reports it (/C=US/O=Org/CN=name), "
                "or only the common name with subject_cn/issuer_cn");
}

std::string CertificateName::common_name_part() const {
    if (kind == Kind::CommonName) return value;
    // The last "/CN=" attribute: an approximation (a value may contain "/"),
    // used only to suggest subject_cn in warnings.
    std::string upper(value);
    std::ranges::transform(upper, upper.begin(), [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    const std::size_t at = upper.rfind("/CN=");
    if (at == std::string::npos) return {};
    const std::size_t start = at + 4;
    const std::size_t end = value.find('/', start);
    return value.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool CertificateName::matches(std::string_view cn, std::string_view dn) const {
    const std::string_view reported = kind == Kind::CommonName ? cn : dn;
    return !reported.empty() && same_ignoring_case(value, reported);
}

std::string CertificateName::to_string() const {
    return kind == Kind::CommonName ? "CN=" + value : value;
}

}  // namespace policy
