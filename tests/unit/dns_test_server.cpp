#include "dns_test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace dnstest {
namespace {

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

void put16(std::vector<std::uint8_t>& out, unsigned v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    put16(out, v >> 16);
    put16(out, v & 0xffff);
}

std::vector<std::uint8_t> wire_name(const std::string& name) {
    std::vector<std::uint8_t> out;
    std::size_t start = 0;
    while (start < name.size()) {
        std::size_t dot = name.find('.', start);
        if (dot == std::string::npos) dot = name.size();
        out.push_back(static_cast<std::uint8_t>(dot - start));
        out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                   name.begin() + static_cast<std::ptrdiff_t>(dot));
        start = dot + 1;
    }
    out.push_back(0);
    return out;
}

}  // namespace

TestDnsServer::TestDnsServer() {
    // UDP on an ephemeral port, then TCP on the same number; retry if that
    // number happens to be taken for TCP.
    for (int attempt = 0; attempt < 20 && tcp_fd_ < 0; ++attempt) {
        udp_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(udp_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("test dns server: bind udp failed");
        socklen_t len = sizeof addr;
        getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        const int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        const int one = 1;
        setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(tcp, 16) == 0) {
            tcp_fd_ = tcp;
        } else {
            close(tcp);
            close(udp_fd_);
            udp_fd_ = -1;
        }
    }
    if (tcp_fd_ < 0) throw std::runtime_error("test dns server: no port free for both UDP and TCP");
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { run(); });
}

TestDnsServer::~TestDnsServer() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(wake_fd_, &one, sizeof one);
    thread_.join();
    for (auto& c : clients_) close(c.fd);
    close(udp_fd_);
    close(tcp_fd_);
    close(wake_fd_);
}

void TestDnsServer::add(const std::string& name, std::uint16_t type, std::vector<std::uint8_t> rdata,
                        std::uint32_t ttl) {
    std::lock_guard lock(mutex_);
    nodes_[lower(name)].rrs.push_back(Rr{type, ttl, std::move(rdata)});
}

void TestDnsServer::add_a(const std::string& name, const std::string& ipv4, std::uint32_t ttl) {
    std::vector<std::uint8_t> rdata(4);
    if (inet_pton(AF_INET, ipv4.c_str(), rdata.data()) != 1) throw std::runtime_error("bad test address");
    add(name, 1, std::move(rdata), ttl);
}

void TestDnsServer::add_txt(const std::string& name, const std::vector<std::string>& strings, std::uint32_t ttl) {
    std::vector<std::uint8_t> rdata;
    for (const auto& s : strings) {
        rdata.push_back(static_cast<std::uint8_t>(s.size()));
        rdata.insert(rdata.end(), s.begin(), s.end());
    }
    add(name, 16, std::move(rdata), ttl);
}

void TestDnsServer::add_name_rdata(const std::string& name, std::uint16_t type, const std::string& target,
                                   std::uint16_t mx_preference) {
    std::vector<std::uint8_t> rdata;
    if (type == 15) put16(rdata, mx_preference);
    const auto wire = wire_name(lower(target));
    rdata.insert(rdata.end(), wire.begin(), wire.end());
    add(name, type, std::move(rdata));
}

void TestDnsServer::set_servfail(const std::string& name) {
    std::lock_guard lock(mutex_);
    nodes_[lower(name)].servfail = true;
}

void TestDnsServer::set_delay(const std::string& name, std::chrono::milliseconds delay) {
    std::lock_guard lock(mutex_);
    nodes_[lower(name)].delay = delay;
}

int TestDnsServer::queries(const std::string& name, std::uint16_t type) const {
    std::lock_guard lock(mutex_);
    const auto it = counts_.find({lower(name), type});
    return it == counts_.end() ? 0 : it->second;
}

int TestDnsServer::total_queries() const {
    std::lock_guard lock(mutex_);
    return total_;
}

int TestDnsServer::tcp_queries() const {
    std::lock_guard lock(mutex_);
    return tcp_;
}

