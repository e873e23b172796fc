#include "auth/tag_list.hpp"

#include <openssl/evp.h>

namespace auth {

namespace {

constexpr bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
// RFC 6376 section 3.2: VALCHAR = %x21-3A / %x3C-7E (no ";").
constexpr bool is_valchar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x21 && u <= 0x3a) || (u >= 0x3c && u <= 0x7e);
}

std::size_t skip_fws(std::string_view s, std::size_t i) {
    while (i < s.size() && is_fws(s[i])) ++i;
    return i;
}

std::optional<TagList> refuse(std::string* error, std::string why) {
    if (error) *error = std::move(why);
    return std::nullopt;
}

}  // namespace

const Tag* TagList::find(std::string_view name) const {
    for (const auto& t : tags)
        if (t.name == name) return &t;
    return nullptr;
}

std::optional<std::string_view> TagList::get(std::string_view name) const {
    if (const Tag* t = find(name)) return t->value;
    return std::nullopt;
}

std::optional<TagList> parse_tag_list(std::string_view s, std::string* error, std::size_t max_tags) {
    TagList list;
    std::size_t i = 0;
    while (true) {
        i = skip_fws(s, i);
        if (i == s.size()) {
            // tag-list = tag-spec *( ";" tag-spec ) [ ";" ]: nothing at all,
            // or nothing after a ";" that follows a tag, is fine; ";;" is not
            // (caught below as an empty tag name).
            break;
        }
        // tag-name = ALPHA *ALNUMPUNC
        const std::size_t name_begin = i;
        if (!is_alpha(s[i])) return refuse(error, "bad tag name at offset " + std::to_string(i));
        while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_')) ++i;
        const std::string_view name = s.substr(name_begin, i - name_begin);
        i = skip_fws(s, i);
        if (i == s.size() || s[i] != '=')
            return refuse(error, "tag \"" + std::string(name) + "\" without \"=\"");
        ++i;
        Tag tag;
        tag.name = name;
        tag.value_begin = i;
        // tag-value = [ tval *( 1*(WSP / FWS) tval ) ], then [FWS] and ";".
        std::size_t value_first = std::string_view::npos, value_last = 0;
        while (i < s.size() && s[i] != ';') {
            if (is_valchar(s[i])) {
                if (value_first == std::string_view::npos) value_first = i;
                value_last = i + 1;
            } else if (!is_fws(s[i])) {
                return refuse(error, "bad byte in the value of tag \"" + std::string(name) + "\"");
            }
            ++i;
        }
        tag.value_end = i;
        tag.value = value_first == std::string_view::npos ? std::string_view()
                                                          : s.substr(value_first, value_last - value_first);
        if (list.find(name)) return refuse(error, "tag \"" + std::string(name) + "\" repeated");
        if (list.tags.size() >= max_tags) return refuse(error, "too many tags");
        list.tags.push_back(tag);
        if (i == s.size()) break;
        ++i;  // ";"
    }
    return list;
}

std::string strip_fws(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text)
        if (!is_fws(c)) out += c;
    return out;
}

std::optional<std::string> decode_base64(std::string_view text) {
    const std::string clean = strip_fws(text);
    if (clean.size() % 4 != 0) return std::nullopt;
    std::size_t padding = 0;
    for (std::size_t i = 0; i < clean.size(); ++i) {
        const char c = clean[i];
        if (c == '=') {
            // Padding only at the end, at most two.
            if (i + 2 < clean.size()) return std::nullopt;
            ++padding;
            continue;
        }
        if (padding > 0) return std::nullopt;
        if (!(is_alpha(c) || is_digit(c) || c == '+' || c == '/')) return std::nullopt;
    }
    std::string out(clean.size() / 4 * 3, '\0');
    if (clean.empty()) return out;
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
    if (n < 0 || static_cast<std::size_t>(n) < padding) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

}  // namespace auth
