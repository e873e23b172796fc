// DKIM signing on libopendkim.
//
// How libopendkim is driven, and why:
// - DKIM_OPTS_SIGNHDRS: the configured list, or OpenDKIM's default
//   (dkim_should_signhdrs, RFC 6376 section 5.4.1); only the headers present
//   are signed, so a header the MTA adds later (Postfix's Message-ID for a
//   local submission) does not break the signature.
// - DKIM_OPTS_OVERSIGNHDRS: From (and what is configured) is listed in h=
//   once more than it occurs, so that a From: added on the way fails the
//   signature (section 8.15).
// - The body length is never limited (length -1: no l=, section 8.2).
// - DKIM_OPTS_SIGNATURETTL gives x= (section 3.5); t= is always written.
// - Margin 0 (no folding by libopendkim): libopendkim folds the header it
//   hashes with an empty b= and the header it returns with the real one,
//   and predicts the fold before "b=" for RSA only; with ed25519 and
//   "simple" header canonicalization the two differ and every verifier
//   fails the signature (found by the python3-dkim oracle test). We fold
//   inside the b= value only, which verifiers remove before hashing
//   (section 3.7).
// - ed25519 signatures are not libopendkim's: 2.11 never frees the parsed
//   ed25519 key of a handle (auth/dkim_ed25519_signature.hpp says why and
//   makes them with the same header list, tags and folding).
#include "auth/dkim_signer.hpp"

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "auth/crlf.hpp"
#include "auth/dkim_ed25519_signature.hpp"
#include "util/ascii.hpp"

namespace auth {

namespace {

struct LibCloser {
    void operator()(DKIM_LIB* lib) const { dkim_close(lib); }
};
struct HandleFree {
    void operator()(DKIM* dkim) const { dkim_free(dkim); }
};

dkim_canon_t canon(DkimCanon c) { return c == DkimCanon::Simple ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED; }

// A NULL-terminated array of C strings for libopendkim's header options,
// pointing into `names` (which must outlive it while the option is set).
std::vector<const char*> c_list(const std::vector<std::string>& names) {
    std::vector<const char*> out;
    out.reserve(names.size() + 1);
    for (const auto& n : names) out.push_back(n.c_str());
    out.push_back(nullptr);
    return out;
}

// The one-line header libopendkim returns with margin 0, folded inside the
// b= value (the last tag) so that its lines stay short; "\n\t" folds (a
// milter header value carries LF only, the MTA writes its own line ends).
std::string fold_b_value(std::string_view header) {
    constexpr std::size_t kChunk = 72;
    // "; b=" cannot occur inside a base64 value: this is the tag.
    const std::size_t b = header.rfind("; b=");
    if (b == std::string_view::npos) return std::string(header);
    std::string out(header.substr(0, b + 4));
    std::string_view value = header.substr(b + 4);
    while (value.size() > kChunk) {
        out.append(value.substr(0, kChunk));
        out += "\n\t ";
        value.remove_prefix(kChunk);
    }
    out.append(value);
    return out;
}

}  // namespace

struct DkimSigner::Library {
    std::unique_ptr<DKIM_LIB, LibCloser> lib;
    DkimCanon header_canon = DkimCanon::Relaxed;
    DkimCanon body_canon = DkimCanon::Relaxed;
    // What the ed25519 signatures need of the options libopendkim holds.
    std::vector<std::string> sign_headers;      // lower case
    std::vector<std::string> oversign_headers;  // as configured
    std::uint64_t ttl = 0;
    std::uint64_t fixed_time = 0;
};

struct DkimSigner::Message::State {
    struct One {
        DkimKeyChoice choice;
        std::unique_ptr<DKIM, HandleFree> dkim;       // rsa-sha256
        std::unique_ptr<DkimEd25519Signature> ed25519;  // ed25519-sha256
        std::string error;
    };
    std::vector<One> signatures;
    std::string id;
    std::string scratch;
    bool prev_cr = false;
    bool finished = false;
};

DkimSigner::DkimSigner(const DkimSignOptions& options) : lib_(std::make_unique<Library>()) {
    lib_->header_canon = options.header_canon;
    lib_->body_canon = options.body_canon;
    lib_->lib.reset(dkim_init(nullptr, nullptr));
    if (!lib_->lib) throw std::runtime_error("dkim_init() failed");
    DKIM_LIB* lib = lib_->lib.get();

    std::vector<std::string> sign = options.sign_headers;
    if (sign.empty())
        for (const unsigned char** h = dkim_should_signhdrs; *h != nullptr; ++h)
            sign.emplace_back(reinterpret_cast<const char*>(*h));
    for (const auto& h : sign) lib_->sign_headers.push_back(util::ascii_lower(h));
    lib_->oversign_headers = options.oversign_headers;
    // libopendkim copies both lists into regular expressions when set.
    auto sign_list = c_list(sign);
    auto over_list = c_list(options.oversign_headers);
    unsigned int flags = DKIM_LIBFLAGS_NONE;
    std::uint64_t ttl = static_cast<std::uint64_t>(options.expire.count());
    lib_->ttl = ttl;
    if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK ||
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign_list.data(), sizeof(char**)) != DKIM_STAT_OK ||
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNATURETTL, &ttl, sizeof ttl) != DKIM_STAT_OK)
        throw std::runtime_error("libopendkim refused the signing options (header list or x=)");
    if (!options.oversign_headers.empty() &&
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over_list.data(), sizeof(char**)) != DKIM_STAT_OK)
        throw std::runtime_error("libopendkim refused the oversigned header list");
}

