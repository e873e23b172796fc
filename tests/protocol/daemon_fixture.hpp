// Base of the protocol tests: a temporary folder with the config and the
// static DNS zone, and the built daemon ($DAEMON -f -c CONFIG -p
// inet:PORT@127.0.0.1) started for each test and stopped with SIGTERM after
// it, checking exit status 0.
#pragma once

#include <memory>
#include <string>

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

    TempDir dir_;
    std::string config_path_;
    std::string socket_spec_;
    std::unique_ptr<DaemonProcess> daemon_;
    bool sigterm_sent_ = false;
};

// The static zone every test uses.
extern const char* const kZone;

}  // namespace protocol_test
