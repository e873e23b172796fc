// Our own DKIM verifier (dkim_verify.hpp says why). The checks of one
// signature, in this order (each the first that fails decides):
//   at end of headers (RFC 6376 section 6.1.1):
//     tag-list syntax (section 3.2), d=, s=, v=1, i= within d= (section
//     3.5 i=), x= not past (with drift), t= not in the future, t= before
//     x=, c=, a=, h= present and naming From (section 5.4), l=, bh=, b=;
//     rsa-sha1 is refused by policy here (RFC 8301 section 3.1), before any
//     key is fetched, as are signatures beyond max_signatures;
//   at end of message (sections 6.1.2 and 6.1.3):
//     l= not beyond the body, the key record (section 3.6.1, its k= suiting
//     a=, section 6.1.2 step 6), the header
//     signature, then the body hash (libopendkim's order: a signature that
//     does not verify is reported as such even when the body changed too),
//     t=s in the key (i= domain equal to d=), and the RFC 8301 key size.
#include "auth/dkim_verify.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <map>

#include "auth/crlf.hpp"
#include "dns/prefetch.hpp"
#include "util/ascii.hpp"

namespace auth {

namespace {

constexpr std::string_view kSha1Refused = "rsa-sha1 not accepted (RFC 8301)";

using Signature = DkimVerifier::Message::NativeState::Signature;
using NativeState = DkimVerifier::Message::NativeState;

// A tag's value with every FWS byte removed: libopendkim compares d=, s=,
// a=, c=, v=, h= and the key tags this way, and RFC 6376 section 3.2
// allows FWS around and inside tag-values.
std::string value_of(const TagList& t, std::string_view name) {
    const auto v = t.get(name);
    return v ? strip_fws(*v) : std::string();
}

// Digits only, as strtoull would take them whole; nullopt otherwise or on
// overflow.
std::optional<std::uint64_t> parse_number(std::string_view v) {
    if (v.empty() || v.size() > 20) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (n > (UINT64_MAX - digit) / 10) return std::nullopt;
        n = n * 10 + digit;
    }
    return n;
}

std::optional<Canon> canon_word(std::string_view w) {
    if (util::ascii_iequals(w, "simple")) return Canon::Simple;
    if (util::ascii_iequals(w, "relaxed")) return Canon::Relaxed;
    return std::nullopt;
}

// Base64 as libopendkim decodes b= and p=: characters outside the alphabet
// are skipped, decoding stops at the first "="; a single leftover character
// is an error. (RFC 6376 section 3.5 lets FWS appear anywhere in these
// values; other stray characters then make the signature or key fail to
// verify rather than be a syntax error: the verdict is not a pass either
// way.)
std::optional<std::string> decode_base64_lenient(std::string_view text) {
    std::string out;
    out.reserve(text.size() / 4 * 3 + 3);
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        if (c == '=') break;
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else continue;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        if (++count == 4) {
            out += static_cast<char>((bits >> 16) & 0xff);
            out += static_cast<char>((bits >> 8) & 0xff);
            out += static_cast<char>(bits & 0xff);
            bits = 0;
            count = 0;
        }
    }
    switch (count) {
    case 1: return std::nullopt;
    case 2: out += static_cast<char>((bits >> 4) & 0xff); break;
    case 3:
        out += static_cast<char>((bits >> 10) & 0xff);
        out += static_cast<char>((bits >> 2) & 0xff);
        break;
    default: break;
    }
    return out;
}

