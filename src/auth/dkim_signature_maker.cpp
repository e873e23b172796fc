#include "auth/dkim_signature_maker.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <map>

#include "auth/crlf.hpp"
#include "util/ascii.hpp"

namespace auth {

namespace {

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

Canon canon_of(DkimCanon c) { return c == DkimCanon::Simple ? Canon::Simple : Canon::Relaxed; }
std::string_view canon_name(DkimCanon c) { return c == DkimCanon::Simple ? "simple" : "relaxed"; }

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return out;
}

// A header value as the milter gave it, with its folds as CRLF and no line
// end of its own (RFC 6376 section 3.4: the field as it is on the wire).
std::string wire_value(std::string_view raw) {
    while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
    std::string out;
    bool prev_cr = false;
    append_crlf(out, raw, prev_cr);
    return out;
}

}  // namespace

const std::vector<std::string>& dkim_default_sign_headers() {
    static const std::vector<std::string> names = {
        "from",          "reply-to",       "subject",     "date",      "to",         "cc",          "resent-date",
        "resent-from",   "resent-sender",  "resent-to",   "resent-cc", "in-reply-to", "references", "list-id",
        "list-help",     "list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive"};
    return names;
}

std::string dkim_quoted_printable(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c >= 0x21 && c <= 0x7e && c != ';' && c != '=') {
            out += ch;
        } else {
            out += '=';
            out += kHex[c >> 4];
            out += kHex[c & 0x0f];
        }
    }
    return out;
}

std::vector<std::string> dkim_signed_header_names(const std::vector<std::pair<std::string, std::string>>& headers,
                                                  const std::vector<std::string>& sign,
                                                  const std::vector<std::string>& oversign) {
    std::vector<std::string> out;
    for (const auto& [name, value] : headers) {
        // Section 5.4: From MUST be signed, whatever the list says.
        bool listed = util::ascii_iequals(name, "from");
        for (std::size_t i = 0; !listed && i < sign.size(); ++i) listed = util::ascii_iequals(name, sign[i]);
        if (listed) out.push_back(name);
    }
    for (const auto& name : oversign)
        if (!name.empty()) out.push_back(name);
    return out;
}

DkimSignatureMaker::DkimSignatureMaker(const Params& params,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       const std::vector<std::string>& h_names)
    : params_(params), body_(canon_of(params.body_canon)) {
    body_.add_limit(std::nullopt);  // never l= (section 8.2): the whole body
    if (params_.key == nullptr || !params_.key->pkey) {
        error_ = "no parsed private key";
        return;
    }
    bool from = false;
    for (const auto& [name, value] : headers) from = from || util::ascii_iequals(name, "from");
    if (!from) {
        // Section 5.4: a signature must cover From:; libopendkim refuses too.
        error_ = "no From: header to sign";
        return;
    }
    // Section 5.4.2: each name in h= takes the lowest instance not yet
    // taken; a name with none left (an oversigned one) adds nothing.
    std::map<std::string, std::size_t> above;  // lower-case name -> search below this index
    const Canon hc = canon_of(params_.header_canon);
    for (const auto& name : h_names) {
        if (!h_tag_.empty()) h_tag_ += ':';
        h_tag_ += name;
        std::size_t& bound = above.try_emplace(util::ascii_lower(name), headers.size()).first->second;
        while (bound > 0) {
            --bound;
            if (util::ascii_iequals(headers[bound].first, name)) {
                canonicalize_header(hc, headers[bound].first, wire_value(headers[bound].second), signed_headers_);
                break;
            }
        }
    }
}

DkimSignatureMaker::~DkimSignatureMaker() = default;

void DkimSignatureMaker::body(std::string_view chunk) {
    if (error_.empty()) body_.body(chunk);
}

std::string DkimSignatureMaker::finish() {
    if (!error_.empty()) return {};
    body_.finish();
    const std::string& bh = body_.digest(0);
    // The tags in libopendkim's order (v a c d s t x bh h b), with i= (which
    // our signatures never carried before) after d=.
    std::string value = "v=1; a=" + std::string(dkim_sign_algorithm(params_.key->type)) +
                        "; c=" + std::string(canon_name(params_.header_canon)) + "/" +
                        std::string(canon_name(params_.body_canon)) + "; d=" + params_.domain;
    if (!params_.identity.empty()) value += "; i=" + dkim_quoted_printable(params_.identity);
    value += "; s=" + params_.key->selector + "; t=" + std::to_string(params_.time);
    if (params_.ttl != 0) value += "; x=" + std::to_string(params_.time + params_.ttl);
    value += "; bh=" + base64(reinterpret_cast<const unsigned char*>(bh.data()), bh.size());
    value += "; h=" + h_tag_ + "; b=";

    // Section 3.7: the selected fields, then this DKIM-Signature with an
    // empty b= and no final CRLF. The MTA writes it as "DKIM-Signature: "
    // and the value (the space is part of it under "simple").
    std::string data = signed_headers_;
    canonicalize_header(canon_of(params_.header_canon), "DKIM-Signature", " " + value, data);
    data.resize(data.size() - 2);
    const std::string b = sign(data);
    if (b.empty()) return {};
    return value + base64(reinterpret_cast<const unsigned char*>(b.data()), b.size());
}

std::string DkimSignatureMaker::sign(std::string_view data) {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    EVP_PKEY* pkey = params_.key->pkey.get();
    std::string out(static_cast<std::size_t>(std::max(EVP_PKEY_get_size(pkey), 0)), '\0');
    std::size_t out_len = out.size();
    if (params_.key->type == DkimKeyType::Rsa) {
        // RFC 6376 section 3.3.1: RSASSA-PKCS1-v1_5 (OpenSSL's default
        // padding for an RSA key) with SHA-256 over the data.
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1 ||
            EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
            error_ = "RSA signing failed";
            return {};
        }
    } else {
        // RFC 8463 section 3: PureEdDSA (Ed25519, RFC 8032) over the
        // SHA-256 hash of the data, not over the data itself.
        unsigned char hash[EVP_MAX_MD_SIZE];
        unsigned int hash_len = 0;
        if (EVP_Digest(data.data(), data.size(), hash, &hash_len, EVP_sha256(), nullptr) != 1) {
            error_ = "SHA-256 failed";
            return {};
        }
        if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey) != 1 ||
            EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len, hash, hash_len) != 1) {
            error_ = "Ed25519 signing failed";
            return {};
        }
    }
    out.resize(out_len);
    return out;
}

}  // namespace auth