int TestDnsServer::truncated_answers() const {
    std::lock_guard lock(mutex_);
    return truncated_;
}

std::vector<std::uint8_t> TestDnsServer::respond(const std::vector<std::uint8_t>& q, bool udp,
                                                 std::chrono::milliseconds& delay) {
    delay = std::chrono::milliseconds(0);
    if (q.size() < 12 || (q[2] & 0x80) != 0) return {};
    if (((q[4] << 8) | q[5]) != 1) return {};
    std::size_t pos = 12;
    std::string name;
    for (;;) {
        if (pos >= q.size()) return {};
        const unsigned len = q[pos++];
        if (len == 0) break;
        if (len > 63 || pos + len > q.size()) return {};
        if (!name.empty()) name += '.';
        name.append(reinterpret_cast<const char*>(&q[pos]), len);
        pos += len;
    }
    if (pos + 4 > q.size()) return {};
    const std::uint16_t qtype = static_cast<std::uint16_t>((q[pos] << 8) | q[pos + 1]);
    pos += 4;
    name = lower(name);

    std::lock_guard lock(mutex_);
    ++total_;
    if (!udp) ++tcp_;
    ++counts_[{name, qtype}];

    unsigned rcode = 0;
    std::vector<std::vector<std::uint8_t>> answers;
    std::string current = name;
    for (int hop = 0; hop < 8; ++hop) {
        const auto it = nodes_.find(current);
        if (it == nodes_.end()) {
            rcode = 3;  // NXDOMAIN, also for the last name of a CNAME chain (RFC 6604)
            break;
        }
        if (hop == 0) delay = it->second.delay;
        if (it->second.servfail) {
            rcode = 2;
            answers.clear();
            break;
        }
        const Rr* cname = nullptr;
        bool found = false;
        for (const Rr& rr : it->second.rrs) {
            if (rr.type == 5) cname = &rr;
            if (rr.type != qtype) continue;
            found = true;
            std::vector<std::uint8_t> a = wire_name(current);
            put16(a, rr.type);
            put16(a, 1);
            put32(a, rr.ttl);
            put16(a, static_cast<unsigned>(rr.rdata.size()));
            a.insert(a.end(), rr.rdata.begin(), rr.rdata.end());
            answers.push_back(std::move(a));
        }
        if (found || !cname || qtype == 5) break;
        std::vector<std::uint8_t> a = wire_name(current);
        put16(a, 5);
        put16(a, 1);
        put32(a, cname->ttl);
        put16(a, static_cast<unsigned>(cname->rdata.size()));
        a.insert(a.end(), cname->rdata.begin(), cname->rdata.end());
        answers.push_back(std::move(a));
        // The target in text form, from its wire form.
        std::string target;
        for (std::size_t i = 0; i < cname->rdata.size() && cname->rdata[i] != 0;) {
            const unsigned len = cname->rdata[i++];
            if (!target.empty()) target += '.';
            target.append(reinterpret_cast<const char*>(&cname->rdata[i]), len);
            i += len;
        }
        current = target;
    }

    std::vector<std::uint8_t> out;
    out.push_back(q[0]);
    out.push_back(q[1]);
    out.push_back(static_cast<std::uint8_t>(0x80 | (q[2] & 0x01)));  // QR, RD copied
    out.push_back(static_cast<std::uint8_t>(0x80 | rcode));          // RA
    put16(out, 1);
    put16(out, static_cast<unsigned>(answers.size()));
    put16(out, 0);
    put16(out, 0);
    out.insert(out.end(), q.begin() + 12, q.begin() + static_cast<std::ptrdiff_t>(pos));
    for (const auto& a : answers) out.insert(out.end(), a.begin(), a.end());
    if (udp && out.size() > 512) {
        // RFC 1035 section 4.2.1 / RFC 7766: TC set, the client retries over TCP.
        out.resize(12 + (pos - 12));
        out[2] |= 0x02;
        out[6] = 0;
        out[7] = 0;
        ++truncated_;
    }
    return out;
}

