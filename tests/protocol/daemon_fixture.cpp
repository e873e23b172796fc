#include "protocol/daemon_fixture.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

namespace protocol_test {

using namespace std::chrono_literals;

// SPF records for the senders the tests use (RFC 7208 section 3: a TXT
// record "v=spf1 ..." at the MAIL FROM domain).
const char* const kZone =
    "; static zone for the protocol tests\n"
    "fabrikam.example.        IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
    "mail.fabrikam.example.   IN A   198.51.100.7\n"
    "spf-pass.example.        IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "mail.spf-pass.example.   IN A   192.0.2.10\n"
    "contoso.com.             IN TXT \"v=spf1 ip4:10.0.0.0/8 -all\"\n"
    "external.example.        IN TXT \"v=spf1 -all\"\n"
    // A domain without SPF record (RFC 7208 section 4.5: result "none"), for
    // senders whose SPF must not decide a test.
    "nospf.example.           IN A   192.0.2.99\n"
    // RFC 7489 section 6.3: a domain that asks for failing mail to be
    // quarantined (tests/protocol/quarantine_test.cpp).
    "_dmarc.quarantine.example. IN TXT \"v=DMARC1; p=quarantine\"\n";

std::string DaemonTest::config_text(const std::string& rest) const {
    std::ostringstream c;
    c << "# written by tests/protocol for one test\n"
      << "[milter]\n"
      << "socket = \"" << socket_spec_ << "\"\n"
      << "authserv_id = \"mx.example.com\"\n"
      << "drain_timeout = \"3s\"\n"
      << extra_milter_settings_
      << engine_setting()
      << "\n"
      << "[dns]\n"
      << "static_zone = \"" << (dir_.path() / "zone").string() << "\"\n"
      << "offline = true\n"
      << "timeout = \"500ms\"\n"
      << "\n"
      << rest;
    return c.str();
}

void DaemonTest::start_daemon(const std::string& rest, const std::string& socket) {
    const std::string daemon = daemon_binary_.empty() ? daemon_path() : daemon_binary_;
    ASSERT_FALSE(daemon.empty())
        << "DAEMON is not set: run through `make check`, or export "
           "DAEMON=/path/to/build/connector-milter";
    ASSERT_EQ(::access(daemon.c_str(), X_OK), 0) << "DAEMON=" << daemon << " is not executable";
    socket_spec_ = socket.empty() ? "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1" : socket;
    dir_.write("zone", kZone);
    config_path_ = dir_.write("connector-milter.conf", config_text(rest));
    std::vector<std::string> argv = command_prefix_;
    for (const char* word : {daemon.c_str(), "-f", "-R", "-c", config_path_.c_str(), "-p", socket_spec_.c_str()})
        argv.emplace_back(word);
    daemon_ = std::make_unique<DaemonProcess>(argv, (dir_.path() / "daemon.log").string());
    std::string why;
    const bool started = daemon_->start(socket_spec_, 10s, &why);
    ASSERT_TRUE(started) << why << "\n--- daemon output ---\n" << daemon_->log();
}

bool DaemonTest::wait_for_log(const std::vector<std::string>& parts, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::istringstream lines(daemon_ ? daemon_->log() : std::string());
        for (std::string line; std::getline(lines, line);) {
            bool all = true;
            for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
            if (all) return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);  // the poll interval, not a guess at how long anything takes
    }
}

void DaemonTest::reload_daemon(const std::string& rest) {
    ASSERT_TRUE(daemon_ && daemon_->running()) << "no daemon to reload";
    config_path_ = dir_.write("connector-milter.conf", config_text(rest));
    daemon_->signal(SIGUSR1);
}

void DaemonTest::sigterm_daemon() {
    ASSERT_TRUE(daemon_ && daemon_->running()) << "no daemon to stop";
    daemon_->signal(SIGTERM);
    sigterm_sent_ = true;
}

void DaemonTest::TearDown() {
    if (!daemon_) return;
    // No pause for the test's last QUIT to arrive first: SIGTERM drains, and
    // a session still open is served to its end within drain_timeout.
    const bool was_running = sigterm_sent_ || daemon_->running();
    const CommandResult r = daemon_->stop(12s, !sigterm_sent_);
    EXPECT_TRUE(was_running) << "the daemon died during the test ("
                             << (r.exited ? "exit status " + std::to_string(r.exit_code)
                                          : "signal " + std::to_string(r.signal))
                             << ")\n--- daemon output ---\n" << r.output;
    if (was_running) {
        EXPECT_FALSE(r.timed_out) << "SIGTERM did not stop the daemon within 12 s\n--- daemon output ---\n"
                                  << r.output;
        EXPECT_TRUE(r.exited && r.exit_code == 0)
            << "after SIGTERM the daemon ended with "
            << (r.exited ? "exit status " + std::to_string(r.exit_code) : "signal " + std::to_string(r.signal))
            << "\n--- daemon output ---\n" << r.output;
    }
    // PROTOCOL_TEST_VERBOSE=1 shows every daemon log, not only failing ones.
    const char* verbose = std::getenv("PROTOCOL_TEST_VERBOSE");
    if ((HasFailure() || (verbose != nullptr && *verbose != '\0' && *verbose != '0')) && was_running)
        std::cerr << "--- daemon output (" << dir_.path() << ") ---\n" << r.output << "--- end ---\n";
    daemon_.reset();
}

std::string engine_setting() {
    const char* engine = std::getenv("CONNECTOR_MILTER_ENGINE");
    if (engine == nullptr || *engine == '\0') return "";
    return "engine = \"" + std::string(engine) + "\"\n";
}

std::string describe(const milterclient::Response& r) {
    std::string s(milterclient::to_string(r.action));
    if (!r.smtp_reply().empty()) s += " \"" + r.smtp_reply() + "\"";
    if (r.quarantine) s += " quarantine \"" + *r.quarantine + "\"";
    return s;
}

std::string visible(std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        } else {
            out += c;
        }
    }
    return out;
}

std::string authoritative_domain(const std::string& domain) {
    return "\n[[accepted_domain]]\ndomain = \"" + domain + "\"\ntype = \"authoritative\"\n";
}

std::string internet_connector(const std::string& name, const std::string& extra) {
    return "\n[[connector]]\nname = \"" + name + "\"\n"
           "bindings = [\"0.0.0.0:25\", \"[::]:25\"]\n"
           "remote_ip_ranges = [\"0.0.0.0-255.255.255.255\", \"::/0\"]\n"
           "permission_groups = [\"AnonymousUsers\", \"ExchangeUsers\", \"ExchangeServers\"]\n"
           "auth_mechanisms = [\"Tls\", \"BasicAuth\", \"BasicAuthRequireTLS\"]\n" +
           extra;
}

std::string anonymous_relay(const std::string& ranges, const std::string& extra, const std::string& name) {
    return "\n[[connector]]\nname = \"" + name + "\"\n"
           "bindings = [\"10.0.0.50:25\"]\n"
           "remote_ip_ranges = [" + ranges + "]\n"
           "permission_groups = [\"AnonymousUsers\"]\n" +
           extra +
           "[connector.grant]\nAnonymousUsers = [\"Ms-Exch-SMTP-Accept-Any-Recipient\"]\n";
}

}  // namespace protocol_test
