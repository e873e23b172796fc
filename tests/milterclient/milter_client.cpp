// MTA side of the milter protocol, version 6. The wire format follows
// sendmail's libmilter documentation and the behaviour of Postfix's milter8
// client: every packet is a 32-bit big-endian length (command byte included),
// the command byte, then the data; strings are NUL-terminated.
#include "milter_client.hpp"

#include <libmilter/mfdef.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace milterclient {

namespace {

using Clock = std::chrono::steady_clock;

// A filter reply larger than this is treated as a protocol error; libmilter
// never sends more than its data size limit (64 KiB, or 1 MiB with
// SMFIP_MDS_1M) plus a little framing.
constexpr std::uint32_t kMaxReplyLength = 16U * 1024U * 1024U;

// SMFIM_* stage numbers used in SMFIR_SETSYMLIST (mfapi.h).
constexpr std::uint32_t kStageConnect = 0;
constexpr std::uint32_t kStageHelo = 1;
constexpr std::uint32_t kStageEnvFrom = 2;
constexpr std::uint32_t kStageEnvRcpt = 3;
constexpr std::uint32_t kStageData = 4;
constexpr std::uint32_t kStageEom = 5;
constexpr std::uint32_t kStageEoh = 6;

std::optional<std::uint32_t> stage_of(char event) {
    switch (event) {
    case SMFIC_CONNECT: return kStageConnect;
    case SMFIC_HELO: return kStageHelo;
    case SMFIC_MAIL: return kStageEnvFrom;
    case SMFIC_RCPT: return kStageEnvRcpt;
    case SMFIC_DATA: return kStageData;
    // Postfix sends the end-of-data macros with body chunks and EOM, and the
    // end-of-header macros with each header and EOH.
    case SMFIC_BODYEOB:
    case SMFIC_BODY: return kStageEom;
    case SMFIC_EOH:
    case SMFIC_HEADER: return kStageEoh;
    default: return std::nullopt;
    }
}

std::string errno_text(int err) { return std::string(std::strerror(err)); }

std::string_view strip_braces(std::string_view name) {
    if (name.size() >= 2 && name.front() == '{' && name.back() == '}') {
        name.remove_prefix(1);
        name.remove_suffix(1);
    }
    return name;
}

std::string wire_macro_name(std::string_view name) {
    const std::string_view bare = strip_braces(name);
    if (bare.size() == 1) return std::string(bare);
    return "{" + std::string(bare) + "}";
}

int remaining_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    return static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

// Reads NUL-terminated strings and 32-bit integers out of a reply's data.
class Reader {
public:
    Reader(std::string_view data, char command) : data_(data), command_(command) {}
    std::uint32_t u32() {
        if (data_.size() < 4) fail("short integer");
        const auto* p = reinterpret_cast<const unsigned char*>(data_.data());
        const std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
        data_.remove_prefix(4);
        return v;
    }
    std::string str() {
        const auto nul = data_.find('\0');
        if (nul == std::string_view::npos) fail("string without NUL terminator");
        std::string s(data_.substr(0, nul));
        data_.remove_prefix(nul + 1);
        return s;
    }
    bool empty() const { return data_.empty(); }
    void end() {
        if (!data_.empty()) fail("trailing bytes");
    }

private:
    [[noreturn]] void fail(const char* what) const {
        throw Error(std::string("malformed filter reply '") + command_ + "': " + what);
    }
    std::string_view data_;
    char command_;
};

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

struct Endpoint {
    int family = AF_UNSPEC;
    std::string host;  // inet
    std::string port;  // inet
    std::string path;  // unix
};

Endpoint parse_spec(const std::string& spec) {
    const auto colon = spec.find(':');
    if (colon == std::string::npos) throw Error("socket spec without transport: " + spec);
    const std::string transport = spec.substr(0, colon);
    const std::string rest = spec.substr(colon + 1);
    Endpoint ep;
    if (transport == "unix" || transport == "local") {
        if (rest.empty()) throw Error("empty unix socket path: " + spec);
        ep.family = AF_UNIX;
        ep.path = rest;
        return ep;
    }
    if (transport != "inet" && transport != "inet6") throw Error("unknown transport in " + spec);
    const auto at = rest.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == rest.size())
        throw Error("expected " + transport + ":PORT@HOST, got " + spec);
    ep.family = transport == "inet" ? AF_INET : AF_INET6;
    ep.port = rest.substr(0, at);
    ep.host = rest.substr(at + 1);
    if (ep.host.size() >= 2 && ep.host.front() == '[' && ep.host.back() == ']')
        ep.host = ep.host.substr(1, ep.host.size() - 2);
    return ep;
}

