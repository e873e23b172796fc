#include "policy/signing.hpp"

namespace policy {

SigningDecision decide_signing(const Connector& connector, bool connector_signs, const SessionRights& rights,
                               LocalSubmission local) {
    const std::string on = "connector \"" + connector.name + "\"";
    if (!connector_signs) return {false, on + " does not sign (dkim_sign = false)"};
    if (local != LocalSubmission::No) return {true, "local submission on " + on};
    if (rights.authenticated) return {true, "authenticated session (" + rights.describe() + ") on " + on};
    if (rights.externally_secured) return {true, "externally secured session on " + on};
    if (rights.rights.has(Right::AcceptAnyRecipient))
        return {true, "session may relay (Ms-Exch-SMTP-Accept-Any-Recipient) on " + on};
    return {false, "anonymous session without relay permission on " + on + ": never signed"};
}

}  // namespace policy
