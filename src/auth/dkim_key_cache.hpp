// A cache of parsed DKIM public keys, keyed by their exact DER bytes.
//
// libopendkim turns the p= value of every key record into an EVP_PKEY with
// d2i_PUBKEY_bio() once per signature. With OpenSSL 3 that parse goes
// through the provider decoder framework and costs more than the RSA
// verification itself (a third of the time libopendkim spends at end of
// message, measured with callgrind; see BENCHMARKS.md). A sender's key is
// the same DER for every message it signs, so the parsed key is kept and
// shared: the same bytes always decode to the same key, and an EVP_PKEY is
// reference-counted and safe to use for verification from several threads.
//
// How: libopendkim calls d2i_PUBKEY_bio() through the dynamic linker, and the
// definition in dkim_key_cache.cpp, linked into our executables, comes first.
// It serves only memory BIOs (which is what libopendkim passes) with a null
// second argument; anything else goes to OpenSSL's own function unchanged.
// Until enable() is called it caches nothing.
//
// configure (--disable-dkim-key-cache, default auto) builds the override
// only when a probe program shows that libopendkim's call reaches such a
// definition; without it enable() does nothing and every key is parsed by
// libcrypto, with the same verdicts.
#pragma once
#include <cstddef>
#include <cstdint>

namespace auth::dkim_key_cache {

struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::size_t entries = 0;
};

// Whether configure built the override (HAVE_DKIM_KEY_CACHE).
bool built();
// Turns the cache on with room for `capacity` keys (least recently used
// ones leave first); 0 turns it off and empties it. Thread-safe.
void enable(std::size_t capacity);
Stats stats();
// Drops every cached key (tests).
void clear();

}  // namespace auth::dkim_key_cache