void set_nonblocking(int fd) {
    const int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        throw Error("fcntl: " + errno_text(errno));
}

// Non-blocking connect bounded by `timeout`.
void connect_bounded(int fd, const sockaddr* addr, socklen_t len, std::chrono::milliseconds timeout,
                     const std::string& spec) {
    if (::connect(fd, addr, len) == 0) return;
    if (errno != EINPROGRESS && errno != EAGAIN)
        throw Error("connect " + spec + ": " + errno_text(errno));
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (n == 0) throw Error("connect " + spec + ": timed out");
    if (n < 0) throw Error("poll: " + errno_text(errno));
    int err = 0;
    socklen_t errlen = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) err = errno;
    if (err != 0) throw Error("connect " + spec + ": " + errno_text(err));
}

}  // namespace

// ---------------------------------------------------------------------------

std::string_view to_string(Action action) {
    switch (action) {
    case Action::Continue: return "continue";
    case Action::Accept: return "accept";
    case Action::Reject: return "reject";
    case Action::TempFail: return "tempfail";
    case Action::Discard: return "discard";
    case Action::ReplyCode: return "replycode";
    case Action::Skip: return "skip";
    case Action::Shutdown: return "shutdown";
    case Action::ConnFail: return "connfail";
    case Action::NoReply: return "noreply";
    case Action::NotSent: return "notsent";
    }
    return "?";
}

std::string Response::smtp_reply() const {
    // Postfix's texts for the replies that carry none (milter8.c).
    switch (action) {
    case Action::ReplyCode: return reply;
    case Action::Reject: return "550 5.7.1 Command rejected";
    case Action::TempFail: return "451 4.7.1 Service unavailable - try again later";
    case Action::Shutdown: return "421 4.7.0 Server closing connection";
    case Action::ConnFail: return "421 4.7.0 Connection failure";
    default: return "";
    }
}

int Response::smtp_code() const {
    const std::string text = smtp_reply();
    if (text.size() < 3) return 0;
    int code = 0;
    for (int i = 0; i < 3; ++i) {
        const char c = text[static_cast<std::size_t>(i)];
        if (c < '0' || c > '9') return 0;
        code = code * 10 + (c - '0');
    }
    return code;
}

bool Response::proceeds() const {
    switch (action) {
    case Action::Continue:
    case Action::Accept:
    case Action::Skip:
    case Action::NoReply:
    case Action::NotSent: return true;
    case Action::ReplyCode: {
        const int code = smtp_code();
        return code >= 200 && code < 400;
    }
    default: return false;
    }
}

std::vector<std::uint32_t> EomResult::deleted_header_indexes(std::string_view name) const {
    std::vector<std::uint32_t> out;
    for (const auto& e : changed_headers)
        if (e.is_delete() && iequals(e.name, name)) out.push_back(e.index);
    return out;
}

std::vector<HeaderEdit> EomResult::new_headers(std::string_view name) const {
    std::vector<HeaderEdit> out;
    for (const auto& e : header_edits)
        if (e.kind != HeaderEdit::Kind::Change && iequals(e.name, name)) out.push_back(e);
    return out;
}

const std::vector<std::string>* Negotiated::macro_list(std::uint32_t stage) const {
    for (const auto& [s, names] : macro_lists)
        if (s == stage) return &names;
    return nullptr;
}

bool TransactionResult::accepted() const {
    if (mail.action == Action::Accept) return true;
    for (const auto& r : rcpt)
        if (r.action == Action::Accept) return true;
    if (data && data->action == Action::Accept) return true;
    if (eoh && eoh->action == Action::Accept) return true;
    if (body && body->action == Action::Accept) return true;
    return eom.has_value() && eom->proceeds() && eom->action != Action::Discard;
}

