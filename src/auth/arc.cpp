// ARC verification (RFC 8617 section 5.2) on our own RFC 6376
// canonicalization (canonicalization.hpp says why not libopendkim's) and
// OpenSSL signatures, with every key lookup through dns::Resolver.
//
// Order of the checks, RFC 8617 section 5.2:
//   1. no ARC header field: none; more than 50 sets: fail
//   2. the newest ARC-Seal says cv=fail: fail
//   3. structure: one AAR, AMS and AS per instance, instances 1..N without
//      gaps, cv=none on instance 1 and cv=pass above it
//   4. the newest AMS validates
//   6. every AS validates, newest first
//   7. pass; then step 5 (optional, done here for a passing chain): the
//      oldest AMS of the uninterrupted validating run from N down.
// A key or syntax error is a fail (RFC 8617 has no temperror/permerror);
// ArcVerdict::temporary tells a lookup that timed out apart.
#include "auth/arc.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>

#include "auth/canonicalization.hpp"
#include "auth/dkim_key_record.hpp"
#include "auth/tag_list.hpp"
#include "dns/prefetch.hpp"
#include "util/ascii.hpp"

namespace auth {

std::string_view arc_result_name(ArcResult result) {
    switch (result) {
    case ArcResult::None: return "none";
    case ArcResult::Pass: return "pass";
    case ArcResult::Fail: return "fail";
    }
    return "fail";
}

namespace {

enum class Kind : std::uint8_t { Aar, Ams, As };

// The most ARC header fields one message may carry before the chain fails
// without further parsing: three per set, 50 sets (section 4.2.1).
constexpr std::size_t kMaxArcFields = 3 * kArcMaxSets;
// Distinct body lengths (l=) hashed per canonicalization; an AMS asking for
// yet another one does not validate (a bound on hashing work).
constexpr std::size_t kMaxBodyLimits = 4;
// Header octets kept before the first ARC field (State::headers).
constexpr std::size_t kMaxBytesBeforeArc = 64 * 1024;
// Parsed keys kept across messages (dkim_key_record.hpp).
constexpr std::size_t kKeyCacheSize = 1024;

struct RawHeader {
    std::string name;
    std::string value;  // after the colon, folds as CRLF, no final line end
    bool dropped = false;  // value not kept (kMaxBytesBeforeArc)
};

std::optional<Kind> arc_kind(std::string_view name) {
    if (util::ascii_iequals(name, "ARC-Authentication-Results")) return Kind::Aar;
    if (util::ascii_iequals(name, "ARC-Message-Signature")) return Kind::Ams;
    if (util::ascii_iequals(name, "ARC-Seal")) return Kind::As;
    return std::nullopt;
}

// An instance value: 1*DIGIT, 1..50 (section 4.2.1; a larger one is as bad
// as a 51st set). nullopt when not a number in that range.
std::optional<std::uint32_t> parse_instance(std::string_view v) {
    if (v.empty() || v.size() > 3) return std::nullopt;
    std::uint32_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (n < 1 || n > kArcMaxSets) return std::nullopt;
    return n;
}

bool all_digits(std::string_view v) {
    return !v.empty() && v.size() <= 18 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A d= or s= that can be asked in DNS as it is: LDH labels (and "_"),
// dots between them, at most 253 octets.
bool dns_name_ok(std::string_view v) {
    if (v.empty() || v.size() > 253 || v.front() == '.' || v.back() == '.') return false;
    std::size_t label = 0;
    for (char c : v) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
        if (++label > 63) return false;
    }
    return true;
}

// RFC 8617 section 4.1.1: ARC-Authentication-Results is "i=" instance ";"
// then an Authentication-Results value. Returns the instance and the rest.
struct AarParts {
    std::uint32_t instance = 0;
    std::string_view payload;
};
std::optional<AarParts> parse_aar(std::string_view v) {
    std::size_t i = 0;
    auto skip = [&] {
        while (i < v.size() && is_fws(v[i])) ++i;
    };
    skip();
    if (i >= v.size() || v[i] != 'i') return std::nullopt;
    ++i;
    skip();
    if (i >= v.size() || v[i] != '=') return std::nullopt;
    ++i;
    skip();
    const std::size_t start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    const auto n = parse_instance(v.substr(start, i - start));
    if (!n) return std::nullopt;
    skip();
    if (i >= v.size() || v[i] != ';') return std::nullopt;
    ++i;
    std::string_view rest = v.substr(i);
    while (!rest.empty() && is_fws(rest.front())) rest.remove_prefix(1);
    return AarParts{*n, rest};
}

// The tags every ARC signature needs are there, t= is a number, and a= is
// an algorithm that may pass: rsa-sha256 or ed25519-sha256 (RFC 8617
// section 4.1.2/4.1.3; rsa-sha1 never, RFC 8301 section 3.1).
std::optional<SignatureAlgorithm> usable_algorithm(const TagList& t, std::initializer_list<const char*> required,
                                                   std::string& why) {
    for (const char* name : required)
        if (!t.find(name)) {
            why = std::string("no ") + name + "= tag";
            return std::nullopt;
        }
    if (const auto ts = t.get("t"); ts && !all_digits(*ts)) {
        why = "bad t=";
        return std::nullopt;
    }
    const auto alg = parse_signature_algorithm(*t.get("a"));
    if (!alg) {
        why = "unknown algorithm";
        return std::nullopt;
    }
    if (*alg == SignatureAlgorithm::RsaSha1) {
        why = "rsa-sha1 not accepted (RFC 8301)";
        return std::nullopt;
    }
    return alg;
}

// The header value with the b= tag's value emptied (RFC 6376 section 3.7,
// RFC 8617 section 5.1.1): everything between "=" and the ";" or the end.
std::string without_b(std::string_view value, const Tag& b) {
    return without_span(value, b.value_begin, b.value_end);
}

}  // namespace

struct ArcVerifier::Shared {
    std::shared_ptr<dns::Resolver> resolver;
    ArcOptions options;
    mutable PublicKeyCache keys{kKeyCacheSize};  // thread-safe itself
};

struct ArcVerifier::Message::State {
    std::shared_ptr<const Shared> shared;
    // Every header field in order. Before the first ARC field is seen the
    // values are kept only up to kMaxBytesBeforeArc in all (a message
    // without ARC fields must not cost a second copy of a large header
    // block: libopendkim already holds one); beyond that only the name is
    // kept, and an AMS that signs such a field fails.
    std::vector<RawHeader> headers;
    std::size_t bytes_before_arc = 0;
    std::size_t arc_fields = 0;
    bool eoh_done = false, finished = false;