void TestDnsServer::run() {
    for (;;) {
        std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}, {udp_fd_, POLLIN, 0}, {tcp_fd_, POLLIN, 0}};
        for (const auto& c : clients_) fds.push_back({c.fd, POLLIN, 0});
        int timeout_ms = 1000;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& s : scheduled_) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.when - now).count();
            timeout_ms = std::min<int>(timeout_ms, static_cast<int>(std::max<long long>(0, ms)));
        }
        poll(fds.data(), fds.size(), timeout_ms);
        if (fds[0].revents) return;

        const auto t = std::chrono::steady_clock::now();
        for (auto it = scheduled_.begin(); it != scheduled_.end();) {
            if (it->when <= t) {
                sendto(udp_fd_, it->packet.data(), it->packet.size(), 0,
                       reinterpret_cast<const sockaddr*>(it->peer.data()), static_cast<socklen_t>(it->peer.size()));
                it = scheduled_.erase(it);
            } else {
                ++it;
            }
        }
        if (fds[1].revents & POLLIN) {
            std::vector<std::uint8_t> buf(65535);
            sockaddr_in peer{};
            socklen_t peer_len = sizeof peer;
            const ssize_t n = recvfrom(udp_fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
            if (n > 0) {
                buf.resize(static_cast<std::size_t>(n));
                std::chrono::milliseconds delay{};
                auto answer = respond(buf, true, delay);
                if (!answer.empty()) {
                    std::vector<std::uint8_t> peer_bytes(reinterpret_cast<std::uint8_t*>(&peer),
                                                         reinterpret_cast<std::uint8_t*>(&peer) + peer_len);
                    scheduled_.push_back(Scheduled{std::chrono::steady_clock::now() + delay, std::move(answer),
                                                   std::move(peer_bytes)});
                    if (delay.count() == 0) {
                        auto& s = scheduled_.back();
                        sendto(udp_fd_, s.packet.data(), s.packet.size(), 0,
                               reinterpret_cast<const sockaddr*>(s.peer.data()), static_cast<socklen_t>(s.peer.size()));
                        scheduled_.pop_back();
                    }
                }
            }
        }
        if (fds[2].revents & POLLIN) {
            const int c = accept4(tcp_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (c >= 0) clients_.push_back(TcpClient{c, {}});
        }
        for (std::size_t i = 3; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            auto it = std::find_if(clients_.begin(), clients_.end(), [&](const TcpClient& c) { return c.fd == fds[i].fd; });
            if (it == clients_.end()) continue;
            std::uint8_t buf[4096];
            const ssize_t n = read(it->fd, buf, sizeof buf);
            if (n <= 0) {
                close(it->fd);
                clients_.erase(it);
                continue;
            }
            it->buffer.insert(it->buffer.end(), buf, buf + n);
            while (it->buffer.size() >= 2) {
                const std::size_t len = static_cast<std::size_t>((it->buffer[0] << 8) | it->buffer[1]);
                if (it->buffer.size() < 2 + len) break;
                const std::vector<std::uint8_t> q(it->buffer.begin() + 2, it->buffer.begin() + 2 + static_cast<std::ptrdiff_t>(len));
                it->buffer.erase(it->buffer.begin(), it->buffer.begin() + 2 + static_cast<std::ptrdiff_t>(len));
                std::chrono::milliseconds delay{};
                const auto answer = respond(q, false, delay);
                if (answer.empty()) continue;
                std::vector<std::uint8_t> framed;
                put16(framed, static_cast<unsigned>(answer.size()));
                framed.insert(framed.end(), answer.begin(), answer.end());
                // Small answers on loopback: a blocking-style loop is enough.
                std::size_t off = 0;
                while (off < framed.size()) {
                    const ssize_t w = write(it->fd, framed.data() + off, framed.size() - off);
                    if (w > 0) off += static_cast<std::size_t>(w);
                    else if (errno != EAGAIN && errno != EINTR) break;
                }
            }
        }
    }
}

}  // namespace dnstest
