// Fuzz target: the DMARC policy record parser (RFC 9989 section 4.7/4.8).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "auth/dmarc_record.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto record = auth::parse_dmarc_record(text);
    if (!record) return 0;
    // Section 4.7: "v" is the first tag and its value is "DMARC1"; a record
    // that does not start that way is not a DMARC record.
    std::string_view rest = text;
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t' || rest.front() == '\r' ||
                             rest.front() == '\n'))
        rest.remove_prefix(1);
    if (rest.empty() || (rest.front() != 'v' && rest.front() != 'V'))
        fuzz::violation("record accepted without a leading v= tag: " + fuzz::printable(text));
    if (text.find("DMARC1") == std::string_view::npos && text.find("dmarc1") == std::string_view::npos &&
        fuzz::lower(text).find("dmarc1") == std::string::npos)
        fuzz::violation("record accepted without DMARC1: " + fuzz::printable(text));
    // An invalid tag value is treated as absent (section 4.8).
    if ((record->p_invalid && record->p) || (record->sp_invalid && record->sp) || (record->np_invalid && record->np))
        fuzz::violation("a policy tag is both invalid and set");
    if (record->psd != 'y' && record->psd != 'n' && record->psd != 'u') fuzz::violation("psd outside y/n/u");
    (void)auth::dmarc_policy_name(record->p.value_or(auth::DmarcPolicy::None));
    return 0;
}
