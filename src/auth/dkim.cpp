// DKIM verification on libopendkim with key lookups through dns::Resolver.
//
// How libopendkim is driven, and why:
// - DKIM_LIBFLAGS_DELAYSIGPROC: signatures are processed at end of message,
//   where libopendkim moves on to the next signature when one key lookup
//   fails temporarily. At end of headers it would stop at the first
//   temporary failure and leave the other signatures unverified.
// - DKIM_LIBFLAGS_BADSIGHANDLES: malformed signatures still get a handle, so
//   that each DKIM-Signature is reported (RFC 8601 section 2.7.1 "neutral").
// - DKIM_OPTS_MINKEYBITS = 0: libopendkim counts an ed25519 key as 512 bits
//   and would refuse it under its 1024-bit default; the RFC 8301 minimum is
//   applied here to RSA keys only.
// - The prescreen callback ignores rsa-sha1 signatures (RFC 8301 section 3.1:
//   verifiers MUST NOT consider them valid) and those beyond max_signatures
//   (RFC 6376 section 6.1: a verifier may limit the signatures it checks)
//   before any key is fetched, so they cost no DNS budget.
#include "auth/dkim.hpp"

// dkim.h is C99 and spells bool as _Bool, which C++ does not know; both
// have the same size and ABI on every platform g++ supports.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <optional>
#include <stdexcept>

#include "auth/crlf.hpp"
#include "auth/dkim_key_cache.hpp"
#include "auth/dkim_verify.hpp"
#include "auth/tag_list.hpp"
#include "dns/prefetch.hpp"
#include "util/ascii.hpp"

namespace auth {

std::string_view dkim_result_name(DkimResult result) {
    switch (result) {
    case DkimResult::Pass: return "pass";
    case DkimResult::Fail: return "fail";
    case DkimResult::Neutral: return "neutral";
    case DkimResult::Policy: return "policy";
    case DkimResult::TempError: return "temperror";
    case DkimResult::PermError: return "permerror";
    }
    return "permerror";
}

namespace {

struct LibCloser {
    void operator()(DKIM_LIB* lib) const { dkim_close(lib); }
};
struct HandleFree {
    void operator()(DKIM* dkim) const { dkim_free(dkim); }
};

// DKIM-Signature fields handed to libopendkim per message (see header()).
constexpr std::uint32_t kMaxSignatureFields = kDkimMaxSignatureFields;

constexpr std::string_view kSha1Refused = "rsa-sha1 not accepted (RFC 8301)";

std::string c_str_or_empty(const unsigned char* s) {
    return s == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(s));
}

}  // namespace

struct DkimVerifier::Library {
    std::unique_ptr<DKIM_LIB, LibCloser> lib;
    std::shared_ptr<dns::Resolver> resolver;
    DkimOptions options;
    bool ed25519 = false;
};

// What happened to one signature outside libopendkim's own bookkeeping.
// A verdict decided before libopendkim's own (in the key lookup or the
// prescreen); no result: the signature is not reported at all.
struct SigNote {
    std::optional<DkimResult> result;
    std::string reason;
};

struct DkimVerifier::Message::State {
    const Library* lib = nullptr;
    dns::Budget* budget = nullptr;  // set only while finish() runs
    std::unique_ptr<DKIM, HandleFree> dkim;
    std::string id;
    std::map<const DKIM_SIGINFO*, SigNote> notes;
    unsigned signature_headers = 0;  // DKIM-Signature fields seen
    bool eoh_done = false;
    bool finished = false;
    bool prev_cr = false;
    DKIM_STAT eoh_status = DKIM_STAT_OK;
    std::vector<std::string> key_names;  // for key_names(), at most kMaxPrefetchedKeys
    std::string scratch;  // reused buffer for headers and body chunks
};