std::string be32(std::uint32_t value) {
    std::string s(4, '\0');
    s[0] = static_cast<char>((value >> 24) & 0xFF);
    s[1] = static_cast<char>((value >> 16) & 0xFF);
    s[2] = static_cast<char>((value >> 8) & 0xFF);
    s[3] = static_cast<char>(value & 0xFF);
    return s;
}

std::string encode_packet(char command, std::string_view data) {
    std::string p = be32(static_cast<std::uint32_t>(data.size() + 1));
    p.push_back(command);
    p.append(data);
    return p;
}

// ---------------------------------------------------------------------------

Session::Session(const std::string& socket_spec, Options options) : options_(options) {
    const Endpoint ep = parse_spec(socket_spec);
    if (ep.family == AF_UNIX) {
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        if (ep.path.size() >= sizeof sun.sun_path) throw Error("unix socket path too long: " + ep.path);
        std::memcpy(sun.sun_path, ep.path.c_str(), ep.path.size() + 1);
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw Error("socket: " + errno_text(errno));
        try {
            set_nonblocking(fd_);
            connect_bounded(fd_, reinterpret_cast<const sockaddr*>(&sun), sizeof sun, options_.timeout,
                            socket_spec);
        } catch (...) {
            close_fd();
            throw;
        }
        return;
    }
    addrinfo hints{};
    hints.ai_family = ep.family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* raw = nullptr;
    const int rc = ::getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &raw);
    if (rc != 0) throw Error("resolve " + socket_spec + ": " + gai_strerror(rc));
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(raw, &::freeaddrinfo);
    std::string last_error = "no address";
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        fd_ = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) {
            last_error = errno_text(errno);
            continue;
        }
        try {
            set_nonblocking(fd_);
            // Each packet is written in one send(); without TCP_NODELAY a
            // small write following an unacknowledged one waits for the
            // peer's delayed ACK (~40 ms on Linux).
            const int one = 1;
            ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            connect_bounded(fd_, ai->ai_addr, ai->ai_addrlen, options_.timeout, socket_spec);
            return;
        } catch (const Error& e) {
            last_error = e.what();
            close_fd();
        }
    }
    throw Error(last_error);
}

Session::~Session() { close_fd(); }

Session::Session(Session&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      options_(other.options_),
      negotiated_(std::move(other.negotiated_)),
      out_(std::move(other.out_)),
      in_(std::move(other.in_)),
      in_pos_(std::exchange(other.in_pos_, 0)),
      last_eom_(std::move(other.last_eom_)) {}

Session& Session::operator=(Session&& other) noexcept {
    if (this != &other) {
        close_fd();
        fd_ = std::exchange(other.fd_, -1);
        options_ = other.options_;
        negotiated_ = std::move(other.negotiated_);
        out_ = std::move(other.out_);
        in_ = std::move(other.in_);
        in_pos_ = std::exchange(other.in_pos_, 0);
        last_eom_ = std::move(other.last_eom_);
    }
    return *this;
}

void Session::close_fd() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

void Session::write_all(std::string_view bytes) {
    if (fd_ < 0) throw Error("write on a closed session");
    const auto deadline = Clock::now() + options_.timeout;
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd p{fd_, POLLOUT, 0};
            const int r = ::poll(&p, 1, remaining_ms(deadline));
            if (r == 0) throw Error("write timed out");
            if (r < 0 && errno != EINTR) throw Error("poll: " + errno_text(errno));
            continue;
        }
        throw Error("write: " + errno_text(errno));
    }
}

