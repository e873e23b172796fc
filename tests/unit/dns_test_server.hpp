// A tiny DNS server for tests: answers from a table on 127.0.0.1 (UDP and
// TCP, one ephemeral port), can delay, answer SERVFAIL, and truncates UDP
// answers over 512 octets (RFC 1035 section 4.2.1) so that the client must
// retry over TCP. Counts the queries it receives. Not a real server: no
// EDNS, no compression, one question per message.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dnstest {

class TestDnsServer {
public:
    TestDnsServer();
    ~TestDnsServer();
    TestDnsServer(const TestDnsServer&) = delete;
    TestDnsServer& operator=(const TestDnsServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string forwarder() const { return "127.0.0.1@" + std::to_string(port_); }

    void add(const std::string& name, std::uint16_t type, std::vector<std::uint8_t> rdata, std::uint32_t ttl = 300);
    void add_a(const std::string& name, const std::string& ipv4, std::uint32_t ttl = 300);
    void add_txt(const std::string& name, const std::vector<std::string>& strings, std::uint32_t ttl = 300);
    void add_name_rdata(const std::string& name, std::uint16_t type, const std::string& target,
                        std::uint16_t mx_preference = 0);  // CNAME, PTR, NS, MX
    void set_servfail(const std::string& name);
    void set_delay(const std::string& name, std::chrono::milliseconds delay);

    int queries(const std::string& name, std::uint16_t type) const;
    int total_queries() const;
    int tcp_queries() const;
    int truncated_answers() const;

private:
    struct Rr {
        std::uint16_t type;
        std::uint32_t ttl;
        std::vector<std::uint8_t> rdata;
    };
    struct Node {
        std::vector<Rr> rrs;
        bool servfail = false;
        std::chrono::milliseconds delay{0};
    };
    struct Scheduled {
        std::chrono::steady_clock::time_point when;
        std::vector<std::uint8_t> packet;
        std::vector<std::uint8_t> peer;  // sockaddr_in bytes
    };
    struct TcpClient {
        int fd;
        std::vector<std::uint8_t> buffer;
    };

    void run();
    // Builds the answer to one query; empty when it is to be ignored.
    std::vector<std::uint8_t> respond(const std::vector<std::uint8_t>& query, bool udp,
                                      std::chrono::milliseconds& delay);

    int udp_fd_ = -1;
    int tcp_fd_ = -1;
    int wake_fd_ = -1;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::map<std::string, Node> nodes_;
    std::map<std::pair<std::string, std::uint16_t>, int> counts_;
    int total_ = 0;
    int tcp_ = 0;
    int truncated_ = 0;
    std::vector<Scheduled> scheduled_;
    std::vector<TcpClient> clients_;
    std::thread thread_;
};

}  // namespace dnstest
