// [dkim_signing]'s files: private keys (parsed once, at config load) and
// OpenDKIM's KeyTable, SigningTable and opendkim.conf read as they are, so
// that migrating is pointing the config at the existing files.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_sign_options.hpp"
#include "config/config.hpp"

namespace config {

// RFC 8301 section 3.2: signers MUST use RSA keys of at least 1024 bits and
// SHOULD use at least 2048.
inline constexpr unsigned kMinSigningRsaBits = 1024;
inline constexpr unsigned kRecommendedSigningRsaBits = 2048;

struct SigningKeyLoad {
    std::optional<auth::DkimSigningKey> key;  // type, bits, PEM and public key filled in
    std::string error;
    std::string warning;  // e.g. an RSA key under 2048 bits
};

// A private key as PEM (PKCS#1 "RSA PRIVATE KEY" as opendkim-genkey writes
// it, or PKCS#8 for RSA and ed25519) or OpenDKIM's inline base64 DER.
SigningKeyLoad signing_key_from_text(std::string_view text);
// Reads `path`; refused when group or others may read or write it (OpenDKIM's
// RequireSafeKeys) unless `check_permissions` is false.
SigningKeyLoad load_signing_key_file(const std::string& path, bool check_permissions = true);

// A new private key (PKCS#8 PEM) for `connector-milter genkey` and tests:
// RSA of `bits` bits or ed25519 (bits ignored). Empty and *error set on failure.
std::string generate_signing_key(auth::DkimKeyType type, unsigned bits, std::string* error);

// One line's worth of error from a table file.
struct TableProblem {
    int line = 0;
    std::string message;
    bool warning = false;
};

// OpenDKIM KeyTable: "keyname domain:selector:keyfile" per line ('#'
// comments). Keys are loaded from their files (relative names against
// `base_dir`); each entry gets origin "file:line".
std::vector<TableProblem> parse_opendkim_key_table(std::string_view text, const std::string& file,
                                                   const std::string& base_dir,
                                                   std::vector<auth::DkimSigningKey>& keys);
// OpenDKIM SigningTable: "pattern keyname [signer]" per line; `refile`
// makes the patterns wildcards tried in order, else exact keys.
std::vector<TableProblem> parse_opendkim_signing_table(std::string_view text, const std::string& file,
                                                       bool refile, std::vector<auth::DkimSigningRule>& rules);

// The parts of an opendkim.conf that decide signing.
struct OpendkimConf {
    std::string key_table;       // "refile:" etc. prefixes kept
    std::string signing_table;
    std::string domain, selector, key_file;  // single-key mode (Domain/Selector/KeyFile)
    std::optional<std::string> canonicalization;
    std::optional<std::string> sign_headers;
    std::optional<std::string> oversign_headers;
    std::optional<bool> multiple_signatures;
    std::optional<std::string> signature_ttl;
    std::optional<bool> require_safe_keys;
    std::vector<std::string> ignored;  // settings read but not applied (Mode, Socket, ...), for a note
};
std::vector<TableProblem> parse_opendkim_conf(std::string_view text, OpendkimConf& out);

// "relaxed/simple", "simple" (= simple/simple), "relaxed" (= relaxed/simple,
// RFC 6376 section 3.5 c=): false when not one of these.
bool parse_canonicalization(std::string_view text, auth::DkimCanon& header, auth::DkimCanon& body);
// A header field name for the sign and oversign lists (RFC 5322 ftext,
// restricted to letters, digits and '-', the names mail uses).
bool valid_sign_header_name(std::string_view name);
// A signer for i= (RFC 6376 section 3.5): "[local]@domain", no white space
// or control characters ("%" allowed: OpenDKIM's address domain).
bool valid_signer_identity(std::string_view identity);

}  // namespace config
