// Parser of the DMARC Policy Record, RFC 9989 sections 4.7 and 4.8.
#include "auth/dmarc_record.hpp"
#include "util/ascii.hpp"

#include <string>

namespace auth {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_wsp(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

// ABNF literal strings are case-insensitive (RFC 5234 section 2.3), so tag
// names and the keyword values compare with util::ascii_iequals; only
// "DMARC1" is case-sensitive (%s"DMARC1").

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits "tag = value" (section 4.8: equals = *WSP "=" *WSP, tag 1*ALPHA).
bool split_tag(std::string_view item, std::string_view& name, std::string_view& value) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return false;
    name = trim_wsp(item.substr(0, eq));
    value = trim_wsp(item.substr(eq + 1));
    if (name.empty()) return false;
    for (char c : name)
        if (!is_alpha(c)) return false;
    return true;
}

std::optional<DmarcPolicy> parse_request(std::string_view v) {
    if (util::ascii_iequals(v, "none")) return DmarcPolicy::None;
    if (util::ascii_iequals(v, "quarantine")) return DmarcPolicy::Quarantine;
    if (util::ascii_iequals(v, "reject")) return DmarcPolicy::Reject;
    return std::nullopt;
}

// dmarc-urilist: only "does it hold something shaped like a URI" matters
// here (section 4.10.1 uses it to decide whether a record with a bad p=
// still applies as p=none). scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool has_uri(std::string_view list) {
    std::size_t pos = 0;
    while (pos <= list.size()) {
        const auto comma = list.find(',', pos);
        const std::string_view item =
            trim_wsp(list.substr(pos, comma == std::string_view::npos ? std::string_view::npos
                                                                      : comma - pos));
        const auto colon = item.find(':');
        if (colon != std::string_view::npos && colon > 0 && colon + 1 < item.size() &&
            is_alpha(item[0])) {
            bool scheme_ok = true;
            for (std::size_t i = 1; i < colon; ++i) {
                const char c = item[i];
                scheme_ok = scheme_ok && (is_alpha(c) || (c >= '0' && c <= '9') || c == '+' ||
                                          c == '-' || c == '.');
            }
            if (scheme_ok) return true;
        }
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return false;
}

}  // namespace

std::string_view dmarc_policy_name(DmarcPolicy p) {
    switch (p) {
    case DmarcPolicy::None: return "none";
    case DmarcPolicy::Quarantine: return "quarantine";
    case DmarcPolicy::Reject: return "reject";
    }
    return "none";
}

std::optional<DmarcRecord> parse_dmarc_record(std::string_view text) {
    DmarcRecord rec;
    bool first = true;
    bool seen_p = false, seen_sp = false, seen_np = false, seen_t = false, seen_adkim = false,
         seen_aspf = false, seen_psd = false, seen_rua = false, seen_fo = false;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto semi = text.find(';', pos);
        const std::string_view item = trim_wsp(text.substr(
            pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
        pos = semi == std::string_view::npos ? text.size() + 1 : semi + 1;
        std::string_view name, value;
        if (first) {
            // Section 4.7 "v": first tag, value exactly "DMARC1", or the
            // whole record is ignored.
            if (!split_tag(item, name, value) || !util::ascii_iequals(name, "v") || value != "DMARC1")
                return std::nullopt;
            first = false;
            continue;
        }
        if (item.empty()) continue;  // trailing ";" (dmarc-record allows [dmarc-sep])
        if (!split_tag(item, name, value) || value.empty()) continue;
        if (util::ascii_iequals(name, "p")) {
            if (seen_p) continue;
            seen_p = true;
            rec.p = parse_request(value);
            rec.p_invalid = !rec.p.has_value();
        } else if (util::ascii_iequals(name, "sp")) {
            if (seen_sp) continue;
            seen_sp = true;
            rec.sp = parse_request(value);
            rec.sp_invalid = !rec.sp.has_value();
        } else if (util::ascii_iequals(name, "np")) {
            if (seen_np) continue;
            seen_np = true;
            rec.np = parse_request(value);
            rec.np_invalid = !rec.np.has_value();
        } else if (util::ascii_iequals(name, "t")) {
            if (seen_t) continue;
            seen_t = true;
            rec.testing = util::ascii_iequals(value, "y");  // anything else: the default "n"
        } else if (util::ascii_iequals(name, "adkim")) {
            if (seen_adkim) continue;
            seen_adkim = true;
            rec.strict_dkim = util::ascii_iequals(value, "s");
        } else if (util::ascii_iequals(name, "aspf")) {
            if (seen_aspf) continue;
            seen_aspf = true;
            rec.strict_spf = util::ascii_iequals(value, "s");
        } else if (util::ascii_iequals(name, "psd")) {
            if (seen_psd) continue;
            seen_psd = true;
            if (util::ascii_iequals(value, "y")) rec.psd = 'y';
            else if (util::ascii_iequals(value, "n")) rec.psd = 'n';
            else rec.psd = 'u';
        } else if (util::ascii_iequals(name, "rua")) {
            if (seen_rua) continue;
            seen_rua = true;
            rec.has_valid_rua = has_uri(value);
            rec.rua = std::string(value);
        } else if (util::ascii_iequals(name, "fo")) {
            if (seen_fo) continue;
            seen_fo = true;
            rec.fo = std::string(value);
        }
        // pct, rf, ri (removed by RFC 9989), ruf and unknown tags: ignored.
    }
    if (first) return std::nullopt;
    return rec;
}

}  // namespace auth
