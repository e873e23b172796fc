#include "report/destinations.hpp"

#include "auth/dmarc_record.hpp"
#include "util/ascii.hpp"

namespace report {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 section 2.1 percent-decoding; nullopt on a broken escape or a
// decoded control character (the address goes into a header field).
std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f || c == '<' || c == '>' || c == ',' || c == '"')
            return std::nullopt;
        out += c;
    }
    return out;
}

// RFC 7489 section 6.2: size = 1*DIGIT [ "k" / "m" / "g" / "t" ], units
// powers of two.
std::optional<std::uint64_t> parse_size(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t shift = 0;
    const char unit = static_cast<char>(util::ascii_lower(std::string(1, s.back()))[0]);
    if (unit == 'k') shift = 10;
    else if (unit == 'm') shift = 20;
    else if (unit == 'g') shift = 30;
    else if (unit == 't') shift = 40;
    if (shift) s.remove_suffix(1);
    if (s.empty() || s.size() > 15) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (shift && v > (UINT64_MAX >> shift)) return std::nullopt;
    return v << shift;
}

bool is_subdomain_or_same(std::string_view name, std::string_view domain) {
    if (domain.empty()) return false;
    if (name == domain) return true;
    return name.size() > domain.size() && name.compare(name.size() - domain.size(), domain.size(), domain) == 0 &&
           name[name.size() - domain.size() - 1] == '.';
}

}  // namespace

std::vector<Destination> parse_rua(std::string_view rua, std::vector<std::string>* problems) {
    std::vector<Destination> out;
    std::size_t pos = 0;
    while (pos <= rua.size()) {
        const auto comma = rua.find(',', pos);
        const std::string_view item =
            trim(rua.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
        pos = comma == std::string_view::npos ? rua.size() + 1 : comma + 1;
        if (item.empty()) continue;
        auto problem = [&](std::string why) {
            if (problems) problems->push_back("\"" + std::string(item) + "\": " + why);
        };
        Destination d;
        d.uri = std::string(item);
        std::string_view uri = item;
        if (const auto bang = uri.rfind('!'); bang != std::string_view::npos) {
            d.max_size = parse_size(uri.substr(bang + 1));
            if (!d.max_size) {
                problem("the size limit does not parse");
                continue;
            }
            uri = uri.substr(0, bang);
        }
        if (uri.size() < 7 || !util::ascii_iequals(uri.substr(0, 7), "mailto:")) {
            problem("not a mailto: URI (the only scheme reports are sent to)");
            continue;
        }
        uri.remove_prefix(7);
        // RFC 6068: "?" starts header fields, which are not ours to set.
        uri = uri.substr(0, uri.find('?'));
        const auto address = percent_decode(uri);
        if (!address || address->empty()) {
            problem("the address does not decode");
            continue;
        }
        const auto at = address->rfind('@');
        if (at == std::string::npos || at == 0 || at + 1 == address->size() || address->find('@') != at) {
            problem("not a single local@domain address");
            continue;
        }
        d.address = *address;
        d.host = util::ascii_lower(address->substr(at + 1));
        if (!d.host.empty() && d.host.back() == '.') d.host.pop_back();
        out.push_back(std::move(d));
    }
    return out;
}

bool suppressed(const Destination& d, const std::vector<std::string>& suppress) {
    for (const auto& entry : suppress) {
        if (entry.find('@') != std::string::npos) {
            if (util::ascii_iequals(entry, d.address)) return true;
        } else if (is_subdomain_or_same(d.host, util::ascii_lower(entry))) {
            return true;
        }
    }
    return false;
}

VerifiedDestinations verify_destination(const Destination& d, std::string_view policy_domain,
                                        std::string_view organizational_domain, dns::Resolver& resolver) {
    VerifiedDestinations v;
    const std::string org = util::ascii_lower(organizational_domain.empty() ? policy_domain : organizational_domain);
    // Names at or below the Organizational Domain have it as theirs.
    if (is_subdomain_or_same(d.host, org)) {
        v.verification = Verification::Internal;
        v.destinations.push_back(d);
        return v;
    }
    // Steps 1-4: <policy-domain>._report._dmarc.<destination host>, within
    // DNS limits (RFC 1035 section 2.3.4: 253 characters as text).
    const std::string name = util::ascii_lower(policy_domain) + "._report._dmarc." + d.host;
    if (name.size() > 253) {
        v.note = name.substr(0, 40) + "...: longer than a DNS name may be";
        return v;
    }
    dns::Budget budget = dns::Budget::unlimited();
    const dns::Answer answer = resolver.query(name, dns::Type::TXT, budget);
    if (dns::is_temporary(answer.status)) {
        v.verification = Verification::TempError;
        v.note = name + ": " + std::string(dns::status_name(answer.status));
        return v;
    }
    // Steps 6-8: any record that parses as a DMARC record (v=DMARC1 first).
    std::optional<auth::DmarcRecord> found;
    for (const auto& rr : answer.records) {
        if (rr.type != dns::Type::TXT) continue;
        if (auto rec = auth::parse_dmarc_record(rr.txt())) {
            found = std::move(rec);
            break;
        }
    }
    if (!found) {
        v.note = "no v=DMARC1 record at " + name + " (" + std::string(dns::status_name(answer.status)) +
                 "): " + d.host + " did not agree to receive reports for " + std::string(policy_domain);
        return v;
    }
    v.verification = Verification::Authorized;
    // Step 9: the consumer's own rua= replaces ours, if it stays on its host.
    if (!found->rua.empty()) {
        auto overrides = parse_rua(found->rua, nullptr);
        for (const auto& o : overrides) {
            if (o.host != d.host) {
                v.verification = Verification::Refused;
                v.note = name + " redirects reports to another host (" + o.host + "): neither is used";
                return v;
            }
        }
        if (!overrides.empty()) {
            v.destinations = std::move(overrides);
            v.note = "rua= replaced by the one at " + name;
            return v;
        }
    }
    v.destinations.push_back(d);
    return v;
}

}  // namespace report