void Session::read_exact(char* out, std::size_t n, Clock::time_point deadline) {
    if (fd_ < 0) throw Error("read on a closed session");
    std::size_t got = 0;
    while (got < n) {
        if (in_pos_ < in_.size()) {
            const std::size_t take = std::min(n - got, in_.size() - in_pos_);
            std::memcpy(out + got, in_.data() + in_pos_, take);
            in_pos_ += take;
            got += take;
            continue;
        }
        // Options::buffered: a buffer at a time into in_, consumed above.
        if (options_.buffered) {
            in_.resize(64 * 1024);
            in_pos_ = 0;
        }
        const ssize_t r = options_.buffered ? ::recv(fd_, in_.data(), in_.size(), 0) : ::recv(fd_, out + got, n - got, 0);
        if (options_.buffered) in_.resize(r > 0 ? static_cast<std::size_t>(r) : 0);
        if (r > 0) {
            if (!options_.buffered) got += static_cast<std::size_t>(r);
            continue;
        }
        if (r == 0) throw Error("filter closed the connection");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            const int ms = remaining_ms(deadline);
            if (ms == 0) throw Error("read timed out");
            pollfd p{fd_, POLLIN, 0};
            const int pr = ::poll(&p, 1, ms);
            if (pr == 0) throw Error("read timed out");
            if (pr < 0 && errno != EINTR) throw Error("poll: " + errno_text(errno));
            continue;
        }
        if (errno == ECONNRESET) throw Error("filter reset the connection");
        throw Error("read: " + errno_text(errno));
    }
}

void Session::send_raw(std::string_view bytes) {
    flush();
    write_all(bytes);
}

void Session::send_packet(char command, std::string_view data) { send_raw(encode_packet(command, data)); }

void Session::flush() {
    if (out_.empty()) return;
    const std::string pending = std::move(out_);
    out_.clear();
    write_all(pending);
}

void Session::queue_packet(char command, std::string_view data) { out_ += encode_packet(command, data); }

std::optional<Packet> Session::read_packet(std::chrono::milliseconds timeout) {
    flush();
    const auto deadline = Clock::now() + timeout;
    // Wait for the first byte without throwing on timeout.
    pollfd p{fd_, POLLIN, 0};
    for (; in_pos_ == in_.size();) {
        const int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r == 0) return std::nullopt;
        if (r > 0) break;
        if (errno != EINTR) throw Error("poll: " + errno_text(errno));
    }
    char len_bytes[4];
    read_exact(len_bytes, 4, deadline);
    Reader lr(std::string_view(len_bytes, 4), '?');
    const std::uint32_t len = lr.u32();
    if (len == 0) throw Error("filter sent a zero-length packet");
    if (len > kMaxReplyLength) throw Error("filter sent an oversized packet: " + std::to_string(len));
    Packet packet;
    read_exact(&packet.command, 1, deadline);
    packet.data.resize(len - 1);
    if (len > 1) read_exact(packet.data.data(), len - 1, deadline);
    return packet;
}

bool Session::wait_closed(std::chrono::milliseconds timeout) {
    if (fd_ < 0) return true;
    try {
        flush();
    } catch (const Error&) {
        return true;  // writing failed: the peer is gone
    }
    const auto deadline = Clock::now() + timeout;
    in_.clear();  // read but not consumed: discarded, as below
    in_pos_ = 0;
    char buf[4096];
    for (;;) {
        const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
        if (r == 0) return true;
        if (r > 0) continue;
        if (errno == EINTR) continue;
        if (errno == ECONNRESET || errno == EPIPE) return true;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return true;
        const int ms = remaining_ms(deadline);
        if (ms == 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, ms) == 0) return false;
    }
}

// ---------------------------------------------------------------------------

const Negotiated& Session::negotiate() {
    std::string data = be32(options_.version) + be32(options_.actions) + be32(options_.protocol);
    queue_packet(SMFIC_OPTNEG, data);
    flush();
    const auto packet = read_packet(options_.timeout);
    if (!packet) throw Error("no reply to SMFIC_OPTNEG within the timeout");
    if (packet->command != SMFIC_OPTNEG)
        throw Error(std::string("unexpected reply '") + packet->command + "' to SMFIC_OPTNEG");
    Reader r(packet->data, packet->command);
    Negotiated n;
    n.version = r.u32();
    n.actions = r.u32();
    n.protocol = r.u32();
    // Postfix refuses a filter with a newer protocol or actions it did not
    // offer; sendmail also refuses protocol steps it did not offer.
    if (n.version > options_.version)
        throw Error("filter protocol version " + std::to_string(n.version) + " is newer than ours");
    if ((n.actions & options_.actions) != n.actions)
        throw Error("filter asks for actions we did not offer: " + std::to_string(n.actions));
    // SMFIP_MDS_* and the internal bits are sendmail-internal size options.
    if ((n.protocol & ~static_cast<std::uint32_t>(SMFI_INTERNAL) & options_.protocol) !=
        (n.protocol & ~static_cast<std::uint32_t>(SMFI_INTERNAL)))
        throw Error("filter asks for protocol steps we did not offer: " + std::to_string(n.protocol));
    // Secondary negotiation: SMFIR_SETSYMLIST lists (stage, "name name ...").
    while (!r.empty()) {
        const std::uint32_t stage = r.u32();
        const std::string list = r.str();
        std::vector<std::string> names;
        std::size_t i = 0;
        while (i < list.size()) {
            const auto start = list.find_first_not_of(" ,\t", i);
            if (start == std::string::npos) break;
            auto end = list.find_first_of(" ,\t", start);
            if (end == std::string::npos) end = list.size();
            names.emplace_back(list.substr(start, end - start));
            i = end;
        }
        n.macro_lists.emplace_back(stage, std::move(names));
    }
    negotiated_ = std::move(n);
    return negotiated_;
}

