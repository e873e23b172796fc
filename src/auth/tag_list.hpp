// The DKIM tag=value list (RFC 6376 section 3.2), the syntax of
// DKIM-Signature, DKIM key records and the ARC-Seal and
// ARC-Message-Signature header fields (RFC 8617 section 4.1). libopendkim
// parses DKIM-Signature itself; this parser serves the ARC verifier
// (arc.hpp), which needs the value spans too (the b= value is deleted before
// hashing, RFC 6376 section 3.7).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auth {

struct Tag {
    std::string_view name;   // case-sensitive (RFC 6376 section 3.2)
    std::string_view value;  // without the FWS around it; FWS inside kept
    // Where the value starts and ends in the parsed text (after "=" and
    // before the ";" or end, FWS included): the span that is emptied when
    // the b= value is "deleted (treated as the empty string)".
    std::size_t value_begin = 0, value_end = 0;
};

// A parsed tag-list. Refused (nullopt, `error` says why): a tag name that
// is not ALPHA *(ALPHA / DIGIT / "_"), a missing "=", a value byte outside
// VALCHAR (%x21-3A / %x3C-7E) or WSP/FWS, an empty tag-spec (";;"), and a
// repeated tag name ("the entire tag-list is invalid"). A final ";" is
// allowed. At most `max_tags` tags (a bound on work for hostile input).
struct TagList {
    std::vector<Tag> tags;
    // The tag's value, or nullopt when the tag is absent.
    std::optional<std::string_view> get(std::string_view name) const;
    const Tag* find(std::string_view name) const;
};
inline constexpr std::size_t kMaxTags = 64;
std::optional<TagList> parse_tag_list(std::string_view text, std::string* error = nullptr,
                                      std::size_t max_tags = kMaxTags);

// FWS as this module reads it: SP, HTAB, CR, LF.
constexpr bool is_fws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// The text with every FWS byte removed (b=, bh= and p= values: RFC 6376
// section 3.5 "whitespace is ignored in this value").
std::string strip_fws(std::string_view text);
// Strict base64 (RFC 4648 section 4) after strip_fws: nullopt on a bad
// character, a bad length or misplaced padding.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace auth
