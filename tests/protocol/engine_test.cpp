// The native engine's own behaviour (issue 14), whatever engine the other
// suites run on: a saturated worker pool answers 451 4.3.2 and recovers.
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "metrics/scrape.hpp"
#include "milter/engine.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::Response;

// The names of the threads of process `pid`.
std::vector<std::string> thread_names(pid_t pid) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        if (std::getline(comm, name)) names.push_back(name);
    }
    return names;
}

std::size_t count_named(const std::vector<std::string>& names, const std::string& prefix) {
    return static_cast<std::size_t>(std::count_if(names.begin(), names.end(), [&](const std::string& n) {
        return n.compare(0, prefix.size(), prefix) == 0;
    }));
}

// A UDP "name server" on loopback that never answers: a stage that asks
// DNS holds its worker until the resolver's timeout.
class SilentNameServer {
public:
    SilentNameServer() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0)
            port_ = ntohs(sa.sin_port);
    }
    ~SilentNameServer() {
        if (fd_ >= 0) ::close(fd_);
    }
    int port() const { return port_; }
    // Whether a question came in (it stays unread and unanswered).
    bool asked() const {
        char byte = 0;
        return fd_ >= 0 && ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
    }
    // Whether a question comes in within `limit`: the resolver sends it from
    // its own thread, which under a sanitizer may take longer than the stage
    // that asked it.
    bool asked_within(std::chrono::milliseconds limit) const {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!asked() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return asked();
    }

private:
    int fd_ = -1;
    int port_ = 0;
};

const std::string kDomainAndFrontend = authoritative_domain("contoso.com") +
                                       internet_connector("Default Frontend", "tarpit_interval = 0\n");

class NativeEngineTest : public DaemonTest {
protected:
    // The daemon on the native engine with `milter_lines` in [milter] and
    // `dns` as the [dns] section.
    void start_native(const std::string& milter_lines, const std::string& dns, const std::string& rest) {
        socket_spec_ = "inet:" + std::to_string(free_tcp_port()) + "@127.0.0.1";
        std::ostringstream c;
        c << "[milter]\nsocket = \"" << socket_spec_ << "\"\nauthserv_id = \"mx.example.com\"\n"
          << "drain_timeout = \"3s\"\nengine = \"native\"\n" << milter_lines << "\n[dns]\n" << dns << "\n" << rest;
        config_path_ = dir_.write("connector-milter.conf", c.str());
        daemon_ = std::make_unique<DaemonProcess>(
            std::vector<std::string>{daemon_path(), "-f", "-R", "-c", config_path_, "-p", socket_spec_},
            (dir_.path() / "daemon.log").string());
        std::string why;
        ASSERT_TRUE(daemon_->start(socket_spec_, 10s, &why)) << why << "\n" << daemon_->log();
    }

    // One worker, one event loop (or `milter_lines`); the static zone holds
    // fabrikam.example's records (the SimpleMessage's), and `more_zone`; any
    // other name goes to `dns`, which never answers (timeout 1500 ms).
    // `sections`: more of the configuration, before the connectors.
    void start_with_one_worker(const SilentNameServer& dns, const std::string& more_zone,
                               const std::string& sections = "",
                               const std::string& milter_lines = "workers = 1\nevent_loops = 1\n",
                               const std::string& connectors = kDomainAndFrontend) {
        ASSERT_GT(dns.port(), 0);
        const std::string zone = dir_.write("zone",
                                            "fabrikam.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
                                            "mail.fabrikam.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
                                            "_dmarc.fabrikam.example. IN TXT \"v=DMARC1; p=none\"\n" +
                                                more_zone);
        start_native(milter_lines,
                     "static_zone = \"" + zone + "\"\nnameservers = [\"127.0.0.1@" + std::to_string(dns.port()) +
                         "\"]\ntimeout = \"1500ms\"\n",
                     sections + connectors);
    }

