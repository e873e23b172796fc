// Our own signing keys' public records as a resolver, for "a message that
// already carries our valid signature is not signed twice" (issue 15):
// the signatures of ours found on a message are verified against these
// records, never against DNS (the published record may lag a key rotation,
// and a DNS failure must not make us sign twice or not at all).
//
// A key table domain of "%" (OpenDKIM: the signing address's domain) signs
// as d=<that domain>, which is known per message only: such a key answers
// for <selector>._domainkey.<any domain>, the name its signature points
// at, whatever the domain (session/message_sign.cpp only counts the
// verdict for a d= and s= that this message's signing choices would make).
#pragma once
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_sign_options.hpp"
#include "dns/resolver.hpp"
#include "dns/static_zone.hpp"

namespace auth {

class DkimOwnKeyResolver final : public dns::Resolver {
public:
    explicit DkimOwnKeyResolver(const std::vector<DkimSigningKey>& keys);
    // Answers without leaving the process; charges `budget` like a real
    // resolver (the verifier's budget accounting stays the same).
    dns::Answer query(std::string_view name, dns::Type type, dns::Budget& budget) override;

private:
    dns::StaticResolver fixed_;  // keys with a fixed domain
    // Keys whose domain is "%", by selector. Two with one selector cannot
    // both be published at one name: the first in the table answers.
    std::map<std::string, dns::Record, std::less<>> any_domain_;
};

}  // namespace auth
