// The native engine's wire layer: packet framing with bounded lengths,
// command parsing, and the per-stage macro store.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "milter/command.hpp"
#include "milter/macro_store.hpp"
#include "milter/packet.hpp"

namespace {

using milter::MacroStore;
using milter::parse_command;
using milter::wire::Packet;
using milter::wire::PacketReader;

std::string packet(char command, const std::string& data) {
    std::string out;
    milter::wire::append_packet(out, command, data);
    return out;
}

std::string nul(const std::string& s) { return s + std::string(1, '\0'); }

TEST(PacketReader, SplitsABatchIntoEveryCompletePacket) {
    const std::string bytes = packet('D', nul("Cj") + nul("mx")) + packet('C', "x") + packet('N', "");
    PacketReader reader;
    milter::wire::Batch out;
    ASSERT_EQ(reader.feed(bytes.data(), bytes.size(), out), PacketReader::Status::Ok);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].command, 'D');
    EXPECT_EQ(out[1].data, "x");
    EXPECT_EQ(out[2].command, 'N');
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(PacketReader, KeepsAPacketSplitAcrossReadsUntilItIsComplete) {
    const std::string bytes = packet('H', nul("client.example"));
    PacketReader reader;
    milter::wire::Batch out;
    for (char c : bytes) {
        ASSERT_EQ(reader.feed(&c, 1, out), PacketReader::Status::Ok);
    }
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data, nul("client.example"));
}

TEST(PacketReader, RefusesALengthOfZero) {
    const std::string bytes("\0\0\0\0", 4);
    PacketReader reader;
    milter::wire::Batch out;
    EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), out), PacketReader::Status::BadLength);
    EXPECT_TRUE(out.empty());
}

TEST(PacketReader, RefusesAnAnnounced2GiBPacketWithoutBufferingIt) {
    std::string bytes;
    milter::wire::put_u32(bytes, 0x7FFFFFF0u);
    bytes += "Lname";
    PacketReader reader;
    milter::wire::Batch out;
    EXPECT_EQ(reader.feed(bytes.data(), bytes.size(), out), PacketReader::Status::BadLength);
    EXPECT_EQ(reader.buffered(), 0u);
    EXPECT_EQ(reader.bad_length(), 0x7FFFFFF0u);
    // Broken for good: later bytes are not parsed.
    const std::string next = packet('N', "");
    EXPECT_EQ(reader.feed(next.data(), next.size(), out), PacketReader::Status::BadLength);
    EXPECT_TRUE(out.empty());
}

TEST(PacketReader, AcceptsABodyChunkOf1MiBButNoOtherCommandOver64KiB) {
    PacketReader body_reader;
    milter::wire::Batch out;
    const std::string body = packet('B', std::string(milter::wire::kMaxBodyChunk, 'x'));
    ASSERT_EQ(body_reader.feed(body.data(), body.size(), out), PacketReader::Status::Ok);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].data.size(), milter::wire::kMaxBodyChunk);

    PacketReader too_big_body;
    const std::string bigger = packet('B', std::string(milter::wire::kMaxBodyChunk + 1, 'x'));
    EXPECT_EQ(too_big_body.feed(bigger.data(), 5, out), PacketReader::Status::BadLength);

    PacketReader header_reader;
    const std::string header = packet('L', nul("X-Big") + nul(std::string(70 * 1024, 'a')));
    EXPECT_EQ(header_reader.feed(header.data(), 5, out), PacketReader::Status::BadLength);
    EXPECT_EQ(header_reader.bad_command(), 'L');
}

TEST(PacketReader, PacketsStayValidWhileLaterReadsComeIn) {
    const std::string first = packet('L', nul("Subject") + nul(" one")), second = packet('B', "body bytes");
    const std::string bytes = first + second;
    PacketReader reader;
    milter::wire::Batch out;
    // The first packet and half the second, then the rest, from a buffer
    // that is overwritten in between (as the event loop's read buffer is).
    std::string buffer = bytes.substr(0, first.size() + 4);
    ASSERT_EQ(reader.feed(buffer.data(), buffer.size(), out), PacketReader::Status::Ok);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(reader.buffered(), 4u);
    buffer.assign(buffer.size(), '#');
    buffer = bytes.substr(first.size() + 4);
    ASSERT_EQ(reader.feed(buffer.data(), buffer.size(), out), PacketReader::Status::Ok);
    buffer.assign(buffer.size(), '#');
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].data, nul("Subject") + nul(" one"));
    EXPECT_EQ(out[1].data, "body bytes");
    EXPECT_EQ(reader.buffered(), 0u);
}