    // Filled at end of headers.
    struct Slot {
        int aar = -1, ams = -1, as = -1;  // index into headers
        std::string_view aar_payload;
        std::optional<TagList> ams_tags, as_tags;
        // Where the AMS's body hash comes from (none: it cannot validate).
        Canon body_canon = Canon::Simple;
        std::optional<std::size_t> body_hash;
        std::string ams_problem;  // set when the AMS cannot validate whatever the body
    };
    std::vector<Slot> slots;  // index = instance; slot 0 unused
    std::uint32_t top = 0;    // N
    std::string structure_error;
    std::optional<BodyHasher> simple_body, relaxed_body;

    // Keys fetched for this message, by "<s>._domainkey.<d>" in lower case.
    struct Key {
        std::optional<DkimPublicKey> key;
        std::string error;
        bool temporary = false;
    };
    std::map<std::string, Key> keys;
    bool temporary = false;

    void plan();
    std::string cv_of(std::uint32_t instance) const {
        return util::ascii_lower(slots[instance].as_tags->get("cv").value_or(""));
    }
    std::string cv_problem() const;
    const Key& key(const std::string& selector, const std::string& domain, dns::Budget& budget);
    bool verify_ams(std::uint32_t instance, dns::Budget& budget, std::time_t now, std::string& why);
    bool verify_as(std::uint32_t instance, dns::Budget& budget, std::string& why);
    bool check_key_and_signature(const TagList& tags, SignatureAlgorithm alg, const std::string& data,
                                 dns::Budget& budget, std::string& why);
};

ArcVerifier::ArcVerifier(std::shared_ptr<dns::Resolver> resolver, ArcOptions options)
    : shared_(std::make_shared<Shared>()) {
    if (!resolver) throw std::invalid_argument("ArcVerifier needs a resolver");
    shared_->resolver = std::move(resolver);
    shared_->options = options;
}
ArcVerifier::~ArcVerifier() = default;

std::unique_ptr<ArcVerifier::Message> ArcVerifier::start() const {
    auto st = std::make_unique<Message::State>();
    st->shared = shared_;
    return std::unique_ptr<Message>(new Message(std::move(st)));
}

ArcVerifier::Message::Message(std::unique_ptr<State> state) : state_(std::move(state)) {}
ArcVerifier::Message::~Message() = default;

void ArcVerifier::Message::header(std::string_view name, std::string_view value) {
    State& st = *state_;
    if (st.eoh_done) return;
    if (arc_kind(name)) ++st.arc_fields;
    if (st.arc_fields == 0) {
        st.bytes_before_arc += name.size() + value.size();
        if (st.bytes_before_arc > kMaxBytesBeforeArc) {
            RawHeader h;
            h.name = std::string(name);
            h.dropped = true;
            st.headers.push_back(std::move(h));
            return;
        }
    }
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
    RawHeader h;
    h.name = std::string(name);
    // Folds as CRLF, as the signer hashed them.
    h.value.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) h.value += '\r';
        h.value += value[i];
    }
    st.headers.push_back(std::move(h));
}

