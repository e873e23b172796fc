#include "auth/dkim_own_keys.hpp"

#include "util/ascii.hpp"

namespace auth {

namespace {

// RFC 6376 section 3.6.2.2: the key record as TXT character-strings of at
// most 255 octets (RFC 1035 section 3.3).
dns::Record txt_of(const DkimSigningKey& key) {
    dns::Record txt;
    txt.type = dns::Type::TXT;
    const std::string record = key.dns_record();
    for (std::size_t i = 0; i < record.size(); i += 255) txt.strings.push_back(record.substr(i, 255));
    return txt;
}

std::shared_ptr<const dns::StaticZone> fixed_zone(const std::vector<DkimSigningKey>& keys) {
    auto zone = std::make_shared<dns::StaticZone>();
    for (const auto& key : keys)
        if (key.domain != "%") zone->add(key.selector + "._domainkey." + key.domain, txt_of(key));
    return zone;
}

}  // namespace

DkimOwnKeyResolver::DkimOwnKeyResolver(const std::vector<DkimSigningKey>& keys) : fixed_(fixed_zone(keys)) {
    for (const auto& key : keys)
        if (key.domain == "%") any_domain_.try_emplace(key.selector, txt_of(key));
}

dns::Answer DkimOwnKeyResolver::query(std::string_view name, dns::Type type, dns::Budget& budget) {
    dns::Answer answer = fixed_.query(name, type, budget);
    if (answer.status != dns::Status::NxDomain || type != dns::Type::TXT || any_domain_.empty()) return answer;
    // RFC 6376 section 3.6.2.1: <selector>._domainkey.<d=>.
    const std::string key = util::dns_name_key(name);
    constexpr std::string_view kLabel = "._domainkey.";
    const std::size_t at = key.find(kLabel);
    if (at == std::string::npos || at + kLabel.size() == key.size()) return answer;
    const auto found = any_domain_.find(std::string_view(key).substr(0, at));
    if (found == any_domain_.end()) return answer;
    answer.status = dns::Status::Ok;
    answer.records = {found->second};
    return answer;
}

}  // namespace auth
