// The XML of one aggregate report, RFC 9990 section 3 and its schema
// (Appendix A; namespace urn:ietf:params:xml:ns:dmarc-2.0).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "report/aggregate.hpp"

namespace report {

inline constexpr std::string_view kFeedbackNamespace = "urn:ietf:params:xml:ns:dmarc-2.0";
// Our extension (RFC 9990 section 4 "Extensible Reporting"): the psd= tag
// of the policy, which the schema's policy_published has no element for.
inline constexpr std::string_view kExtensionNamespace = "urn:connector-milter:dmarc-report:1";

struct ReportMetadata {
    std::string org_name;
    std::string email;
    std::string extra_contact_info;  // "" = left out
    std::string report_id;
    std::int64_t begin = 0, end = 0;  // date_range, both included
    std::string generator;
};

using Rows = std::vector<std::pair<const RowKey*, std::uint64_t>>;

// `rows` may be a part of the report's rows (a report split for a size
// limit); every other element comes from `report`.
std::string feedback_xml(const ReportMetadata& meta, const DomainReport& report, const Rows& rows);

// Text as XML character data: markup characters escaped, bytes that are
// not valid UTF-8 or not allowed in XML 1.0 replaced by '?'.
std::string xml_text(std::string_view text);

}  // namespace report