bool Session::macro_wanted(char stage, std::string_view name) const {
    if (!options_.honour_macro_lists) return true;
    const auto s = stage_of(stage);
    if (!s) return true;
    const auto* list = negotiated_.macro_list(*s);
    if (list == nullptr) return true;
    const std::string_view bare = strip_braces(name);
    return std::any_of(list->begin(), list->end(),
                       [&](const std::string& n) { return strip_braces(n) == bare; });
}

void Session::macros(char stage, const std::vector<std::pair<std::string, std::string>>& values) {
    std::string data(1, stage);
    bool any = false;
    for (const auto& [name, value] : values) {
        if (!macro_wanted(stage, name)) continue;
        data += wire_macro_name(name);
        data.push_back('\0');
        data += value;
        data.push_back('\0');
        any = true;
    }
    // sendmail and Postfix send a macro packet even when it is empty only if
    // the stage has macros at all; an empty list is harmless either way.
    if (any || values.empty()) queue_packet(SMFIC_MACRO, data);
}

Response Session::event(char command, std::string_view data, std::uint32_t no_send_flag,
                        std::uint32_t no_reply_flag) {
    if (no_send_flag != 0 && negotiated_.has(no_send_flag)) {
        // The macros still go out (Postfix does this), the event does not.
        flush();
        return Response{Action::NotSent, {}, 0, std::nullopt};
    }
    queue_packet(command, data);
    const bool no_reply = no_reply_flag != 0 && negotiated_.has(no_reply_flag);
    // Options::buffered: written with the next packet that waits for a reply.
    if (!options_.buffered || !no_reply || out_.size() >= kBufferedWriteSize) flush();
    if (no_reply) return Response{Action::NoReply, {}, 0, std::nullopt};
    return read_decision(command);
}

