// Domain normalisation and the public-suffix-list Organizational Domain.
#include "auth/org_domain.hpp"

#include <idn2.h>
#include <libpsl.h>

#include <cstdlib>
#include <stdexcept>

namespace auth {

namespace {
struct PslFree {
    void operator()(psl_ctx_t* p) const { psl_free(p); }
};
struct CFree {
    void operator()(char* p) const { std::free(p); }
};
}  // namespace

struct PublicSuffixList::Ctx {
    std::unique_ptr<psl_ctx_t, PslFree> psl;
};

std::optional<std::string> normalize_dmarc_domain(std::string_view name) {
    while (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return std::nullopt;
    std::string out;
    bool ascii = true;
    for (char c : name) {
        if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
        if (c == '\0' || c == ' ' || c == '\t' || c == '\r' || c == '\n') return std::nullopt;
    }
    if (ascii) {
        out.assign(name);
    } else {
        char* converted = nullptr;
        const std::string input(name);
        const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()),
                                      reinterpret_cast<uint8_t**>(&converted),
                                      IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        std::unique_ptr<char, CFree> guard(converted);
        if (rc != IDN2_OK || converted == nullptr) return std::nullopt;
        out = converted;
    }
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    // Labels: non-empty, at most 63 octets (RFC 1035 section 2.3.4).
    std::size_t start = 0;
    while (start <= out.size()) {
        const auto dot = out.find('.', start);
        const std::size_t len = (dot == std::string::npos ? out.size() : dot) - start;
        if (len == 0 || len > 63) return std::nullopt;
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    if (out.size() > 253) return std::nullopt;
    return out;
}

std::size_t label_count(std::string_view name) {
    if (name.empty()) return 0;
    std::size_t n = 1;
    for (char c : name)
        if (c == '.') ++n;
    return n;
}

std::string_view last_labels(std::string_view name, std::size_t n) {
    if (n == 0) return {};
    std::size_t pos = name.size();
    for (std::size_t i = 0; i < n; ++i) {
        const auto dot = name.rfind('.', pos == 0 ? 0 : pos - 1);
        if (dot == std::string_view::npos || pos == 0) return name;
        pos = dot;
    }
    return name.substr(pos + 1);
}

std::unique_ptr<PublicSuffixList> PublicSuffixList::load(const std::string& file) {
    auto ctx = std::make_unique<Ctx>();
    if (file.empty()) {
        ctx->psl.reset(psl_latest(nullptr));
        // psl_free() leaves the built-in context alone, so owning it is safe.
        if (!ctx->psl) ctx->psl.reset(const_cast<psl_ctx_t*>(psl_builtin()));
        if (!ctx->psl)
            throw std::runtime_error(
                "libpsl has no built-in public suffix list; set [dmarc] public_suffix_list");
    } else {
        ctx->psl.reset(psl_load_file(file.c_str()));
        if (!ctx->psl) throw std::runtime_error(file + ": cannot load the public suffix list");
    }
    return std::unique_ptr<PublicSuffixList>(new PublicSuffixList(std::move(ctx)));
}

PublicSuffixList::PublicSuffixList(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
PublicSuffixList::~PublicSuffixList() = default;

std::optional<std::string> PublicSuffixList::registrable_domain(std::string_view domain) const {
    const auto norm = normalize_dmarc_domain(domain);
    if (!norm) return std::nullopt;
    const char* r = psl_registrable_domain(ctx_->psl.get(), norm->c_str());
    if (r == nullptr) return std::nullopt;  // points into the input: no free
    return std::string(r);
}

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
    if (auto r = registrable_domain(domain)) return *r;
    const auto norm = normalize_dmarc_domain(domain);
    return norm ? *norm : std::string(domain);
}

}  // namespace auth
