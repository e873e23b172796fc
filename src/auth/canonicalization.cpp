#include "auth/canonicalization.hpp"

#include <openssl/evp.h>

#include <bit>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdexcept>

#include "util/ascii.hpp"

namespace auth {

namespace {

constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

std::optional<Canon> parse_canon(std::string_view word) {
    if (word == "simple") return Canon::Simple;
    if (word == "relaxed") return Canon::Relaxed;
    return std::nullopt;
}

void canonicalize_header(Canon canon, std::string_view name, std::string_view value, std::string& out) {
    if (canon == Canon::Simple) {
        // Section 3.4.1: the field exactly as it is, "name:value" CRLF.
        out.append(name);
        out += ':';
        out.append(value);
        out += "\r\n";
        return;
    }
    // Section 3.4.2: lower-case name; unfold; every WSP run to one SP; no
    // WSP at the end of the value, nor around the colon.
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    for (char c : name) out += util::ascii_lower(c);
    out += ':';
    bool wsp = false, started = false;
    for (char c : value) {
        if (c == '\r' || c == '\n') continue;  // unfold: CRLF goes, the WSP after it stays
        if (is_wsp(c)) {
            wsp = true;
            continue;
        }
        if (wsp && started) out += ' ';
        wsp = false;
        started = true;
        out += c;
    }
    out += "\r\n";
}

void for_each_signed_name(std::string_view list, const std::function<void(std::string_view)>& fn) {
    while (true) {
        const auto colon = list.find(':');
        std::string_view name = list.substr(0, colon);
        while (!name.empty() && (is_wsp(name.front()) || name.front() == '\r' || name.front() == '\n'))
            name.remove_prefix(1);
        while (!name.empty() && (is_wsp(name.back()) || name.back() == '\r' || name.back() == '\n'))
            name.remove_suffix(1);
        if (!name.empty()) fn(name);
        if (colon == std::string_view::npos) return;
        list.remove_prefix(colon + 1);
    }
}

std::vector<std::size_t> select_signed_headers(std::string_view h_list, std::size_t count,
                                               const std::function<std::string_view(std::size_t)>& name_of) {
    std::vector<std::size_t> out;
    std::vector<bool> used(count, false);
    for_each_signed_name(h_list, [&](std::string_view name) {
        for (std::size_t i = count; i > 0; --i) {
            if (used[i - 1]) continue;
            std::string_view field = name_of(i - 1);
            while (!field.empty() && is_wsp(field.back())) field.remove_suffix(1);
            if (util::ascii_iequals(field, name)) {
                used[i - 1] = true;
                out.push_back(i - 1);
                return;
            }
        }
    });
    return out;
}

std::string without_span(std::string_view value, std::size_t begin, std::size_t end) {
    std::string out(value.substr(0, begin));
    out.append(value.substr(end));
    return out;
}

void drop_final_crlf(std::string& s) {
    if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0) s.resize(s.size() - 2);
}

struct BodyHasher::Hash {
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx;
    std::optional<std::uint64_t> limit;
    std::uint64_t hashed = 0;
    std::string digest;
};

BodyHasher::BodyHasher(Canon canon) : canon_(canon) {}
BodyHasher::~BodyHasher() = default;

bool BodyHasher::has_limit(std::optional<std::uint64_t> limit) const {
    for (const auto& h : hashes_)
        if (h->limit == limit) return true;
    return false;
}

std::size_t BodyHasher::add_limit(std::optional<std::uint64_t> limit) {
    for (std::size_t i = 0; i < hashes_.size(); ++i)
        if (hashes_[i]->limit == limit) return i;
    auto h = std::make_unique<Hash>();
    h->ctx.reset(EVP_MD_CTX_new());
    if (!h->ctx || EVP_DigestInit_ex(h->ctx.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 not available");
    h->limit = limit;
    hashes_.push_back(std::move(h));
    return hashes_.size() - 1;
}

void BodyHasher::emit(std::string_view canonical) {
    length_ += canonical.size();
    for (auto& h : hashes_) {
        std::string_view part = canonical;
        if (h->limit) {
            if (h->hashed >= *h->limit) continue;
            if (part.size() > *h->limit - h->hashed) part = part.substr(0, *h->limit - h->hashed);
        }
        EVP_DigestUpdate(h->ctx.get(), part.data(), part.size());
        h->hashed += part.size();
    }
}

// One content byte of the current line (a CR not followed by LF is content).
void BodyHasher::content(char c) {
    if (canon_ == Canon::Relaxed && is_wsp(c)) {
        // Written as one SP if more content follows on this line; a line
        // of WSP only is an empty line (section 3.4.4).
        pending_wsp_ = true;
        return;
    }
    start_content();
    out_ += c;
}

// Before a content byte: the empty lines held back are written only once
// content follows them, so those at the end of the body are dropped
// (sections 3.4.3 and 3.4.4); a held run of WSP becomes one SP (relaxed
// only: simple never holds one).
void BodyHasher::start_content() {
    if (!line_has_content_) {
        for (; pending_empty_lines_ > 0; --pending_empty_lines_) out_ += "\r\n";
        line_has_content_ = true;
    }
    if (pending_wsp_) out_ += ' ';
    pending_wsp_ = false;
}

void BodyHasher::end_line() {
    pending_wsp_ = false;  // relaxed: WSP at the end of a line goes
    if (line_has_content_) {
        out_ += "\r\n";
        line_has_content_ = false;
    } else {
        ++pending_empty_lines_;
    }
}

namespace {

// The bytes of `w` equal to `c`, as their high bits (exact, no false hits).
constexpr std::uint64_t bytes_equal(std::uint64_t w, unsigned char c) {
    const std::uint64_t x = w ^ (0x0101010101010101ULL * c);
    const std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
    return ~(((x & low7) + low7) | x | low7);
}

}  // namespace

// The first index at or after `from` where relaxed canonicalization has
// work to do: an HTAB, an SP followed by WSP, or an SP that ends the run.
// Sixteen bytes at a time with SSE2 (every x86-64 has it), then eight at a
// time (loaded little-endian), then byte by byte.
static_assert(std::endian::native == std::endian::little, "next_relaxed_change reads words little-endian");
std::size_t BodyHasher::next_relaxed_change(std::string_view run, std::size_t from) {
    std::size_t i = from;
    const std::size_t n = run.size();
#if defined(__SSE2__)
    const __m128i space16 = _mm_set1_epi8(' '), tab16 = _mm_set1_epi8('\t');
    while (i + 17 <= n) {  // byte i + 16 exists: an SP at i + 15 can be judged
        const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(run.data() + i));
        // Bit k: byte i + k is SP / HTAB.
        const auto sp = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(w, space16)));
        const auto ht = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(w, tab16)));
        std::uint32_t wsp = sp | ht;
        if (is_wsp(run[i + 16])) wsp |= 1U << 16;
        // An HTAB, or an SP whose next byte is WSP.
        const std::uint32_t change = ht | (sp & (wsp >> 1));
        if (change != 0) return i + static_cast<std::size_t>(__builtin_ctz(change));
        i += 16;
    }
