#include "policy/sender_login_map.hpp"


#include "policy/accepted_domains.hpp"
#include "util/ascii.hpp"

namespace policy {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// "local@domain" or "@domain" in the form the map stores: local part
// lower-cased, domain normalised (A-labels). nullopt if unusable.
std::optional<std::string> map_key(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos) return std::nullopt;
    const auto domain = normalize_domain(address.substr(at + 1));
    if (!domain) return std::nullopt;
    return util::ascii_lower(address.substr(0, at)) + "@" + *domain;
}

}  // namespace

bool SenderLoginMap::add_line(std::string_view line, std::string* error) {
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i])) ++i;
    if (i == line.size() || line[i] == '#') return true;
    std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    const std::string_view address = line.substr(start, i - start);
    const auto key = map_key(address);
    if (!key) {
        if (error) *error = "'" + std::string(address) + "' is not user@domain or @domain";
        return false;
    }
    std::set<std::string> logins;
    while (i < line.size()) {
        while (i < line.size() && (is_space(line[i]) || line[i] == ',')) ++i;
        start = i;
        while (i < line.size() && !is_space(line[i]) && line[i] != ',') ++i;
        if (i > start) {
            const std::string_view login = line.substr(start, i - start);
            for (const char ch : login) {
                if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
                    if (error) *error = "login for '" + std::string(address) + "' contains a control byte";
                    return false;
                }
            }
            logins.insert(util::ascii_lower(login));
        }
    }
    if (logins.empty()) {
        if (error) *error = "'" + std::string(address) + "' has no login (expected: address login[,login...])";
        return false;
    }
    logins_by_address_[*key].merge(logins);
    return true;
}

bool SenderLoginMap::allows(std::string_view login, std::string_view address) const {
    if (login.empty() || address.empty()) return false;
    const std::string who = util::ascii_lower(login);
    const auto key = map_key(address);
    if (!key) return false;
    // The login itself is an address: it may always send as itself
    // (Exchange's mailbox owner has Send-As on its own mailbox).
    if (const auto login_key = map_key(who); login_key && *login_key == *key) return true;
    const auto listed = [&](const std::string& k) {
        const auto it = logins_by_address_.find(k);
        return it != logins_by_address_.end() && it->second.count(who) != 0;
    };
    return listed(*key) || listed(key->substr(key->rfind('@')));
}

}  // namespace policy
