// Fuzz target: ARC header parsing (RFC 8617): the DKIM tag-list parser the
// AMS and AS use, and whole header blocks into auth::ArcVerifier (instances,
// AAR prefix, set structure, tags, body canonicalization), with a resolver
// that holds no key, so that no chain can pass.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/arc.hpp"
#include "auth/tag_list.hpp"
#include "dns/static_zone.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    // Tag-list: spans inside the text, names unique and well formed, each
    // value the span without the FWS around it.
    if (const auto tags = auth::parse_tag_list(text)) {
        for (std::size_t i = 0; i < tags->tags.size(); ++i) {
            const auto& t = tags->tags[i];
            if (t.value_begin > t.value_end || t.value_end > text.size())
                fuzz::violation("tag value span outside the text: " + fuzz::printable(text));
            std::string_view span = text.substr(t.value_begin, t.value_end - t.value_begin);
            while (!span.empty() && auth::is_fws(span.front())) span.remove_prefix(1);
            while (!span.empty() && auth::is_fws(span.back())) span.remove_suffix(1);
            if (span != t.value) fuzz::violation("tag value is not its span trimmed: " + fuzz::printable(text));
            if (t.name.empty() || t.value.find(';') != std::string_view::npos)
                fuzz::violation("empty name or ';' in a value: " + fuzz::printable(text));
            for (std::size_t j = 0; j < i; ++j)
                if (tags->tags[j].name == t.name) fuzz::violation("repeated tag accepted: " + fuzz::printable(text));
        }
    }

    // The input as a message: "Name: value" lines (folds allowed), an empty
    // line, then the body.
    static const auto resolver = std::make_shared<dns::StaticResolver>(std::make_shared<dns::StaticZone>());
    static const auth::ArcVerifier verifier(resolver, auth::ArcOptions{});
    auto message = verifier.start();
    bool any_arc = false;
    std::string_view body;
    for (const auto& [name, value] : fuzz::split_message(text, body)) {
        const std::string lower = fuzz::lower(name);
        if (lower == "arc-seal" || lower == "arc-message-signature" || lower == "arc-authentication-results")
            any_arc = true;
        message->header(name, value);
    }
    message->end_of_headers();
    for (std::size_t i = 0; i < body.size(); i += 13) message->body(body.substr(i, 13));
    dns::Budget budget(4, std::chrono::milliseconds(1000));
    const auth::ArcVerdict v = message->finish(budget);
    if (v.result == auth::ArcResult::Pass) fuzz::violation("a chain passed without any key: " + fuzz::printable(text));
    if (!any_arc && v.result != auth::ArcResult::None)
        fuzz::violation("no ARC header field but not none: " + fuzz::printable(text));
    if (any_arc && v.result == auth::ArcResult::None) fuzz::violation("ARC header fields but none");
    if (v.result == auth::ArcResult::Fail && v.reason.empty()) fuzz::violation("fail without a reason");
    if (v.instances > auth::kArcMaxSets) fuzz::violation("more than 50 instances reported");
    return 0;
}