TEST(PacketReader, PacketsTakenOffABatchsFrontKeepTheirBytes) {
    // Two reads: the end of headers alone, then a body chunk and the end
    // of message (the event loop runs a batch up to the end of headers).
    const std::string first = packet('N', ""), second = packet('B', "the body") + packet('E', "");
    PacketReader reader;
    milter::wire::Batch pending;
    ASSERT_EQ(reader.feed(first.data(), first.size(), pending), PacketReader::Status::Ok);
    ASSERT_EQ(reader.feed(second.data(), second.size(), pending), PacketReader::Status::Ok);
    ASSERT_EQ(pending.chunks.size(), 2u);
    EXPECT_EQ(pending.wire_bytes(), 5u + 13u + 5u);

    auto running = std::make_unique<milter::wire::Batch>();
    pending.move_front_into(1, *running);
    ASSERT_EQ(running->size(), 1u);
    EXPECT_EQ((*running)[0].command, 'N');
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending.chunks.size(), 1u) << "the first read's chunk is no longer viewed by what is left";
    running.reset();
    EXPECT_EQ(pending[0].data, "the body");

    // Everything: the batches trade places, so the running one is cleared
    // first and the pending one keeps the room it had.
    milter::wire::Batch next;
    next.packets.reserve(8);
    pending.move_front_into(pending.size(), next);
    EXPECT_TRUE(pending.empty());
    EXPECT_GE(pending.packets.capacity(), 8u);
    ASSERT_EQ(next.size(), 2u);
    EXPECT_EQ(next[0].data, "the body");
    EXPECT_EQ(next[1].command, 'E');
}

TEST(ParseCommand, ReadsOptionNegotiation) {
    std::string data;
    milter::wire::put_u32(data, 6);
    milter::wire::put_u32(data, 0x1ff);
    milter::wire::put_u32(data, 0x1fffff);
    std::string why;
    const auto c = parse_command({'O', data}, &why);
    ASSERT_TRUE(c) << why;
    EXPECT_EQ(c->version, 6u);
    EXPECT_EQ(c->actions, 0x1ffu);
    EXPECT_EQ(c->protocol, 0x1fffffu);
    EXPECT_FALSE(parse_command({'O', data.substr(0, 11)}, &why));
}

TEST(ParseCommand, ReadsAnInetConnect) {
    const std::string data = nul("mail.fabrikam.example") + "4" + std::string("\x00\x19", 2) + nul("198.51.100.7");
    std::string why;
    const auto c = parse_command({'C', data}, &why);
    ASSERT_TRUE(c) << why;
    EXPECT_EQ(c->text, "mail.fabrikam.example");
    EXPECT_EQ(c->family, '4');
    EXPECT_EQ(c->port, 25);
    EXPECT_EQ(c->value, "198.51.100.7");
}

TEST(ParseCommand, RefusesAConnectWhoseAddressIsCutShort) {
    const std::string data = nul("host") + "6" + std::string("\x00\x19", 2) + "2001:db8::1";  // no NUL
    std::string why;
    EXPECT_FALSE(parse_command({'C', data}, &why));
    EXPECT_FALSE(why.empty());
}

TEST(ParseCommand, ReadsMailPathAndParameters) {
    std::string why;
    const auto c = parse_command({'M', nul("<bob@fabrikam.example>") + nul("SIZE=1000")}, &why);
    ASSERT_TRUE(c) << why;
    ASSERT_EQ(c->args.size(), 2u);
    EXPECT_EQ(c->args[0], "<bob@fabrikam.example>");
    EXPECT_EQ(c->args[1], "SIZE=1000");
    EXPECT_FALSE(parse_command({'M', ""}, &why)) << "MAIL without a path";
}

TEST(ParseCommand, ReadsAHeaderWithItsLeadingSpace) {
    std::string why;
    // The command views the packet's bytes, which must outlive it.
    const std::string data = nul("Subject") + nul(" hello");
    const auto c = parse_command({'L', data}, &why);
    ASSERT_TRUE(c) << why;
    EXPECT_EQ(c->text, "Subject");
    EXPECT_EQ(c->value, " hello");
    EXPECT_FALSE(parse_command({'L', nul("Subject") + " unterminated"}, &why));
}

