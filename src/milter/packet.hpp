// The milter wire format: framing of packets, and encoding of the packets a
// filter sends. One packet is a 32-bit big-endian length, a command byte and
// length-1 bytes of data; the length counts the command byte.
//
// Every length on the wire is untrusted: a packet longer than its limit
// (kMaxBodyPacketLength for body chunks, kMaxPacketLength for the rest), or
// of length 0, breaks the stream (the connection is closed), and the reader
// never holds more than one packet plus one read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace milter::wire {

// The largest body chunk accepted: 1 MiB - 1, the largest size the
// protocol can negotiate (SMFIP_MDS_1M in sendmail's mfdef.h); Postfix and
// sendmail send at most 64 KiB - 1 unless told otherwise.
inline constexpr std::size_t kMaxBodyChunk = 1024 * 1024 - 1;
// The largest packet (the length field's value: data plus command byte):
// a body chunk (SMFIC_BODY, SMFIC_BODYEOB) plus its command byte; any other
// command 64 KiB, the protocol's default data size (MILTER_MAX_DATA_SIZE),
// which libmilter enforces for every command too. Both are documented in
// connector-milter.conf(5).
inline constexpr std::size_t kMaxBodyPacketLength = kMaxBodyChunk + 1;
inline constexpr std::size_t kMaxPacketLength = 64 * 1024;

// One packet; `data` views bytes a Batch (or the caller) keeps.
struct Packet {
    char command = 0;
    std::string_view data;
};

// Packets read off a connection and the bytes they view. The bytes of one
// read are copied once, into a chunk that every batch holding one of its
// packets shares, so moving a batch or taking packets off its front keeps
// every view valid.
struct Batch {
    struct Chunk {
        std::shared_ptr<const char[]> bytes;
        std::size_t size = 0;
    };
    std::vector<Packet> packets;
    std::vector<Chunk> chunks;

    bool empty() const { return packets.empty(); }
    std::size_t size() const { return packets.size(); }
    const Packet& operator[](std::size_t i) const { return packets[i]; }
    std::vector<Packet>::const_iterator begin() const { return packets.begin(); }
    std::vector<Packet>::const_iterator end() const { return packets.end(); }
    // Keeps the vectors' room for the next packets.
    void clear() {
        packets.clear();
        chunks.clear();
    }
    // Moves the first `count` packets into `to` (cleared first), which
    // shares the chunks; this batch lets go of those it no longer views.
    void move_front_into(std::size_t count, Batch& to);
    // Bytes on the wire (length and command included).
    std::size_t wire_bytes() const;
};

// Turns a byte stream into packets.
class PacketReader {
public:
    enum class Status : std::uint8_t { Ok, BadLength };

    // Takes `n` bytes and appends every packet they complete to `out`.
    // After BadLength the stream is unusable (the rest is not parsed).
    Status feed(const char* bytes, std::size_t n, Batch& out);
    // Bytes held of an incomplete packet.
    std::size_t buffered() const { return buffer_.size(); }
    // The announced length and the command that broke the stream, for the log.
    std::uint32_t bad_length() const { return bad_length_; }
    char bad_command() const { return bad_command_; }

private:
    std::string buffer_;  // an incomplete packet
    bool broken_ = false;
    std::uint32_t bad_length_ = 0;
    char bad_command_ = 0;
};

// Encoding (filter to MTA).
void put_u32(std::string& out, std::uint32_t value);
std::uint32_t get_u32(const char* p);
// Appends one packet: length, command, data.
void append_packet(std::string& out, char command, std::string_view data);

}  // namespace milter::wire