    // A message from slow-dmarc.example (its DMARC record on the silent name
    // server `dns`, asked at end of headers), sent by an MTA with `options`
    // while expect_another_message_served_while checks that another
    // session's message goes through; DMARC could not be evaluated: it is
    // deferred (temperror), never accepted unchecked.
    void send_slow_dmarc_message(const SilentNameServer& dns, const milterclient::Options& options) {
        Mta slow(socket_spec(), SmtpClient{}, options);
        ASSERT_TRUE(slow.session().negotiated().has(SMFIP_NR_EOH));
        ASSERT_TRUE(slow.connect().proceeds());
        SimpleMessage waiting;
        waiting.from = "<bob@slow-dmarc.example>";
        waiting.headers[0].second = "Bob <bob@slow-dmarc.example>";
        milterclient::EomResult slow_result;
        expect_another_message_served_while(dns, [&] { slow_result = slow.send(waiting); });
        EXPECT_EQ(slow_result.smtp_code(), 451) << describe(slow_result);
        slow.quit();
    }

    // `waiting` (a stage whose DNS question goes to the silent name server
    // `dns`, timeout 1500 ms) runs on a thread of its own; once its question
    // reached `dns`, another session's whole message must go through before
    // `waiting` is answered, and `waiting` must take one DNS timeout, not two.
    void expect_another_message_served_while(const SilentNameServer& dns, const std::function<void()>& waiting) {
        std::atomic<bool> done{false};
        const auto start = std::chrono::steady_clock::now();
        std::thread a([&] {
            waiting();
            done = true;
        });
        const bool asked = dns.asked_within(5s);
        Mta fast(socket_spec(), SmtpClient{});
        const Response connected = asked ? fast.connect() : Response{};
        const milterclient::EomResult delivered = asked ? fast.send(SimpleMessage{}) : milterclient::EomResult{};
        const bool was_done = done;
        a.join();
        const auto elapsed = std::chrono::steady_clock::now() - start;
        ASSERT_TRUE(asked) << "the question never reached the name server";
        EXPECT_TRUE(connected.proceeds()) << describe(connected);
        EXPECT_TRUE(delivered.proceeds()) << describe(delivered);
        EXPECT_FALSE(was_done) << "the other session's message went through while this one waited for DNS";
        EXPECT_LT(elapsed, 2900ms) << "one DNS timeout (1500 ms), not two";
        fast.quit();
    }
};


class SaturationTest : public NativeEngineTest {
protected:
    // One worker and room for one waiting batch: a RCPT of a session with
    // connection filtering, whose block list answers a silent name server
    // never gives, holds the worker; a second one waits. (A MAIL whose SPF
    // include waits runs on the event loop, which another thread takes over
    // meanwhile: it does not hold a worker.)
    // `during` runs while the pool is so saturated, `after` once both RCPTs
    // were answered (the block list timed out: its dns_failure, ignore,
    // lets them on) and the pool is idle, before those two sessions quit.
    // `before` runs once the daemon is up, before the pool is saturated.
    // Besides the Default Frontend, an anonymous relay connector without
    // checks serves the device at 198.51.100.77: its MAIL needs no DNS; the
    // one at 198.51.100.78 gets the same with connection filtering (a block
    // list on the silent name server, asked at connect, read at RCPT).
    void while_saturated(const std::function<void()>& during, const std::function<void()>& after,
                         const std::function<void()>& before = [] {}) {
        ASSERT_NO_FATAL_FAILURE(start_one_worker_and_filtering());
        before();
        const auto first = device_past_mail("198.51.100.78");
        const auto second = device_past_mail("198.51.100.78");
        Response first_rcpt, second_rcpt;
        std::thread a([&] { first_rcpt = first->rcpt("<someone@outside.example>"); });
        std::this_thread::sleep_for(300ms);  // the worker is waiting on DNS
        std::thread b([&] { second_rcpt = second->rcpt("<someone@outside.example>"); });
        std::this_thread::sleep_for(300ms);  // queued behind it
        during();
        a.join();
        b.join();
        EXPECT_TRUE(first_rcpt.proceeds()) << describe(first_rcpt);
        EXPECT_TRUE(second_rcpt.proceeds()) << describe(second_rcpt);
        after();
        first->quit();
        second->quit();
    }

