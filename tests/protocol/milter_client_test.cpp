// Tests of the MTA-side milter client itself, against a scripted fake filter
// on a unix socket: what goes on the wire (checked byte by byte against the
// protocol as sendmail's libmilter documentation and Postfix's milter8 client
// define it) and how replies are decoded.
#include <libmilter/mfapi.h>  // SMFIF_* action flags
#include <libmilter/mfdef.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "milterclient/daemon_process.hpp"
#include "milterclient/milter_client.hpp"

namespace {

using namespace std::chrono_literals;
using milterclient::Action;
using milterclient::be32;
using milterclient::encode_packet;
using milterclient::HeaderEdit;
using milterclient::Packet;

std::string z(std::string_view s) { return std::string(s) + std::string(1, '\0'); }

// The filter end of one connection: reads packets, writes raw bytes.
class FilterEnd {
public:
    explicit FilterEnd(int fd) : fd_(fd) {}
    ~FilterEnd() { ::close(fd_); }
    FilterEnd(const FilterEnd&) = delete;
    FilterEnd& operator=(const FilterEnd&) = delete;

    // Reads one packet (blocking, bounded by SO_RCVTIMEO); command 0 on EOF.
    Packet read() {
        Packet p;
        unsigned char len[4];
        if (!read_exact(reinterpret_cast<char*>(len), 4)) return p;
        const std::uint32_t n = (std::uint32_t{len[0]} << 24) | (std::uint32_t{len[1]} << 16) |
                                (std::uint32_t{len[2]} << 8) | len[3];
        if (n == 0 || n > (1U << 24) || !read_exact(&p.command, 1)) return Packet{};
        p.data.resize(n - 1);
        if (n > 1 && !read_exact(p.data.data(), n - 1)) return Packet{};
        return p;
    }
    void write(const std::string& bytes) {
        std::size_t off = 0;
        while (off < bytes.size()) {
            const ssize_t w = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (w <= 0) return;
            off += static_cast<std::size_t>(w);
        }
    }
    void reply(char cmd, const std::string& data = "") { write(encode_packet(cmd, data)); }
    int fd() const { return fd_; }
    // The filter's SMFIC_OPTNEG reply.
    void negotiate(std::uint32_t actions, std::uint32_t protocol, const std::string& lists = "") {
        const Packet p = read();
        ASSERT_EQ(p.command, SMFIC_OPTNEG);
        reply(SMFIC_OPTNEG, be32(6) + be32(actions) + be32(protocol) + lists);
    }

private:
    bool read_exact(char* out, std::size_t n) {
        std::size_t got = 0;
        while (got < n) {
            const ssize_t r = ::recv(fd_, out + got, n - got, 0);
            if (r <= 0) return false;
            got += static_cast<std::size_t>(r);
        }
        return true;
    }
    int fd_;
};

// Listens on a unix socket; run() serves exactly one connection with `script`
// on a thread, joined by the destructor.
class FakeFilter {
public:
    FakeFilter() {
        path_ = (dir_.path() / "filter.sock").string();
        listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un sun{};
        sun.sun_family = AF_UNIX;
        std::snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path_.c_str());
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0 ||
            ::listen(listen_fd_, 4) != 0)
            throw std::runtime_error("fake filter: cannot listen on " + path_);
    }
    ~FakeFilter() {
        if (thread_.joinable()) thread_.join();
        ::close(listen_fd_);
    }
    std::string spec() const { return "unix:" + path_; }
    // Waits for the script to end; read what it recorded only after this.
    void join() {
        if (thread_.joinable()) thread_.join();
    }
    void run(std::function<void(FilterEnd&)> script) {
        thread_ = std::thread([this, script = std::move(script)] {
            const int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) return;
            timeval tv{5, 0};  // never hang the test
            ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            FilterEnd end(fd);
            script(end);
        });
    }

private:
    milterclient::TempDir dir_;
    std::string path_;
    int listen_fd_ = -1;
    std::thread thread_;
};

