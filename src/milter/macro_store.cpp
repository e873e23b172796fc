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

void MacroStore::define(char stage, const Views& macros) {
    const std::size_t s = slot(stage);
    if (s >= kSlots) return;  // macros for a command we never ask about
    if (stage != 'U') clear_from(stage);
    // Assigned into the pairs already there, which keeps their buffers.
    auto& pairs = slots_[s];
    if (pairs.size() < macros.size()) pairs.resize(macros.size());
    for (std::size_t i = 0; i < macros.size(); ++i) {
        pairs[i].first.assign(macros[i].first);
        pairs[i].second.assign(macros[i].second);
    }
    used_[s] = macros.size();
}

void MacroStore::clear_from(char stage) {
    const std::size_t s = slot(stage);
    for (std::size_t i = s; i < kSlots; ++i) used_[i] = 0;
}

std::optional<std::string> MacroStore::lookup(char stage, std::string_view name, const Later& later) const {
    // libmilter's smfi_getsymval: "x" also finds "{x}" and "{x}" finds "x".
    std::string alternative;
    if (name.size() == 1) alternative = "{" + std::string(name) + "}";
    else if (name.size() == 3 && name.front() == '{' && name.back() == '}') alternative = std::string(name.substr(1, 1));
    const std::size_t current = slot(stage);
    if (current >= kSlots) return std::nullopt;
    auto find = [&](const auto& pairs, std::size_t used) -> std::optional<std::string> {
        for (std::size_t k = 0; k < used; ++k) {
            const auto& [n, v] = pairs[k];
            if (n == name || (!alternative.empty() && n == alternative)) return std::string(v);
        }
        return std::nullopt;
    };
    // Slot i as it would be after `later`: the last of its packets for slot
    // i or an earlier stage decides (define() clears the later stages).
    auto find_in = [&](std::size_t i) -> std::optional<std::string> {
        const Views* defined = nullptr;
        bool cleared = false;
        for (const auto& [for_stage, views] : later) {
            const std::size_t s = slot(for_stage);
            if (s == i) {
                defined = &views;
                cleared = false;
            } else if (s < i && for_stage != 'U') {
                defined = nullptr;
                cleared = true;
            }
        }
        if (defined) return find(*defined, defined->size());
        if (cleared) return std::nullopt;
        return find(slots_[i], used_[i]);
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
