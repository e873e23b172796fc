// DKIM public key records (RFC 6376 section 3.6.1, RFC 8463 for ed25519)
// and the signature check of a hashed header block, for the ARC verifier:
// the ARC-Seal and ARC-Message-Signature keys are DKIM keys (RFC 8617
// section 4.1.2/4.1.3). DKIM-Signature keys themselves are read by
// libopendkim (dkim.cpp).
#pragma once
#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace auth {

enum class SignatureAlgorithm : std::uint8_t { RsaSha256, Ed25519Sha256, RsaSha1 };
// "rsa-sha256", "ed25519-sha256", "rsa-sha1" (the a= words) or nullopt.
std::optional<SignatureAlgorithm> parse_signature_algorithm(std::string_view word);

struct DkimPublicKey {
    std::shared_ptr<EVP_PKEY> key;
    bool ed25519 = false;
    unsigned bits = 0;  // RSA modulus size; 256 for ed25519
};

struct KeyRecord {
    std::optional<DkimPublicKey> key;  // nullopt: see error
    std::string error;                 // "key revoked", "bad key record: ...", ...
};

// Parsed public keys shared between messages, keyed by the p= bytes: with
// OpenSSL 3 decoding an RSA SubjectPublicKeyInfo costs about as much as the
// signature check itself (see dkim_key_cache.hpp for the same finding with
// libopendkim), and a forwarder seals every message with the same key.
// Thread-safe; at most `capacity` keys (all dropped when full: simple and
// bounded, and a busy sealer's key comes back on the next message).
class PublicKeyCache {
public:
    explicit PublicKeyCache(std::size_t capacity) : capacity_(capacity) {}
    std::shared_ptr<EVP_PKEY> find(const std::string& der, bool ed25519);
    void insert(const std::string& der, bool ed25519, std::shared_ptr<EVP_PKEY> key);

private:
    std::mutex mutex_;
    std::size_t capacity_;
    std::unordered_map<std::string, std::shared_ptr<EVP_PKEY>> keys_;
};

// The DER bytes of a p= value as a public key: 32 raw octets for ed25519
// (RFC 8463 section 4.2), else an RSA SubjectPublicKeyInfo or a bare
// RSAPublicKey. Null when they are not one.
std::shared_ptr<EVP_PKEY> decode_public_key(const std::string& der, bool ed25519);

// RFC 6376 section 3.6.1: v= (first, "DKIM1") optional; k= "rsa" (default)
// or "ed25519"; h= when present must allow sha256; s= when present must
// include "*" or "email"; p= empty means revoked (section 3.6.1 "p=");
// p= is an RSA SubjectPublicKeyInfo (or a bare RSAPublicKey, which some
// publish) or a 32-byte ed25519 key (RFC 8463 section 4.2). `cache` may be
// null.
KeyRecord parse_dkim_key_record(std::string_view txt, PublicKeyCache* cache);

// Checks `signature` over `data` (the canonicalized header block): RSA
// PKCS#1 v1.5 with SHA-256 (RFC 6376 section 3.3.1) or Ed25519 over the
// SHA-256 digest of the data (RFC 8463 section 3). False also when the key
// type does not fit the algorithm.
bool verify_signature(const DkimPublicKey& key, SignatureAlgorithm alg, std::string_view data,
                      std::string_view signature);

}  // namespace auth
