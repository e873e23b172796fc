// Fuzz target: RFC 8601 Authentication-Results. Two halves:
// 1. the raw input as a header value: parse, the lenient authserv-id
//    readers, and re-formatting what parsed; and the property that no
//    header a lenient consumer attributes to mx.example.com survives;
// 2. AuthResult values generated from the input: format -> parse must give
//    them back (control bytes dropped), and the formatted value must never
//    contain a line break that is not a fold, so nothing we copy from a
//    message can add or split a header.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authres.hpp"
#include "fuzz_common.hpp"

namespace {

// A line break is allowed only as part of folding white space (CRLF or LF
// followed by SP/HTAB); a bare CR, or CR/LF followed by anything else,
// would end the header.
void check_no_header_break(const std::string& value, const std::string& context) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\0') fuzz::violation("NUL in formatted header: " + context);
        if (c == '\r') {
            if (i + 1 >= value.size() || value[i + 1] != '\n')
                fuzz::violation("bare CR in formatted header: " + context);
            continue;
        }
        if (c == '\n' && (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t')))
            fuzz::violation("line break not followed by WSP in formatted header: " + context);
    }
}

std::string strip_controls(std::string_view s) {
    std::string out;
    for (unsigned char c : s)
        if (c >= 0x20 && c != 0x7f) out += static_cast<char>(c);
    return out;
}

// A keyword per RFC 5321 (what method, result and property names must be).
std::string keyword(FuzzedDataProvider& in, const char* fallback) {
    static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyz0123456789-";
    std::string out;
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 12);
    for (std::size_t i = 0; i < n; ++i) out += kChars[in.ConsumeIntegralInRange<std::size_t>(0, kChars.size() - 1)];
    while (!out.empty() && out.back() == '-') out.pop_back();
    while (!out.empty() && out.front() == '-') out.erase(out.begin());
    return out.empty() ? std::string(fallback) : out;
}

// Printable ASCII plus the control bytes an attacker would try.
std::string value(FuzzedDataProvider& in, std::size_t max) {
    std::string out;
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, max);
    for (std::size_t i = 0; i < n && in.remaining_bytes() > 0; ++i) {
        const auto b = in.ConsumeIntegral<std::uint8_t>();
        if (b < 0x20) {
            static constexpr char kControls[] = {'\r', '\n', '\t', '\0', '\x01', '\x1b'};
            out += kControls[b % sizeof kControls];
        } else if (b < 0x7f) {
            out += static_cast<char>(b);
        } else {
            static constexpr std::string_view kSpecial = ";\"\\()=/+@. ";
            out += kSpecial[b % kSpecial.size()];
        }
    }
    return out;
}

// Two lenient consumers, modelled here independently of the daemon's own
// reader: what they take for the authserv-id. Both cut the value at the
// first ';'. The "tokenizer" (OpenDMARC, OpenARC) drops comments (nested,
// an unclosed one running to the end), skips every isspace()/iscntrl() byte
// and quote, and joins what is left; the "first word" reader (SpamAssassin's
// AuthRes plugin) removes comments, then takes the first run of bytes that
// are neither white space nor control characters.
std::string tokenizer_reading(std::string_view text) {
    std::string out;
    int depth = 0;
    for (std::size_t i = 0; i < text.size() && text[i] != ';'; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\\' && depth > 0) { ++i; continue; }
        if (c == '(') { ++depth; continue; }
        if (c == ')' && depth > 0) { --depth; continue; }
        if (depth > 0 || c <= 0x20 || c == 0x7f || c == '"' || c == '\\') continue;
        out += static_cast<char>(c);
    }
    return out;
}

std::string first_word_reading(std::string_view text) {
    std::string out;
    int depth = 0;
    for (std::size_t i = 0; i < text.size() && text[i] != ';'; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '(') { ++depth; continue; }
        if (c == ')' && depth > 0) { --depth; continue; }
        if (depth > 0) continue;
        if (c <= 0x20 || c == 0x7f) {
            if (!out.empty()) break;
            continue;
        }
        if (c != '"') out += static_cast<char>(c);
    }
    return out;
}