// RFC 6376 section 2.4 base64string, FWS already removed.
bool is_base64string(std::string_view text) {
    std::size_t padding = 0;
    for (char c : text) {
        if (c == '=') {
            if (++padding > 2) return false;
            continue;
        }
        const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                              c == '/';
        if (!alphabet || padding > 0) return false;
    }
    return true;
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

// Whether a colon-separated list holds `word` (case-insensitive), each item
// without FWS.
bool list_has(std::string_view list, std::string_view word) {
    bool found = false;
    for_each_signed_name(list, [&](std::string_view item) { found = found || util::ascii_iequals(item, word); });
    return found;
}

// RFC 6376 section 3.5 i=: the domain of the AUID (after "@", the
// quoted-printable decoded) is d= or a subdomain of it.
bool auid_within_domain(std::string_view i, std::string_view d) {
    std::string addr;
    for (std::size_t k = 0; k < i.size(); ++k) {
        if (i[k] == '=' && k + 2 < i.size() && std::isxdigit(static_cast<unsigned char>(i[k + 1])) &&
            std::isxdigit(static_cast<unsigned char>(i[k + 2]))) {
            addr += static_cast<char>(std::strtol(std::string(i.substr(k + 1, 2)).c_str(), nullptr, 16));
            k += 2;
        } else {
            addr += i[k];
        }
    }
    const auto at = addr.find('@');
    if (at == std::string::npos) return false;
    std::string_view domain = std::string_view(addr).substr(at + 1);
    if (util::ascii_iequals(domain, d)) return true;
    for (auto dot = domain.find('.'); dot != std::string_view::npos; dot = domain.find('.', dot + 1))
        if (util::ascii_iequals(domain.substr(dot + 1), d)) return true;
    return false;
}

void decided(Signature& s, DkimResult result, std::string reason) {
    s.result = result;
    s.reason = std::move(reason);
}

// Section 6.1.1: everything about one signature that needs no key and no
// body. Sets s.result when the signature is decided already.
void check_signature(Signature& s, std::string_view value, std::uint64_t now) {
    std::string error;
    s.tags = parse_tag_list(value, &error);
    if (!s.tags) {
        // RFC 6376 section 3.2 (a malformed tag-list, including a repeated
        // tag) and RFC 8601 section 2.7.1: neutral.
        decided(s, DkimResult::Neutral, "signature syntax error: " + error);
        return;
    }
    const TagList& t = *s.tags;
    s.algorithm = value_of(t, "a");
    s.b = value_of(t, "b");
    const auto neutral = [&](const char* why) { decided(s, DkimResult::Neutral, why); };
    const auto d = t.get("d"), sel = t.get("s"), v = t.get("v");
    if (!d) return neutral("domain tag missing");
    if (strip_fws(*d).empty()) return neutral("domain tag empty");
    s.domain = strip_fws(*d);
    if (!sel) return neutral("selector tag missing");
    if (strip_fws(*sel).empty()) return neutral("selector tag empty");
    s.selector = strip_fws(*sel);
    if (!v) return neutral("version missing");
    if (strip_fws(*v).empty()) return neutral("version empty");
    if (strip_fws(*v) != "1") return neutral("unsupported signature version");
    if (const auto i = t.get("i"); i && !auid_within_domain(strip_fws(*i), s.domain))
        return neutral("invalid domain coverage");
    std::optional<std::uint64_t> ts, xs;
    if (const auto x = t.get("x")) {
        xs = parse_number(strip_fws(*x));
        // RFC 6376 section 3.5 x=: a number; one that is not is a syntax
        // error (libopendkim reads it as 0 and calls it expired).
        if (!xs) return neutral("invalid \"x\" value");
        if (now >= *xs + kDkimClockDrift) {
            decided(s, DkimResult::Fail, "signature expired");
            return;
        }
    }
    if (const auto tv = t.get("t")) {
        ts = parse_number(strip_fws(*tv));
        if (!ts) return neutral("invalid \"t\" value");
        if (*ts > kDkimClockDrift && now < *ts - kDkimClockDrift) {
            decided(s, DkimResult::Fail, "signature timestamp in the future");
            return;
        }
    }
    // Section 3.5 x=: "the value of the "x=" tag MUST be greater than the
    // value of the "t=" tag if both are present".
    if (ts && xs && !(*ts < *xs)) return neutral("signature timestamp order error");
    if (const auto c = t.get("c")) {
        const std::string cv = strip_fws(*c);
        const auto slash = cv.find('/');
        const auto hc = canon_word(std::string_view(cv).substr(0, slash));
        if (!hc) return neutral("invalid header canonicalization");
        s.header_canon = *hc;
        if (slash != std::string::npos) {
            const auto bc = canon_word(std::string_view(cv).substr(slash + 1));
            if (!bc) return neutral("invalid body canonicalization");
            s.body_canon = *bc;
        }
    }
    if (!t.get("a")) return neutral("signature algorithm missing");
    const std::string a = util::ascii_lower(s.algorithm);
    if (a == "rsa-sha256") s.alg = SignatureAlgorithm::RsaSha256;
    else if (a == "ed25519-sha256") s.alg = SignatureAlgorithm::Ed25519Sha256;
    else if (a == "rsa-sha1") s.alg = SignatureAlgorithm::RsaSha1;
    else return neutral("signature algorithm invalid");
    const auto h = t.get("h");
    if (!h) return neutral("header list missing");
    if (strip_fws(*h).empty()) return neutral("header list tag empty");
    // Section 5.4: "The From header field MUST be signed".
    if (!list_has(*h, "from")) return neutral("header list missing required entries");
    if (const auto l = t.get("l")) {
        s.length = parse_number(strip_fws(*l));
        if (!s.length) return neutral("body length value invalid");
    }
    const auto bh = t.get("bh");
    if (!bh) return neutral("body hash missing");
    if (strip_fws(*bh).empty()) return neutral("body hash empty");
    const auto b = t.get("b");
    if (!b) return neutral("signature data missing");
    if (s.b.empty()) return neutral("signature data empty");
    // Section 3.5 b= is a base64string (section 2.4): the base64 alphabet
    // with FWS and at most two "=" at the end. Anything else is a syntax
    // error (dkimpy agrees), not bytes to skip as libopendkim does: a
    // signature with stray characters in b= must not pass.
    if (!is_base64string(s.b)) return neutral("signature data corrupt");
    auto signature = decode_base64_lenient(s.b);
    if (!signature) return neutral("signature data corrupt");
    s.signature = std::move(*signature);
    // RFC 8301 section 3.1: rsa-sha1 signatures MUST NOT be considered
    // valid; refused before their key is fetched.
    if (s.alg == SignatureAlgorithm::RsaSha1) decided(s, DkimResult::Policy, std::string(kSha1Refused));
}

struct KeyOutcome {
    std::optional<DkimPublicKey> key;
    std::optional<DkimResult> result;  // set when there is no usable key
    std::string reason;
    bool testing = false, strict = false;  // t=y, t=s
};

// RFC 6376 section 3.6.1 and 6.1.2: the key record at <s>._domainkey.<d>
// for one signature, checked in libopendkim's order.
KeyOutcome evaluate_key(const DkimVerifier::Native& shared, const Signature& s, const std::string& txt) {
    KeyOutcome k;
    const auto perm = [&](std::string why) {
        k.result = DkimResult::PermError;
        k.reason = std::move(why);
        return k;
    };
    if (txt.size() > kDkimMaxKeyRecord || txt.find('\0') != std::string::npos)
        return perm("key record too large or malformed");
    if (txt.empty()) return perm("key DNS reply corrupt");
    const auto tags = parse_tag_list(txt);
    if (!tags) return perm("key DNS reply corrupt");
    if (const auto v = tags->get("v"); v && strip_fws(*v) != "DKIM1") return perm("unknown key version");
    if (const auto h = tags->get("h")) {
        if (!list_has(*h, "sha1") && !list_has(*h, "sha256")) return perm("unknown key hash");
        if (!list_has(*h, "sha256")) return perm("signature-key hash mismatch");
    }
    if (const auto svc = tags->get("s"); svc && !list_has(*svc, "*") && !list_has(*svc, "email"))
        return perm("not an e-mail key");
    // Section 3.6.1 k=: "rsa" when absent.
    bool ed25519_key = false;
    if (const auto kt = tags->get("k")) {
        const std::string type = strip_fws(*kt);
        if (!util::ascii_iequals(type, "rsa") && !util::ascii_iequals(type, "ed25519"))
            return perm("unknown key type");
        ed25519_key = util::ascii_iequals(type, "ed25519");
    }
    const auto p = tags->get("p");
    if (!p) return perm("key DNS reply corrupt");
    const std::string p64 = strip_fws(*p);
    // Section 3.6.1 p=: "An empty value means that this public key has
    // been revoked".
    if (p64.empty()) return perm("key revoked");
    const auto der = decode_base64_lenient(p64);
    if (!der) return perm("key DNS reply corrupt");
    // Section 6.1.2 step 6: a key whose k= does not suit a= is a PERMFAIL
    // (RFC 8463 section 4.2 publishes Ed25519 keys with k=ed25519).
    // libopendkim does not compare them, and would verify an Ed25519
    // signature with a key published as k=rsa (or without k=); dkimpy
    // refuses, as we do.
    const bool ed25519 = s.alg == SignatureAlgorithm::Ed25519Sha256;
    if (ed25519_key != ed25519) return perm("key type does not match the signature algorithm");
    if (const auto flags = tags->get("t")) {
        k.testing = list_has(*flags, "y");
        k.strict = list_has(*flags, "s");
    }
    std::shared_ptr<EVP_PKEY> key = shared.keys.find(*der, ed25519);
    if (!key) {
        key = decode_public_key(*der, ed25519);
        if (!key) return perm("unable to apply public key");
        shared.keys.insert(*der, ed25519, key);
    }
    k.key = DkimPublicKey{key, ed25519, ed25519 ? 256u : static_cast<unsigned>(EVP_PKEY_get_bits(key.get()))};
    return k;
}

}  // namespace