Response Session::read_decision(char event) {
    // Only end of message carries modifications; read_decision for EOM goes
    // through end_of_message(), which uses the same loop with an EomResult.
    EomResult result;
    bool done = false;
    const bool at_eom = event == SMFIC_BODYEOB;
    const bool leadspc = negotiated_.has(SMFIP_HDR_LEADSPC);
    auto value_of = [leadspc](const std::string& raw) {
        if (leadspc && !raw.empty() && raw.front() == ' ') return raw.substr(1);
        return raw;
    };
    while (!done) {
        const auto packet = read_packet(options_.timeout);
        if (!packet)
            throw Error(std::string("no reply to '") + event + "' within the timeout");
        const char cmd = packet->command;
        Reader r(packet->data, cmd);
        auto no_data = [&] {
            if (!packet->data.empty())
                throw Error(std::string("reply '") + cmd + "' followed by data bytes");
        };
        switch (cmd) {
        case SMFIR_PROGRESS: no_data(); ++result.progress; continue;
        case SMFIR_CONTINUE: no_data(); result.action = Action::Continue; done = true; break;
        case SMFIR_ACCEPT: no_data(); result.action = Action::Accept; done = true; break;
        case SMFIR_REJECT: no_data(); result.action = Action::Reject; done = true; break;
        case SMFIR_TEMPFAIL: no_data(); result.action = Action::TempFail; done = true; break;
        case SMFIR_DISCARD: no_data(); result.action = Action::Discard; done = true; break;
        case SMFIR_SKIP: no_data(); result.action = Action::Skip; done = true; break;
        case SMFIR_SHUTDOWN: no_data(); result.action = Action::Shutdown; done = true; break;
        case SMFIR_CONN_FAIL: no_data(); result.action = Action::ConnFail; done = true; break;
        case SMFIR_REPLYCODE:
            result.action = Action::ReplyCode;
            result.reply = r.str();
            r.end();
            done = true;
            break;
        case SMFIR_QUARANTINE:
            // Not a decision: sendmail and Postfix keep reading.
            result.quarantine = r.str();
            continue;
        default:
            if (!at_eom)
                throw Error(std::string("unexpected filter reply '") + cmd + "' to event '" + event + "'");
            switch (cmd) {
            case SMFIR_ADDHEADER: {
                HeaderEdit e;
                e.kind = HeaderEdit::Kind::Add;
                e.name = r.str();
                e.raw_value = r.str();
                r.end();
                e.value = value_of(e.raw_value);
                result.header_edits.push_back(e);
                result.added_headers.push_back(std::move(e));
                break;
            }
            case SMFIR_INSHEADER:
            case SMFIR_CHGHEADER: {
                HeaderEdit e;
                e.kind = cmd == SMFIR_INSHEADER ? HeaderEdit::Kind::Insert : HeaderEdit::Kind::Change;
                e.index = r.u32();
                e.name = r.str();
                e.raw_value = r.str();
                r.end();
                if (e.name.empty()) throw Error("header edit with an empty name");
                e.value = value_of(e.raw_value);
                result.header_edits.push_back(e);
                (cmd == SMFIR_INSHEADER ? result.inserted_headers : result.changed_headers)
                    .push_back(std::move(e));
                break;
            }
            case SMFIR_ADDRCPT: {
                Recipient rc{r.str(), {}};
                r.end();
                result.added_recipients.push_back(std::move(rc));
                break;
            }
            case SMFIR_ADDRCPT_PAR: {
                Recipient rc{r.str(), {}};
                if (!r.empty()) rc.esmtp_args = r.str();
                r.end();
                result.added_recipients.push_back(std::move(rc));
                break;
            }
            case SMFIR_DELRCPT:
                result.deleted_recipients.push_back(r.str());
                r.end();
                break;
            case SMFIR_CHGFROM:
                result.new_sender = r.str();
                if (!r.empty()) result.new_sender_args = r.str();
                r.end();
                break;
            case SMFIR_REPLBODY:
                if (!result.replaced_body) result.replaced_body.emplace();
                *result.replaced_body += packet->data;
                break;
            default:
                throw Error(std::string("unknown filter reply '") + cmd + "' at end of message");
            }
            continue;
        }
    }
    if (at_eom) last_eom_ = std::move(result);
    else last_eom_.reset();
    Response plain;
    const EomResult& src = at_eom ? *last_eom_ : result;
    plain.action = src.action;
    plain.reply = src.reply;
    plain.progress = src.progress;
    plain.quarantine = src.quarantine;
    return plain;
}

// ---------------------------------------------------------------------------

Response Session::connect(std::string_view hostname, std::string_view address, std::uint16_t port) {
    std::string data(hostname);
    data.push_back('\0');
    if (address.empty()) {
        data.push_back(SMFIA_UNKNOWN);
    } else {
        char family = SMFIA_INET;
        if (address.front() == '/') family = SMFIA_UNIX;
        else if (address.find(':') != std::string_view::npos) family = SMFIA_INET6;
        data.push_back(family);
        const std::uint16_t wire_port = family == SMFIA_UNIX ? 0 : port;
        data.push_back(static_cast<char>((wire_port >> 8) & 0xFF));
        data.push_back(static_cast<char>(wire_port & 0xFF));
        data += address;
        data.push_back('\0');
    }
    return event(SMFIC_CONNECT, data, SMFIP_NOCONNECT, SMFIP_NR_CONN);
}

Response Session::helo(std::string_view name) {
    std::string data(name);
    data.push_back('\0');
    return event(SMFIC_HELO, data, SMFIP_NOHELO, SMFIP_NR_HELO);
}