bool reads_as_ours(std::string reading) {
    while (!reading.empty() && reading.back() == '.') reading.pop_back();
    return fuzz::lower(reading) == "mx.example.com";
}

void raw_half(std::string_view text) {
    if ((reads_as_ours(tokenizer_reading(text)) || reads_as_ours(first_word_reading(text))) &&
        !auth::claims_authserv_id(text, {"mx.example.com"}))
        fuzz::violation("a lenient reader takes this header for ours, yet it would be kept: " +
                        fuzz::printable(text));
    (void)auth::authserv_id_of(text);
    std::string error;
    const auto parsed = auth::parse_authentication_results(text, &error);
    if (!parsed) {
        if (error.empty()) fuzz::violation("parse failed without an error");
        return;
    }
    // An empty quoted-string is a valid RFC 2045 value, so '""' may be an
    // authserv-id; it can never equal ours, so nothing more to check then.
    if (parsed->authserv_id.empty()) return;
    // A header that parses claims its own authserv-id. Except ".": a token,
    // but empty once compared without its trailing dot, and never ours (the
    // config refuses it as authserv_id).
    if (parsed->authserv_id != "." && !auth::claims_authserv_id(text, {parsed->authserv_id}))
        fuzz::violation("parsed header does not claim its authserv-id: " + fuzz::printable(text));
    const std::string again = auth::format_authentication_results(parsed->authserv_id, parsed->results, "\r\n\t");
    check_no_header_break(again, fuzz::printable(text));
    if (!auth::parse_authentication_results(again))
        fuzz::violation("re-formatted header does not parse: " + fuzz::printable(again));
}

void generated_half(FuzzedDataProvider& in) {
    std::string authserv_id = keyword(in, "mx") + "." + keyword(in, "example");
    std::vector<auth::AuthResult> results;
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 4);
    for (std::size_t i = 0; i < n; ++i) {
        auth::AuthResult r;
        r.method = keyword(in, "spf");
        r.result = keyword(in, "pass");
        if (in.ConsumeBool()) r.reason = value(in, 40);
        if (in.ConsumeBool()) r.comment = value(in, 40);
        const std::size_t props = in.ConsumeIntegralInRange<std::size_t>(0, 3);
        for (std::size_t p = 0; p < props; ++p)
            r.properties.emplace_back(keyword(in, "smtp") + "." + keyword(in, "mailfrom"), value(in, 60));
        results.push_back(std::move(r));
    }
    const std::string fold = in.ConsumeBool() ? "\r\n\t" : "";
    const std::string formatted = auth::format_authentication_results(authserv_id, results, fold);
    check_no_header_break(formatted, fuzz::printable(formatted));

    std::string error;
    const auto parsed = auth::parse_authentication_results(formatted, &error);
    if (!parsed) fuzz::violation("formatted header does not parse (" + error + "): " + fuzz::printable(formatted));
    if (fuzz::lower(parsed->authserv_id) != fuzz::lower(authserv_id))
        fuzz::violation("authserv-id changed: " + fuzz::printable(formatted));
    if (parsed->results.size() != results.size())
        fuzz::violation("resinfo count changed: " + fuzz::printable(formatted));
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& want = results[i];
        const auto& got = parsed->results[i];
        if (got.method != want.method || got.result != want.result)
            fuzz::violation("method/result changed: " + fuzz::printable(formatted));
        if (got.reason != strip_controls(want.reason))
            fuzz::violation("reason changed: '" + fuzz::printable(want.reason) + "' -> '" +
                            fuzz::printable(got.reason) + "' in " + fuzz::printable(formatted));
        if (got.properties.size() != want.properties.size())
            fuzz::violation("property count changed: " + fuzz::printable(formatted));
        for (std::size_t p = 0; p < want.properties.size(); ++p) {
            if (got.properties[p].first != want.properties[p].first ||
                got.properties[p].second != strip_controls(want.properties[p].second))
                fuzz::violation("property changed: '" + fuzz::printable(want.properties[p].second) + "' -> '" +
                                fuzz::printable(got.properties[p].second) + "' in " + fuzz::printable(formatted));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    raw_half(std::string_view(reinterpret_cast<const char*>(data), size));
    FuzzedDataProvider in(data, size);
    generated_half(in);
    return 0;
}