#endif
    while (i + 9 <= n) {  // byte i + 8 exists: an SP at i + 7 can be judged
        std::uint64_t w;
        std::memcpy(&w, run.data() + i, 8);
        const std::uint64_t sp = bytes_equal(w, ' '), tab = bytes_equal(w, '\t');
        // An HTAB, or an SP whose next byte is WSP (sp and (sp | tab)
        // shifted down one byte: byte k + 1's flag lands on byte k).
        std::uint64_t change = tab | (sp & ((sp | tab) >> 8));
        if ((sp >> 63) != 0 && is_wsp(run[i + 8])) change |= 1ULL << 63;
        if (change != 0) return i + static_cast<std::size_t>(__builtin_ctzll(change) >> 3);
        i += 8;
    }
    for (; i < n; ++i) {
        if (run[i] == '\t') return i;
        if (run[i] == ' ' && (i + 1 == n || is_wsp(run[i + 1]))) return i;
    }
    return n;
}

// Content bytes of the current line without a line end in them (a CR not
// followed by LF is content): written as runs, not byte by byte.
void BodyHasher::content_run(std::string_view run) {
    if (canon_ == Canon::Simple) {
        if (run.empty()) return;
        start_content();
        out_.append(run);
        return;
    }
    std::size_t p = 0;
    while (p < run.size()) {
        if (is_wsp(run[p])) {
            pending_wsp_ = true;
            ++p;
            continue;
        }
        start_content();
        // From a non-WSP byte up to the next HTAB, SP before WSP or SP at
        // the end of the run, relaxed canonicalization changes nothing (a
        // single SP between words stays): copied at once.
        const std::size_t q = next_relaxed_change(run, p + 1);
        out_.append(run.substr(p, q - p));
        p = q;
    }
}

void BodyHasher::body(std::string_view chunk) {
    if (finished_ || chunk.empty()) return;
    out_.clear();
    std::size_t i = 0;
    if (prev_cr_) {
        // The previous chunk ended with a CR: a CRLF split between chunks,
        // or a lone CR (content).
        prev_cr_ = false;
        if (chunk[0] == '\n') {
            end_line();
            i = 1;
        } else {
            content('\r');
        }
    }
    while (i < chunk.size()) {
        const void* hit = std::memchr(chunk.data() + i, '\n', chunk.size() - i);
        if (hit == nullptr) {
            // A partial line: a final CR may start the CRLF of the next chunk.
            std::string_view run = chunk.substr(i);
            if (run.back() == '\r') {
                prev_cr_ = true;
                run.remove_suffix(1);
            }
            content_run(run);
            break;
        }
        const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - chunk.data());
        std::string_view run = chunk.substr(i, lf - i);
        // CRLF, or a bare LF: the MTA's line end.
        if (!run.empty() && run.back() == '\r') run.remove_suffix(1);
        content_run(run);
        end_line();
        i = lf + 1;
    }
    emit(out_);
}

void BodyHasher::finish() {
    if (finished_) return;
    out_.clear();
    if (prev_cr_) content('\r');
    prev_cr_ = false;
    // A last line without CRLF gets one (sections 3.4.3 and 3.4.4).
    if (line_has_content_) end_line();
    // Section 3.4.3: a "simple" empty body is one CRLF; "relaxed" leaves
    // it empty (RFC 6376 erratum 1384 agrees with section 3.4.4).
    if (canon_ == Canon::Simple && length_ == 0 && out_.empty()) out_ = "\r\n";
    emit(out_);
    finished_ = true;
    for (auto& h : hashes_) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(h->ctx.get(), md, &len);
        h->digest.assign(reinterpret_cast<const char*>(md), len);
    }
}

const std::string& BodyHasher::digest(std::size_t index) const { return hashes_.at(index)->digest; }

}  // namespace auth
