// The parsed-key cache behind libopendkim (see dkim_key_cache.hpp).
//
// This is the one place in the program that overrides a library function
// (ARCHITECTURE.md forbids it elsewhere). libopendkim 2.11 offers no
// supported way in: its key-lookup hook supplies the TXT record, not a key,
// and dkim_sig_process() parses the record's DER and verifies the signature
// itself, with no verification hook. configure builds the override only when
// a probe shows that libopendkim's call reaches it (HAVE_DKIM_KEY_CACHE), and
// the KeyCache* tests in tests/unit/dkim_test.cpp fail if it stops doing so.
#include <config.h>

#include "auth/dkim_key_cache.hpp"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <atomic>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace auth::dkim_key_cache {
namespace {

// Keys longer than this are parsed but not kept (an RSA-4096 SPKI is about
// 550 bytes; anything this large is not a DKIM key worth remembering).
constexpr std::size_t kMaxKeyBytes = 4096;

struct Entry {
    std::string der;        // the bytes the BIO held when the key was parsed
    EVP_PKEY* key;          // the cache's own reference
    std::size_t consumed;   // bytes d2i_PUBKEY read from `der`
};

class Cache {
public:
    // A new reference to the key parsed from `der`, or null when absent.
    EVP_PKEY* find(std::string_view der, std::size_t& consumed) {
        std::lock_guard lock(mutex_);
        const auto it = index_.find(der);
        if (it == index_.end()) return nullptr;
        lru_.splice(lru_.begin(), lru_, it->second);
        EVP_PKEY_up_ref(it->second->key);
        consumed = it->second->consumed;
        return it->second->key;
    }

    void insert(std::string_view der, EVP_PKEY* key, std::size_t consumed) {
        std::lock_guard lock(mutex_);
        if (capacity_ == 0 || index_.count(der) != 0) return;
        EVP_PKEY_up_ref(key);
        lru_.push_front(Entry{std::string(der), key, consumed});
        index_.emplace(lru_.front().der, lru_.begin());
        while (lru_.size() > capacity_) drop_last();
    }

    void set_capacity(std::size_t capacity) {
        std::lock_guard lock(mutex_);
        capacity_ = capacity;
        enabled_.store(capacity != 0, std::memory_order_relaxed);
        while (lru_.size() > capacity_) drop_last();
    }

    void clear() {
        std::lock_guard lock(mutex_);
        while (!lru_.empty()) drop_last();
    }

    bool enabled() const { return enabled_.load(std::memory_order_relaxed); }

    std::size_t size() {
        std::lock_guard lock(mutex_);
        return lru_.size();
    }

    ~Cache() {
        for (Entry& e : lru_) EVP_PKEY_free(e.key);
    }

private:
    void drop_last() {
        index_.erase(lru_.back().der);
        EVP_PKEY_free(lru_.back().key);
        lru_.pop_back();
    }

    std::mutex mutex_;
    std::size_t capacity_ = 0;
    std::atomic<bool> enabled_{false};
    std::list<Entry> lru_;  // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into lru_
};

Cache& cache() {
    static Cache* c = new Cache;  // never destroyed: libopendkim may run during exit
    return *c;
}

std::atomic<std::uint64_t> g_hits{0};
std::atomic<std::uint64_t> g_misses{0};

#ifdef HAVE_DKIM_KEY_CACHE
using D2iPubkeyBio = EVP_PKEY* (*)(BIO*, EVP_PKEY**);

EVP_PKEY* openssl_d2i_pubkey_bio(BIO* bio, EVP_PKEY** out) {
    static const auto real = reinterpret_cast<D2iPubkeyBio>(dlsym(RTLD_NEXT, "d2i_PUBKEY_bio"));
    if (real == nullptr) return nullptr;  // cannot happen with a shared libcrypto
    return real(bio, out);
}

// Reads and discards `n` bytes, as OpenSSL's parse would have consumed them.
void consume(BIO* bio, std::size_t n) {
    char sink[512];
    while (n > 0) {
        const int got = BIO_read(bio, sink, static_cast<int>(n < sizeof sink ? n : sizeof sink));
        if (got <= 0) return;
        n -= static_cast<std::size_t>(got);
    }
}

// An RSA key's legacy form is what libopendkim uses (EVP_PKEY_get1_RSA);
// OpenSSL builds it on first request and keeps it inside the EVP_PKEY. Doing
// that here, while the key is not yet shared, means concurrent users only
// ever read it.
void prepare_for_sharing(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    RSA* rsa = EVP_PKEY_get1_RSA(key);
    RSA_free(rsa);
#pragma GCC diagnostic pop
}
#endif  // HAVE_DKIM_KEY_CACHE

}  // namespace

bool built() {
#ifdef HAVE_DKIM_KEY_CACHE
    return true;
#else
    return false;
#endif
}

void enable(std::size_t capacity) {
    if (built()) cache().set_capacity(capacity);
}

Stats stats() {
    return Stats{g_hits.load(), g_misses.load(), cache().size()};
}

void clear() {
    cache().clear();
    g_hits = 0;
    g_misses = 0;
}

}  // namespace auth::dkim_key_cache

#ifdef HAVE_DKIM_KEY_CACHE
// libopendkim's call to d2i_PUBKEY_bio() lands here (see the header). Only
// the exact case libopendkim uses is served from the cache: a memory BIO and
// no object to reuse.
extern "C" EVP_PKEY* d2i_PUBKEY_bio(BIO* bio, EVP_PKEY** out) {
    using namespace auth::dkim_key_cache;
    if (out != nullptr || bio == nullptr || BIO_method_type(bio) != BIO_TYPE_MEM || !cache().enabled())
        return openssl_d2i_pubkey_bio(bio, out);
    char* data = nullptr;
    const long pending = BIO_get_mem_data(bio, &data);
    if (pending <= 0 || data == nullptr || static_cast<unsigned long>(pending) > kMaxKeyBytes)
        return openssl_d2i_pubkey_bio(bio, out);
    const std::string_view der(data, static_cast<std::size_t>(pending));

    std::size_t consumed = 0;
    if (EVP_PKEY* key = cache().find(der, consumed)) {
        g_hits.fetch_add(1, std::memory_order_relaxed);
        consume(bio, consumed);
        return key;
    }
    g_misses.fetch_add(1, std::memory_order_relaxed);
    const auto* p = reinterpret_cast<const unsigned char*>(data);
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, pending);
    if (key == nullptr) return nullptr;  // OpenSSL's error queue says why, as before
    consumed = static_cast<std::size_t>(p - reinterpret_cast<const unsigned char*>(data));
    prepare_for_sharing(key);
    cache().insert(der, key, consumed);
    consume(bio, consumed);
    return key;
}
#endif  // HAVE_DKIM_KEY_CACHE