TEST(MilterClientTest, NegotiationOffersVersion6AllActionsAndAllProtocolSteps) {
    FakeFilter filter;
    Packet seen;
    filter.run([&](FilterEnd& f) {
        seen = f.read();
        f.reply(SMFIC_OPTNEG, be32(6) + be32(SMFIF_ADDHDRS) + be32(SMFIP_NOHELO));
    });
    milterclient::Session s(filter.spec());
    const auto& n = s.negotiate();
    filter.join();
    EXPECT_EQ(seen.command, SMFIC_OPTNEG);
    EXPECT_EQ(seen.data, be32(6) + be32(SMFI_CURR_ACTS) + be32(SMFI_CURR_PROT));
    EXPECT_EQ(n.version, 6U);
    EXPECT_EQ(n.actions, static_cast<std::uint32_t>(SMFIF_ADDHDRS));
    EXPECT_TRUE(n.has(SMFIP_NOHELO));
}

TEST(MilterClientTest, NegotiationReadsMacroListsAndSendsOnlyRequestedMacros) {
    FakeFilter filter;
    Packet macros;
    filter.run([&](FilterEnd& f) {
        f.negotiate(SMFIF_SETSYMLIST, 0, be32(0) + z("j {daemon_addr}"));
        macros = f.read();
        (void)f.read();  // CONNECT
        f.reply(SMFIR_CONTINUE);
    });
    milterclient::Session s(filter.spec());
    const auto& n = s.negotiate();
    ASSERT_NE(n.macro_list(0), nullptr);
    EXPECT_EQ(*n.macro_list(0), (std::vector<std::string>{"j", "{daemon_addr}"}));
    s.macros('C', {{"j", "mx.example.com"}, {"{daemon_port}", "25"}, {"daemon_addr", "10.0.0.50"}});
    s.connect("client.example", "192.0.2.1", 25);
    filter.join();
    EXPECT_EQ(macros.command, SMFIC_MACRO);
    EXPECT_EQ(macros.data, "C" + z("j") + z("mx.example.com") + z("{daemon_addr}") + z("10.0.0.50"));
}

TEST(MilterClientTest, ConnectCarriesHostFamilyPortAndAddress) {
    FakeFilter filter;
    Packet v4, v6, unknown;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, 0);
        v4 = f.read();
        f.reply(SMFIR_CONTINUE);
        v6 = f.read();
        f.reply(SMFIR_CONTINUE);
        unknown = f.read();
        f.reply(SMFIR_CONTINUE);
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    s.connect("a.example", "192.0.2.1", 0x1234);
    s.connect("b.example", "2001:db8::1", 25);
    s.connect("c.example", "", 0);
    filter.join();
    EXPECT_EQ(v4.command, SMFIC_CONNECT);
    EXPECT_EQ(v4.data, z("a.example") + "4" + std::string("\x12\x34", 2) + z("192.0.2.1"));
    EXPECT_EQ(v6.data, z("b.example") + "6" + std::string("\x00\x19", 2) + z("2001:db8::1"));
    EXPECT_EQ(unknown.data, z("c.example") + "U");
}

TEST(MilterClientTest, MailAndRcptSendEveryArgumentNulTerminated) {
    FakeFilter filter;
    Packet mail, rcpt;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, 0);
        mail = f.read();
        f.reply(SMFIR_CONTINUE);
        rcpt = f.read();
        f.reply(SMFIR_REPLYCODE, z("550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"));
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    EXPECT_EQ(s.mail({"<a@b.example>", "SIZE=100", "BODY=8BITMIME"}).action, Action::Continue);
    const auto r = s.rcpt({"<c@d.example>"});
    filter.join();
    EXPECT_EQ(mail.data, z("<a@b.example>") + z("SIZE=100") + z("BODY=8BITMIME"));
    EXPECT_EQ(rcpt.data, z("<c@d.example>"));
    EXPECT_EQ(r.action, Action::ReplyCode);
    EXPECT_EQ(r.smtp_code(), 550);
    EXPECT_EQ(r.reply, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain");
    EXPECT_FALSE(r.proceeds());
}