std::optional<std::string> dkim_key_record_name(std::string_view value) {
    const auto tags = parse_tag_list(value);
    if (!tags) return std::nullopt;
    const auto v = tags->get("v"), a = tags->get("a"), s = tags->get("s"), d = tags->get("d");
    if (!v || !a || !s || !d || strip_fws(*v) != "1") return std::nullopt;
    const std::string alg = util::ascii_lower(strip_fws(*a));
    if (alg != "rsa-sha256" && alg != "ed25519-sha256") return std::nullopt;
    std::string selector = strip_fws(*s), domain = strip_fws(*d);
    if (selector.empty() || domain.empty()) return std::nullopt;
    return selector + "._domainkey." + domain;
}

std::unique_ptr<NativeState> start_native(const DkimVerifier::Native& native) {
    auto st = std::make_unique<NativeState>();
    st->shared = &native;
    return st;
}

void native_header(NativeState& st, std::string_view name, std::string_view value) {
    if (st.eoh_done) return;
    // As libopendkim: a field name of other than printable ASCII, or with
    // a ";", is not a header field it keeps (RFC 5322 section 2.2: field
    // names are printable ASCII without ":"); such a field is never signed.
    for (char c : name)
        if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126 || c == ';') return;
    const bool signature = util::ascii_iequals(name, "DKIM-Signature");
    if (signature) {
        // A bound on work: at most max(max_signatures, 50) signature fields
        // (the cap stays above max_signatures so that a signature covering
        // earlier DKIM-Signature fields, RFC 6376 section 5.4, verifies).
        if (++st.signature_headers >
            std::max<std::uint32_t>(st.shared->options.max_signatures, kDkimMaxSignatureFields))
            return;
        if (st.signature_headers <= st.shared->options.max_signatures && st.key_names.size() < kMaxPrefetchedKeys)
            if (auto key = dkim_key_record_name(value)) st.key_names.push_back(std::move(*key));
    }
    // RFC 6376 section 3.4: the signer hashed "Name:value" exactly as sent,
    // folds as CRLF; a trailing line end is not part of the field.
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
    NativeState::Field f;
    f.name = std::string(name);
    bool prev_cr = false;
    append_crlf(f.value, value, prev_cr);
    if (signature) st.signature_fields.push_back(st.fields.size());
    st.fields.push_back(std::move(f));
}

