// The signing table and key table lookups (OpenDKIM's model, because the
// administrators who migrate know it).
#include <algorithm>

#include "auth/dkim_sign_options.hpp"
#include "util/ascii.hpp"

namespace auth {

std::string_view dkim_sign_algorithm(DkimKeyType type) {
    return type == DkimKeyType::Ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

std::string DkimSigningKey::dns_record() const {
    // RFC 6376 section 3.6.1; RFC 8463 section 4 for k=ed25519.
    return std::string("v=DKIM1; k=") + (type == DkimKeyType::Ed25519 ? "ed25519" : "rsa") + "; p=" + public_key;
}

bool dkim_pattern_matches(std::string_view pattern, std::string_view text) {
    // Iterative glob with one backtrack point: linear in practice, never
    // exponential on patterns with many stars.
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (p < pattern.size() && util::ascii_lower(pattern[p]) == util::ascii_lower(text[t])) {
            ++p;
            ++t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

namespace {

// OpenDKIM: every "%" of the SigningTable's signer field is the address's
// domain.
std::string expand_percent(std::string_view text, std::string_view domain) {
    std::string out;
    for (const char c : text) {
        if (c == '%') out.append(domain);
        else out += c;
    }
    return out;
}

// Adds the signatures one rule asks for; false when it names an unknown key.
bool add_rule(const DkimSignOptions& options, const DkimSigningRule& rule, const std::string& domain,
              DkimKeySelection& out) {
    for (const std::string& name : rule.keys) {
        // OpenDKIM: the key name "%" stands for the address's domain.
        const std::string key_name = name == "%" ? domain : name;
        const DkimSigningKey* key = options.find_key(key_name);
        if (key == nullptr) {
            out.error = rule.origin + ": no key \"" + key_name + "\" in the key table";
            return false;
        }
        DkimKeyChoice choice;
        choice.key = key;
        choice.domain = key->domain == "%" ? domain : key->domain;
        choice.why = rule.origin + " " + rule.pattern + " -> key " + key->name;
        if (!rule.identity.empty()) {
            const std::string identity = expand_percent(rule.identity, domain);
            if (dkim_identity_fits(identity, choice.domain)) choice.identity = identity;
            else choice.identity_dropped = "i=" + identity + " left out: not in d=" + choice.domain + " (RFC 6376 section 3.5)";
        }
        const bool twice = std::any_of(out.choices.begin(), out.choices.end(), [&](const DkimKeyChoice& c) {
            return c.key == key && c.domain == choice.domain;
        });
        if (!twice) out.choices.push_back(std::move(choice));
    }
    return true;
}

}  // namespace

DkimKeySelection choose_signing_keys(const DkimSignOptions& options, std::string_view local_part,
                                     std::string_view domain_part) {
    DkimKeySelection out;
    const std::string domain = util::dns_name_key(domain_part);
    const std::string local = util::ascii_lower(local_part);
    if (domain.empty()) return out;
    const std::string address = local + "@" + domain;

    // OpenDKIM's order for a plain table (opendkim.c, the signing table walk).
    std::vector<std::string> exact_keys = {address, domain};
    for (std::size_t dot = domain.find('.'); dot != std::string::npos; dot = domain.find('.', dot + 1)) {
        exact_keys.push_back(local + "@" + domain.substr(dot));
        exact_keys.push_back(domain.substr(dot));
    }
    exact_keys.push_back("*");

    std::vector<const DkimSigningRule*> matched;
    for (const std::string& k : exact_keys) {
        for (const auto& rule : options.rules)
            if (rule.kind == DkimSigningRule::Kind::Exact && rule.pattern == k) matched.push_back(&rule);
    }
    for (const auto& rule : options.rules)
        if (rule.kind == DkimSigningRule::Kind::Pattern && dkim_pattern_matches(rule.pattern, address))
            matched.push_back(&rule);

    for (const DkimSigningRule* rule : matched) {
        if (!add_rule(options, *rule, domain, out)) {
            out.choices.clear();
            return out;
        }
        if (!options.multiple_signatures) break;
    }
    return out;
}

}  // namespace auth