void ArcVerifier::Message::end_of_headers() {
    State& st = *state_;
    if (st.eoh_done) return;
    st.eoh_done = true;
    if (st.arc_fields == 0) {
        st.headers.clear();  // nothing to verify: keep nothing
        st.headers.shrink_to_fit();
        return;
    }
    st.plan();
}

void ArcVerifier::Message::State::plan() {
    if (arc_fields > kMaxArcFields) {
        structure_error = "more than " + std::to_string(kArcMaxSets) + " ARC sets";
        return;
    }
    slots.resize(kArcMaxSets + 1);
    for (std::size_t idx = 0; idx < headers.size(); ++idx) {
        const auto kind = arc_kind(headers[idx].name);
        if (!kind) continue;
        const std::string_view value = headers[idx].value;
        const int index = static_cast<int>(idx);
        std::uint32_t instance = 0;
        if (*kind == Kind::Aar) {
            const auto parts = parse_aar(value);
            if (!parts) {
                structure_error = "ARC-Authentication-Results without a valid i=";
                return;
            }
            instance = parts->instance;
            Slot& s = slots[instance];
            if (s.aar >= 0) {
                structure_error = "two ARC-Authentication-Results with i=" + std::to_string(instance);
                return;
            }
            s.aar = index;
            s.aar_payload = parts->payload;
        } else {
            std::string error;
            auto tags = parse_tag_list(value, &error);
            const char* what = *kind == Kind::Ams ? "ARC-Message-Signature" : "ARC-Seal";
            if (!tags) {
                structure_error = std::string(what) + " does not parse: " + error;
                return;
            }
            const auto i = tags->get("i");
            const auto n = i ? parse_instance(*i) : std::nullopt;
            if (!n) {
                structure_error = std::string(what) + " without a valid i=";
                return;
            }
            instance = *n;
            Slot& s = slots[instance];
            int& where = *kind == Kind::Ams ? s.ams : s.as;
            if (where >= 0) {
                structure_error = std::string("two ") + what + " with i=" + std::to_string(instance);
                return;
            }
            where = index;
            (*kind == Kind::Ams ? s.ams_tags : s.as_tags) = std::move(tags);
        }
        top = std::max(top, instance);
    }
    // Section 5.2 step 3.1 and 3.2: each instance 1..N complete.
    for (std::uint32_t i = 1; i <= top; ++i) {
        const Slot& s = slots[i];
        if (s.aar < 0 || s.ams < 0 || s.as < 0) {
            structure_error = "ARC set " + std::to_string(i) + " is incomplete";
            return;
        }
    }
    // Body hashes every AMS needs (the newest one, and older ones for
    // oldest-pass), one streaming pass per canonicalization.
    for (std::uint32_t i = 1; i <= top; ++i) {
        Slot& s = slots[i];
        const TagList& t = *s.ams_tags;
        Canon body = Canon::Simple;
        if (const auto c = t.get("c")) {
            // RFC 6376 section 3.5 c=: "header/body", body defaults to simple.
            const auto slash = c->find('/');
            const auto hc = parse_canon(c->substr(0, slash));
            const auto bc = slash == std::string_view::npos ? std::optional<Canon>(Canon::Simple)
                                                            : parse_canon(c->substr(slash + 1));
            if (!hc || !bc) {
                s.ams_problem = "bad c= in ARC-Message-Signature";
                continue;
            }
            body = *bc;
        }
        std::optional<std::uint64_t> limit;
        if (const auto l = t.get("l")) {
            if (!all_digits(*l)) {
                s.ams_problem = "bad l= in ARC-Message-Signature";
                continue;
            }
            limit = std::stoull(std::string(*l));
        }
        auto& hasher = body == Canon::Simple ? simple_body : relaxed_body;
        if (!hasher) hasher.emplace(body);
        s.body_canon = body;
        if (!hasher->has_limit(limit) && hasher->limits() >= kMaxBodyLimits) {
            s.ams_problem = "too many distinct body lengths (l=) in the ARC chain";
            continue;
        }
        s.body_hash = hasher->add_limit(limit);
    }
}

