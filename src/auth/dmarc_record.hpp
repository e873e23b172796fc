// The DMARC Policy Record (RFC 9989 section 4.7 tags, section 4.8 formal
// definition): a DKIM-style tag-value list published at _dmarc.<domain>.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace auth {

enum class DmarcPolicy : std::uint8_t { None, Quarantine, Reject };
std::string_view dmarc_policy_name(DmarcPolicy p);  // "none", "quarantine", "reject"

struct DmarcRecord {
    // Policies as published; empty when the tag is absent or invalid.
    std::optional<DmarcPolicy> p, sp, np;
    // A tag was present with a value outside the grammar (section 4.10.1
    // tells what then happens to the whole record).
    bool p_invalid = false, sp_invalid = false, np_invalid = false;
    bool testing = false;      // t=y
    bool strict_dkim = false;  // adkim=s
    bool strict_spf = false;   // aspf=s
    char psd = 'u';            // psd=y|n|u
    bool has_valid_rua = false;  // rua= holds at least one URI-looking entry
    // The rua= value as published, for aggregate reports (RFC 9990); "" when absent.
    std::string rua;
    std::string fo;  // fo= as published (reported in policy_published), "" when absent
};

// Parses one TXT string. Returns nullopt when it is not a DMARC record at
// all (section 4.7: "v" must be the first tag and its value exactly
// "DMARC1"; such records are discarded). Unknown tags, and pct/rf/ri which
// RFC 9989 removed, are ignored; a tag with a bad value is treated as
// absent (section 4.8: "syntax errors ... discarded in favor of default
// values"). The first occurrence of a repeated tag wins.
std::optional<DmarcRecord> parse_dmarc_record(std::string_view text);

}  // namespace auth
