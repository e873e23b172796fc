// The macros an MTA sent (SMFIC_MACRO), kept per command they came with.
//
// A macro packet precedes its command; its values replace those sent for
// the same command before, and those of every later stage, which belonged
// to an earlier message or connection (a second EHLO after STARTTLS, a new
// MAIL, a connection reused after QUIT_NC). A lookup at a stage sees that
// stage's macros first, then those of the stages before it, so that a value
// is always the freshest one the MTA sent for this message.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace milter {

class MacroStore {
public:
    using Views = std::vector<std::pair<std::string_view, std::string_view>>;
    // Macro packets not stored yet: the command each is for, and its macros.
    using Later = std::vector<std::pair<char, Views>>;

    // `stage` is the command byte the macros were sent for (SMFIC_*).
    void define(char stage, const Views& macros);
    // `name` as the MTA spells it ("i", "{daemon_addr}"); a one-letter name
    // also matches its braced form and back, as libmilter does.
    std::optional<std::string> lookup(char stage, std::string_view name) const { return lookup(stage, name, {}); }
    // The same as if `later` had been defined, in order, first.
    std::optional<std::string> lookup(char stage, std::string_view name, const Later& later) const;
    // Forgets the macros of `stage` and every later one (ABORT: from MAIL).
    void clear_from(char stage);
    void clear() { clear_from('C'); }

private:
    static constexpr std::size_t kSlots = 10;
    static std::size_t slot(char stage);
    // Slot i holds the first used_[i] pairs of slots_[i]; the pairs past
    // them keep their buffers for the next definition (an MTA sends the
    // same macros for every message).
    std::array<std::vector<std::pair<std::string, std::string>>, kSlots> slots_;
    std::array<std::size_t, kSlots> used_{};
};

}  // namespace milter