void ArcVerifier::Message::body(std::string_view chunk) {
    State& st = *state_;
    if (!st.eoh_done) end_of_headers();
    if (st.finished) return;
    if (st.simple_body) st.simple_body->body(chunk);
    if (st.relaxed_body) st.relaxed_body->body(chunk);
}

const ArcVerifier::Message::State::Key& ArcVerifier::Message::State::key(const std::string& selector,
                                                                          const std::string& domain,
                                                                          dns::Budget& budget) {
    const std::string name = util::ascii_lower(selector + "._domainkey." + domain);
    if (const auto it = keys.find(name); it != keys.end()) return it->second;
    Key k;
    // RFC 6376 section 3.6.2.2: the key is the TXT record at <s>._domainkey.<d>.
    // dns::ask: the newest set's keys were asked at end of headers (key_names).
    const dns::Answer answer = dns::ask(*shared->resolver, name, dns::Type::TXT, budget);
    switch (answer.status) {
    case dns::Status::NxDomain:
    case dns::Status::NoData: k.error = "no key at " + name; break;
    case dns::Status::ServFail:
    case dns::Status::Timeout:
    case dns::Status::BudgetExhausted:
        k.error = "key lookup " + std::string(dns::status_name(answer.status)) + " for " + name;
        k.temporary = true;
        break;
    case dns::Status::Ok:
        if (answer.records.size() != 1) {
            k.error = answer.records.empty() ? "no key at " + name : "several key records at " + name;
            break;
        }
        {
            KeyRecord record = parse_dkim_key_record(answer.records.front().txt(), &shared->keys);
            if (!record.key) {
                k.error = record.error + " at " + name;
                break;
            }
            if (!record.key->ed25519 && record.key->bits < shared->options.min_rsa_bits) {
                // RFC 8301 section 3.2, as for DKIM.
                k.error = "RSA key of " + std::to_string(record.key->bits) + " bits at " + name +
                          " is below the minimum of " + std::to_string(shared->options.min_rsa_bits) +
                          " (RFC 8301)";
                break;
            }
            k.key = std::move(record.key);
        }
        break;
    }
    return keys.emplace(name, std::move(k)).first->second;
}

bool ArcVerifier::Message::State::check_key_and_signature(const TagList& tags, SignatureAlgorithm alg,
                                                           const std::string& data, dns::Budget& budget,
                                                           std::string& why) {
    const std::string d(tags.get("d").value_or(""));
    const std::string s(tags.get("s").value_or(""));
    if (!dns_name_ok(d) || !dns_name_ok(s)) {
        why = "bad d= or s=";
        return false;
    }
    const auto signature = decode_base64(tags.get("b").value_or(""));
    if (!signature || signature->empty()) {
        why = "b= is not base64";
        return false;
    }
    const Key& k = key(s, d, budget);
    if (!k.key) {
        why = k.error;
        if (k.temporary) temporary = true;
        return false;
    }
    const bool ok = verify_signature(*k.key, alg, data, *signature);
    ERR_clear_error();  // a refused signature leaves OpenSSL errors behind
    if (!ok) why = "signature did not verify";
    return ok;
}

