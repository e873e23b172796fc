// One DKIM signature, rsa-sha256 (RFC 6376 section 3.3.1) or ed25519-sha256
// (RFC 8463), made with our RFC 6376 canonicalization
// (auth/canonicalization.hpp) and OpenSSL's EVP with the key parsed once at
// load, not with libopendkim.
//
// Why not libopendkim:
// - 2.11's dkim_free() releases the key that dkim_privkey_load() parsed for
//   RSA handles only; an ed25519 handle keeps its parsed key (the EVP_PKEY,
//   its memory BIO and the output buffer), so a daemon that signs with
//   ed25519 through libopendkim loses a few hundred bytes per signature, and
//   the handle is opaque: nothing outside the library can free them.
// - For RSA, every handle parses the PEM private key again (dkim_sign()
//   takes the key as text), which with its per-handle allocations made a
//   signature cost 1.48 ms of CPU against 0.27 ms for the RSA-2048
//   operation itself (BENCHMARKS.md, "DKIM signing").
//
// The signature is the one libopendkim writes, tag for tag: the same h=
// (the headers of the sign list present, in message order, then the
// oversigned names once more), i= when the signing table names a signer,
// t=, x=, never l= (RFC 6376 section 8.2).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/canonicalization.hpp"
#include "auth/dkim_sign_options.hpp"

namespace auth {

// RFC 6376 section 5.4.1's list of header fields to sign, as OpenDKIM signs
// by default (libopendkim's dkim_should_signhdrs, lower case): the default
// of [dkim_signing] sign_headers.
const std::vector<std::string>& dkim_default_sign_headers();

// RFC 6376 section 2.11: `text` as DKIM-Quoted-Printable (every octet but
// the printable ASCII ones other than ";" and "=" as "=XX"), the form of an
// i= value.
std::string dkim_quoted_printable(std::string_view text);

// RFC 6376 section 5.4: the h= names, as libopendkim's signer lists them:
// every header field whose name (ASCII case-insensitive) is From or in
// `sign` (lower case), in message order with the name as the message spells
// it, then each name of `oversign` once more (section 8.15), so that a
// field of that name added later breaks the signature.
std::vector<std::string> dkim_signed_header_names(const std::vector<std::pair<std::string, std::string>>& headers,
                                                  const std::vector<std::string>& sign,
                                                  const std::vector<std::string>& oversign);

class DkimSignatureMaker {
public:
    struct Params {
        const DkimSigningKey* key = nullptr;  // pkey parsed; its type gives a=
        std::string domain;                   // d=
        std::string identity;                 // i=, within d= (RFC 6376 section 3.5); empty: none
        DkimCanon header_canon = DkimCanon::Relaxed;
        DkimCanon body_canon = DkimCanon::Relaxed;
        std::uint64_t time = 0;  // t=
        std::uint64_t ttl = 0;   // x= is t= plus this; 0: no x=
    };
    // `headers`: name without colon, value after the colon, folds as CRLF
    // or LF, as DkimSigner::start() takes them. error() is non-empty when
    // the signature cannot be made (no From:, a key without its parsed form).
    DkimSignatureMaker(const Params& params, const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::vector<std::string>& h_names);
    ~DkimSignatureMaker();
    DkimSignatureMaker(const DkimSignatureMaker&) = delete;
    DkimSignatureMaker& operator=(const DkimSignatureMaker&) = delete;

    const std::string& error() const { return error_; }
    // Body bytes in any chunking (a bare LF is a line end).
    void body(std::string_view chunk);
    // The DKIM-Signature value on one line ("v=1; a=rsa-sha256; ...;
    // b=..."), or empty with error() set.
    std::string finish();

private:
    // The b= bytes over the data of section 3.7, or empty with error_ set.
    std::string sign(std::string_view data);

    Params params_;
    std::string h_tag_;           // "from:to:subject:from"
    std::string signed_headers_;  // the selected fields, canonical, CRLF each
    BodyHasher body_;
    std::string error_;
};

}  // namespace auth
