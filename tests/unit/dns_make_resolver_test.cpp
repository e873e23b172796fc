// make_resolver: static zone first, then the network or NXDOMAIN offline.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "dns/make_resolver.hpp"
#include "dns_test_server.hpp"

using namespace std::chrono_literals;
using dns::Budget;
using dns::Status;
using dns::Type;

namespace {

// A zone file that lives as long as the test.
class ZoneFile {
public:
    explicit ZoneFile(const std::string& text) {
        char path[] = "/tmp/dns_make_resolver_XXXXXX";
        const int fd = mkstemp(path);
        if (fd < 0) throw std::runtime_error("mkstemp failed");
        close(fd);
        path_ = path;
        std::ofstream(path_) << text;
    }
    ~ZoneFile() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace

TEST(DnsMakeResolver, OfflineAnswersTheZoneAndNxDomainForTheRest) {
    const ZoneFile zone("example.com TXT \"v=spf1 -all\"\n");
    dns::Options s;
    s.static_zone = zone.path();
    s.offline = true;
    std::vector<dns::ZoneError> errors;
    const auto r = dns::make_resolver(s, errors);
    ASSERT_TRUE(errors.empty());
    Budget b = Budget::unlimited();
    EXPECT_EQ(r->query("example.com", Type::TXT, b).status, Status::Ok);
    EXPECT_EQ(r->query("www.example.org", Type::A, b).status, Status::NxDomain);
}

TEST(DnsMakeResolver, OfflineWithoutZoneIsAllNxDomain) {
    dns::Options s;
    s.offline = true;
    std::vector<dns::ZoneError> errors;
    const auto r = dns::make_resolver(s, errors);
    ASSERT_TRUE(errors.empty());
    Budget b = Budget::unlimited();
    EXPECT_EQ(r->query("example.com", Type::TXT, b).status, Status::NxDomain);
}

TEST(DnsMakeResolver, ZoneErrorsAreReportedWithFileAndLine) {
    const ZoneFile zone("ok.example.com A 192.0.2.1\nbad.example.com A 999.1.1.1\n");
    dns::Options s;
    s.static_zone = zone.path();
    s.offline = true;
    std::vector<dns::ZoneError> errors;
    dns::make_resolver(s, errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].file, zone.path());
    EXPECT_EQ(errors[0].line, 2);
}

TEST(DnsMakeResolver, ZoneNamesComeFromTheZoneOthersFromTheNetwork) {
    dnstest::TestDnsServer server;
    server.add_txt("override.example.com", {"from the network"});
    server.add_txt("other.example.com", {"network only"});
    const ZoneFile zone("override.example.com TXT \"from the zone\"\n");
    dns::Options s;
    s.static_zone = zone.path();
    s.nameservers = {server.forwarder()};
    std::vector<dns::ZoneError> errors;
    const auto r = dns::make_resolver(s, errors);
    ASSERT_TRUE(errors.empty()) << errors[0].to_string();
    Budget b = Budget::unlimited();
    const auto zoned = r->query("override.example.com", Type::TXT, b);
    ASSERT_EQ(zoned.status, Status::Ok);
    EXPECT_EQ(zoned.records.at(0).txt(), "from the zone");
    // A type the zone lacks for a name it holds is NODATA, not a network question.
    EXPECT_EQ(r->query("override.example.com", Type::A, b).status, Status::NoData);
    const auto net = r->query("other.example.com", Type::TXT, b);
    ASSERT_EQ(net.status, Status::Ok) << dns::status_name(net.status);
    EXPECT_EQ(net.records.at(0).txt(), "network only");
    EXPECT_EQ(server.queries("override.example.com", 16), 0);
    EXPECT_EQ(server.queries("override.example.com", 1), 0);
    EXPECT_EQ(server.queries("other.example.com", 16), 1);
}

TEST(DnsMakeResolver, ZoneCnameToAnOutsideNameIsAskedOfTheNetwork) {
    dnstest::TestDnsServer server;
    server.add_a("mail.example.net", "192.0.2.99");
    const ZoneFile zone("alias.example.com CNAME mail.example.net\n");
    dns::Options s;
    s.static_zone = zone.path();
    s.nameservers = {server.forwarder()};
    std::vector<dns::ZoneError> errors;
    const auto r = dns::make_resolver(s, errors);
    Budget b = Budget::unlimited();
    const auto a = r->query("alias.example.com", Type::A, b);
    ASSERT_EQ(a.status, Status::Ok) << dns::status_name(a.status);
    EXPECT_EQ(a.records.at(0).address[3], 99);
}

TEST(DnsMakeResolver, BadNameserverIsReportedAndNetworkNamesServFail) {
    dns::Options s;
    s.nameservers = {"300.1.1.1"};
    std::vector<dns::ZoneError> errors;
    const auto r = dns::make_resolver(s, errors);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].to_string().find("300.1.1.1"), std::string::npos) << errors[0].to_string();
    ASSERT_NE(r, nullptr);
    Budget b = Budget::unlimited();
    EXPECT_EQ(r->query("example.com", Type::TXT, b).status, Status::ServFail);
}

TEST(DnsMakeResolver, PerQueryTimeoutSettingIsHonoured) {
    dnstest::TestDnsServer server;
    server.add_a("slow.example.com", "192.0.2.1");
    server.set_delay("slow.example.com", 5000ms);
    dns::Options s;
    s.nameservers = {server.forwarder()};
    s.timeout = 200ms;
    std::vector<dns::ZoneError> errors;
    const auto r = dns::make_resolver(s, errors);
    Budget b = Budget::unlimited();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(r->query("slow.example.com", Type::A, b).status, Status::Timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms + 700ms);
}
