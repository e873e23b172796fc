// Line ends as DKIM hashes them (RFC 6376 section 3.4: CRLF). Milters may
// see bare LF (sendmail, some Postfix set-ups); both the verifier and the
// signer feed libopendkim through these.
#pragma once
#include <cstring>
#include <string>
#include <string_view>

namespace auth {

// Where the first LF at or after `from` that does not follow a CR is, or
// npos. `prev_cr`: the byte before `text` (the end of the previous chunk)
// was a CR.
inline std::size_t bare_lf(std::string_view text, std::size_t from, bool prev_cr) {
    while (from < text.size()) {
        const void* hit = std::memchr(text.data() + from, '\n', text.size() - from);
        if (!hit) return std::string_view::npos;
        const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
        if (lf == 0 ? !prev_cr : text[lf - 1] != '\r') return lf;
        from = lf + 1;
    }
    return std::string_view::npos;
}

// Appends `text` with every bare LF turned into CRLF. `prev_cr` carries
// "the last byte appended was CR" across calls (a CRLF may be split between
// two body chunks).
inline void append_crlf(std::string& out, std::string_view text, bool& prev_cr) {
    // Copies the runs between bare LFs at once; only a bare LF costs a byte.
    std::size_t start = 0;
    for (std::size_t lf = bare_lf(text, 0, prev_cr); lf != std::string_view::npos; lf = bare_lf(text, lf + 1, false)) {
        out.append(text.data() + start, lf - start);
        out += "\r\n";
        start = lf + 1;
    }
    out.append(text.data() + start, text.size() - start);
    if (!text.empty()) prev_cr = text.back() == '\r';
}

}  // namespace auth