TEST(MilterClientTest, NoReplyFlagMeansNoReplyIsAwaited) {
    FakeFilter filter;
    Packet hdr;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, SMFIP_NR_HDR);
        hdr = f.read();  // no reply to it
        (void)f.read();  // EOH
        f.reply(SMFIR_CONTINUE);
    });
    milterclient::Options o;
    o.timeout = 2s;
    milterclient::Session s(filter.spec(), o);
    s.negotiate();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(s.header("Subject", "hi").action, Action::NoReply);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    EXPECT_EQ(s.eoh().action, Action::Continue);
    filter.join();
    EXPECT_EQ(hdr.data, z("Subject") + z("hi"));
}

TEST(MilterClientTest, SkippedStageIsNotSentButItsMacrosAre) {
    FakeFilter filter;
    std::vector<Packet> seen;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, SMFIP_NOHELO);
        seen.push_back(f.read());  // macros for HELO
        seen.push_back(f.read());  // next: MAIL
        f.reply(SMFIR_CONTINUE);
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    s.macros('H', {{"{tls_version}", "TLSv1.3"}});
    EXPECT_EQ(s.helo("client.example").action, Action::NotSent);
    s.mail({"<a@b.example>"});
    filter.join();
    ASSERT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen[0].command, SMFIC_MACRO);
    EXPECT_EQ(seen[1].command, SMFIC_MAIL);
}

TEST(MilterClientTest, HeaderValueKeepsItsLeadingSpaceOnlyWithLeadspc) {
    for (const bool leadspc : {false, true}) {
        FakeFilter filter;
        Packet hdr;
        filter.run([&](FilterEnd& f) {
            f.negotiate(0, leadspc ? SMFIP_HDR_LEADSPC : 0);
            hdr = f.read();
            f.reply(SMFIR_CONTINUE);
        });
        milterclient::Session s(filter.spec());
        s.negotiate();
        s.header("Subject", "folded\r\n\tline");
        filter.join();
        // sendmail sends continuation lines separated by a bare LF.
        EXPECT_EQ(hdr.data, z("Subject") + z(leadspc ? " folded\n\tline" : "folded\n\tline"))
            << "leadspc=" << leadspc;
    }
}

TEST(MilterClientTest, BodyIsSentInChunksOfAtMost65535Bytes) {
    FakeFilter filter;
    std::vector<std::size_t> sizes;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, 0);
        for (int i = 0; i < 3; ++i) {
            const Packet p = f.read();
            if (p.command != SMFIC_BODY) break;
            sizes.push_back(p.data.size());
            f.reply(SMFIR_CONTINUE);
        }
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    EXPECT_EQ(s.body(std::string(150000, 'x')).action, Action::Continue);
    filter.join();
    EXPECT_EQ(sizes, (std::vector<std::size_t>{65535, 65535, 18930}));
}

TEST(MilterClientTest, SkipReplyStopsTheBody) {
    FakeFilter filter;
    int chunks = 0;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, SMFIP_SKIP);
        Packet p = f.read();
        ++chunks;
        f.reply(SMFIR_SKIP);
        p = f.read();  // must be EOM, not another chunk
        if (p.command == SMFIC_BODY) ++chunks;
        f.reply(SMFIR_CONTINUE);
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    EXPECT_EQ(s.body(std::string(150000, 'x')).action, Action::Skip);
    s.end_of_message();
    filter.join();
    EXPECT_EQ(chunks, 1);
}