namespace {
std::string argv_data(const std::vector<std::string>& argv) {
    std::string data;
    for (const auto& a : argv) {
        data += a;
        data.push_back('\0');
    }
    return data;
}
}  // namespace

Response Session::mail(const std::vector<std::string>& argv) {
    return event(SMFIC_MAIL, argv_data(argv), SMFIP_NOMAIL, SMFIP_NR_MAIL);
}

Response Session::rcpt(const std::vector<std::string>& argv) {
    return event(SMFIC_RCPT, argv_data(argv), SMFIP_NORCPT, SMFIP_NR_RCPT);
}

Response Session::data() { return event(SMFIC_DATA, {}, SMFIP_NODATA, SMFIP_NR_DATA); }

Response Session::header(std::string_view name, std::string_view value) {
    // sendmail passes folded headers with bare LF line separators.
    std::string v;
    v.reserve(value.size() + 1);
    if (negotiated_.has(SMFIP_HDR_LEADSPC)) v.push_back(' ');
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') continue;
        v.push_back(value[i]);
    }
    return header_verbatim(name, v);
}

Response Session::header_verbatim(std::string_view name, std::string_view after_colon) {
    std::string data(name);
    data.push_back('\0');
    data += after_colon;
    data.push_back('\0');
    return event(SMFIC_HEADER, data, SMFIP_NOHDRS, SMFIP_NR_HDR);
}

Response Session::eoh() { return event(SMFIC_EOH, {}, SMFIP_NOEOH, SMFIP_NR_EOH); }

Response Session::body(std::string_view content) {
    Response last{Action::Continue, {}, 0, std::nullopt};
    while (!content.empty()) {
        const std::size_t n = std::min<std::size_t>(content.size(), MILTER_CHUNK_SIZE);
        last = event(SMFIC_BODY, content.substr(0, n), SMFIP_NOBODY, SMFIP_NR_BODY);
        content.remove_prefix(n);
        if (last.action == Action::NotSent) break;
        // SMFIR_SKIP: the filter wants no more body chunks (only when the
        // MTA offered SMFIP_SKIP, which this client does by default).
        if (last.action == Action::Skip) break;
        if (!last.proceeds()) break;
    }
    return last;
}

EomResult Session::end_of_message() {
    queue_packet(SMFIC_BODYEOB, {});
    flush();
    read_decision(SMFIC_BODYEOB);
    EomResult r = std::move(*last_eom_);
    last_eom_.reset();
    return r;
}

Response Session::unknown(std::string_view command_line) {
    std::string data(command_line);
    data.push_back('\0');
    return event(SMFIC_UNKNOWN, data, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN);
}

void Session::abort() {
    queue_packet(SMFIC_ABORT, {});
    flush();
}

void Session::quit() {
    queue_packet(SMFIC_QUIT, {});
    flush();
}

void Session::quit_nc() {
    queue_packet(SMFIC_QUIT_NC, {});
    flush();
}

TransactionResult Session::transaction(const Message& message) {
    TransactionResult t;
    t.mail = mail(message.mail_args);
    if (t.mail.action == Action::Accept) return t;
    if (!t.mail.proceeds()) {
        abort();
        return t;
    }
    bool any_rcpt = false;
    for (const auto& argv : message.recipients) {
        t.rcpt.push_back(rcpt(argv));
        if (t.rcpt.back().action == Action::Accept) return t;
        if (t.rcpt.back().proceeds()) any_rcpt = true;
    }
    if (!any_rcpt) {
        abort();
        return t;
    }
    auto stop = [&](const Response& r) {
        if (r.action == Action::Accept) return true;
        if (!r.proceeds()) {
            abort();
            return true;
        }
        return false;
    };
    t.data = data();
    if (stop(*t.data)) return t;
    for (const auto& [name, value] : message.headers) {
        const Response r = header(name, value);
        if (r.action == Action::Skip) break;
        if (stop(r)) {
            t.eoh = r;  // the header refusal ends the message like an EOH one
            return t;
        }
    }
    t.eoh = eoh();
    if (stop(*t.eoh)) return t;
    if (!message.body.empty()) {
        t.body = body(message.body);
        if (stop(*t.body)) return t;
    }
    t.eom = end_of_message();
    return t;
}

}  // namespace milterclient
