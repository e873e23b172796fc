#include "milter/packet.hpp"

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

PacketReader::Status PacketReader::feed(const char* bytes, std::size_t n, std::vector<Packet>& out) {
    if (broken_) return Status::BadLength;
    // Drop what earlier calls consumed before growing the buffer, so that it
    // holds at most one incomplete packet plus this read.
    if (start_ > 0) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    buffer_.append(bytes, n);
    while (buffer_.size() - start_ >= 4) {
        const std::uint32_t length = get_u32(buffer_.data() + start_);
        const bool have_command = buffer_.size() - start_ >= 5;
        const char command = have_command ? buffer_[start_ + 4] : 0;
        const bool body = command == 'B' || command == 'E';  // SMFIC_BODY, SMFIC_BODYEOB
        // Length 0 has no command byte; anything above the limit is refused
        // before more of it is buffered.
        if (length == 0 || length > kMaxBodyPacketLength || (have_command && !body && length > kMaxPacketLength)) {
            broken_ = true;
            bad_length_ = length;
            bad_command_ = command;
            buffer_.clear();
            start_ = 0;
            return Status::BadLength;
        }
        if (buffer_.size() - start_ - 4 < length) break;
        Packet packet;
        packet.command = buffer_[start_ + 4];
        packet.data.assign(buffer_, start_ + 5, length - 1);
        out.push_back(std::move(packet));
        start_ += 4 + std::size_t{length};
    }
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    return Status::Ok;
}

}  // namespace milter::wire
