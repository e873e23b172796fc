// Fuzz target: SPF records (RFC 7208). The screen that runs before
// libspf2's parser (auth::spf_record_screen_problem), and for records it
// lets through, a whole check_mailfrom against a static zone that publishes
// the fuzzed record, so libspf2 and our DNS layer see it as they would from
// the internet.
#include <arpa/inet.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/spf.hpp"
#include "dns/static_zone.hpp"
#include "fuzz_common.hpp"

namespace {

dns::Record txt(std::string_view text) {
    dns::Record r;
    r.type = dns::Type::TXT;
    r.ttl = 300;
    // RFC 1035 section 3.3: character-strings of at most 255 octets.
    do {
        r.strings.emplace_back(text.substr(0, 255));
        text.remove_prefix(std::min<std::size_t>(255, text.size()));
    } while (!text.empty());
    return r;
}

dns::Record a(const char* dotted) {
    dns::Record r;
    r.type = dns::Type::A;
    r.ttl = 300;
    inet_pton(AF_INET, dotted, r.address.data());
    return r;
}

bool is_spf_text(std::string_view s) {
    return s.size() >= 6 && fuzz::lower(s.substr(0, 6)) == "v=spf1" && (s.size() == 6 || s[6] == ' ');
}

void full_check(const std::string& record, bool v6) {
    auto zone = std::make_shared<dns::StaticZone>();
    zone->add("fuzz.example", txt(record));
    zone->add("fuzz.example", a("192.0.2.1"));
    dns::Record mx;
    mx.type = dns::Type::MX;
    mx.ttl = 300;
    mx.target = "mx.fuzz.example";
    mx.preference = 10;
    zone->add("fuzz.example", mx);
    zone->add("mx.fuzz.example", a("192.0.2.2"));
    zone->add("inc.fuzz.example", txt("v=spf1 ip4:192.0.2.0/24 -all"));
    zone->add("loop.fuzz.example", txt("v=spf1 include:loop.fuzz.example -all"));
    zone->add("slow.fuzz.example", a("192.0.2.3"));
    zone->add_failure("slow.fuzz.example", dns::Status::Timeout);

    auto resolver = std::make_shared<dns::StaticResolver>(zone);
    const auth::SpfChecker checker(resolver);
    const auto client = policy::IpAddress::parse(v6 ? "2001:db8::1" : "192.0.2.1");
    dns::Budget budget(30, std::chrono::milliseconds(2000));
    const auto verdict = checker.check_mailfrom(*client, "helo.fuzz.example", "user@fuzz.example",
                                                "mx.receiver.example", budget);
    for (const std::string* s : {&verdict.explanation, &verdict.received_spf, &verdict.comment})
        for (const unsigned char c : *s)
            if (c == '\r' || c == '\n' || c == '\0')
                fuzz::violation("line break or NUL in SPF output: " + fuzz::printable(*s));
    if (resolver->queries() > 30) fuzz::violation("more DNS queries than the budget allows");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 4096) return 0;  // a TXT answer fits in 64 KiB; records this long teach nothing more
    std::string record(reinterpret_cast<const char*>(data), size);
    if (!is_spf_text(record)) record = "v=spf1 " + record;
    const std::string problem = auth::spf_record_screen_problem(record);
    if (!problem.empty()) return 0;
    full_check(record, (size & 1) != 0);
    return 0;
}
