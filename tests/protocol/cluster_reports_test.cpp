// DMARC aggregate reports from several MX hosts (issue 17, [dmarc.reports]
// store = "redis"): two daemons on one real redis-server each receive
// different messages, and one message is delivered through both (a sender
// that tried the second MX after losing the first one's reply: two
// deliveries, two evaluations). One `connector-milter report` then covers
// both hosts with the exact counts, nothing counted twice, and its XML
// validates against the RFC 9990 schema.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "milterclient/daemon_process.hpp"
#include "milterclient/milter_client.hpp"
#include "milterclient/mta.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::SmtpClient;

// fabrikam.example's SPF lists 198.51.100.0/24: its mail from there passes
// DMARC (SPF aligned), and its DMARC record asks for aggregate reports.
constexpr const char* kReportZone =
    "fabrikam.example.         IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
    "_dmarc.fabrikam.example.  IN TXT \"v=DMARC1; p=none; rua=mailto:dmarc@fabrikam.example\"\n"
    "contoso.com.              IN TXT \"v=spf1 ip4:10.0.0.0/8 -all\"\n";

std::string redis_server() {
    for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"})
        if (::access(p, X_OK) == 0) return p;
    return "";
}

std::string utc_date(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char out[16];
    std::strftime(out, sizeof out, "%Y-%m-%d", &tm);
    return out;
}

// Every <record>'s source_ip and count, summed per source.
std::map<std::string, std::uint64_t> counts_by_source(const std::string& xml) {
    std::map<std::string, std::uint64_t> out;
    const auto between = [&](std::size_t from, std::size_t to, const std::string& tag) {
        const auto a = xml.find("<" + tag + ">", from);
        const auto b = xml.find("</" + tag + ">", from);
        if (a == std::string::npos || b == std::string::npos || b > to) return std::string();
        return xml.substr(a + tag.size() + 2, b - a - tag.size() - 2);
    };
    for (std::size_t at = xml.find("<record>"); at != std::string::npos; at = xml.find("<record>", at + 1)) {
        const auto end = xml.find("</record>", at);
        out[between(at, end, "source_ip")] += std::stoull(between(at, end, "count"));
    }
    return out;
}

class ClusterReportsTest : public ::testing::Test {
protected:
    void SetUp() override {
        const std::string binary = redis_server();
        ASSERT_FALSE(binary.empty()) << "redis-server not found (scripts/install-deps installs it)";
        redis_port_ = free_tcp_port();
        const std::string data = (dir_.path() / "redis").string();
        std::filesystem::create_directories(data);
        redis_ = std::make_unique<DaemonProcess>(
            std::vector<std::string>{binary, "--port", std::to_string(redis_port_), "--bind", "127.0.0.1", "--dir",
                                     data, "--save", "", "--appendonly", "no", "--protected-mode", "no"},
            (dir_.path() / "redis.log").string());
        std::string why;
        ASSERT_TRUE(redis_->start("inet:" + std::to_string(redis_port_) + "@127.0.0.1", 10s, &why)) << why;
        dir_.write("zone", kReportZone);
    }
    void TearDown() override {
        for (auto& d : daemons_)
            if (d && d->running()) d->stop(5s);
        if (redis_ && redis_->running()) redis_->stop(5s);
    }

    // The configuration of host `index`: both hosts report as one
    // (the same submitter) through the same Redis.
    std::string config(std::size_t index, const std::string& socket) {
        std::ostringstream c;
        c << "[milter]\nsocket = \"" << socket << "\"\nauthserv_id = \"mx" << index << ".contoso.com\"\n"
          << "drain_timeout = \"2s\"\n"
          << engine_setting() << "\n[dns]\nstatic_zone = \"" << (dir_.path() / "zone").string()
          << "\"\noffline = true\ntimeout = \"500ms\"\n\n"
          << "[dmarc.reports]\nstore = \"redis\"\nsubmitter = \"contoso.com\"\norg_name = \"Contoso\"\n"
          << "contact = \"dmarc@contoso.com\"\n\n"
          << "[cluster]\nredis = \"redis://127.0.0.1:" << redis_port_ << "/4\"\nkey_prefix = \"mx:\"\n\n"
          << authoritative_domain("contoso.com")
          << internet_connector("Default Frontend", "tarpit_interval = 0\n");
        return dir_.write("mx" + std::to_string(index) + ".conf", c.str());
    }

    void start_daemon(std::size_t index) {
        const std::string socket = "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1";
        const std::string path = config(index, socket);
        sockets_.resize(std::max(sockets_.size(), index + 1));
        daemons_.resize(std::max(daemons_.size(), index + 1));
        sockets_[index] = socket;
        daemons_[index] = std::make_unique<DaemonProcess>(
            std::vector<std::string>{daemon_path(), "-f", "-R", "-c", path},
            (dir_.path() / ("mx" + std::to_string(index) + ".log")).string());
        std::string why;
        ASSERT_TRUE(daemons_[index]->start(socket, 10s, &why)) << why << "\n" << daemons_[index]->log();
    }