TEST(MilterClientTest, EndOfMessageCollectsEveryModificationAndTheDecision) {
    FakeFilter filter;
    filter.run([&](FilterEnd& f) {
        f.negotiate(SMFI_CURR_ACTS, SMFIP_HDR_LEADSPC);
        (void)f.read();  // EOM
        f.reply(SMFIR_PROGRESS);
        f.reply(SMFIR_ADDHEADER, z("X-Added") + z(" added value"));
        f.reply(SMFIR_INSHEADER, be32(0) + z("Authentication-Results") + z(" mx.example.com; spf=pass"));
        f.reply(SMFIR_CHGHEADER, be32(2) + z("Authentication-Results") + z(""));
        f.reply(SMFIR_CHGHEADER, be32(1) + z("Subject") + z(" new subject"));
        f.reply(SMFIR_ADDRCPT, z("<new@d.example>"));
        f.reply(SMFIR_ADDRCPT_PAR, z("<par@d.example>") + z("NOTIFY=NEVER"));
        f.reply(SMFIR_DELRCPT, z("<old@d.example>"));
        f.reply(SMFIR_CHGFROM, z("<bounce@b.example>") + z("SIZE=10"));
        f.reply(SMFIR_REPLBODY, "new ");
        f.reply(SMFIR_REPLBODY, "body\r\n");
        f.reply(SMFIR_QUARANTINE, z("held for review"));
        f.reply(SMFIR_REPLYCODE, z("451 4.7.1 try later"));
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    const auto r = s.end_of_message();
    EXPECT_EQ(r.progress, 1);
    EXPECT_EQ(r.action, Action::ReplyCode);
    EXPECT_EQ(r.smtp_code(), 451);
    ASSERT_EQ(r.header_edits.size(), 4U);
    ASSERT_EQ(r.added_headers.size(), 1U);
    EXPECT_EQ(r.added_headers[0].name, "X-Added");
    EXPECT_EQ(r.added_headers[0].value, "added value");
    ASSERT_EQ(r.inserted_headers.size(), 1U);
    EXPECT_EQ(r.inserted_headers[0].index, 0U);
    EXPECT_EQ(r.inserted_headers[0].raw_value, " mx.example.com; spf=pass");
    EXPECT_EQ(r.inserted_headers[0].value, "mx.example.com; spf=pass");
    EXPECT_EQ(r.deleted_header_indexes("authentication-results"), (std::vector<std::uint32_t>{2}));
    ASSERT_EQ(r.changed_headers.size(), 2U);
    EXPECT_FALSE(r.changed_headers[1].is_delete());
    EXPECT_EQ(r.changed_headers[1].value, "new subject");
    ASSERT_EQ(r.added_recipients.size(), 2U);
    EXPECT_EQ(r.added_recipients[1].address, "<par@d.example>");
    EXPECT_EQ(r.added_recipients[1].esmtp_args, "NOTIFY=NEVER");
    EXPECT_EQ(r.deleted_recipients, (std::vector<std::string>{"<old@d.example>"}));
    EXPECT_EQ(r.new_sender, "<bounce@b.example>");
    EXPECT_EQ(r.new_sender_args, "SIZE=10");
    EXPECT_EQ(r.replaced_body, "new body\r\n");
    EXPECT_EQ(r.quarantine, "held for review");
}

TEST(MilterClientTest, ModificationBeforeEndOfMessageIsAProtocolError) {
    FakeFilter filter;
    filter.run([&](FilterEnd& f) {
        f.negotiate(SMFIF_ADDHDRS, 0);
        (void)f.read();
        f.reply(SMFIR_ADDHEADER, z("X-Early") + z("v"));
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    EXPECT_THROW(s.mail({"<a@b.example>"}), milterclient::Error);
}

TEST(MilterClientTest, FilterAskingForActionsNotOfferedIsRefused) {
    FakeFilter filter;
    filter.run([&](FilterEnd& f) {
        (void)f.read();
        f.reply(SMFIC_OPTNEG, be32(6) + be32(SMFIF_CHGBODY) + be32(0));
    });
    milterclient::Options o;
    o.actions = SMFIF_ADDHDRS;
    milterclient::Session s(filter.spec(), o);
    EXPECT_THROW(s.negotiate(), milterclient::Error);
}

TEST(MilterClientTest, SilentFilterTimesOutInsteadOfHanging) {
    FakeFilter filter;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, 0);
        (void)f.read();  // MAIL, never answered
        std::this_thread::sleep_for(1500ms);
    });
    milterclient::Options o;
    o.timeout = 300ms;
    milterclient::Session s(filter.spec(), o);
    s.negotiate();
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(s.mail({"<a@b.example>"}), milterclient::Error);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(MilterClientTest, WaitClosedSeesTheFilterHangUp) {
    FakeFilter filter;
    filter.run([&](FilterEnd& f) { f.negotiate(0, 0); });
    milterclient::Session s(filter.spec());
    s.negotiate();
    EXPECT_TRUE(s.wait_closed(3s));
}

TEST(MilterClientTest, AbortQuitNcAndQuitExpectNoReply) {
    FakeFilter filter;
    std::vector<char> seen;
    filter.run([&](FilterEnd& f) {
        f.negotiate(0, 0);
        for (int i = 0; i < 3; ++i) seen.push_back(f.read().command);
    });
    milterclient::Session s(filter.spec());
    s.negotiate();
    s.abort();
    s.quit_nc();
    s.quit();
    s.close();
    filter.join();
    EXPECT_EQ(seen, (std::vector<char>{SMFIC_ABORT, SMFIC_QUIT_NC, SMFIC_QUIT}));
}

// Options::buffered (the load generator's mode, Postfix's milter8 way):
// headers negotiated without a reply wait in the client until a packet that
// wants one, and replies that arrive together are read from one buffer.
// Unbuffered, the first header is on the wire at once.
void headers_then_eoh(bool buffered, bool& header_seen_early, std::vector<char>& order,
                      milterclient::EomResult& eom) {
    FakeFilter filter;
    filter.run([&](FilterEnd& f) {
        f.negotiate(SMFIF_ADDHDRS, SMFIP_NR_HDR);
        pollfd p{f.fd(), POLLIN, 0};
        header_seen_early = ::poll(&p, 1, 300) == 1;
        for (;;) {
            const Packet pk = f.read();
            order.push_back(pk.command);
            if (pk.command == 0 || pk.command == SMFIC_EOH) break;
        }
        f.reply(SMFIC_EOH == order.back() ? SMFIR_CONTINUE : SMFIR_TEMPFAIL);
        (void)f.read();  // end of message
        // Two replies in one write: the header to insert, then the verdict.
        f.write(encode_packet(SMFIR_INSHEADER, be32(0) + z("X-Test") + z("one")) + encode_packet(SMFIR_CONTINUE, ""));
    });
    milterclient::Options o;
    o.buffered = buffered;
    milterclient::Session s(filter.spec(), o);
    s.negotiate();
    EXPECT_EQ(s.header("Subject", "a").action, Action::NoReply);
    EXPECT_EQ(s.header("From", "b@c.example").action, Action::NoReply);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(s.eoh().action, Action::Continue);
    eom = s.end_of_message();
    filter.join();
}

TEST(MilterClientTest, BufferedModeHoldsHeadersUntilAReplyIsWanted) {
    bool early = true;
    std::vector<char> order;
    milterclient::EomResult eom;
    headers_then_eoh(true, early, order, eom);
    EXPECT_FALSE(early) << "a header went out before the end of headers";
    EXPECT_EQ(order, (std::vector<char>{SMFIC_HEADER, SMFIC_HEADER, SMFIC_EOH}));
    EXPECT_EQ(eom.action, Action::Continue);
    ASSERT_EQ(eom.new_headers("X-Test").size(), 1U);
    EXPECT_EQ(eom.new_headers("X-Test")[0].value, "one");
}

TEST(MilterClientTest, UnbufferedModeWritesEachHeaderAtOnce) {
    bool early = false;
    std::vector<char> order;
    milterclient::EomResult eom;
    headers_then_eoh(false, early, order, eom);
    EXPECT_TRUE(early);
    EXPECT_EQ(order, (std::vector<char>{SMFIC_HEADER, SMFIC_HEADER, SMFIC_EOH}));
    EXPECT_EQ(eom.action, Action::Continue);
    ASSERT_EQ(eom.new_headers("X-Test").size(), 1U);
}

}  // namespace
