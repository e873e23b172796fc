#include "milter/macro_store.hpp"

#include <string_view>

namespace milter {

namespace {
// The stages in the order of an SMTP transaction; UNKNOWN (a command the
// MTA does not know) may come anywhere and sees only its own macros and the
// connection's.
constexpr std::string_view kOrder = "CHMRTLNBEU";
}  // namespace

std::size_t MacroStore::slot(char stage) {
    const auto i = kOrder.find(stage);
    return i == std::string_view::npos ? kSlots : i;
}

void MacroStore::define(char stage, std::vector<std::pair<std::string, std::string>> macros) {
    const std::size_t s = slot(stage);
    if (s >= kSlots) return;  // macros for a command we never ask about
    if (stage != 'U') clear_from(stage);
    slots_[s] = std::move(macros);
}

void MacroStore::clear_from(char stage) {
    const std::size_t s = slot(stage);
    for (std::size_t i = s; i < kSlots; ++i) slots_[i].clear();
}

std::optional<std::string> MacroStore::lookup(char stage, std::string_view name) const {
    // libmilter's smfi_getsymval: "x" also finds "{x}" and "{x}" finds "x".
    std::string alternative;
    if (name.size() == 1) alternative = "{" + std::string(name) + "}";
    else if (name.size() == 3 && name.front() == '{' && name.back() == '}') alternative = std::string(name.substr(1, 1));
    const std::size_t current = slot(stage);
    if (current >= kSlots) return std::nullopt;
    auto find_in = [&](std::size_t i) -> std::optional<std::string> {
        for (const auto& [n, v] : slots_[i])
            if (n == name || (!alternative.empty() && n == alternative)) return v;
        return std::nullopt;
    };
    if (auto v = find_in(current)) return v;
    // UNKNOWN: only the connection's and HELO's macros besides its own.
    const std::size_t from = stage == 'U' ? 1 : current - (current > 0 ? 1 : 0);
    if (current == 0) return std::nullopt;
    for (std::size_t i = from + 1; i-- > 0;)
        if (auto v = find_in(i)) return v;
    return std::nullopt;
}

}  // namespace milter
