// Counts in messages: "1 recipient", "2 recipients", never "1 recipient(s)".
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace util {

// `n` followed by `singular`, or by `plural` (default: singular + "s") when
// n is not 1.
inline std::string count_of(std::size_t n, std::string_view singular, std::string_view plural = {}) {
    std::string out = std::to_string(n) + ' ';
    if (n == 1) out += singular;
    else if (!plural.empty()) out += plural;
    else (out += singular) += 's';
    return out;
}

}  // namespace util