// RFC 8617 section 4.1.2: the AMS is a DKIM signature without v= and with
// the instance in i=.
bool ArcVerifier::Message::State::verify_ams(std::uint32_t instance, dns::Budget& budget, std::time_t now,
                                             std::string& why) {
    const Slot& slot = slots[instance];
    const TagList& t = *slot.ams_tags;
    if (!slot.ams_problem.empty()) {
        why = slot.ams_problem;
        return false;
    }
    const auto alg = usable_algorithm(t, {"a", "b", "bh", "d", "h", "s"}, why);
    if (!alg) return false;
    if (const auto x = t.get("x")) {
        if (!all_digits(*x)) {
            why = "bad x=";
            return false;
        }
        // RFC 6376 section 3.5 x=: past it, the signature is not valid.
        if (std::stoll(std::string(*x)) < static_cast<long long>(now)) {
            why = "signature expired";
            return false;
        }
    }
    Canon header_canon = Canon::Simple;
    if (const auto c = t.get("c")) header_canon = *parse_canon(c->substr(0, c->find('/')));  // checked in plan()

    // Body hash (RFC 6376 section 3.7).
    const BodyHasher& hasher = slot.body_canon == Canon::Simple ? *simple_body : *relaxed_body;
    if (const auto l = t.get("l"); l && std::stoull(std::string(*l)) > hasher.canonical_length()) {
        why = "l= is longer than the body";
        return false;
    }
    const auto bh = decode_base64(*t.get("bh"));
    if (!bh || bh->empty()) {
        why = "bh= is not base64";
        return false;
    }
    if (*bh != hasher.digest(*slot.body_hash)) {
        why = "body hash did not verify";
        return false;
    }

    // The signed header fields: each h= name picks the next instance of
    // that field from the bottom up; a name with no instance left adds
    // nothing (RFC 6376 section 5.4.2).
    const std::string_view list = *t.get("h");
    // Section 4.1.2: an AMS never signs an ARC-Seal (they are added after
    // it); the validation suite and both reference verifiers refuse it too.
    // ARC-Authentication-Results and older AMSes in h= are tolerated: RFC
    // 8617 forbids them to signers only, and the suite expects them to
    // verify.
    bool signs_seal = false;
    for_each_signed_name(list, [&](std::string_view name) {
        signs_seal = signs_seal || util::ascii_iequals(name, "ARC-Seal");
    });
    if (signs_seal) {
        why = "h= includes ARC-Seal";
        return false;
    }
    std::string data;
    for (const std::size_t i : select_signed_headers(list, headers.size(),
                                                      [&](std::size_t k) -> std::string_view { return headers[k].name; })) {
        if (headers[i].dropped) {
            why = "h= signs a " + headers[i].name + " field beyond the " +
                  std::to_string(kMaxBytesBeforeArc / 1024) + " KiB kept above the ARC fields";
            return false;
        }
        canonicalize_header(header_canon, headers[i].name, headers[i].value, data);
    }
    const RawHeader& self = headers[static_cast<std::size_t>(slot.ams)];
    canonicalize_header(header_canon, self.name, without_b(self.value, *t.find("b")), data);
    drop_final_crlf(data);
    return check_key_and_signature(t, *alg, data, budget, why);
}

// RFC 8617 section 5.1.1: the AS signs the ARC header fields of sets 1..i
// in order (AAR, AMS, AS per set), relaxed, its own b= emptied.
bool ArcVerifier::Message::State::verify_as(std::uint32_t instance, dns::Budget& budget, std::string& why) {
    const Slot& slot = slots[instance];
    const TagList& t = *slot.as_tags;
    // Section 4.1.3: an ARC-Seal has no h= (it signs a fixed set).
    if (t.find("h")) {
        why = "h= in ARC-Seal";
        return false;
    }
    const auto alg = usable_algorithm(t, {"a", "b", "cv", "d", "s"}, why);
    if (!alg) return false;
    std::string data;
    for (std::uint32_t j = 1; j <= instance; ++j) {
        const Slot& s = slots[j];
        for (int index : {s.aar, s.ams}) {
            const RawHeader& h = headers[static_cast<std::size_t>(index)];
            canonicalize_header(Canon::Relaxed, h.name, h.value, data);
        }
        const RawHeader& seal = headers[static_cast<std::size_t>(s.as)];
        if (j == instance) canonicalize_header(Canon::Relaxed, seal.name, without_b(seal.value, *t.find("b")), data);
        else canonicalize_header(Canon::Relaxed, seal.name, seal.value, data);
    }
    drop_final_crlf(data);
    return check_key_and_signature(t, *alg, data, budget, why);
}