    // The daemon of while_saturated: one worker, room for one waiting batch.
    void start_one_worker_and_filtering() {
        ASSERT_FALSE(daemon_path().empty()) << "DAEMON is not set";
        ASSERT_GT(dns_.port(), 0);
        metrics_port_ = free_tcp_port();
        const std::string zone = dir_.write("zone",
                                            "mail.fabrikam.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n");
        ASSERT_NO_FATAL_FAILURE(start_native("workers = 1\nwork_queue_limit = 1\nevent_loops = 1\n",
                                             "static_zone = \"" + zone + "\"\nnameservers = [\"127.0.0.1@" +
                                                 std::to_string(dns_.port()) + "\"]\ntimeout = \"1500ms\"\n",
                                             "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(metrics_port_) +
                                                 "\"\n[[block_list_provider]]\nname = \"Silent\"\n"
                                                 "lookup_domain = \"bl.slow-dns.example\"\n" +
                                                 kDomainAndFrontend +
                                                 anonymous_relay("\"198.51.100.77\"", "checks = []\n") +
                                                 anonymous_relay("\"198.51.100.78\"",
                                                                 "checks = []\nconnection_filtering = true\n",
                                                                 "Filtered Relay")));
    }

    // A session of the relay device at `ip` past MAIL (its connector runs
    // no checks: no DNS at MAIL); call it before the pool is saturated.
    std::unique_ptr<Mta> device_past_mail(const std::string& ip) {
        SmtpClient device;
        device.ip = ip;
        device.name = "[" + ip + "]";
        auto mta = std::make_unique<Mta>(socket_spec(), device);
        EXPECT_TRUE(mta->connect().proceeds());
        const Response mail = mta->mail("<printer@contoso.com>");
        EXPECT_TRUE(mail.proceeds()) << describe(mail);
        return mta;
    }

    // connector_milter_work_queue_full_total now (the endpoint comes up
    // after the milter socket: bounded wait).
    double queue_full_count() const {
        const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port_) + "/metrics";
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        std::string why;
        std::optional<std::string> body;
        while (!(body = metrics::http_get(url, 1s, &why)) && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        EXPECT_TRUE(body) << why;
        return metrics::sum_of(metrics::parse_exposition(body.value_or("")), "connector_milter_work_queue_full_total", {})
            .value_or(-1);
    }

private:
    SilentNameServer dns_;
    std::uint16_t metrics_port_ = 0;
};

// Issue 14's cold-cache run: the DNS questions end of message reads are
// asked at end of headers; while their answers are on their way, end of
// message waits on the event loop, not on a worker. With one worker, a
// message whose DMARC record a silent name server never gives (timeout
// 1500 ms) does not hold up another session's whole message, and waits
// one timeout, not a second one when its check finally runs.
TEST_F(NativeEngineTest, EndOfMessageWaitingForDnsAnswersDoesNotHoldTheOnlyWorker) {
    SilentNameServer dns;
    // Everything but _dmarc.slow-dmarc.example from the static zone.
    ASSERT_NO_FATAL_FAILURE(
        start_with_one_worker(dns, "slow-dmarc.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"));
    ASSERT_NO_FATAL_FAILURE(send_slow_dmarc_message(dns, milterclient::Options{}));
}

// Without a reply at the end of headers (SMFIP_NR_EOH), an MTA that writes
// through a buffer (Postfix) sends the end of headers, the body and the end
// of message in one write. The end of message must still wait parked for
// the answers the end of headers asked for, not run on the loop with them
// still out (where it would wait on a thread: the loop's, handed to a
// standby meanwhile).
TEST_F(NativeEngineTest, EndOfMessageWrittenWithTheEndOfHeadersStillWaitsParked) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(
        start_with_one_worker(dns, "slow-dmarc.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"));
    milterclient::Options buffered;
    buffered.buffered = true;
    ASSERT_NO_FATAL_FAILURE(send_slow_dmarc_message(dns, buffered));
    EXPECT_EQ(count_named(thread_names(daemon_->pid()), "loop standby"), 0u)
        << "the end of message waited on the loop's thread";
}

// The same for MAIL: the SPF records its check begins with are asked as
// the MAIL comes in, and while their answers are on their way the MAIL
// waits on the event loop ([spf] mail_wait, here longer than the DNS
// timeout: the verdict is always given at MAIL). With one worker, a MAIL
// whose sender's SPF record a silent name server never gives does not hold
// up another session's whole message, and waits one timeout, not a second.
TEST_F(NativeEngineTest, MailWaitingForItsSpfRecordDoesNotHoldTheOnlyWorker) {
    SilentNameServer dns;
    // Everything but slow-spf.example from the static zone.
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(dns, "", "[spf]\nmail_wait = \"5s\"\n"));
    Mta slow(socket_spec(), SmtpClient{});
    ASSERT_TRUE(slow.connect().proceeds());
    Response slow_mail;
    // Its SPF question reaches the silent server as the MAIL comes in.
    expect_another_message_served_while(dns, [&] { slow_mail = slow.mail("<bob@slow-spf.example>"); });
    // SPF could not be evaluated: temperror, deferred, never accepted unchecked.
    EXPECT_EQ(slow_mail.smtp_code(), 451) << describe(slow_mail);
    slow.quit();
}

