// Test helper: DKIM signatures made with libopendkim's signer and freshly
// generated OpenSSL RSA keys (dkim_test, dkim_differential_test).
#pragma once
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/types.h>

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "dkim_message_io.hpp"

namespace testing_dkim_signer {

using testing_dkim::RawMessage;

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct LibClose {
    void operator()(DKIM_LIB* l) const { dkim_close(l); }
};
struct DkimFree {
    void operator()(DKIM* d) const { dkim_free(d); }
};

struct RsaKey {
    std::string private_pem;
    std::string public_b64;  // SubjectPublicKeyInfo, base64 (the p= value)
};

inline std::string base64(const unsigned char* data, int len) {
    std::string out(4 * ((len + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, len);
    out.resize(n);
    return out;
}

// Keys are slow to generate: one per size for the whole suite.
inline const RsaKey& rsa_key(unsigned bits) {
    static std::map<unsigned, RsaKey> cache;
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    auto it = cache.find(bits);
    if (it != cache.end()) return it->second;
    std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_RSA_gen(bits));
    if (!key) throw std::runtime_error("EVP_RSA_gen failed");
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* mem = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &mem);
    RsaKey k;
    k.private_pem.assign(mem, static_cast<std::size_t>(len));
    unsigned char* der = nullptr;
    const int der_len = i2d_PUBKEY(key.get(), &der);
    k.public_b64 = base64(der, der_len);
    OPENSSL_free(der);
    return cache.emplace(bits, std::move(k)).first->second;
}

struct SignSpec {
    std::string domain = "example.com";
    std::string selector = "s1";
    unsigned bits = 2048;
    dkim_alg_t alg = DKIM_SIGN_RSASHA256;
    dkim_canon_t canon = DKIM_CANON_RELAXED;
    std::optional<dkim_canon_t> body_canon;  // default: canon
    ssize_t length = -1;                     // l= (-1: none)
    std::string signer;                      // i= (empty: none)
    std::uint64_t ttl = 0;                   // x= this many seconds after t= (0: none)
    std::uint64_t time = 0;                  // t= (0: now)
};

// Signs `text` (CRLF) with libopendkim and returns the DKIM-Signature value
// (as a milter would receive it: leading space, CRLF folds).
inline std::string sign(const std::string& text, const SignSpec& spec) {
    std::unique_ptr<DKIM_LIB, LibClose> lib(dkim_init(nullptr, nullptr));
    unsigned int min_bits = 0;  // the signer must be able to make weak signatures too
    dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof min_bits);
    if (spec.time != 0) {
        std::uint64_t t = spec.time;
        dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &t, sizeof t);
    }
    if (spec.ttl != 0) {
        std::uint64_t ttl = spec.ttl;
        dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl, sizeof ttl);
    }
    const RsaKey& key = rsa_key(spec.bits);
    DKIM_STAT status = DKIM_STAT_OK;
    std::unique_ptr<DKIM, DkimFree> d(dkim_sign(
        lib.get(), reinterpret_cast<const unsigned char*>("sign"), nullptr,
        reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key.private_pem.c_str())),
        reinterpret_cast<const unsigned char*>(spec.selector.c_str()),
        reinterpret_cast<const unsigned char*>(spec.domain.c_str()), spec.canon, spec.body_canon.value_or(spec.canon),
        spec.alg, spec.length, &status));
    if (!d) throw std::runtime_error("dkim_sign failed");
    if (!spec.signer.empty() &&
        dkim_set_signer(d.get(), reinterpret_cast<const unsigned char*>(spec.signer.c_str())) != DKIM_STAT_OK)
        throw std::runtime_error("dkim_set_signer failed");
    const RawMessage m = testing_dkim::split_message(text);
    for (const auto& [n, v] : m.headers) {
        std::string h = n + ":" + v;
        dkim_header(d.get(), reinterpret_cast<unsigned char*>(h.data()), h.size());
    }
    dkim_eoh(d.get());
    std::string body = m.body;
    dkim_body(d.get(), reinterpret_cast<unsigned char*>(body.data()), body.size());
    if (dkim_eom(d.get(), nullptr) != DKIM_STAT_OK) throw std::runtime_error("dkim_eom (sign) failed");
    unsigned char* buf = nullptr;
    size_t len = 0;
    if (dkim_getsighdr_d(d.get(), std::strlen("DKIM-Signature: "), &buf, &len) != DKIM_STAT_OK)
        throw std::runtime_error("dkim_getsighdr_d failed");
    return " " + std::string(reinterpret_cast<char*>(buf), len);
}

inline std::string publish(const SignSpec& spec) {
    return "v=DKIM1; k=rsa; p=" + rsa_key(spec.bits).public_b64;
}

}  // namespace testing_dkim_signer
