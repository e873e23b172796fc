// What the DKIM signer is built from (RFC 6376 section 5), as auth/ defines
// it: config/ fills it in from [dkim_signing] (native TOML, or OpenDKIM's
// KeyTable and SigningTable files read as they are) and auth/ never
// includes config/. Defaults are documented in connector-milter.conf(5).
#pragma once
#include <chrono>
#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/ascii.hpp"

namespace auth {

enum class DkimKeyType : std::uint8_t { Rsa, Ed25519 };
enum class DkimCanon : std::uint8_t { Simple, Relaxed };

// "rsa-sha256" or "ed25519-sha256" (RFC 6376 section 3.3, RFC 8463).
std::string_view dkim_sign_algorithm(DkimKeyType type);

// One entry of the key table: a private key, parsed once at config load.
struct DkimSigningKey {
    std::string name;      // the key table's key name
    std::string domain;    // d=; "%" = the domain of the address that chose the key (OpenDKIM)
    std::string selector;  // s=
    std::string file;      // where the private key was read
    std::string origin;    // "file:line" of the key table entry, for messages
    DkimKeyType type = DkimKeyType::Rsa;
    unsigned bits = 0;            // RSA modulus size; 256 for ed25519
    std::string private_pem;      // the key as PKCS#8 PEM, whatever form the file had
    // The same key parsed once, shared by every signature: rsa-sha256 and
    // ed25519-sha256 signatures are made with it
    // (auth/dkim_signature_maker.hpp).
    std::shared_ptr<EVP_PKEY> pkey;
    std::string public_key;       // the p= value to publish (base64)
    // "v=DKIM1; k=rsa; p=..." : the TXT record at selector._domainkey.domain.
    std::string dns_record() const;
};

// One entry of the signing table: an address pattern and the keys it names.
struct DkimSigningRule {
    // Exact: an OpenDKIM plain SigningTable key ("user@host", "host",
    // ".parent", "*"), looked up in OpenDKIM's order. Pattern: a
    // "refile:" or native entry, '*' matching any run of characters,
    // tried in file order.
    enum class Kind : std::uint8_t { Exact, Pattern };
    Kind kind = Kind::Pattern;
    std::string pattern;            // lower case
    std::vector<std::string> keys;  // key names (OpenDKIM "%": the address's domain)
    std::string origin;             // "file:line"
    // The signer's identity written as i= (RFC 6376 section 3.5): OpenDKIM's
    // optional second SigningTable field, each "%" standing for the
    // address's domain; empty: no i= (its default is "@" and d=).
    std::string identity;
};

// Which address picks the key: the From: header's (RFC 7489 alignment, the
// default) or the envelope sender's.
enum class DkimSignIdentity : std::uint8_t { HeaderFrom, EnvelopeFrom };
// A key that cannot be used or a signing error: keep the message in the
// MTA's queue (tempfail) or deliver it unsigned (accept).
enum class DkimSignFailure : std::uint8_t { TempFail, Accept };

struct DkimSignOptions {
    std::vector<DkimSigningKey> keys;
    std::vector<DkimSigningRule> rules;
    // OpenDKIM's MultipleSignatures: every matching rule signs, not only the
    // first. A native rule may name several keys whatever this says.
    bool multiple_signatures = false;
    DkimCanon header_canon = DkimCanon::Relaxed;
    DkimCanon body_canon = DkimCanon::Relaxed;
    // Lower-case header names signed when present (empty: OpenDKIM's
    // default list, RFC 6376 section 5.4.1), and those signed once more
    // than present so that an added one breaks the signature (section 8.15).
    std::vector<std::string> sign_headers;
    std::vector<std::string> oversign_headers = {"from"};
    std::chrono::seconds expire{0};  // x= is t= plus this; 0: no x=
    DkimSignIdentity identity = DkimSignIdentity::HeaderFrom;
    DkimSignFailure on_failure = DkimSignFailure::TempFail;
    // The built-in connector of local submissions (no connector binds
    // "local") signs; a connector that binds "local" decides by dkim_sign.
    bool sign_local_submissions = true;

    bool configured() const { return !keys.empty() && !rules.empty(); }
    // Inline: config/ (linked after auth/) looks keys up while loading.
    const DkimSigningKey* find_key(std::string_view name) const {
        for (const auto& k : keys)
            if (util::ascii_iequals(k.name, name)) return &k;
        return nullptr;
    }
};

// One signature to make: the key and the d= it signs with.
struct DkimKeyChoice {
    DkimKeyChoice() = default;
    DkimKeyChoice(const DkimSigningKey* key_, std::string domain_, std::string why_, std::string identity_ = {})
        : key(key_), domain(std::move(domain_)), why(std::move(why_)), identity(std::move(identity_)) {}

    const DkimSigningKey* key = nullptr;
    std::string domain;    // d= (the key's, or the address's domain for "%")
    std::string why;       // "SigningTable:3 *@example.com -> key example"
    std::string identity;  // i= ("%" replaced); empty: none
    // Why the rule's i= is not written (its domain is not d= or below it,
    // RFC 6376 section 3.5; OpenDKIM leaves it out too): logged.
    std::string identity_dropped;
};

// RFC 6376 section 3.5: whether the i= `identity` ("[local]@domain") may
// go with d= `domain`: its domain is d= or a subdomain of it. Inline:
// config/ (linked after auth/) checks the tables with it while loading.
inline bool dkim_identity_fits(std::string_view identity, std::string_view domain) {
    const std::size_t at = identity.rfind('@');
    if (at == std::string_view::npos) return false;
    const std::string i_domain = util::dns_name_key(identity.substr(at + 1));
    const std::string d = util::dns_name_key(domain);
    if (i_domain.empty() || d.empty()) return false;
    return i_domain == d || (i_domain.size() > d.size() && i_domain.ends_with(d) &&
                             i_domain[i_domain.size() - d.size() - 1] == '.');
}

struct DkimKeySelection {
    std::vector<DkimKeyChoice> choices;  // empty: nothing signs for this address
    std::string error;                   // a rule names a key the table lacks
};

// The keys that sign for local@domain, following OpenDKIM: the first
// matching rule (all of them with multiple_signatures); exact entries in the
// order user@host, host, then for each parent user@.parent and .parent,
// then "*". Case-insensitive (RFC 5321 section 2.4 for the domain).
DkimKeySelection choose_signing_keys(const DkimSignOptions& options, std::string_view local,
                                     std::string_view domain);

// '*' matches any run of characters (also empty); everything else is
// itself, compared in ASCII lower case.
bool dkim_pattern_matches(std::string_view pattern, std::string_view text);

}  // namespace auth