// A MAIL whose SPF records are in runs on the event loop; should its check
// wait after all (here an include, which is not asked ahead, goes to the
// silent name server), another thread runs the loop meanwhile: with one loop
// and one worker, another session's whole message goes through while the
// MAIL waits, and the MAIL waits one timeout.
TEST_F(NativeEngineTest, MailWaitingOnTheEventLoopLetsAnotherThreadRunTheLoop) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(
        dns, "include-slow.example. IN TXT \"v=spf1 include:spf.include-slow.example -all\"\n"));
    Mta slow(socket_spec(), SmtpClient{});
    ASSERT_TRUE(slow.connect().proceeds());
    Response slow_mail;
    expect_another_message_served_while(dns, [&] { slow_mail = slow.mail("<bob@include-slow.example>"); });
    // SPF could not be evaluated: temperror, deferred, never accepted unchecked.
    EXPECT_EQ(slow_mail.smtp_code(), 451) << describe(slow_mail);
    // The loop went on on another thread (kept for the next wait), and came back.
    EXPECT_EQ(count_named(thread_names(daemon_->pid()), "loop standby"), 1u);
    Mta after(socket_spec(), SmtpClient{});
    EXPECT_TRUE(after.connect().proceeds());
    EXPECT_TRUE(after.send(SimpleMessage{}).proceeds());
    after.quit();
    slow.quit();
}

// Two MAILs waiting on one loop at once: the first hands the loop to a
// standby, which runs the second and hands it on in turn. The first comes
// back while a standby runs the loop and takes it; when the second comes
// back, the loop's own thread must let it have the loop at the end of its
// round (it once took the loop straight back, and the second MAIL was never
// answered). Both get their 451 after one DNS timeout each.
TEST_F(NativeEngineTest, TwoMailsWaitingOnOneLoopBothGetTheLoopBack) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(
        dns, "include-slow.example. IN TXT \"v=spf1 include:spf.include-slow.example -all\"\n"));
    Mta first(socket_spec(), SmtpClient{});
    Mta second(socket_spec(), SmtpClient{});
    ASSERT_TRUE(first.connect().proceeds());
    ASSERT_TRUE(second.connect().proceeds());
    const auto start = std::chrono::steady_clock::now();
    Response first_mail, second_mail;
    std::string first_error, second_error;  // no reply in time, say
    const auto mail = [](Mta& mta, const std::string& from, Response& reply, std::string& error) {
        try {
            reply = mta.mail(from);
        } catch (const std::exception& e) {
            error = e.what();
        }
    };
    std::thread a([&] { mail(first, "<bob@include-slow.example>", first_mail, first_error); });
    ASSERT_TRUE(dns.asked_within(5s));
    std::this_thread::sleep_for(200ms);
    std::thread b([&] { mail(second, "<carol@include-slow.example>", second_mail, second_error); });
    a.join();
    b.join();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(first_error, "");
    ASSERT_EQ(second_error, "") << "the second MAIL was never answered";
    EXPECT_EQ(first_mail.smtp_code(), 451) << describe(first_mail);
    EXPECT_EQ(second_mail.smtp_code(), 451) << describe(second_mail);
    EXPECT_LT(elapsed, 2900ms) << "the second MAIL waited for more than its own DNS timeout";
    first.quit();
    second.quit();
}