    // One message from `ip` through host `index`, delivered.
    void deliver(std::size_t index, const std::string& ip, const std::string& message_id) {
        SmtpClient client;
        client.ip = ip;
        client.name = "[" + ip + "]";
        Mta mta(sockets_[index], client);
        ASSERT_TRUE(mta.connect().proceeds());
        SimpleMessage m;
        m.headers[4] = {"Message-ID", "<" + message_id + "@fabrikam.example>"};
        const auto r = mta.send(m);
        ASSERT_TRUE(r.proceeds()) << describe(r);
        const auto ar = r.new_headers("Authentication-Results");
        ASSERT_EQ(ar.size(), 1U);
        ASSERT_NE(ar[0].value.find("dmarc=pass"), std::string::npos) << ar[0].value;
    }

    milterclient::TempDir dir_;
    std::uint16_t redis_port_ = 0;
    std::unique_ptr<DaemonProcess> redis_;
    std::vector<std::unique_ptr<DaemonProcess>> daemons_;
    std::vector<std::string> sockets_;
};

TEST_F(ClusterReportsTest, OneReportCoversBothHostsEvaluationsWithNothingCountedTwice) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(0));
    ASSERT_NO_FATAL_FAILURE(start_daemon(1));
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(deliver(0, "198.51.100.7", "a" + std::to_string(i)));
    ASSERT_NO_FATAL_FAILURE(deliver(1, "198.51.100.7", "b0"));
    for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(deliver(1, "198.51.100.8", "c" + std::to_string(i)));
    // The same message (same Message-ID) through both hosts: delivered
    // twice, evaluated twice, reported twice.
    ASSERT_NO_FATAL_FAILURE(deliver(0, "198.51.100.9", "again"));
    ASSERT_NO_FATAL_FAILURE(deliver(1, "198.51.100.9", "again"));
    // SIGTERM: each daemon stores what its recorder holds before it ends.
    for (auto& d : daemons_) {
        const auto ended = d->stop(10s);
        ASSERT_TRUE(ended.exited && ended.exit_code == 0)
            << "exit " << ended.exit_code << " signal " << ended.signal << "\n" << d->log();
        EXPECT_EQ(d->log().find("not recorded"), std::string::npos) << d->log();
    }

    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const std::int64_t today = now - now % 86400;
    const std::string out = (dir_.path() / "out").string();
    std::filesystem::create_directories(out);
    // Run twice: reading is not counting either.
    for (int run = 0; run < 2; ++run) {
        const auto report = run_command({daemon_path(), "report", "-c", (dir_.path() / "mx1.conf").string(),
                                         "--since", utc_date(today - 86400), "--until", utc_date(today + 86400),
                                         "--out", out},
                                        30s);
        ASSERT_TRUE(report.exited && report.exit_code == 0) << report.output;
        EXPECT_NE(report.output.find(": 8 evaluations, 1 reports"), std::string::npos) << report.output;
    }
    const std::string gz = out + "/contoso.com!fabrikam.example!" + std::to_string(today - 86400) + "!" +
                           std::to_string(today + 86400 - 1) + ".xml.gz";
    ASSERT_TRUE(std::filesystem::exists(gz)) << gz;
    const std::string xml_path = out + "/report.xml";
    const auto unzip = run_command({"/bin/sh", "-c", "gzip -dc '" + gz + "' >'" + xml_path + "'"}, 10s);
    ASSERT_TRUE(unzip.exited && unzip.exit_code == 0) << unzip.output;
    std::ifstream in(xml_path);
    const std::string xml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

    const std::map<std::string, std::uint64_t> expected{
        {"198.51.100.7", 4}, {"198.51.100.8", 2}, {"198.51.100.9", 2}};
    EXPECT_EQ(counts_by_source(xml), expected) << xml;

    const char* testdata = std::getenv("TESTDATA_DIR");
    ASSERT_TRUE(testdata != nullptr && *testdata != '\0')
        << "TESTDATA_DIR is not set: run through `make check`, or export TESTDATA_DIR=/work/shared/testdata";
    const std::string xsd = std::string(testdata) + "/dmarc-reports/rfc9990-aggregate.xsd";
    const auto lint = run_command({"/usr/bin/xmllint", "--noout", "--schema", xsd, xml_path}, 30s);
    EXPECT_TRUE(lint.exited && lint.exit_code == 0) << lint.output;
}

}  // namespace
}  // namespace protocol_test
