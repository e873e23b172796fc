// Fuzz target: the native milter engine's wire layer. The input is a byte
// stream as an MTA (or an attacker on the milter socket) would send it,
// fed to PacketReader in pieces whose sizes come from the input too; every
// packet is then parsed with parse_command and its macros stored. Checked:
// - the reader never holds more than the largest packet plus its length
//   field, and never hands out a packet longer than its command's limit;
// - splitting the stream differently gives the same packets;
// - a parsed command's strings hold no NUL (they came NUL-terminated), and
//   re-encoding a packet and reading it back gives it unchanged.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "milter/command.hpp"
#include "milter/macro_store.hpp"
#include "milter/packet.hpp"

namespace {

using milter::wire::Packet;
using milter::wire::PacketReader;

std::size_t limit_for(char command) {
    return command == 'B' || command == 'E' ? milter::wire::kMaxBodyPacketLength : milter::wire::kMaxPacketLength;
}

// Feeds `stream` in pieces of `step` bytes (1..): the packets read, and
// whether the stream broke.
milter::wire::Batch read_all(const std::string& stream, std::size_t step, bool* broken) {
    PacketReader reader;
    milter::wire::Batch packets;
    *broken = false;
    for (std::size_t pos = 0; pos < stream.size(); pos += step) {
        const std::size_t n = std::min(step, stream.size() - pos);
        if (reader.feed(stream.data() + pos, n, packets) != PacketReader::Status::Ok) {
            *broken = true;
            break;
        }
        if (reader.buffered() > milter::wire::kMaxBodyPacketLength + 4)
            fuzz::violation("reader holds " + std::to_string(reader.buffered()) + " bytes");
    }
    return packets;
}

void check_no_nul(std::string_view s, const char* what) {
    if (s.find('\0') != std::string::npos) fuzz::violation(std::string("NUL inside a parsed ") + what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // First byte: the read size for the second pass (1..256).
    const std::size_t step = std::size_t{data[0]} + 1;
    const std::string stream(reinterpret_cast<const char*>(data) + 1, size - 1);

    bool broken_whole = false, broken_split = false;
    const auto whole = read_all(stream, stream.size() + 1, &broken_whole);
    const auto split = read_all(stream, step, &broken_split);
    if (whole.size() != split.size() || broken_whole != broken_split)
        fuzz::violation("the packets depend on how the stream was split");

    milter::MacroStore macros;
    for (std::size_t i = 0; i < whole.size(); ++i) {
        const Packet& p = whole[i];
        if (p.command != split[i].command || p.data != split[i].data)
            fuzz::violation("packet " + std::to_string(i) + " differs between the two splits");
        if (p.data.size() + 1 > limit_for(p.command)) fuzz::violation("packet over its command's limit");

        std::string encoded;
        milter::wire::append_packet(encoded, p.command, p.data);
        bool broken = false;
        const auto again = read_all(encoded, encoded.size(), &broken);
        if (broken || again.size() != 1 || again[0].command != p.command || again[0].data != p.data)
            fuzz::violation("re-encoding a packet changed it");

        std::string why;
        const auto c = milter::parse_command(p, &why);
        if (!c) {
            if (why.empty()) fuzz::violation("a refused command without a reason");
            continue;
        }
        check_no_nul(c->value, "value");
        for (const auto& a : c->args) check_no_nul(a, "argument");
        for (const auto& [n, v] : c->macros) {
            check_no_nul(n, "macro name");
            check_no_nul(v, "macro value");
        }
        if (c->code == milter::cmd::kHelo || c->code == milter::cmd::kHeader || c->code == milter::cmd::kConnect)
            check_no_nul(c->text, "name");
        if (c->code == milter::cmd::kMacro) {
            // A lookup with the packet still to come (the engine's ask
            // ahead) must see what a lookup after defining it sees.
            const milter::MacroStore::Later later = {{c->macro_for, c->macros}};
            std::vector<std::optional<std::string>> ahead;
            for (const auto& [n, v] : c->macros) ahead.push_back(macros.lookup(c->macro_for, n, later));
            macros.define(c->macro_for, c->macros);
            for (std::size_t k = 0; k < c->macros.size(); ++k)
                if (ahead[k] != macros.lookup(c->macro_for, c->macros[k].first))
                    fuzz::violation("a lookup ahead of a macro packet differs from one after it");
            for (const auto& [n, v] : c->macros) {
                (void)v;
                if (!macros.lookup(c->macro_for, n) && std::string("CHMRTLNBE").find(c->macro_for) != std::string::npos &&
                    c->macro_for != '\0')
                    fuzz::violation("a macro just defined is not found at its own stage");
            }
        }
    }
    return 0;
}