// SIGTERM while a MAIL waits on an event loop (another thread runs the loop
// meanwhile), with two loops: the MAIL still gets its answer (deferred: SPF
// could not be evaluated), every loop ends, and the daemon exits with status
// 0 within the drain timeout (3 s).
TEST_F(NativeEngineTest, SigtermWhileAStageWaitsOnAnEventLoopEndsCleanly) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(
        dns, "include-slow.example. IN TXT \"v=spf1 include:spf.include-slow.example -all\"\n", "",
        "workers = 1\nevent_loops = 2\n"));
    Mta slow(socket_spec(), SmtpClient{});
    ASSERT_TRUE(slow.connect().proceeds());
    Response slow_mail;
    std::thread a([&] { slow_mail = slow.mail("<bob@include-slow.example>"); });
    ASSERT_TRUE(dns.asked_within(5s)) << "the include never reached the name server";
    const auto sigterm_at = std::chrono::steady_clock::now();
    daemon_->signal(SIGTERM);
    a.join();
    EXPECT_EQ(slow_mail.smtp_code(), 451) << describe(slow_mail);
    slow.quit();
    const auto r = daemon_->stop(5s, false);
    const auto took = std::chrono::steady_clock::now() - sigterm_at;
    EXPECT_TRUE(r.exited && r.exit_code == 0) << "exit " << r.exit_code << " signal " << r.signal << "\n" << r.output;
    EXPECT_LT(took, 4s) << r.output;
    daemon_.reset();
}

// [milter] event_loops: that many loops share the connections (the first
// is the main thread, the others are named), and sessions running at once
// on all of them are each served in order; no standby thread is started
// while no stage waits.
TEST_F(NativeEngineTest, SeveralEventLoopsServeConcurrentSessions) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(dns, "", "", "event_loops = 3\n"));
    // Logged as the loops start, after the socket is open.
    EXPECT_TRUE(daemon_->log_shows("native engine: 3 event loops", 5s)) << daemon_->log();
    constexpr int kSessions = 12, kMessages = 3;
    std::atomic<int> delivered{0};
    std::vector<std::thread> sessions;
    for (int i = 0; i < kSessions; ++i)
        sessions.emplace_back([&] {
            Mta mta(socket_spec(), SmtpClient{});
            if (!mta.connect().proceeds()) return;
            for (int m = 0; m < kMessages; ++m)
                if (mta.send(SimpleMessage{}).proceeds()) ++delivered;
            mta.quit();
        });
    for (auto& t : sessions) t.join();
    EXPECT_EQ(delivered.load(), kSessions * kMessages);
    const auto names = thread_names(daemon_->pid());
    EXPECT_EQ(count_named(names, "event loop"), 2u) << "the first loop runs on the main thread";
    EXPECT_EQ(count_named(names, "loop standby"), 0u) << "a standby started though no stage waited";
}

// Without [milter] event_loops: one loop per CPU but one (the MTA runs on
// the same CPUs), at least one.
TEST_F(NativeEngineTest, TheDefaultEventLoopsLeaveOneCpuToTheMta) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(dns, "", "", "workers = 1\n"));
    const unsigned cpus = std::thread::hardware_concurrency();
    const auto loops = static_cast<unsigned>(milter::default_event_loops(cpus));
    EXPECT_TRUE(daemon_->log_shows("native engine: " + std::to_string(loops) + " event loop" + (loops == 1 ? "," : "s,"),
                                   5s))
        << cpus << " CPUs\n" << daemon_->log();
    Mta mta(socket_spec(), SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    EXPECT_TRUE(mta.send(SimpleMessage{}).proceeds());
    mta.quit();
    EXPECT_EQ(count_named(thread_names(daemon_->pid()), "event loop"), loops - 1u)
        << "the first loop runs on the main thread";
}

// With the default [spf] mail_wait (10 ms), a MAIL whose SPF record is not
// in by then is answered at once; the verdict comes at end of message, in
// the same wait as its DKIM and DMARC answers: here the record never comes,
// so end of message is deferred (temperror) after one DNS timeout, never
// accepted unchecked. A RCPT meanwhile finds the record still out and is
// answered at once too.
TEST_F(NativeEngineTest, MailWhoseSpfRecordIsNotInWithinMailWaitIsAnsweredAndDecidedAtEndOfMessage) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(dns, ""));
    Mta slow(socket_spec(), SmtpClient{});
    ASSERT_TRUE(slow.connect().proceeds());
    SimpleMessage m;
    m.from = "<bob@slow-spf.example>";
    m.headers[0].second = "Bob <bob@slow-spf.example>";
    const auto start = std::chrono::steady_clock::now();
    const Response mail = slow.mail(m.from);
    const Response rcpt = slow.rcpt(m.recipients[0]);
    const auto envelope_time = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(mail.proceeds()) << describe(mail);
    EXPECT_TRUE(rcpt.proceeds()) << describe(rcpt);
    EXPECT_LT(envelope_time, 1000ms) << "MAIL or RCPT was held for the SPF record (DNS timeout 1500 ms)";
    // Asked before the message's content is sent, so as the MAIL came in.
    EXPECT_TRUE(dns.asked_within(1000ms)) << "the SPF record was asked as the MAIL came in";
    Response early;
    const auto eom = slow.content(m, &early);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(eom) << describe(early);
    EXPECT_EQ(eom->smtp_code(), 451) << describe(*eom);
    EXPECT_LT(elapsed, 2900ms) << "one DNS timeout (1500 ms), not two";
    slow.quit();
}

