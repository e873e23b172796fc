#include "milter/command.hpp"

#include <string_view>

namespace milter {

namespace {

// Reads NUL-terminated strings and fixed-size integers off a packet's data;
// every read is checked against what is left.
class Cursor {
public:
    explicit Cursor(std::string_view data) : data_(data) {}
    bool done() const { return pos_ == data_.size(); }
    std::optional<std::string_view> string() {
        const auto nul = data_.find('\0', pos_);
        if (nul == std::string_view::npos) return std::nullopt;
        const std::string_view s = data_.substr(pos_, nul - pos_);
        pos_ = nul + 1;
        return s;
    }
    std::optional<std::uint32_t> u32() {
        if (data_.size() - pos_ < 4) return std::nullopt;
        const std::uint32_t v = wire::get_u32(data_.data() + pos_);
        pos_ += 4;
        return v;
    }
    std::optional<std::uint16_t> u16() {
        if (data_.size() - pos_ < 2) return std::nullopt;
        const auto* u = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
        pos_ += 2;
        return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
    }
    std::optional<char> byte() {
        if (pos_ >= data_.size()) return std::nullopt;
        return data_[pos_++];
    }

private:
    std::string_view data_;
    std::size_t pos_ = 0;
};

bool fail(std::string* why, std::string reason) {
    if (why) *why = std::move(reason);
    return false;
}

}  // namespace

std::optional<Command> parse_command(const wire::Packet& packet, std::string* why) {
    Command c;
    if (!parse_command(packet, c, why)) return std::nullopt;
    return c;
}

bool parse_command(const wire::Packet& packet, Command& c, std::string* why) {
    // The vectors keep their room.
    c.code = packet.command;
    c.version = c.actions = c.protocol = 0;
    c.text = c.value = {};
    c.family = 0;
    c.port = 0;
    c.macro_for = 0;
    c.macros.clear();
    c.args.clear();
    Cursor in(packet.data);
    switch (packet.command) {
        case cmd::kOptNeg: {
            // Three 32-bit words; an MTA may add more after them (ignored).
            auto v = in.u32(), a = in.u32(), p = in.u32();
            if (!v || !a || !p) return fail(why, "OPTNEG shorter than 12 bytes");
            c.version = *v;
            c.actions = *a;
            c.protocol = *p;
            break;
        }
        case cmd::kMacro: {
            auto stage = in.byte();
            if (!stage) return fail(why, "MACRO without a command");
            c.macro_for = *stage;
            while (!in.done()) {
                auto name = in.string();
                auto value = in.string();
                if (!name || !value) return fail(why, "MACRO with an unterminated name or value");
                c.macros.emplace_back(*name, *value);
            }
            break;
        }
        case cmd::kConnect: {
            auto host = in.string();
            auto family = in.byte();
            if (!host || !family) return fail(why, "CONNECT without host name or family");
            c.text = *host;
            c.family = *family;
            if (c.family == '4' || c.family == '6' || c.family == 'L') {
                auto port = in.u16();
                auto address = in.string();
                if (!port || !address) return fail(why, "CONNECT without port or address");
                c.port = *port;
                c.value = *address;
            } else if (c.family != 'U') {
                return fail(why, std::string("CONNECT with unknown family ") + c.family);
            }
            if (!in.done()) return fail(why, "CONNECT with trailing bytes");
            break;
        }
        case cmd::kHelo: {
            auto name = in.string();
            if (!name || !in.done()) return fail(why, "HELO is not one string");
            c.text = *name;
            break;
        }
        case cmd::kMail:
        case cmd::kRcpt: {
            while (!in.done()) {
                auto arg = in.string();
                if (!arg) return fail(why, "MAIL/RCPT with an unterminated argument");
                c.args.emplace_back(*arg);
            }
            if (c.args.empty()) return fail(why, "MAIL/RCPT without a path");
            break;
        }
        case cmd::kHeader: {
            auto name = in.string();
            auto value = in.string();
            if (!name || !value || !in.done()) return fail(why, "HEADER is not a name and a value");
            c.text = *name;
            c.value = *value;
            break;
        }
        case cmd::kBody:
        case cmd::kBodyEob:
            c.text = packet.data;
            break;
        case cmd::kUnknown: {
            // The command line, NUL-terminated (tolerated without).
            const auto nul = packet.data.find('\0');
            c.text = packet.data.substr(0, nul);
            break;
        }
        case cmd::kEoh:
        case cmd::kAbort:
        case cmd::kQuit:
        case cmd::kQuitNc:
        case cmd::kData:
            break;
        default: {
            static const char hex[] = "0123456789abcdef";
            const auto u = static_cast<unsigned char>(packet.command);
            return fail(why, std::string("unknown command 0x") + hex[u >> 4] + hex[u & 15]);
        }
    }
    return true;
}

}  // namespace milter