namespace {

using State = DkimVerifier::Message::State;

State* state_of(DKIM* dkim) {
    return static_cast<State*>(dkim_get_user_context(dkim));
}

// libopendkim's prescreen hook: decides which signatures are worth a key
// lookup. Must not throw (C callback).
DKIM_CBSTAT prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int nsigs) noexcept {
    try {
        State* st = state_of(dkim);
        if (st == nullptr) return DKIM_CBSTAT_CONTINUE;
        const auto max = st->lib->options.max_signatures;
        for (int i = 0; i < nsigs; ++i) {
            DKIM_SIGINFO* sig = sigs[i];
            if (static_cast<std::uint32_t>(i) >= max) {
                dkim_sig_ignore(sig);
                st->notes[sig] = {std::nullopt, "beyond max_signatures"};
                continue;
            }
            dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
            if (dkim_sig_geterror(sig) == DKIM_SIGERROR_UNKNOWN &&
                dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK && alg == DKIM_SIGN_RSASHA1) {
                dkim_sig_ignore(sig);
                st->notes[sig] = {DkimResult::Policy, std::string(kSha1Refused)};
            }
        }
        return DKIM_CBSTAT_CONTINUE;
    } catch (...) {
        return DKIM_CBSTAT_ERROR;
    }
}

// libopendkim's key lookup hook: fetches "<s>._domainkey.<d>" TXT through
// dns::Resolver (RFC 6376 section 3.6.2). Must not throw (C callback).
DKIM_CBSTAT key_lookup(DKIM* dkim, DKIM_SIGINFO* sig, unsigned char* buf, size_t buflen) noexcept {
    State* st = nullptr;
    try {
        st = state_of(dkim);
        if (st == nullptr || buf == nullptr || buflen == 0) return DKIM_CBSTAT_ERROR;
        const std::string selector = c_str_or_empty(dkim_sig_getselector(sig));
        const std::string domain = c_str_or_empty(dkim_sig_getdomain(sig));
        if (selector.empty() || domain.empty()) return DKIM_CBSTAT_NOTFOUND;
        const std::string name = selector + "._domainkey." + domain;
        // Keys are fetched only inside finish(), which lends its budget.
        if (st->budget == nullptr) {
            st->notes[sig] = {DkimResult::TempError, "key lookup outside verification"};
            return DKIM_CBSTAT_TRYAGAIN;
        }
        // dns::ask: the answer asked at end of headers, when there is one.
        const dns::Answer answer = dns::ask(*st->lib->resolver, name, dns::Type::TXT, *st->budget);
        switch (answer.status) {
        case dns::Status::NxDomain:
        case dns::Status::NoData:
            // RFC 6376 section 6.1.2 step 3: no key record is a permanent
            // failure ("no key for signature"), never a temporary one.
            return DKIM_CBSTAT_NOTFOUND;
        case dns::Status::ServFail:
        case dns::Status::Timeout:
        case dns::Status::BudgetExhausted:
            // RFC 6376 section 6.1.2 step 2: TEMPFAIL (RFC 8601 temperror).
            st->notes[sig] = {DkimResult::TempError,
                              "key lookup " + std::string(dns::status_name(answer.status))};
            return DKIM_CBSTAT_TRYAGAIN;
        case dns::Status::Ok:
            break;
        }
        if (answer.records.empty()) return DKIM_CBSTAT_NOTFOUND;
        if (answer.records.size() > 1) {
            // RFC 6376 section 3.6.2.2: several TXT records at a selector
            // give undefined results; refuse rather than guess.
            st->notes[sig] = {DkimResult::PermError, "multiple key records"};
            return DKIM_CBSTAT_ERROR;
        }
        const std::string txt = answer.records.front().txt();
        if (txt.size() >= buflen || txt.find('\0') != std::string::npos) {
            st->notes[sig] = {DkimResult::PermError, "key record too large or malformed"};
            return DKIM_CBSTAT_ERROR;
        }
        std::memcpy(buf, txt.data(), txt.size());
        buf[txt.size()] = '\0';
        return DKIM_CBSTAT_CONTINUE;
    } catch (...) {
        if (st != nullptr) {
            try {
                st->notes[sig] = {DkimResult::TempError, "internal error during key lookup"};
            } catch (...) {
            }
        }
        return DKIM_CBSTAT_ERROR;
    }
}