// A refusal reached at the end of headers and held for the end of message
// (SMFIP_NR_EOH) is that stage's whole answer: the end of message does not
// wait for the DNS answers still out (here the MAIL's SPF record, left for
// later on the silent name server).
TEST_F(NativeEngineTest, RefusalHeldForTheEndOfMessageDoesNotWaitForDnsAnswers) {
    SilentNameServer dns;
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(
        dns, "", "", "workers = 1\nevent_loops = 1\n",
        authoritative_domain("contoso.com") +
            internet_connector("Default Frontend", std::string("tarpit_interval = 0\n") + kDenyAnonymousOwnDomainSenders)));
    Mta mta(socket_spec(), SmtpClient{});
    ASSERT_TRUE(mta.session().negotiated().has(SMFIP_NR_EOH));
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m;
    m.from = "<bob@slow-spf.example>";
    m.headers[0].second = kOwnDomainFrom;  // refused at the end of headers
    ASSERT_TRUE(mta.mail(m.from).proceeds());
    ASSERT_TRUE(mta.rcpt(m.recipients[0]).proceeds());
    const auto start = std::chrono::steady_clock::now();
    Response early;
    const auto eom = mta.content(m, &early);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(eom) << describe(early);
    EXPECT_EQ(eom->smtp_code(), 550) << describe(*eom);
    EXPECT_LT(elapsed, 1000ms) << "the held refusal waited for the SPF record (DNS timeout 1500 ms)";
    mta.quit();
}

// A MAIL's own macros (SMTP AUTH) come in the same read as the MAIL:
// asking ahead reads them, so an authenticated session, whose messages skip
// SPF (ExchangeUsers have Ms-Exch-Bypass-Anti-Spam), asks no SPF record
// ahead and its MAIL is not held back for one.
TEST_F(NativeEngineTest, AuthenticatedMailAsksNoSpfRecordAheadAndIsNotHeldBack) {
    SilentNameServer dns;
    // contoso.com's SPF record would go to the silent server.
    ASSERT_NO_FATAL_FAILURE(start_with_one_worker(dns, ""));
    SmtpClient user;
    user.helo = "laptop.home.example";
    user.auth_user = "alice@contoso.com";
    user.tls = true;
    Mta mta(socket_spec(), user);
    ASSERT_TRUE(mta.connect().proceeds());
    const auto start = std::chrono::steady_clock::now();
    const Response mail = mta.mail("<alice@contoso.com>");
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(mail.proceeds()) << describe(mail);
    EXPECT_LT(elapsed, 1000ms) << "held back for an SPF record its check does not read";
    // Given the time a question asked at MAIL would take to arrive.
    EXPECT_FALSE(dns.asked_within(300ms)) << "an SPF record was asked for a session that skips SPF";
    mta.quit();
}

TEST_F(SaturationTest, SaturatedWorkerPoolAnswers451_4_3_2AndRecovers) {
    std::unique_ptr<Mta> third;
    ASSERT_NO_FATAL_FAILURE(while_saturated(
        [&] {
            // The negotiation is answered without a worker; the session is
            // told to come back later instead of waiting without bound.
            third = std::make_unique<Mta>(socket_spec(), SmtpClient{});
            const Response turned_away = third->connect();
            EXPECT_EQ(turned_away.smtp_reply(), "451 4.3.2 Service busy, try again later") << describe(turned_away);
        },
        [&] {
            EXPECT_NE(daemon_->log().find("worker pool saturated"), std::string::npos) << daemon_->log();
            // One batch (the third session's CONNECT) was answered so.
            EXPECT_EQ(queue_full_count(), 1);
            // Once the pool is free again, new sessions are served.
            Mta fourth(socket_spec(), SmtpClient{});
            EXPECT_TRUE(fourth.connect().proceeds());
        }));
    third->quit();
}

