// Fuzz target: the DKIM verifier (auth::DkimVerifier, [dkim] verifier =
// "native", RFC 6376/8301/8463): whole header blocks and bodies, with key
// records published for a few selectors of example.com (an RSA key, an
// Ed25519 key, one of each under the other's k=, a revoked one, one in
// several strings) whose private keys the fuzzer does not have, so that no
// signature can pass. Also: at most max_signatures results, a reason for
// every verdict but pass, and the same verdicts whatever the body's chunks.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/dkim.hpp"
#include "dns/static_zone.hpp"
#include "fuzz_common.hpp"

namespace {

// Public keys (p= values) from ../shared/testdata: Mail::DKIM's
// expirationtest._domainkey.example.org (RSA) and RFC 8463's brisbane
// (Ed25519). The seeds are signed with other keys (tests/unit/
// dkim_adversarial_cases.py): they reach the signature check and fail it.
constexpr const char* kRsa =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC848PMQXuR6V4Tbj3Wb2TN/4Qon0v8ch1WoS0v5wC4/"
    "2FXHaH5g7xNwtIwgfE7kxkSqv1LnS4tUrpHjWcXJhtCkT9wkI0FOVFzKHRc7Gy7vYSFMUCnojiVVQjxY6bnyPLIIP2l/"
    "D++0awe+XCWQsjFZ+CHW5Lo/lQ/bdrUcYEU/QIDAQAB";
constexpr const char* kEd25519 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

std::shared_ptr<dns::Resolver> make_resolver() {
    auto zone = std::make_shared<dns::StaticZone>();
    const auto add = [&](const char* name, std::vector<std::string> strings) {
        dns::Record r;
        r.type = dns::Type::TXT;
        r.strings = std::move(strings);
        zone->add(name, std::move(r));
    };
    add("rsa._domainkey.example.com", {std::string("v=DKIM1; k=rsa; p=") + kRsa});
    add("ed._domainkey.example.com", {std::string("v=DKIM1; k=ed25519; p=") + kEd25519});
    add("ednok._domainkey.example.com", {std::string("v=DKIM1; p=") + kEd25519});
    add("rsaked._domainkey.example.com", {std::string("v=DKIM1; k=ed25519; p=") + kRsa});
    add("revoked._domainkey.example.com", {"v=DKIM1; p="});
    add("strict._domainkey.example.com",
        {"v=DKIM1; t=s; ", std::string("p=") + std::string(kRsa).substr(0, 50), std::string(kRsa).substr(50)});
    return std::make_shared<dns::StaticResolver>(zone);
}

std::vector<auth::DkimSignatureResult> run(const auth::DkimVerifier& verifier,
                                           const std::vector<std::pair<std::string, std::string>>& headers,
                                           std::string_view body, std::size_t chunk) {
    auto message = verifier.start("fuzz");
    for (const auto& [n, v] : headers) message->header(n, v);
    message->end_of_headers();
    for (std::size_t i = 0; i < body.size(); i += chunk) message->body(body.substr(i, chunk));
    dns::Budget budget(8, std::chrono::milliseconds(1000));
    return message->finish(budget);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    static const auth::DkimOptions options = [] {
        auth::DkimOptions o;
        o.verifier = auth::DkimVerifierKind::Native;
        return o;
    }();
    static const auth::DkimVerifier verifier(make_resolver(), options);

    std::string_view body;
    const auto headers = fuzz::split_message(text, body);

    const auto results = run(verifier, headers, body, 4096);
    if (results.size() > options.max_signatures) fuzz::violation("more results than max_signatures");
    for (const auto& r : results) {
        if (r.result == auth::DkimResult::Pass)
            fuzz::violation("a signature passed without a private key: " + fuzz::printable(text));
        if (r.reason.empty()) fuzz::violation("a verdict without a reason: " + fuzz::printable(text));
    }
    const auto chunked = run(verifier, headers, body, 3);
    if (chunked.size() != results.size()) fuzz::violation("chunking changed the number of results");
    for (std::size_t i = 0; i < results.size(); ++i)
        if (chunked[i].result != results[i].result || chunked[i].reason != results[i].reason)
            fuzz::violation("chunking changed a verdict: " + fuzz::printable(text));
    return 0;
}
