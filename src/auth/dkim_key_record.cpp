#include "auth/dkim_key_record.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "auth/tag_list.hpp"

namespace auth {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

KeyRecord bad(std::string why) {
    KeyRecord r;
    r.error = std::move(why);
    return r;
}

// Whether a colon-separated list (h=, s= of a key record) holds `word`.
bool list_has(std::string_view list, std::string_view word) {
    while (true) {
        const auto colon = list.find(':');
        std::string_view item = list.substr(0, colon);
        while (!item.empty() && is_fws(item.front())) item.remove_prefix(1);
        while (!item.empty() && is_fws(item.back())) item.remove_suffix(1);
        if (item == word) return true;
        if (colon == std::string_view::npos) return false;
        list.remove_prefix(colon + 1);
    }
}

}  // namespace

std::shared_ptr<EVP_PKEY> decode_public_key(const std::string& der, bool ed25519) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    EVP_PKEY* key = nullptr;
    if (ed25519) {
        if (der.size() != 32) return nullptr;
        key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, p, der.size());
    } else {
        key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
        if (key != nullptr && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
            EVP_PKEY_free(key);
            return nullptr;
        }
        if (key == nullptr) {
            p = reinterpret_cast<const unsigned char*>(der.data());
            key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
        }
    }
    if (key == nullptr) {
        ERR_clear_error();  // leave no stale error for the next OpenSSL user on this thread
        return nullptr;
    }
    return std::shared_ptr<EVP_PKEY>(key, PkeyFree());
}

std::optional<SignatureAlgorithm> parse_signature_algorithm(std::string_view word) {
    if (word == "rsa-sha256") return SignatureAlgorithm::RsaSha256;
    if (word == "ed25519-sha256") return SignatureAlgorithm::Ed25519Sha256;
    if (word == "rsa-sha1") return SignatureAlgorithm::RsaSha1;
    return std::nullopt;
}

std::shared_ptr<EVP_PKEY> PublicKeyCache::find(const std::string& der, bool ed25519) {
    std::lock_guard lock(mutex_);
    const auto it = keys_.find((ed25519 ? 'e' : 'r') + der);
    return it == keys_.end() ? nullptr : it->second;
}

void PublicKeyCache::insert(const std::string& der, bool ed25519, std::shared_ptr<EVP_PKEY> key) {
    std::lock_guard lock(mutex_);
    if (capacity_ == 0) return;
    if (keys_.size() >= capacity_) keys_.clear();
    keys_.emplace((ed25519 ? 'e' : 'r') + der, std::move(key));
}

KeyRecord parse_dkim_key_record(std::string_view txt, PublicKeyCache* cache) {
    std::string error;
    const auto tags = parse_tag_list(txt, &error);
    if (!tags) return bad("bad key record: " + error);
    if (const Tag* v = tags->find("v")) {
        if (&tags->tags.front() != v || v->value != "DKIM1") return bad("bad key record: v= is not DKIM1 first");
    }
    bool ed25519 = false;
    if (const auto k = tags->get("k")) {
        if (*k == "ed25519") ed25519 = true;
        else if (*k != "rsa") return bad("key type \"" + std::string(*k) + "\" unknown");
    }
    if (const auto h = tags->get("h"); h && !list_has(*h, "sha256")) return bad("key does not allow sha256 (h=)");
    if (const auto s = tags->get("s"); s && !list_has(*s, "*") && !list_has(*s, "email"))
        return bad("key not for email (s=)");
    const auto p = tags->get("p");
    if (!p) return bad("bad key record: no p=");
    if (strip_fws(*p).empty()) return bad("key revoked");
    const auto der = decode_base64(*p);
    if (!der || der->empty()) return bad("bad key record: p= is not base64");
    std::shared_ptr<EVP_PKEY> key = cache ? cache->find(*der, ed25519) : nullptr;
    if (!key) {
        key = decode_public_key(*der, ed25519);
        if (!key) return bad("bad key record: p= is not a usable key");
        if (cache) cache->insert(*der, ed25519, key);
    }
    KeyRecord r;
    r.key = DkimPublicKey{key, ed25519, ed25519 ? 256u : static_cast<unsigned>(EVP_PKEY_get_bits(key.get()))};
    return r;
}

bool verify_signature(const DkimPublicKey& key, SignatureAlgorithm alg, std::string_view data,
                      std::string_view signature) {
    if (!key.key || signature.empty()) return false;
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
    switch (alg) {
    case SignatureAlgorithm::RsaSha256:
        if (key.ed25519) return false;
        if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.key.get()) != 1) return false;
        if (EVP_DigestVerifyUpdate(ctx.get(), data.data(), data.size()) != 1) return false;
        return EVP_DigestVerifyFinal(ctx.get(), sig, signature.size()) == 1;
    case SignatureAlgorithm::Ed25519Sha256: {
        if (!key.ed25519) return false;
        // RFC 8463 section 3: PureEdDSA over the SHA-256 hash of the data.
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return false;
        if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.key.get()) != 1) return false;
        return EVP_DigestVerify(ctx.get(), sig, signature.size(), digest, len) == 1;
    }
    case SignatureAlgorithm::RsaSha1:
        return false;  // RFC 8301 section 3.1: never valid
    }
    return false;
}

}  // namespace auth