DkimSigner::~DkimSigner() = default;

void DkimSigner::set_fixed_time(std::uint64_t seconds) {
    lib_->fixed_time = seconds;
    (void)dkim_options(lib_->lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &seconds, sizeof seconds);
}

std::unique_ptr<DkimSigner::Message> DkimSigner::start(
    std::string_view id, const std::vector<DkimKeyChoice>& choices,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
    auto st = std::make_unique<Message::State>();
    st->id = id.empty() ? std::string("-") : std::string(id);
    std::vector<std::string> h_names;  // computed for the first ed25519 choice
    for (const DkimKeyChoice& choice : choices) {
        Message::State::One one;
        one.choice = choice;
        const DkimSigningKey& key = *choice.key;
        if (key.type == DkimKeyType::Ed25519) {
            if (h_names.empty()) h_names = dkim_signed_header_names(headers, lib_->sign_headers, lib_->oversign_headers);
            DkimEd25519Signature::Params p;
            p.key = &key;
            p.domain = choice.domain;
            p.header_canon = lib_->header_canon;
            p.body_canon = lib_->body_canon;
            p.time = lib_->fixed_time != 0 ? lib_->fixed_time : static_cast<std::uint64_t>(std::time(nullptr));
            p.ttl = lib_->ttl;
            one.ed25519 = std::make_unique<DkimEd25519Signature>(p, headers, h_names);
            if (!one.ed25519->error().empty()) {
                one.error = one.ed25519->error();
                one.ed25519.reset();
            }
            st->signatures.push_back(std::move(one));
            continue;
        }
        DKIM_STAT status = DKIM_STAT_OK;
        one.dkim.reset(dkim_sign(
            lib_->lib.get(), reinterpret_cast<const unsigned char*>(st->id.c_str()), nullptr,
            reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key.private_pem.c_str())),  // only read
            reinterpret_cast<const unsigned char*>(key.selector.c_str()),
            reinterpret_cast<const unsigned char*>(choice.domain.c_str()), canon(lib_->header_canon),
            canon(lib_->body_canon),
            key.type == DkimKeyType::Ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &status));
        if (!one.dkim) {
            one.error = std::string("dkim_sign() failed: ") + dkim_getresultstr(status);
            st->signatures.push_back(std::move(one));
            continue;
        }
        (void)dkim_set_margin(one.dkim.get(), 0);
        for (const auto& [name, raw] : headers) {
            // RFC 6376 section 3.4: "Name:value" as sent, folds as CRLF, no
            // trailing line end.
            std::string_view value = raw;
            while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.remove_suffix(1);
            st->scratch.clear();
            st->scratch.append(name);
            st->scratch += ':';
            bool prev_cr = false;
            append_crlf(st->scratch, value, prev_cr);
            status = dkim_header(one.dkim.get(), reinterpret_cast<unsigned char*>(st->scratch.data()),
                                 st->scratch.size());
            if (status != DKIM_STAT_OK) {
                const char* err = dkim_geterror(one.dkim.get());
                one.error = "header " + name + " refused: " + (err && *err ? err : dkim_getresultstr(status));
                break;
            }
        }
        if (one.error.empty()) {
            status = dkim_eoh(one.dkim.get());
            if (status != DKIM_STAT_OK) {
                const char* err = dkim_geterror(one.dkim.get());
                one.error = std::string("end of headers: ") + (err && *err ? err : dkim_getresultstr(status));
            }
        }
        if (!one.error.empty()) one.dkim.reset();
        st->signatures.push_back(std::move(one));
    }
    return std::unique_ptr<Message>(new Message(std::move(st)));
}

