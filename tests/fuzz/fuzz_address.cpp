// Fuzz target: SMTP paths (RFC 5321) and RFC 5322 mailbox lists, and the
// RCPT relay decision on every path that parses. The invariant checked here
// is the product's first promise: a recipient any of whose routing domains
// is not accepted is never accepted for an anonymous session without
// Ms-Exch-SMTP-Accept-Any-Recipient.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "policy/checks.hpp"

namespace {

const std::vector<fuzz::DomainRule> kRules = {
    {"example.com", false}, {"contoso.net", true}, {"our.example", false}};

const policy::AcceptedDomains& accepted() {
    static const policy::AcceptedDomains domains = [] {
        policy::AcceptedDomains d;
        d.add("example.com", policy::DomainType::Authoritative);
        d.add("*.contoso.net", policy::DomainType::InternalRelay);
        d.add("our.example", policy::DomainType::ExternalRelay);
        return d;
    }();
    return domains;
}

bool ascii_domain_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

// A second opinion on where the raw text could send mail, written without
// the parser: the word after every '@' or '%' and before every '!' once
// quotes and backslashes are taken away (an MTA such as Postfix unquotes the
// address into its internal form and then splits it at the last '@', so
// "\"a\"@exampl\"e.com" routes to example.com). Words with non-ASCII bytes
// are skipped (IDNA mapping is the parser's business).
std::vector<std::string> raw_routing_words(std::string_view quoted) {
    std::string unquoted;
    for (const char c : quoted)
        if (c != '"' && c != '\\') unquoted += c;
    const std::string_view text = unquoted;
    std::vector<std::string> words;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '@' || c == '%') {
            std::size_t j = i + 1;
            while (j < text.size() && ascii_domain_char(static_cast<unsigned char>(text[j]))) ++j;
            const bool clean = j == text.size() || static_cast<unsigned char>(text[j]) < 0x80;
            if (j > i + 1 && clean) words.emplace_back(text.substr(i + 1, j - i - 1));
        } else if (c == '!') {
            std::size_t j = i;
            while (j > 0 && ascii_domain_char(static_cast<unsigned char>(text[j - 1]))) --j;
            const bool clean = j == 0 || static_cast<unsigned char>(text[j - 1]) < 0x80;
            if (j < i && clean) words.emplace_back(text.substr(j, i - j));
        }
    }
    return words;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    (void)policy::parse_mailbox_list(text);

    const auto parsed = policy::parse_smtp_path(text);
    if (!parsed.path) {
        if (parsed.error.empty()) fuzz::violation("path refused without an error");
        return 0;
    }
    const auto& path = *parsed.path;
    // The limit is on the path itself: spaces around it are trimmed first
    // (the hour-long run found 584 spaces around a one-byte path).
    std::string_view trimmed = text;
    while (!trimmed.empty() && trimmed.front() == ' ') trimmed.remove_prefix(1);
    while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
    if (trimmed.size() > policy::kMaxPathLength) fuzz::violation("over-long path accepted");
    if (path.null_path) return 0;
    if (!path.domain.empty() && (path.routing_domains.empty() || path.routing_domains.front() != path.domain))
        fuzz::violation("domain is not the first routing domain: " + fuzz::printable(text));
    (void)path.address();

    const policy::Connector connector;  // Exchange defaults
    policy::SessionRights anonymous;
    anonymous.principals = {policy::Principal{}};
    anonymous.rights = policy::group_rights(policy::PermissionGroup::AnonymousUsers);
    if (anonymous.rights.has(policy::Right::AcceptAnyRecipient))
        fuzz::violation("AnonymousUsers has Accept-Any-Recipient by default");

    const auto verdict = policy::check_rcpt(connector, anonymous, path, 0, accepted());
    if (verdict.ok()) {
        for (const auto& d : path.routing_domains)
            if (!fuzz::domain_accepted(d, kRules))
                fuzz::violation("anonymous relay to " + d + " accepted for " + fuzz::printable(text));
        if (path.routing_domains.empty() && !path.domain.empty())
            fuzz::violation("qualified recipient without routing domains: " + fuzz::printable(text));
        for (const auto& w : raw_routing_words(text))
            if (!fuzz::domain_accepted(w, kRules))
                fuzz::violation("anonymous recipient accepted although the text routes via '" + w +
                                "': " + fuzz::printable(text));
    } else if (verdict.reply.code.empty() || (verdict.reply.code[0] != '4' && verdict.reply.code[0] != '5')) {
        fuzz::violation("refusal without a 4xx/5xx code");
    }

    // With Accept-Any-Recipient, any parsed recipient is accepted.
    policy::SessionRights relay = anonymous;
    relay.rights.add(policy::Right::AcceptAnyRecipient);
    if (!policy::check_rcpt(connector, relay, path, 0, accepted()).ok())
        fuzz::violation("Accept-Any-Recipient refused a parsed recipient: " + fuzz::printable(text));

    // The sender side must not crash either.
    const policy::SenderLoginMap logins;
    (void)policy::check_mail(connector, anonymous, false, path, std::nullopt, accepted(), logins);
    return 0;
}
