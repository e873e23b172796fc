// Base of the protocol tests: a temporary folder with the config and the
// static DNS zone, and the built daemon ($DAEMON -f -c CONFIG -p
// inet:PORT@127.0.0.1) started for each test and stopped with SIGTERM after
// it, checking exit status 0.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "milterclient/daemon_process.hpp"
#include "milterclient/milter_client.hpp"
#include "milterclient/mta.hpp"

namespace protocol_test {

using milterclient::CommandResult;
using milterclient::daemon_path;
using milterclient::DaemonProcess;
using milterclient::free_tcp_port;
using milterclient::Mta;
using milterclient::run_command;
using milterclient::SimpleMessage;
using milterclient::SmtpClient;
using milterclient::TempDir;

// Base of every protocol test: writes config and zone, runs the daemon, and
// at the end checks that SIGTERM stops it with exit status 0.
class DaemonTest : public ::testing::Test {
protected:
    void TearDown() override;

    // The standard [milter] and [dns] sections followed by `rest` (accepted
    // domains, connectors, ...). Stops the test on failure.
    std::string config_text(const std::string& rest) const;
    // Writes the config and the zone and starts the daemon.
    // `socket` overrides the default inet:FREE_PORT@127.0.0.1.
    void start_daemon(const std::string& rest, const std::string& socket = "");
    // Rewrites the config (same [milter]/[dns]) and sends SIGUSR1.
    void reload_daemon(const std::string& rest);
    // SIGTERM now; TearDown then only waits for the exit and checks status 0.
    void sigterm_daemon();
    std::string socket_spec() const { return socket_spec_; }
    // Waits (bounded) until the daemon's log holds a line containing every
    // one of `parts`, the event a test waits for instead of sleeping; false
    // when `timeout` passed first.
    bool wait_for_log(const std::vector<std::string>& parts, std::chrono::milliseconds timeout) const;

    TempDir dir_;
    // Lines added to the [milter] section (e.g. "idle_timeout = \"4s\"\n").
    std::string extra_milter_settings_;
    // Words before the daemon's path, e.g. {"prlimit", "--nofile=128:128", "--"}.
    std::vector<std::string> command_prefix_;
    // Another daemon binary than $DAEMON (e.g. the fault-injection build).
    std::string daemon_binary_;
    std::string config_path_;
    std::string socket_spec_;
    std::unique_ptr<DaemonProcess> daemon_;
    bool sigterm_sent_ = false;
};

// The [milter] engine line for the configs the tests write: empty (the
// daemon's default engine) unless CONNECTOR_MILTER_ENGINE names one
// ("native", "libmilter"), so that the same suites run against both
// engines as a differential test (tests/protocol/*_native.test).
std::string engine_setting();

// The static zone every test uses.
extern const char* const kZone;

// ---- Helpers shared by the protocol test files ----

// Exchange's reply texts (issue 2, "Exchange semantics to reproduce").
inline constexpr const char* kRelayDenied = "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain";
inline constexpr const char* kTooLarge = "552 5.3.4 Message size exceeds fixed maximum message size";

// A milter response in a failure message: action, SMTP reply, quarantine.
std::string describe(const milterclient::Response& r);
// `s` with CR, LF and TAB spelled out and other control bytes as \xNN.
std::string visible(std::string_view s);

// Configuration pieces (TOML), as an administrator would write them.
// One authoritative accepted domain.
std::string authoritative_domain(const std::string& domain);
// Exchange's internet-facing receive connector (its "Default Frontend"):
// port 25 on every address, every client, the AnonymousUsers, ExchangeUsers
// and ExchangeServers groups and Exchange's auth mechanisms. `extra` adds
// lines at the end of its table (keys first, then [connector.grant] or
// [connector.deny]).
std::string internet_connector(const std::string& name, const std::string& extra);
// A receive connector's table denying anonymous clients the right to send
// as senders in our own domains (for internet_connector's `extra`), and a
// From: header value such a client is then refused at the end of headers.
inline constexpr const char* kDenyAnonymousOwnDomainSenders =
    "[connector.deny]\nAnonymousUsers = [\"Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender\"]\n";
inline constexpr const char* kOwnDomainFrom = " \"The CEO\" <ceo@contoso.com>";
// Exchange's "anonymous relay" connector: 10.0.0.50:25 for the devices at
// `ranges` (a TOML array body), Accept-Any-Recipient granted to
// AnonymousUsers; `extra` adds keys before the grant.
std::string anonymous_relay(const std::string& ranges, const std::string& extra,
                            const std::string& name = "Anonymous Relay");

}  // namespace protocol_test
