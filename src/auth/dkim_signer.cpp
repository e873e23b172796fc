// DKIM signing: every signature, rsa-sha256 and ed25519-sha256, is made by
// auth/dkim_signature_maker.hpp (our canonicalization, OpenSSL, the key
// parsed once at load); that header says why libopendkim no longer signs.
//
// What the signatures carry, and why:
// - The header list: the configured one, or OpenDKIM's default
//   (RFC 6376 section 5.4.1); only the headers present are signed, so a
//   header the MTA adds later (Postfix's Message-ID for a local submission)
//   does not break the signature.
// - Oversigning: From (and what is configured) is listed in h= once more
//   than it occurs, so that a From: added on the way fails the signature
//   (section 8.15).
// - The body length is never limited (no l=, section 8.2).
// - t= is always written, x= when configured (section 3.5).
// - Folding: the value is made on one line and folded inside the b= value
//   only, which verifiers remove before hashing (section 3.7), so the fold
//   can never differ from what was hashed. (libopendkim folded the header
//   it hashed and the one it returned differently with ed25519 and
//   "simple" header canonicalization; the python3-dkim oracle test found it.)
#include "auth/dkim_signer.hpp"

#include <ctime>

#include "auth/crlf.hpp"
#include "auth/dkim_signature_maker.hpp"
#include "util/ascii.hpp"

namespace auth {

namespace {

// The one-line value folded inside the b= value (the last tag) so that its
// lines stay short; "\n\t" folds (a milter header value carries LF only,
// the MTA writes its own line ends).
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

struct DkimSigner::Settings {
    DkimCanon header_canon = DkimCanon::Relaxed;
    DkimCanon body_canon = DkimCanon::Relaxed;
    std::vector<std::string> sign_headers;      // lower case
    std::vector<std::string> oversign_headers;  // as configured
    std::uint64_t ttl = 0;
    std::uint64_t fixed_time = 0;
};

struct DkimSigner::Message::State {
    struct One {
        DkimKeyChoice choice;
        std::unique_ptr<DkimSignatureMaker> maker;  // null once failed or finished
        std::string error;
    };
    std::vector<One> signatures;
    std::string scratch;
    bool prev_cr = false;
    bool finished = false;
};

DkimSigner::DkimSigner(const DkimSignOptions& options) : settings_(std::make_unique<Settings>()) {
    settings_->header_canon = options.header_canon;
    settings_->body_canon = options.body_canon;
    for (const auto& h : options.sign_headers.empty() ? dkim_default_sign_headers() : options.sign_headers)
        settings_->sign_headers.push_back(util::ascii_lower(h));
    settings_->oversign_headers = options.oversign_headers;
    settings_->ttl = static_cast<std::uint64_t>(options.expire.count());
}

DkimSigner::~DkimSigner() = default;

void DkimSigner::set_fixed_time(std::uint64_t seconds) { settings_->fixed_time = seconds; }

std::unique_ptr<DkimSigner::Message> DkimSigner::start(
    std::string_view /*id*/, const std::vector<DkimKeyChoice>& choices,
    const std::vector<std::pair<std::string, std::string>>& headers) const {
    auto st = std::make_unique<Message::State>();
    const std::vector<std::string> h_names =
        dkim_signed_header_names(headers, settings_->sign_headers, settings_->oversign_headers);
    const std::uint64_t now =
        settings_->fixed_time != 0 ? settings_->fixed_time : static_cast<std::uint64_t>(std::time(nullptr));
    for (const DkimKeyChoice& choice : choices) {
        Message::State::One one;
        one.choice = choice;
        DkimSignatureMaker::Params p;
        p.key = choice.key;
        p.domain = choice.domain;
        p.identity = choice.identity;
        p.header_canon = settings_->header_canon;
        p.body_canon = settings_->body_canon;
        p.time = now;
        p.ttl = settings_->ttl;
        one.maker = std::make_unique<DkimSignatureMaker>(p, headers, h_names);
        if (!one.maker->error().empty()) {
            one.error = one.maker->error();
            one.maker.reset();
        }
        st->signatures.push_back(std::move(one));
    }
    return std::unique_ptr<Message>(new Message(std::move(st)));
}

DkimSigner::Message::Message(std::unique_ptr<State> state) : state_(std::move(state)) {}
DkimSigner::Message::~Message() = default;

void DkimSigner::Message::body(std::string_view chunk) {
    State& st = *state_;
    if (st.finished || chunk.empty()) return;
    std::string_view data = chunk;
    if (bare_lf(chunk, 0, st.prev_cr) == std::string_view::npos) {
        st.prev_cr = chunk.back() == '\r';
    } else {
        st.scratch.clear();
        append_crlf(st.scratch, chunk, st.prev_cr);
        data = st.scratch;
    }
    for (auto& one : st.signatures)
        if (one.maker) one.maker->body(data);
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
        sig.identity = one.choice.identity;
        sig.why = one.choice.why;
        if (!one.choice.identity_dropped.empty()) sig.why += "; " + one.choice.identity_dropped;
        sig.error = one.error;
        if (one.maker) {
            const std::string value = one.maker->finish();
            if (value.empty()) sig.error = "signing failed: " + one.maker->error();
            else sig.header_value = fold_b_value(value);
            one.maker.reset();
        }
        out.push_back(std::move(sig));
    }
    return out;
}

}  // namespace auth