void native_end_of_headers(NativeState& st) {
    if (st.eoh_done) return;
    st.eoh_done = true;
    const std::uint64_t now = static_cast<std::uint64_t>(std::time(nullptr));
    for (const std::size_t field : st.signature_fields) {
        // RFC 6376 section 6.1: a verifier may limit the signatures it
        // checks; those beyond max_signatures are not reported.
        if (st.signatures.size() >= st.shared->options.max_signatures) break;
        Signature s;
        s.field = field;
        check_signature(s, st.fields[field].value, now);
        if (!s.result) {
            // One streaming pass per body canonicalization, one hash per
            // distinct l= in it.
            auto& hasher = s.body_canon == Canon::Simple ? st.simple_body : st.relaxed_body;
            if (!hasher) hasher.emplace(s.body_canon);
            s.body_hash = hasher->add_limit(s.length);
        }
        st.signatures.push_back(std::move(s));
    }
}

void native_body(NativeState& st, std::string_view chunk) {
    if (!st.eoh_done) native_end_of_headers(st);
    if (st.finished || chunk.empty()) return;
    if (st.simple_body) st.simple_body->body(chunk);
    if (st.relaxed_body) st.relaxed_body->body(chunk);
}

std::vector<DkimSignatureResult> native_finish(NativeState& st, dns::Budget& budget, std::uint64_t) {
    std::vector<DkimSignatureResult> results;
    if (st.finished) return results;
    if (!st.eoh_done) native_end_of_headers(st);
    st.finished = true;
    if (st.simple_body) st.simple_body->finish();
    if (st.relaxed_body) st.relaxed_body->finish();
    const DkimVerifier::Native& shared = *st.shared;
    // Key records fetched for this message, by exact "<s>._domainkey.<d>":
    // a second signature with the same key costs no second question.
    std::map<std::string, std::string> fetched;

    for (Signature& s : st.signatures) {
        DkimSignatureResult r;
        r.domain = s.domain;
        r.selector = s.selector;
        r.algorithm = s.algorithm;
        r.b = s.b;
        const auto done = [&](DkimResult result, std::string reason) {
            r.result = result;
            r.reason = std::move(reason);
            results.push_back(std::move(r));
        };
        if (s.result) {
            done(*s.result, s.reason);
            continue;
        }
        const BodyHasher& body = s.body_canon == Canon::Simple ? *st.simple_body : *st.relaxed_body;
        // Section 3.5 l=: a body shorter than l= cannot have been signed so.
        if (s.length && *s.length > body.canonical_length()) {
            done(DkimResult::Fail, "length tag value exceeds body size");
            continue;
        }
        // Section 3.6.2: the key is the TXT record at <s>._domainkey.<d>.
        const std::string name = s.selector + "._domainkey." + s.domain;
        auto cached = fetched.find(name);
        if (cached == fetched.end()) {
            // dns::ask: the answer asked at end of headers, when there is one.
            const dns::Answer answer = dns::ask(*shared.resolver, name, dns::Type::TXT, budget);
            std::optional<std::string> failure;
            DkimResult failure_result = DkimResult::PermError;
            switch (answer.status) {
            case dns::Status::NxDomain:
            case dns::Status::NoData:
                // Section 6.1.2 step 3: no key record is a permanent
                // failure, never a temporary one.
                failure = "no key";
                break;
            case dns::Status::ServFail:
            case dns::Status::Timeout:
            case dns::Status::BudgetExhausted:
                // Section 6.1.2 step 2: TEMPFAIL (RFC 8601 temperror).
                failure_result = DkimResult::TempError;
                failure = "key lookup " + std::string(dns::status_name(answer.status));
                break;
            case dns::Status::Ok:
                if (answer.records.empty()) failure = "no key";
                // Section 3.6.2.2: several TXT records at a selector give
                // undefined results; refuse rather than guess.
                else if (answer.records.size() > 1) failure = "multiple key records";
                break;
            }
            if (failure) {
                done(failure_result, *failure);
                continue;
            }
            cached = fetched.emplace(name, answer.records.front().txt()).first;
        }
        const KeyOutcome key = evaluate_key(shared, s, cached->second);
        if (!key.key) {
            done(*key.result, key.reason);
            continue;
        }
        r.key_bits = key.key->bits;

        // Section 3.7: the signed header fields, then this signature's own
        // field with b= emptied and without its final CRLF.
        std::string data;
        for (const std::size_t i :
             select_signed_headers(*s.tags->get("h"), st.fields.size(),
                                   [&](std::size_t k) -> std::string_view { return st.fields[k].name; }))
            canonicalize_header(s.header_canon, st.fields[i].name, st.fields[i].value, data);
        const NativeState::Field& self = st.fields[s.field];
        const Tag& b = *s.tags->find("b");
        canonicalize_header(s.header_canon, self.name, without_span(self.value, b.value_begin, b.value_end), data);
        drop_final_crlf(data);
        const bool verified = verify_signature(*key.key, s.alg, data, s.signature);
        ERR_clear_error();  // a refused signature leaves OpenSSL errors behind
        if (!verified) {
            done(DkimResult::Fail, "signature did not verify");
            continue;
        }
        // Section 6.1.3 step 4 (libopendkim compares the base64 text).
        if (strip_fws(*s.tags->get("bh")) != base64(body.digest(s.body_hash))) {
            done(DkimResult::Fail, "body hash did not verify");
            continue;
        }
        // Section 3.6.1 t=s: "the "i=" domain MUST NOT be a subdomain of
        // "d="".
        if (key.strict) {
            if (const auto i = s.tags->get("i")) {
                const std::string auid = strip_fws(*i);
                const auto at = auid.find('@');
                if (!util::ascii_iequals(at == std::string::npos ? auid : auid.substr(at + 1), s.domain)) {
                    done(DkimResult::Fail, "unauthorized subdomain");
                    continue;
                }
            }
        }
        // RFC 8301 section 3.2: RSA keys under 1024 bits MUST NOT be
        // considered valid.
        if (s.alg == SignatureAlgorithm::RsaSha256 && r.key_bits < shared.options.min_rsa_bits) {
            done(DkimResult::Policy, "RSA key of " + std::to_string(r.key_bits) + " bits is below the minimum of " +
                                         std::to_string(shared.options.min_rsa_bits) + " (RFC 8301)");
            continue;
        }
        done(DkimResult::Pass, "");
    }
    return results;
}

}  // namespace auth
