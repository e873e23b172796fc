// The commands an MTA sends (sendmail's libmilter/mfdef.h names them
// SMFIC_*), parsed out of packets. Pure: no I/O, no session.
//
// Every string on the wire ends with a NUL byte; a packet whose data does
// not have the shape of its command is malformed, and the connection ends
// (as libmilter does), never a guess.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "milter/packet.hpp"

namespace milter {

// Command bytes (SMFIC_*).
namespace cmd {
inline constexpr char kAbort = 'A', kBody = 'B', kConnect = 'C', kMacro = 'D', kBodyEob = 'E', kHelo = 'H',
                      kQuitNc = 'K', kHeader = 'L', kMail = 'M', kEoh = 'N', kOptNeg = 'O', kQuit = 'Q',
                      kRcpt = 'R', kData = 'T', kUnknown = 'U';
}  // namespace cmd

// Reply bytes (SMFIR_*) the filter sends.
namespace reply {
inline constexpr char kAccept = 'a', kContinue = 'c', kReject = 'r', kTempFail = 't', kReplyCode = 'y',
                      kChangeHeader = 'm', kInsertHeader = 'i', kQuarantine = 'q', kOptNeg = 'O';
}  // namespace reply

// Option negotiation bits (SMFIF_* actions, SMFIP_* protocol flags).
namespace flag {
inline constexpr std::uint32_t kAddHeaders = 0x01, kChangeHeaders = 0x10, kQuarantine = 0x20,
                               kSetSymList = 0x100;
inline constexpr std::uint32_t kNoReplyHeader = 0x80, kNoUnknown = 0x100, kNoData = 0x200,
                               kNoReplyEndOfHeaders = 0x40000, kNoReplyBody = 0x80000, kHeaderLeadingSpace = 0x100000;
}  // namespace flag

// SMFIM_* stage numbers of SMFIR_SETSYMLIST.
namespace macro_stage {
inline constexpr std::uint32_t kConnect = 0, kHelo = 1, kMail = 2, kRcpt = 3, kData = 4, kEom = 5, kEoh = 6;
}  // namespace macro_stage

// A parsed command. Its texts, names and macros view the packet's data:
// the command is only valid while the packet's bytes are.
struct Command {
    char code = 0;  // cmd::k*
    // OPTNEG: version, actions, protocol flags.
    std::uint32_t version = 0, actions = 0, protocol = 0;
    // CONNECT: host name, family ('4', '6', 'L' unix, 'U' unknown), port, address.
    // HELO: text = the name. HEADER: text = name, value = value.
    // BODY, BODYEOB: text = the chunk. UNKNOWN: text = the command line.
    std::string_view text, value;
    char family = 0;
    std::uint16_t port = 0;
    // MAIL, RCPT: the path, then the ESMTP parameters.
    std::vector<std::string> args;
    // MACRO: the command the macros are for, and the name/value pairs.
    char macro_for = 0;
    std::vector<std::pair<std::string_view, std::string_view>> macros;
};

// The command in `packet`, or nullopt (and `why`) when it is malformed or
// unknown.
std::optional<Command> parse_command(const wire::Packet& packet, std::string* why);
// The same into `into`, reusing the room of its vectors (the event loop
// parses every packet); false when malformed or unknown.
bool parse_command(const wire::Packet& packet, Command& into, std::string* why);

}  // namespace milter