TEST(ParseCommand, ReadsMacroPairsAndRefusesAnUnpairedName) {
    std::string why;
    const std::string data = "M" + nul("i") + nul("QT1") + nul("{auth_type}") + nul("PLAIN");
    const auto c = parse_command({'D', data}, &why);
    ASSERT_TRUE(c) << why;
    EXPECT_EQ(c->macro_for, 'M');
    ASSERT_EQ(c->macros.size(), 2u);
    EXPECT_EQ(c->macros[1].first, "{auth_type}");
    EXPECT_EQ(c->macros[1].second, "PLAIN");
    EXPECT_FALSE(parse_command({'D', "M" + nul("i")}, &why));
    EXPECT_FALSE(parse_command({'D', ""}, &why));
}

TEST(ParseCommand, RefusesAnUnknownCommandByte) {
    std::string why;
    EXPECT_FALSE(parse_command({'Z', ""}, &why));
    EXPECT_NE(why.find("0x5a"), std::string::npos) << why;
}

TEST(MacroStore, FindsOneLetterNamesInEitherSpelling) {
    MacroStore store;
    store.define('C', {{"j", "mx.example.com"}, {"{daemon_addr}", "10.0.0.50"}});
    EXPECT_EQ(store.lookup('C', "{j}"), "mx.example.com");
    EXPECT_EQ(store.lookup('C', "j"), "mx.example.com");
    EXPECT_EQ(store.lookup('C', "{daemon_addr}"), "10.0.0.50");
    EXPECT_FALSE(store.lookup('C', "{daemon_port}"));
}

TEST(MacroStore, LaterStagesSeeEarlierMacrosButNotTheOtherWayRound) {
    MacroStore store;
    store.define('C', {{"j", "mx"}});
    store.define('M', {{"i", "QT1"}});
    EXPECT_EQ(store.lookup('E', "j"), "mx");
    EXPECT_EQ(store.lookup('E', "i"), "QT1");
    EXPECT_FALSE(store.lookup('H', "i"));
}

TEST(MacroStore, ANewMailForgetsThePreviousMessagesMacros) {
    MacroStore store;
    store.define('M', {{"i", "QT1"}});
    store.define('R', {{"{rcpt_addr}", "a@contoso.com"}});
    store.define('M', {{"i", "QT2"}});
    EXPECT_EQ(store.lookup('R', "i"), "QT2");
    EXPECT_FALSE(store.lookup('R', "{rcpt_addr}"));
}

TEST(MacroStore, TheCurrentStagesValueWinsOverAnEarlierOne) {
    MacroStore store;
    store.define('M', {{"i", "early"}});
    store.define('E', {{"i", "QT9"}});
    EXPECT_EQ(store.lookup('E', "i"), "QT9");
}

// ask_ahead_for_mail reads the MAIL's macros before the batch that
// carries them is handled: a lookup with `later` must equal defining them.
TEST(MacroStore, ALookupWithMacrosStillToComeEqualsDefiningThemFirst) {
    MacroStore base;
    base.define('C', {{"j", "mx"}, {"{daemon_name}", "MTA"}});
    base.define('H', {{"{tls_version}", "TLSv1.3"}});
    base.define('M', {{"i", "OLD"}, {"{auth_authen}", "old-user"}});
    base.define('R', {{"{rcpt_addr}", "a@contoso.com"}});
    base.define('U', {{"{u}", "unknown"}});
    const std::vector<MacroStore::Later> cases = {
        {},
        {{'M', {{"i", "NEW"}}}},
        {{'H', {{"{tls_version}", "TLSv1.2"}}}, {'M', {{"{auth_authen}", "bob"}}}},
        {{'M', {{"i", "A"}}}, {'H', {}}},
        {{'U', {{"{u}", "again"}}}, {'E', {{"i", "EOM"}}}},
        {{'Z', {{"i", "ignored"}}}},
    };
    for (std::size_t n = 0; n < cases.size(); ++n) {
        MacroStore defined = base;
        for (const auto& [stage, views] : cases[n]) defined.define(stage, views);
        for (const char stage : std::string("CHMRTLNBEU"))
            for (const char* name : {"j", "{j}", "{daemon_name}", "{tls_version}", "i", "{auth_authen}", "{rcpt_addr}", "{u}"})
                EXPECT_EQ(base.lookup(stage, name, cases[n]), defined.lookup(stage, name))
                    << "case " << n << " stage " << stage << " name " << name;
    }
}

TEST(MacroStore, ADefinitionReusesThePairsAlreadyThere) {
    MacroStore store;
    store.define('M', {{"i", "QT1"}, {"{auth_authen}", "a-rather-long-user-name@contoso.test"}});
    store.define('M', {{"i", "QT2"}});
    EXPECT_EQ(store.lookup('M', "i"), "QT2");
    EXPECT_FALSE(store.lookup('M', "{auth_authen}")) << "a pair of the earlier definition is left";
}

}  // namespace
