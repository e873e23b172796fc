#include "milter/packet.hpp"

#include <cstring>
#include <functional>

namespace milter::wire {

void put_u32(std::string& out, std::uint32_t value) {
    out += static_cast<char>((value >> 24) & 0xff);
    out += static_cast<char>((value >> 16) & 0xff);
    out += static_cast<char>((value >> 8) & 0xff);
    out += static_cast<char>(value & 0xff);
}

std::uint32_t get_u32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}

void append_packet(std::string& out, char command, std::string_view data) {
    put_u32(out, static_cast<std::uint32_t>(data.size() + 1));
    out += command;
    out.append(data);
}

void Batch::move_front_into(std::size_t count, Batch& to) {
    to.clear();
    if (count >= packets.size()) {
        std::swap(packets, to.packets);
        std::swap(chunks, to.chunks);
        return;
    }
    to.packets.assign(packets.begin(), packets.begin() + static_cast<std::ptrdiff_t>(count));
    to.chunks = chunks;
    packets.erase(packets.begin(), packets.begin() + static_cast<std::ptrdiff_t>(count));
    // Packets are in the order of the stream, and so are the chunks: those
    // before the one the first packet left views are no longer needed here.
    // (std::less: a total order of pointers into different allocations.)
    const char* first = packets.front().data.data();
    const std::less<const char*> before;
    const auto views = [&](const Chunk& c) {
        return !before(first, c.bytes.get()) && !before(c.bytes.get() + c.size, first);
    };
    std::size_t keep_from = 0;
    while (keep_from + 1 < chunks.size() && !views(chunks[keep_from])) ++keep_from;
    chunks.erase(chunks.begin(), chunks.begin() + static_cast<std::ptrdiff_t>(keep_from));
}

std::size_t Batch::wire_bytes() const {
    std::size_t n = 0;
    for (const auto& p : packets) n += p.data.size() + 5;
    return n;
}

PacketReader::Status PacketReader::feed(const char* bytes, std::size_t n, Batch& out) {
    if (broken_) return Status::BadLength;
    // The packets are read where the bytes are, and only an incomplete one
    // at the end is kept: the reader never holds more than one packet.
    const bool buffered = !buffer_.empty();
    if (buffered) buffer_.append(bytes, n);
    const std::string_view in = buffered ? std::string_view(buffer_) : std::string_view(bytes, n);
    std::size_t at = 0;  // the end of the complete packets
    bool bad = false;
    while (in.size() - at >= 4) {
        const std::uint32_t length = get_u32(in.data() + at);
        const bool have_command = in.size() - at >= 5;
        const char command = have_command ? in[at + 4] : 0;
        const bool body = command == 'B' || command == 'E';  // SMFIC_BODY, SMFIC_BODYEOB
        // Length 0 has no command byte; anything above the limit is refused
        // before more of it is buffered.
        if (length == 0 || length > kMaxBodyPacketLength || (have_command && !body && length > kMaxPacketLength)) {
            bad = true;
            bad_length_ = length;
            bad_command_ = command;
            break;
        }
        if (in.size() - at - 4 < length) break;
        at += 4 + std::size_t{length};
    }
    if (at > 0) {
        auto chunk = std::make_shared_for_overwrite<char[]>(at);
        std::memcpy(chunk.get(), in.data(), at);
        const std::string_view copy(chunk.get(), at);
        for (std::size_t p = 0; p < at;) {
            const std::size_t length = get_u32(copy.data() + p);
            out.packets.push_back({copy[p + 4], copy.substr(p + 5, length - 1)});
            p += 4 + length;
        }
        out.chunks.push_back({std::move(chunk), at});
    }
    if (bad) {
        broken_ = true;
        buffer_.clear();
        return Status::BadLength;
    }
    if (buffered) buffer_.erase(0, at);
    else buffer_.assign(bytes + at, n - at);
    return Status::Ok;
}

}  // namespace milter::wire
