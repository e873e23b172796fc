// Our own DKIM verifier (RFC 6376, RFC 8301, RFC 8463): the implementation
// behind DkimVerifier when [dkim] verifier = "native". Internal to
// libauth: dkim.cpp dispatches DkimVerifier's calls here.
//
// Why our own: libopendkim canonicalizes bodies a byte at a time and sets
// up one hash per signature; measured with callgrind, that and its
// SHA-256 were about half of the daemon's CPU per message (BENCHMARKS.md,
// issue 14). Here bodies are canonicalized by canonicalization.hpp's
// BodyHasher, shared with the ARC verifier: one streaming pass per
// canonicalization and one SHA-256 context per distinct (canonicalization,
// l=) among the verified signatures, never a copy of the body.
//
// The verdicts and reasons are those libopendkim gave through dkim.cpp
// (same checks in the same order, same reason texts), except where
// libopendkim departs from the RFC; tests/unit/dkim_differential_test.cpp
// runs both over the DKIM corpora and lists each such case with its RFC
// section.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/canonicalization.hpp"
#include "auth/dkim.hpp"
#include "auth/dkim_key_record.hpp"
#include "auth/tag_list.hpp"

namespace auth {

// "<s>._domainkey.<d>" (RFC 6376 section 3.6.2.1) of a DKIM-Signature value
// that will be verified with a key: v=1 with s= and d= and an algorithm
// that may pass (not rsa-sha1). nullopt otherwise. Both verifiers use it
// for DkimVerifier::Message::key_names().
std::optional<std::string> dkim_key_record_name(std::string_view value);

// Clock drift allowed on t= and x= (RFC 6376 section 3.5 lets verifiers
// tolerate it), libopendkim's default: a signature expires 300 s after x=
// and is "in the future" only 300 s before t=.
inline constexpr std::uint64_t kDkimClockDrift = 300;
// Key records longer than this are refused as malformed (libopendkim's
// buffer, connector-milter.conf(5); a 4096-bit RSA key record is about 740 octets).
inline constexpr std::size_t kDkimMaxKeyRecord = 1023;
// DKIM-Signature fields looked at per message: beyond max(max_signatures,
// this) they are ignored altogether (a bound on parsing and hashing work).
inline constexpr std::uint32_t kDkimMaxSignatureFields = 50;

struct DkimVerifier::Native {
    std::shared_ptr<dns::Resolver> resolver;
    DkimOptions options;
    mutable PublicKeyCache keys{4096};  // thread-safe itself
};

// One message. Header fields are kept (names and values with folds as
// CRLF) until finish(): the signatures name any of them in h=.
struct DkimVerifier::Message::NativeState {
    struct Field {
        std::string name;
        std::string value;  // after the colon, folds as CRLF, no final line end
    };
    // What end_of_headers() found in one DKIM-Signature field.
    struct Signature {
        std::size_t field = 0;  // index into fields
        std::optional<TagList> tags;
        std::string domain, selector, algorithm, b;  // as reported
        std::string signature;  // b= decoded
        std::optional<DkimResult> result;  // decided before any key lookup
        std::string reason;
        SignatureAlgorithm alg = SignatureAlgorithm::RsaSha256;
        Canon header_canon = Canon::Simple, body_canon = Canon::Simple;
        std::optional<std::uint64_t> length;  // l=
        std::size_t body_hash = 0;  // index in the BodyHasher of body_canon
    };

    const DkimVerifier::Native* shared = nullptr;
    std::vector<Field> fields;
    std::vector<std::size_t> signature_fields;  // indices of DKIM-Signature fields, at most the cap
    std::uint32_t signature_headers = 0;        // DKIM-Signature fields seen
    std::vector<Signature> signatures;          // those reported, in header order
    std::vector<std::string> key_names;
    std::optional<BodyHasher> simple_body, relaxed_body;
    bool eoh_done = false, finished = false;
};

std::unique_ptr<DkimVerifier::Message::NativeState> start_native(const DkimVerifier::Native& native);
void native_header(DkimVerifier::Message::NativeState& st, std::string_view name, std::string_view value);
void native_end_of_headers(DkimVerifier::Message::NativeState& st);
void native_body(DkimVerifier::Message::NativeState& st, std::string_view chunk);
std::vector<DkimSignatureResult> native_finish(DkimVerifier::Message::NativeState& st, dns::Budget& budget,
                                               std::uint64_t now);

}  // namespace auth