// Steps 2 and 3.3 of RFC 8617 section 5.2, on a chain whose structure is
// valid: why the seals' cv= values fail it, "" when they do not.
std::string ArcVerifier::Message::State::cv_problem() const {
    // Step 2: the newest seal already says the chain failed.
    if (cv_of(top) == "fail") return "ARC-Seal " + std::to_string(top) + " says cv=fail";
    // Step 3.3: cv=none on the first seal, cv=pass on every later one.
    for (std::uint32_t i = 1; i <= top; ++i) {
        const std::string cv = cv_of(i);
        const char* want = i == 1 ? "none" : "pass";
        if (cv != want)
            return "ARC-Seal " + std::to_string(i) + " has cv=" + (cv.empty() ? "(missing)" : cv) + ", not " + want;
    }
    return {};
}

std::vector<std::string> ArcVerifier::Message::key_names() const {
    const State& st = *state_;
    std::vector<std::string> names;
    if (!st.eoh_done || st.finished || st.arc_fields == 0 || !st.structure_error.empty() || st.top == 0 ||
        !st.cv_problem().empty())
        return names;
    // Steps 4 and 6 of RFC 8617 section 5.2 verify the newest AMS first,
    // then the seals from the newest down.
    const auto add = [&](const std::optional<TagList>& tags) {
        if (!tags || names.size() >= kArcReservedQueries) return;
        const std::string d(tags->get("d").value_or("")), s(tags->get("s").value_or(""));
        if (!dns_name_ok(d) || !dns_name_ok(s)) return;
        std::string name = util::ascii_lower(s + "._domainkey." + d);
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
    };
    const auto& newest = st.slots[st.top];
    if (newest.ams_problem.empty()) add(newest.ams_tags);
    add(newest.as_tags);
    return names;
}

ArcVerdict ArcVerifier::Message::finish(dns::Budget& budget, std::time_t now) {
    State& st = *state_;
    ArcVerdict v;
    if (st.finished) return v;
    if (!st.eoh_done) end_of_headers();
    st.finished = true;
    if (st.simple_body) st.simple_body->finish();
    if (st.relaxed_body) st.relaxed_body->finish();
    if (st.arc_fields == 0) return v;  // step 1: none

    auto fail = [&](std::string why) {
        v.result = ArcResult::Fail;
        v.reason = std::move(why);
        v.temporary = st.temporary;
        v.sets.clear();
        return v;
    };
    v.instances = st.top;
    if (!st.structure_error.empty()) return fail(st.structure_error);
    if (std::string problem = st.cv_problem(); !problem.empty()) return fail(std::move(problem));
    // Step 4: the newest AMS.
    std::string why;
    if (!st.verify_ams(st.top, budget, now, why))
        return fail("ARC-Message-Signature " + std::to_string(st.top) + ": " + why);
    // Step 6: every seal, newest first.
    for (std::uint32_t i = st.top; i >= 1; --i)
        if (!st.verify_as(i, budget, why)) return fail("ARC-Seal " + std::to_string(i) + ": " + why);
    // Step 7: pass. Step 5: how far back the message is unchanged.
    v.result = ArcResult::Pass;
    v.oldest_pass = 0;
    for (std::uint32_t i = st.top - 1; i >= 1; --i) {
        std::string ignored;
        if (!st.verify_ams(i, budget, now, ignored)) {
            v.oldest_pass = i + 1;
            break;
        }
    }
    for (std::uint32_t i = 1; i <= st.top; ++i) {
        const auto& s = st.slots[i];
        ArcSet set;
        set.instance = i;
        set.seal_domain = std::string(s.as_tags->get("d").value_or(""));
        set.seal_selector = std::string(s.as_tags->get("s").value_or(""));
        set.signature_domain = std::string(s.ams_tags->get("d").value_or(""));
        set.cv = st.cv_of(i);
        set.authentication_results = std::string(s.aar_payload);
        v.sets.push_back(std::move(set));
    }
    return v;
}

}  // namespace auth
