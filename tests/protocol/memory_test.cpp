// The memory one message's headers take in the daemon (issue 12, item 5).
// A client used to make the daemon hold every header it sent until the end
// of the message, twice (our copy and libopendkim's), and most of it stayed
// in use after the message: 200 MB of headers took the daemon from 9 MB to
// 434 MB resident. The headers are now refused at the one that crosses
// max_header_size, nothing after it is kept, and the answer comes at the end
// of headers (the first stage after SMFIP_NR_HDR headers that may answer).
//
// Resident sizes are read from /proc/PID/status (VmRSS now, VmHWM the peak).
// Under a sanitizer freed memory sits in its quarantine, so the bounds are
// checked in the plain build only.
#include <libmilter/mfdef.h>

#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using milterclient::Action;
using milterclient::EomResult;
using milterclient::Response;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kMeasuresMemory = false;
#else
constexpr bool kMeasuresMemory = true;
#endif

constexpr long kMiB = 1024;  // in KiB, the unit of /proc/PID/status

// A "VmRSS:"-style field of /proc/PID/status, in KiB; -1 if unknown.
long status_kib(pid_t pid, std::string_view field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
            return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    return -1;
}

class HeaderMemoryTest : public DaemonTest {
protected:
    // CONNECT, HELO, MAIL, RCPT and DATA of an anonymous message to an
    // accepted domain, then `total` octets of headers in packets of about
    // 60 KB (under libmilter's 64 KB packet limit), as fast as the socket
    // takes them: the headers get no answer (SMFIP_NR_HDR).
    void send_headers(Mta& mta, std::size_t total) {
        auto& s = mta.session();
        ASSERT_TRUE(s.negotiated().has(SMFIP_NR_HDR));
        ASSERT_TRUE(mta.connect().proceeds());
        ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
        ASSERT_TRUE(mta.rcpt("<user@contoso.com>").proceeds());
        s.data();
        s.header("From", "Bob <bob@fabrikam.example>");
        const std::string value(60000, 'x');
        for (std::size_t sent = 0; sent < total; sent += value.size())
            s.send_packet(SMFIC_HEADER, std::string("X-Filler") + '\0' + value + '\0');
    }

    // After the abuse, a normal message still gets through.
    void expect_normal_message_accepted() {
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_TRUE(mta.connect().proceeds());
        const EomResult r = mta.send(SimpleMessage{});
        EXPECT_TRUE(r.proceeds()) << describe(r);
        mta.quit();
    }
};

TEST_F(HeaderMemoryTest, TwoHundredMegabytesOfHeadersAreRefusedWithoutBeingHeld) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(authoritative_domain("contoso.com") +
                                         internet_connector("Default Frontend", "tarpit_interval = 0\n")));
    const pid_t pid = daemon_->pid();
    const long rss_before = status_kib(pid, "VmRSS");
    const long peak_before = status_kib(pid, "VmHWM");
    {
        Mta mta(socket_spec(), SmtpClient{});
        ASSERT_NO_FATAL_FAILURE(send_headers(mta, 200U * 1024U * 1024U));
        // The default max_header_size (256KB, Exchange's MaxHeaderSize) was
        // crossed at the fifth header; the refusal waited for the first
        // stage with a reply, the end of message (SMFIP_NR_EOH).
        const Response eoh = mta.session().eoh();
        EXPECT_EQ(eoh.action, Action::NoReply) << describe(eoh);
        mta.session().body("unread\r\n");
        const EomResult eom = mta.session().end_of_message();
        EXPECT_EQ(eom.action, Action::ReplyCode) << describe(eom);
        EXPECT_EQ(eom.reply, "552 5.3.4 Header size exceeds fixed maximum size") << describe(eom);
        mta.quit();
    }
    ASSERT_NO_FATAL_FAILURE(expect_normal_message_accepted());
    const long rss_after = status_kib(pid, "VmRSS");
    const long peak_after = status_kib(pid, "VmHWM");
    RecordProperty("rss_before_kib", std::to_string(rss_before));
    RecordProperty("rss_after_kib", std::to_string(rss_after));
    RecordProperty("peak_before_kib", std::to_string(peak_before));
    RecordProperty("peak_after_kib", std::to_string(peak_after));
    std::cout << "[ note ] RSS " << rss_before << " -> " << rss_after << " KiB, peak " << peak_before << " -> "
              << peak_after << " KiB\n";
    if (!kMeasuresMemory) return;
    ASSERT_GT(rss_before, 0) << "no VmRSS in /proc/" << pid << "/status";
    EXPECT_LT(peak_after - peak_before, 64 * kMiB) << "the headers were held in memory";
    EXPECT_LT(rss_after - rss_before, 16 * kMiB) << "memory was not given back after the message";
}

// Under a limit an administrator raised, the headers are held until the end
// of the message, once: libopendkim keeps those DKIM needs, the session only
// From: (it used to keep every header as well).
TEST_F(HeaderMemoryTest, HeadersUnderARaisedLimitAreHeldOnce) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(
        authoritative_domain("contoso.com") +
        internet_connector("Default Frontend",
                           "tarpit_interval = 0\nmax_header_size = \"64MB\"\nmax_message_size = \"64MB\"\n")));
    const pid_t pid = daemon_->pid();
    const long rss_before = status_kib(pid, "VmRSS");
    constexpr std::size_t kHeaders = 48U * 1024U * 1024U;
    long rss_held = -1;
    {
        // An MTA that reads a reply at the end of headers, so that the RSS
        // is read once every header has been taken in.
        milterclient::Options answered_eoh;
        answered_eoh.protocol &= ~static_cast<std::uint32_t>(SMFIP_NR_EOH);
        Mta mta(socket_spec(), SmtpClient{}, answered_eoh);
        ASSERT_NO_FATAL_FAILURE(send_headers(mta, kHeaders));
        const Response eoh = mta.session().eoh();
        EXPECT_EQ(eoh.action, Action::Continue) << describe(eoh);
        rss_held = status_kib(pid, "VmRSS");
        mta.session().abort();
        mta.quit();
    }
    ASSERT_NO_FATAL_FAILURE(expect_normal_message_accepted());
    RecordProperty("rss_before_kib", std::to_string(rss_before));
    RecordProperty("rss_held_kib", std::to_string(rss_held));
    std::cout << "[ note ] RSS " << rss_before << " -> " << rss_held << " KiB with 48 MiB of headers held\n";
    if (!kMeasuresMemory) return;
    ASSERT_GT(rss_before, 0) << "no VmRSS in /proc/" << pid << "/status";
    const long headers_kib = static_cast<long>(kHeaders / 1024U);
    EXPECT_LT(rss_held - rss_before, headers_kib * 3 / 2) << "the headers were held more than once";
}

}  // namespace
}  // namespace protocol_test