DkimSigner::Message::Message(std::unique_ptr<State> state) : state_(std::move(state)) {}
DkimSigner::Message::~Message() = default;

void DkimSigner::Message::body(std::string_view chunk) {
    State& st = *state_;
    if (st.finished || chunk.empty()) return;
    unsigned char* data = reinterpret_cast<unsigned char*>(const_cast<char*>(chunk.data()));
    std::size_t size = chunk.size();
    if (bare_lf(chunk, 0, st.prev_cr) == std::string_view::npos) {
        st.prev_cr = chunk.back() == '\r';
    } else {
        st.scratch.clear();
        append_crlf(st.scratch, chunk, st.prev_cr);
        data = reinterpret_cast<unsigned char*>(st.scratch.data());
        size = st.scratch.size();
    }
    for (auto& one : st.signatures) {
        if (one.ed25519) one.ed25519->body(std::string_view(reinterpret_cast<const char*>(data), size));
        if (!one.dkim) continue;
        const DKIM_STAT status = dkim_body(one.dkim.get(), data, size);
        if (status != DKIM_STAT_OK) {
            one.error = std::string("body: ") + dkim_getresultstr(status);
            one.dkim.reset();
        }
    }
}

std::vector<DkimSignature> DkimSigner::Message::finish() {
    State& st = *state_;
    std::vector<DkimSignature> out;
    if (st.finished) return out;
    st.finished = true;
    for (auto& one : st.signatures) {
        DkimSignature sig;
        sig.domain = one.choice.domain;
        sig.selector = one.choice.key->selector;
        sig.algorithm = std::string(dkim_sign_algorithm(one.choice.key->type));
        sig.why = one.choice.why;
        sig.error = one.error;
        if (one.ed25519) {
            const std::string value = one.ed25519->finish();
            if (value.empty()) sig.error = "signing failed: " + one.ed25519->error();
            else sig.header_value = fold_b_value(value);
            one.ed25519.reset();
        } else if (one.dkim) {
            DKIM_STAT status = dkim_eom(one.dkim.get(), nullptr);
            unsigned char* value = nullptr;
            std::size_t len = 0;
            if (status == DKIM_STAT_OK)
                status = dkim_getsighdr_d(one.dkim.get(), std::string_view("DKIM-Signature: ").size(), &value, &len);
            if (status == DKIM_STAT_OK && value != nullptr) {
                // Folded with CRLF TAB; the MTA writes its own line ends, and
                // a milter header value carries LF only (OpenDKIM does the same).
                sig.header_value = fold_b_value(std::string_view(reinterpret_cast<const char*>(value), len));
            } else {
                const char* err = dkim_geterror(one.dkim.get());
                sig.error = std::string("signing failed: ") + (err && *err ? err : dkim_getresultstr(status));
            }
            one.dkim.reset();
        }
        out.push_back(std::move(sig));
    }
    return out;
}

}  // namespace auth
