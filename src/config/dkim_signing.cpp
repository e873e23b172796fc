// Private keys and OpenDKIM's table files for [dkim_signing].
#include "config/dkim_signing.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "util/ascii.hpp"

namespace config {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// OpenDKIM's table files: a '#' starts a comment; blank lines are skipped;
// the first field is the key, the rest (after white space) the value.
template <typename Each>
void for_each_entry(std::string_view text, Each&& each) {
    int line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        std::size_t gap = 0;
        while (gap < line.size() && !std::isspace(static_cast<unsigned char>(line[gap]))) ++gap;
        each(line_no, line.substr(0, gap), trim(line.substr(gap)));
    }
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return text.str();
}

}  // namespace

SigningKeyLoad signing_key_from_text(std::string_view text) {
    SigningKeyLoad out;
    const std::string_view body = trim(text);
    Pkey pkey;
    if (body.starts_with("-----")) {
        Bio bio(BIO_new_mem_buf(body.data(), static_cast<int>(body.size())));
        if (bio) pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    } else {
        // OpenDKIM also takes the key itself, base64 DER, in the key table.
        std::string b64;
        for (char c : body)
            if (!std::isspace(static_cast<unsigned char>(c))) b64 += c;
        std::string der(3 * (b64.size() / 4) + 3, '\0');
        const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(der.data()),
                                      reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
        if (n > 0) {
            const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
            // EVP_DecodeBlock counts the padding's zero bytes; DER knows its length.
            pkey.reset(d2i_AutoPrivateKey(nullptr, &p, n));
        }
    }
    if (!pkey) {
        out.error = "not a private key (PEM or base64 DER expected)";
        return out;
    }
    auth::DkimSigningKey key;
    const int id = EVP_PKEY_get_base_id(pkey.get());
    if (id == EVP_PKEY_RSA) {
        key.type = auth::DkimKeyType::Rsa;
        key.bits = static_cast<unsigned>(EVP_PKEY_get_bits(pkey.get()));
        // RFC 8301 section 3.2.
        if (key.bits < kMinSigningRsaBits) {
            out.error = "RSA key of " + std::to_string(key.bits) + " bits: RFC 8301 needs at least " +
                        std::to_string(kMinSigningRsaBits);
            return out;
        }
        if (key.bits < kRecommendedSigningRsaBits)
            out.warning = "RSA key of " + std::to_string(key.bits) + " bits: RFC 8301 recommends " +
                          std::to_string(kRecommendedSigningRsaBits) + " or more";
        // RFC 6376 section 3.6.1: p= is the SubjectPublicKeyInfo, base64.
        unsigned char* der = nullptr;
        const int n = i2d_PUBKEY(pkey.get(), &der);
        if (n <= 0) {
            out.error = "cannot derive the public key";
            return out;
        }
        key.public_key = base64(der, static_cast<std::size_t>(n));
        OPENSSL_free(der);
    } else if (id == EVP_PKEY_ED25519) {
        key.type = auth::DkimKeyType::Ed25519;
        key.bits = 256;
        // RFC 8463 section 4.2: p= is the raw 32-byte public key, base64.
        unsigned char raw[32];
        std::size_t len = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(pkey.get(), raw, &len) != 1 || len != sizeof raw) {
            out.error = "cannot derive the ed25519 public key";
            return out;
        }
        key.public_key = base64(raw, len);
    } else {
        out.error = "neither an RSA nor an ed25519 key (RFC 8301, RFC 8463)";
        return out;
    }
    // One form for libopendkim whatever the file held: PKCS#8 PEM.
    Bio mem(BIO_new(BIO_s_mem()));
    if (!mem || PEM_write_bio_PKCS8PrivateKey(mem.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        out.error = "cannot re-encode the private key";
        return out;
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(mem.get(), &data);
    key.private_pem.assign(data, static_cast<std::size_t>(size > 0 ? size : 0));
    key.pkey = std::shared_ptr<EVP_PKEY>(pkey.release(), EVP_PKEY_free);
    out.key = std::move(key);
    return out;
}

std::string generate_signing_key(auth::DkimKeyType type, unsigned bits, std::string* error) {
    Pkey pkey(type == auth::DkimKeyType::Ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                                                  : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
    Bio mem(BIO_new(BIO_s_mem()));
    if (!pkey || !mem ||
        PEM_write_bio_PKCS8PrivateKey(mem.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        if (error) *error = "key generation failed";
        return {};
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(mem.get(), &data);
    return std::string(data, static_cast<std::size_t>(size > 0 ? size : 0));
}

SigningKeyLoad load_signing_key_file(const std::string& path, bool check_permissions) {
    SigningKeyLoad out;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        out.error = "cannot read private key " + path;
        return out;
    }
    if (!S_ISREG(st.st_mode)) {
        out.error = "private key " + path + " is not a regular file";
        return out;
    }
    // OpenDKIM's RequireSafeKeys: a key others can read is no longer
    // private; one others can write may have been replaced.
    if (check_permissions && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        out.error = "private key " + path + " has mode " + mode +
                    ": group or others may read or write it (chmod 0600; the key must be considered compromised "
                    "if others could read it)";
        return out;
    }
    const auto text = read_file(path);
    if (!text) {
        out.error = "cannot read private key " + path;
        return out;
    }
    out = signing_key_from_text(*text);
    if (!out.error.empty()) out.error = path + ": " + out.error;
    if (out.key) out.key->file = path;
    return out;
}

std::vector<TableProblem> parse_opendkim_key_table(std::string_view text, const std::string& file,
                                                   const std::string& base_dir,
                                                   std::vector<auth::DkimSigningKey>& keys) {
    std::vector<TableProblem> problems;
    for_each_entry(text, [&](int line, std::string_view name, std::string_view value) {
        // "domain:selector:keyfile" (the key file may itself hold ':').
        const std::size_t c1 = value.find(':');
        const std::size_t c2 = c1 == std::string_view::npos ? c1 : value.find(':', c1 + 1);
        if (c2 == std::string_view::npos) {
            problems.push_back({line, "key table entry \"" + std::string(name) + "\": expected domain:selector:keyfile"});
            return;
        }
        const std::string domain = util::dns_name_key(value.substr(0, c1));
        const std::string selector = util::ascii_lower(value.substr(c1 + 1, c2 - c1 - 1));
        const std::string_view key_text = value.substr(c2 + 1);
        if (domain.empty() || selector.empty() || key_text.empty()) {
            problems.push_back({line, "key table entry \"" + std::string(name) + "\": empty domain, selector or key"});
            return;
        }
        SigningKeyLoad load;
        if (key_text.starts_with("/") || key_text.starts_with(".") || key_text.find('/') != std::string_view::npos) {
            std::filesystem::path p{std::string(key_text)};
            if (!p.is_absolute()) p = std::filesystem::path(base_dir) / p;
            load = load_signing_key_file(p.lexically_normal().string());
        } else {
            load = signing_key_from_text(key_text);  // the key itself, as OpenDKIM allows
            if (load.key) load.key->file = "(inline)";
        }
        if (!load.key) {
            problems.push_back({line, "key \"" + std::string(name) + "\": " + load.error});
            return;
        }
        if (!load.warning.empty())
            problems.push_back({line, "key \"" + std::string(name) + "\": " + load.warning, true});
        for (const auto& k : keys)
            if (util::ascii_iequals(k.name, name)) {
                problems.push_back({line, "key \"" + std::string(name) + "\" is already defined at " + k.origin});
                return;
            }
        load.key->name = std::string(name);
        load.key->domain = domain;
        load.key->selector = selector;
        load.key->origin = file + ":" + std::to_string(line);
        keys.push_back(std::move(*load.key));
    });
    return problems;
}

std::vector<TableProblem> parse_opendkim_signing_table(std::string_view text, const std::string& file,
                                                       bool refile, std::vector<auth::DkimSigningRule>& rules) {
    std::vector<TableProblem> problems;
    for_each_entry(text, [&](int line, std::string_view pattern, std::string_view value) {
        // "keyname [signer]": OpenDKIM writes the optional signer as i=
        // (opendkim.conf(5), SigningTable), each "%" in it standing for the
        // address's domain.
        std::size_t gap = 0;
        while (gap < value.size() && !std::isspace(static_cast<unsigned char>(value[gap]))) ++gap;
        const std::string_view key = value.substr(0, gap);
        if (key.empty()) {
            problems.push_back({line, "signing table entry \"" + std::string(pattern) + "\": no key name"});
            return;
        }
        std::string_view signer = trim(value.substr(gap));
        signer = signer.substr(0, std::min(signer.size(), signer.find_first_of(" \t")));
        auth::DkimSigningRule rule;
        rule.kind = refile ? auth::DkimSigningRule::Kind::Pattern : auth::DkimSigningRule::Kind::Exact;
        rule.pattern = util::ascii_lower(pattern);
        rule.keys.emplace_back(key);
        if (!signer.empty()) {
            if (valid_signer_identity(signer))
                rule.identity = std::string(signer);
            else
                problems.push_back({line, "signing table entry \"" + std::string(pattern) + "\": signer \"" +
                                              std::string(signer) + "\" is not [local]@domain: signed without i=",
                                    true});
        }
        rule.origin = file + ":" + std::to_string(line);
        rules.push_back(std::move(rule));
    });
    return problems;
}

std::vector<TableProblem> parse_opendkim_conf(std::string_view text, OpendkimConf& out) {
    std::vector<TableProblem> problems;
    const auto yes = [](std::string_view v) {
        const std::string l = util::ascii_lower(v);
        return l == "yes" || l == "true" || l == "1";
    };
    for_each_entry(text, [&](int line, std::string_view name, std::string_view value) {
        const std::string key = util::ascii_lower(name);
        const std::string v(value);
        if (key == "keytable") out.key_table = v;
        else if (key == "signingtable") out.signing_table = v;
        else if (key == "domain") out.domain = v;
        else if (key == "selector") out.selector = v;
        else if (key == "keyfile") out.key_file = v;
        else if (key == "canonicalization") out.canonicalization = v;
        else if (key == "signheaders") out.sign_headers = v;
        else if (key == "oversignheaders") out.oversign_headers = v;
        else if (key == "multiplesignatures") out.multiple_signatures = yes(value);
        else if (key == "signaturettl") out.signature_ttl = v;
        else if (key == "requiresafekeys") out.require_safe_keys = yes(value);
        else out.ignored.emplace_back(name);
        (void)line;
    });
    return problems;
}

bool parse_canonicalization(std::string_view text, auth::DkimCanon& header, auth::DkimCanon& body) {
    const std::string t = util::ascii_lower(trim(text));
    const std::size_t slash = t.find('/');
    const auto one = [](std::string_view w, auth::DkimCanon& c) {
        if (w == "simple") c = auth::DkimCanon::Simple;
        else if (w == "relaxed") c = auth::DkimCanon::Relaxed;
        else return false;
        return true;
    };
    // RFC 6376 section 3.5: c= with only the header algorithm means
    // "simple" for the body.
    if (slash == std::string::npos) return one(t, header) && one("simple", body);
    return one(std::string_view(t).substr(0, slash), header) && one(std::string_view(t).substr(slash + 1), body);
}

bool valid_signer_identity(std::string_view identity) {
    // RFC 6376 section 3.5: i= is [ Local-part ] "@" domain-name.
    const std::size_t at = identity.rfind('@');
    if (at == std::string_view::npos || at + 1 == identity.size()) return false;
    for (const unsigned char c : identity)
        if (c <= 0x20 || c == 0x7f) return false;
    return true;
}

bool valid_sign_header_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (const unsigned char c : name)
        if (!std::isalnum(c) && c != '-') return false;
    return true;
}

}  // namespace config
