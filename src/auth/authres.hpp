// RFC 8601 Authentication-Results: the one header in which connector-milter
// reports its SPF, DKIM and DMARC verdicts, and the parser used to find and
// remove forged copies that claim our authserv-id (RFC 8601 section 5).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auth {

// One resinfo (RFC 8601 section 2.2): "method=result (comment) reason=...
// ptype.property=value ...".
struct AuthResult {
    std::string method;   // "spf", "dkim", ...; "dkim/1" keeps a method-version
    std::string result;   // "pass", "fail", ...
    std::string reason;   // empty: no reasonspec
    // ("smtp.mailfrom", "example.org"), ("header.b", "KBibyA54"): ptype and
    // property joined by a dot, then the value exactly (unquoted).
    std::vector<std::pair<std::string, std::string>> properties;
    std::string comment;  // written right after method=result; empty: none

    friend bool operator==(const AuthResult&, const AuthResult&) = default;
};

// The header VALUE (without "Authentication-Results:"):
// "authserv-id; method=result reason=... ptype.prop=value; ..." or
// "authserv-id; none" when `results` is empty.
//
// Values that are not plain tokens (RFC 2045) or local-part@domain (RFC 8601
// section 2.2) are written as quoted-strings; a '/', '=' or '+' (base64 in
// header.b) always leads to quoting. Control bytes (CR, LF, NUL, ...) in any
// input are dropped, so no input can end the header or add another one;
// '"' and '\' are escaped inside quoted-strings, '(' ')' '\' inside comments.
// A method, result or property name that is not an RFC 5321 Keyword after
// that cleaning makes its resinfo (method/result) or property be left out.
//
// `fold`: when non-empty it replaces the single space before every resinfo
// after the first (the milter adapter passes "\n\t" or "\r\n\t"). A fold
// that is not folding white space ending in SP/HTAB is ignored.
//
// `note`: when non-empty, a comment right after the authserv-id about the
// header as a whole ("mx.example (spf not checked ...); dkim=pass ..." or
// "mx.example (...); none"), escaped like any comment; `fold` goes before
// it too.
std::string format_authentication_results(std::string_view authserv_id,
                                          const std::vector<AuthResult>& results,
                                          std::string_view fold = "", std::string_view note = "");

struct ParsedAuthRes {
    std::string authserv_id;
    std::optional<int> version;
    bool none = false;  // "authserv-id; none"
    std::string note;   // the first comment after the authserv-id (and version), if any
    std::vector<AuthResult> results;
};

// Parses a header value per the RFC 8601 section 2.2 ABNF, with CFWS
// (nested comments, quoted-pairs, folding) everywhere the grammar allows it.
// Method, result, ptype and property names are returned in lower case (they
// are case-insensitive); values keep their case. The first comment of a
// resinfo is returned in AuthResult::comment. Two deliberate leniencies for
// headers seen in the wild: a "name=value" without a ptype after the method
// (e.g. "x-tls=pass version=TLSv1.2") is skipped rather than failing the
// header, and an unquoted property value may contain '/', '=' and '?'
// (base64 header.b written by generators with the unquoted-header.b bug).
// On failure returns nullopt and, when `error` is given, a description with
// the offset.
std::optional<ParsedAuthRes> parse_authentication_results(std::string_view value,
                                                          std::string* error = nullptr);

// Lenient: the leading authserv-id (token or quoted-string, after optional
// CFWS) even when the rest of the value does not parse.
std::optional<std::string> authserv_id_of(std::string_view value);

// True when the header may be read as one of `ids`'s (ASCII
// case-insensitive, a trailing dot ignored on either side): by the RFC 8601
// parser, or by any of the lenient readings of lenient_authserv_id_readings()
// (authres_claim.hpp), which is what consumers that skip junk before the id
// see. Also true for a value the grammar refuses in which some reader finds
// no id at all. RFC 8601
// section 5: such headers are removed as forgeries.
bool claims_authserv_id(std::string_view value, const std::vector<std::string>& ids);

}  // namespace auth
