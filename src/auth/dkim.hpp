// DKIM verification (RFC 6376), hardened by RFC 8301 (no rsa-sha1, no RSA
// keys under the configured minimum) and RFC 8463 (ed25519-sha256): by our
// own verifier (dkim_verify.hpp, DkimOptions::verifier Native, the default)
// or by libopendkim (LibOpenDkim, the alternative), with the same results.
// Every key lookup goes through dns::Resolver: libopendkim's stock resolver
// shares one res_state across threads and reports NXDOMAIN as a temporary
// failure, so it is never used.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/options.hpp"
#include "dns/resolver.hpp"

namespace auth {

// RFC 8601 section 2.7.1 results of one DKIM-Signature header field:
//   Fail:      the signature or body hash did not verify (or expired)
//   Neutral:   the signature itself has syntax errors
//   Policy:    it would verify but RFC 8301 does not let it pass
//              (rsa-sha1, RSA key under min_rsa_bits)
//   TempError: the key could not be fetched now (timeout, SERVFAIL, budget)
//   PermError: no key, revoked or unusable key record
enum class DkimResult : std::uint8_t { Pass, Fail, Neutral, Policy, TempError, PermError };
// "pass", "fail", ...: the RFC 8601 keyword, for headers and logs.
std::string_view dkim_result_name(DkimResult result);

// The verdict on one DKIM-Signature header field.
struct DkimSignatureResult {
    DkimResult result = DkimResult::PermError;
    std::string domain;     // d= as written in the signature
    std::string selector;   // s=
    std::string algorithm;  // a= ("rsa-sha256", "ed25519-sha256", ...)
    std::string b;          // the complete b= value, folding white space removed
    std::string reason;     // human-readable detail, empty for a plain pass
    unsigned key_bits = 0;  // RSA modulus size or 256 for ed25519; 0 if not known
};

// The DKIM key records asked ahead per message (a bound on DNS work, not on
// verification: a message with more signatures fetches the other keys when
// they are verified). connector-milter.conf(5), [dns].
inline constexpr std::size_t kMaxPrefetchedKeys = 4;

class DkimVerifier {
    struct Library;

public:
    struct Native;  // our own verifier: implementation detail (dkim_verify.hpp)

    // One DKIM_LIB for the process. Thread-safe: messages may be verified
    // concurrently from different threads, each with its own Message.
    DkimVerifier(std::shared_ptr<dns::Resolver> resolver, DkimOptions options);
    ~DkimVerifier();
    DkimVerifier(const DkimVerifier&) = delete;
    DkimVerifier& operator=(const DkimVerifier&) = delete;

    // Whether this libopendkim build verifies ed25519-sha256 (RFC 8463).
    bool ed25519_supported() const;

    // One message, fed in the milter's order. Not thread-safe by itself
    // (libmilter calls one message's callbacks one at a time).
    class Message {
    public:
        ~Message();
        Message(const Message&) = delete;
        Message& operator=(const Message&) = delete;

        // `name` without the colon; `value` exactly as received after the
        // colon (leading space included when present). Folded lines may use
        // "\n" or "\r\n"; they are given to libopendkim with CRLF.
        void header(std::string_view name, std::string_view value);
        void end_of_headers();
        // The key records finish() will ask for (RFC 6376 section 3.6.2.1),
        // in header order, without those the prescreen drops (rsa-sha1,
        // beyond max_signatures) and at most kMaxPrefetchedKeys: the session
        // asks them ahead at end of headers (dns/prefetch.hpp).
        std::vector<std::string> key_names() const;
        // Body bytes in any chunking; bare LF becomes CRLF (also when the CR
        // and LF of one line end arrive in different chunks).
        void body(std::string_view chunk);
        // Verifies and returns one result per DKIM-Signature, in header
        // order, at most DkimOptions::max_signatures. Empty when unsigned.
        // The key lookups (one per signature) charge `budget`.
        std::vector<DkimSignatureResult> finish(dns::Budget& budget);

        struct State;  // implementation detail (dkim.cpp)
        struct NativeState;  // implementation detail (dkim_verify.cpp)

    private:
        friend class DkimVerifier;
        explicit Message(std::unique_ptr<State> state);
        explicit Message(std::unique_ptr<NativeState> state);
        std::unique_ptr<State> state_;           // libopendkim
        std::unique_ptr<NativeState> native_;    // or ours
    };

    // `id` is used in libopendkim's diagnostics (the MTA queue id is a good
    // choice).
    std::unique_ptr<Message> start(std::string_view id) const;

private:
    std::unique_ptr<Library> lib_;    // libopendkim
    std::unique_ptr<Native> native_;  // or ours
};

}  // namespace auth