// RFC 8601 section 2.7.1 result for one signature libopendkim processed.
void classify(const State& st, DKIM_SIGINFO* sig, DkimSignatureResult& out) {
    const int error = dkim_sig_geterror(sig);
    const unsigned flags = dkim_sig_getflags(sig);
    const int bh = dkim_sig_getbh(sig);
    dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
    (void)dkim_sig_getsignalg(sig, &alg);

    if (error == DKIM_SIGERROR_OK && (flags & DKIM_SIGFLAG_PASSED) != 0 &&
        bh == DKIM_SIGBH_MATCH) {
        if (alg == DKIM_SIGN_RSASHA1) {  // belt and braces: prescreen ignores these
            out.result = DkimResult::Policy;
            out.reason = std::string(kSha1Refused);
        } else if (alg == DKIM_SIGN_RSASHA256 && out.key_bits < st.lib->options.min_rsa_bits) {
            // RFC 8301 section 3.2: RSA keys under 1024 bits MUST NOT be
            // considered valid.
            out.result = DkimResult::Policy;
            out.reason = "RSA key of " + std::to_string(out.key_bits) +
                         " bits is below the minimum of " +
                         std::to_string(st.lib->options.min_rsa_bits) + " (RFC 8301)";
        } else if (alg == DKIM_SIGN_RSASHA256 || alg == DKIM_SIGN_ED25519SHA256) {
            out.result = DkimResult::Pass;
        } else {
            out.result = DkimResult::Policy;
            out.reason = "unsupported algorithm";
        }
        return;
    }

    const char* text = dkim_sig_geterrorstr(error);
    const std::string detail = text != nullptr ? text : "unknown error";
    switch (error) {
    case DKIM_SIGERROR_BADSIG:
        out.result = DkimResult::Fail;
        out.reason = bh == DKIM_SIGBH_MISMATCH ? "body hash did not verify"
                                                : "signature did not verify";
        return;
    case DKIM_SIGERROR_EXPIRED:
    case DKIM_SIGERROR_FUTURE:
    case DKIM_SIGERROR_SUBDOMAIN:
    case DKIM_SIGERROR_TOOLARGE_L:
    case DKIM_SIGERROR_MBSFAILED:
        out.result = DkimResult::Fail;
        out.reason = detail;
        return;
    case DKIM_SIGERROR_NOKEY:
        out.result = DkimResult::PermError;
        out.reason = "no key";
        return;
    case DKIM_SIGERROR_KEYREVOKED:
        out.result = DkimResult::PermError;
        out.reason = "key revoked";
        return;
    case DKIM_SIGERROR_KEYFAIL:
        out.result = DkimResult::TempError;
        out.reason = "key lookup failed";
        return;
    case DKIM_SIGERROR_DNSSYNTAX:
    case DKIM_SIGERROR_MULTIREPLY:
    case DKIM_SIGERROR_KEYVERSION:
    case DKIM_SIGERROR_KEYUNKNOWNHASH:
    case DKIM_SIGERROR_KEYHASHMISMATCH:
    case DKIM_SIGERROR_NOTEMAILKEY:
    case DKIM_SIGERROR_KEYTYPEMISSING:
    case DKIM_SIGERROR_KEYTYPEUNKNOWN:
    case DKIM_SIGERROR_KEYDECODE:
    case DKIM_SIGERROR_KEYTOOSMALL:
        out.result = DkimResult::PermError;
        out.reason = detail;
        return;
    case DKIM_SIGERROR_UNKNOWN:
        // Never processed: libopendkim gave up on it (its error string says why).
        out.result = DkimResult::PermError;
        out.reason = "not verified";
        return;
    default:
        // Syntax errors in the signature itself (v=, a=, c=, h=, q=, d=,
        // s=, b=, bh=, i=, timestamps): RFC 8601 section 2.7.1 "neutral".
        out.result = DkimResult::Neutral;
        out.reason = detail;
        return;
    }
}

}  // namespace