// Negotiation needs no session work: a connection that negotiates while the
// pool is saturated is not turned away for the rest of its session.
TEST_F(SaturationTest, NegotiationDuringSaturationLeavesTheSessionServedOnceThePoolIsFree) {
    std::unique_ptr<Mta> third;
    ASSERT_NO_FATAL_FAILURE(while_saturated([&] { third = std::make_unique<Mta>(socket_spec(), SmtpClient{}); },
                                            [&] {
                                                // The pool is free again: the third session is served.
                                                const Response c = third->connect();
                                                EXPECT_TRUE(c.proceeds()) << describe(c);
                                            }));
    third->quit();
}

// RCPT (without connection filtering), headers, end of headers, the body
// and an end of message with no DNS to wait for never wait: the event loop
// answers them itself, so a session past MAIL goes on while every worker is
// busy (and a hand-off to a worker costs more than that work).
TEST_F(SaturationTest, RcptAndAMessageWithoutDnsDuringSaturationAreAnsweredByTheEventLoop) {
    std::unique_ptr<Mta> third;
    ASSERT_NO_FATAL_FAILURE(while_saturated(
        [&] {
            const Response rcpt = third->rcpt("<someone@outside.example>");
            EXPECT_TRUE(rcpt.proceeds()) << describe(rcpt);
            auto& s = third->session();
            EXPECT_TRUE(s.data().proceeds());
            s.header("From", "printer@contoso.com");
            s.header("Subject", "scan");
            EXPECT_EQ(s.eoh().action, milterclient::Action::NoReply);  // SMFIP_NR_EOH
            s.body("Scanned page 1.\r\n");
            const milterclient::EomResult eom = s.end_of_message();
            EXPECT_TRUE(eom.proceeds()) << describe(eom);
        },
        [&] {}, [&] { third = device_past_mail("198.51.100.77"); }));
    third->quit();
}

// With the connection counts kept in this process, a session's start and
// end (CONNECT, HELO, QUIT, the end of the connection) need no worker
// either: while the only worker waits on DNS (and nothing waits behind it,
// so the pool is not saturated), another client's whole session, message
// included, is served.
TEST_F(SaturationTest, WholeSessionIsServedWhileTheOnlyWorkerWaits) {
    ASSERT_NO_FATAL_FAILURE(start_one_worker_and_filtering());
    const auto first = device_past_mail("198.51.100.78");
    std::atomic<bool> first_answered{false};
    Response first_rcpt;
    std::thread a([&] {
        first_rcpt = first->rcpt("<someone@outside.example>");
        first_answered = true;
    });
    std::this_thread::sleep_for(300ms);  // the worker is waiting on DNS
    {
        SmtpClient device;
        device.ip = "198.51.100.77";
        device.name = "[198.51.100.77]";
        Mta other(socket_spec(), device);
        const Response connected = other.connect();
        EXPECT_TRUE(connected.proceeds()) << describe(connected);
        SimpleMessage scan;
        scan.from = "<printer@contoso.com>";
        scan.headers[0].second = "printer@contoso.com";
        const milterclient::EomResult delivered = other.send(scan);
        EXPECT_TRUE(delivered.proceeds()) << describe(delivered);
        other.quit();
    }
    EXPECT_FALSE(first_answered) << "the other session waited for the worker";
    a.join();
    EXPECT_TRUE(first_rcpt.proceeds()) << describe(first_rcpt);
    EXPECT_EQ(queue_full_count(), 0);
    // The other session's end was handled: a new one is admitted and served.
    const auto third = device_past_mail("198.51.100.77");
    third->quit();
    first->quit();
}

// With connection filtering, RCPT reads the block list answers asked at
// connect and may wait for them: it stays on the worker pool, never on the
// event loop (which would stall every connection for the DNS timeout), and
// a saturated pool answers it 451 4.3.2.
TEST_F(SaturationTest, RcptWithConnectionFilteringWaitsForAWorker) {
    std::unique_ptr<Mta> third;
    ASSERT_NO_FATAL_FAILURE(while_saturated(
        [&] {
            const Response rcpt = third->rcpt("<someone@outside.example>");
            EXPECT_EQ(rcpt.smtp_reply(), "451 4.3.2 Service busy, try again later") << describe(rcpt);
        },
        [&] {}, [&] { third = device_past_mail("198.51.100.78"); }));
    third->quit();
}

}  // namespace
}  // namespace protocol_test
