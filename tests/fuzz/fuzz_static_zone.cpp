// Fuzz target: the static zone parser (dns::StaticZone::parse) and its
// answers for every owner name that appears in the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/static_zone.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<dns::ZoneError> errors;
    const auto zone = dns::StaticZone::parse(text, "fuzz.zone", errors);
    for (const auto& e : errors)
        if (e.line <= 0 || e.message.empty()) fuzz::violation("error without line or message: " + e.to_string());

    // Ask for the first word of every line (and its parent) with every type.
    static constexpr dns::Type kTypes[] = {dns::Type::A,   dns::Type::AAAA, dns::Type::TXT, dns::Type::MX,
                                           dns::Type::PTR, dns::Type::CNAME, dns::Type::NS,  dns::Type::SPF};
    std::size_t start = 0;
    int asked = 0;
    while (start < text.size() && asked < 64) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        const std::size_t word_end = line.find_first_of(" \t\r");
        std::string_view name = line.substr(0, word_end);
        if (name.empty()) continue;
        ++asked;
        for (int pass = 0; pass < 2; ++pass) {
            for (auto type : kTypes) {
                const auto answer = zone.answer(name, type);
                if (answer.status == dns::Status::Ok) {
                    if (answer.records.empty()) fuzz::violation("Ok answer without records");
                    for (const auto& r : answer.records)
                        if (r.type != type) fuzz::violation("answer holds a record of another type");
                } else if (!answer.records.empty()) {
                    fuzz::violation("non-Ok answer with records");
                }
                if (type == dns::Type::SPF && answer.status == dns::Status::Ok)
                    fuzz::violation("type SPF answered");
            }
            const auto dot = name.find('.');
            if (dot == std::string_view::npos) break;
            name.remove_prefix(dot + 1);
            if (name.empty()) break;
        }
    }
    return 0;
}