DkimVerifier::DkimVerifier(std::shared_ptr<dns::Resolver> resolver, DkimOptions options) {
    if (!resolver) throw std::invalid_argument("DkimVerifier needs a resolver");
    if (options.verifier == DkimVerifierKind::Native) {
        native_ = std::make_unique<Native>();
        native_->resolver = std::move(resolver);
        native_->options = options;
        return;
    }
    lib_ = std::make_unique<Library>();
    lib_->resolver = std::move(resolver);
    lib_->options = options;
    lib_->lib.reset(dkim_init(nullptr, nullptr));
    if (!lib_->lib) throw std::runtime_error("dkim_init() failed");
    DKIM_LIB* lib = lib_->lib.get();

    unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES | DKIM_LIBFLAGS_DELAYSIGPROC;
    unsigned int min_bits = 0;
    if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK ||
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &min_bits, sizeof min_bits) !=
            DKIM_STAT_OK ||
        dkim_set_key_lookup(lib, key_lookup) != DKIM_STAT_OK ||
        dkim_set_prescreen(lib, prescreen) != DKIM_STAT_OK)
        throw std::runtime_error("libopendkim refused its verification options");
    lib_->ed25519 = dkim_libfeature(lib, DKIM_FEATURE_ED25519);
    // Parsed public keys are shared between messages (dkim_key_cache.hpp):
    // room for the keys of the busiest few thousand signers, a few MiB.
    dkim_key_cache::enable(4096);
}

DkimVerifier::~DkimVerifier() = default;

bool DkimVerifier::ed25519_supported() const { return native_ ? true : lib_->ed25519; }

std::unique_ptr<DkimVerifier::Message> DkimVerifier::start(std::string_view id) const {
    if (native_) return std::unique_ptr<Message>(new Message(start_native(*native_)));
    auto st = std::make_unique<Message::State>();
    st->lib = lib_.get();
    st->id = id.empty() ? std::string("-") : std::string(id);
    DKIM_STAT status = DKIM_STAT_OK;
    st->dkim.reset(dkim_verify(lib_->lib.get(),
                               reinterpret_cast<const unsigned char*>(st->id.c_str()), nullptr,
                               &status));
    if (!st->dkim) throw std::runtime_error("dkim_verify() failed");
    if (dkim_set_user_context(st->dkim.get(), st.get()) != DKIM_STAT_OK)
        throw std::runtime_error("dkim_set_user_context() failed");
    return std::unique_ptr<Message>(new Message(std::move(st)));
}

DkimVerifier::Message::Message(std::unique_ptr<State> state) : state_(std::move(state)) {}
DkimVerifier::Message::Message(std::unique_ptr<NativeState> state) : native_(std::move(state)) {}
DkimVerifier::Message::~Message() = default;

void DkimVerifier::Message::header(std::string_view name, std::string_view value) {
    if (native_) return native_header(*native_, name, value);
    State& st = *state_;
    if (st.eoh_done || st.finished) return;
    if (util::ascii_iequals(name, "DKIM-Signature")) {
        // libopendkim sets up a body hash for every signature it is given,
        // before the prescreen can ignore any: cap what it sees so that a
        // message with thousands of signatures (each with its own l=) cannot
        // make us hash its body thousands of times. The cap stays well above
        // max_signatures so that a signature covering earlier
        // DKIM-Signature fields (RFC 6376 section 5.4) still verifies.
        if (++st.signature_headers > std::max<std::uint32_t>(st.lib->options.max_signatures,
                                                            kMaxSignatureFields))
            return;
        if (st.signature_headers <= st.lib->options.max_signatures && st.key_names.size() < kMaxPrefetchedKeys)
            if (auto key = dkim_key_record_name(value)) st.key_names.push_back(std::move(*key));
    }
    // RFC 6376 section 3.4: the signer hashed "Name:value" exactly as sent,
    // folds as CRLF; a trailing line end is not part of the field.
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r'))
        value.remove_suffix(1);
    st.scratch.clear();
    st.scratch.append(name);
    st.scratch += ':';
    bool prev_cr = false;
    append_crlf(st.scratch, value, prev_cr);
    (void)dkim_header(st.dkim.get(), reinterpret_cast<unsigned char*>(st.scratch.data()),
                      st.scratch.size());
}

std::vector<std::string> DkimVerifier::Message::key_names() const {
    return native_ ? native_->key_names : state_->key_names;
}

void DkimVerifier::Message::end_of_headers() {
    if (native_) return native_end_of_headers(*native_);
    State& st = *state_;
    if (st.eoh_done || st.finished) return;
    st.eoh_done = true;
    st.eoh_status = dkim_eoh(st.dkim.get());
}

void DkimVerifier::Message::body(std::string_view chunk) {
    if (native_) return native_body(*native_, chunk);
    State& st = *state_;
    if (!st.eoh_done) end_of_headers();
    if (st.finished || st.eoh_status != DKIM_STAT_OK || chunk.empty()) return;
    if (bare_lf(chunk, 0, st.prev_cr) == std::string_view::npos) {
        // libopendkim only reads the buffer; no copy for clean chunks.
        st.prev_cr = chunk.back() == '\r';
        (void)dkim_body(st.dkim.get(), reinterpret_cast<unsigned char*>(const_cast<char*>(chunk.data())),
                        chunk.size());
        return;
    }
    st.scratch.clear();
    append_crlf(st.scratch, chunk, st.prev_cr);
    (void)dkim_body(st.dkim.get(), reinterpret_cast<unsigned char*>(st.scratch.data()),
                    st.scratch.size());
}

std::vector<DkimSignatureResult> DkimVerifier::Message::finish(dns::Budget& budget) {
    if (native_) return native_finish(*native_, budget, static_cast<std::uint64_t>(std::time(nullptr)));
    State& st = *state_;
    std::vector<DkimSignatureResult> results;
    if (st.finished) return results;
    // The budget is lent for this call only: the key lookups libopendkim
    // makes from dkim_eom() charge it.
    struct Lend {
        State& st;
        Lend(State& s, dns::Budget& b) : st(s) { st.budget = &b; }
        ~Lend() { st.budget = nullptr; }
    } lend(st, budget);
    if (!st.eoh_done) end_of_headers();
    st.finished = true;
    if (st.signature_headers == 0) return results;

    bool testkey = false;
    if (st.eoh_status == DKIM_STAT_OK || st.eoh_status == DKIM_STAT_NOSIG)
        (void)dkim_eom(st.dkim.get(), &testkey);

    DKIM_SIGINFO** sigs = nullptr;
    int nsigs = 0;
    if (dkim_getsiglist(st.dkim.get(), &sigs, &nsigs) != DKIM_STAT_OK || sigs == nullptr ||
        nsigs <= 0) {
        // Signatures were present but libopendkim could not set them up.
        const char* err = dkim_geterror(st.dkim.get());
        DkimSignatureResult r;
        r.result = DkimResult::PermError;
        r.reason = std::string("message not verifiable") +
                   (err != nullptr && *err != '\0' ? std::string(": ") + err : std::string());
        results.push_back(std::move(r));
        return results;
    }

    for (int i = 0; i < nsigs; ++i) {
        DKIM_SIGINFO* sig = sigs[i];
        const auto note = st.notes.find(sig);
        if (note != st.notes.end() && !note->second.result) continue;  // beyond max_signatures
        if (results.size() >= st.lib->options.max_signatures) break;

        DkimSignatureResult r;
        r.domain = c_str_or_empty(dkim_sig_getdomain(sig));
        r.selector = c_str_or_empty(dkim_sig_getselector(sig));
        r.algorithm = c_str_or_empty(
            dkim_sig_gettagvalue(sig, false, reinterpret_cast<unsigned char*>(const_cast<char*>("a"))));
        std::string b = c_str_or_empty(
            dkim_sig_gettagvalue(sig, false, reinterpret_cast<unsigned char*>(const_cast<char*>("b"))));
        std::erase_if(b, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
        r.b = std::move(b);
        dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
        (void)dkim_sig_getsignalg(sig, &alg);
        const bool key_applied = (dkim_sig_getflags(sig) & DKIM_SIGFLAG_PASSED) != 0 ||
                                 dkim_sig_geterror(sig) == DKIM_SIGERROR_BADSIG;
        if (key_applied) {
            if (alg == DKIM_SIGN_ED25519SHA256) {
                r.key_bits = 256;  // RFC 8032: a 32-byte public key
            } else {
                unsigned int bits = 0;
                if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK) r.key_bits = bits;
            }
        }
        if (note != st.notes.end()) {
            r.result = *note->second.result;
            r.reason = note->second.reason;
        } else {
            classify(st, sig, r);
        }
        results.push_back(std::move(r));
    }
    return results;
}

}  // namespace auth
