// Protocol tests of the "no reply" stages (issue 11, item 2): the daemon
// negotiates SMFIP_NR_HDR and SMFIP_NR_BODY and answers SMFIS_NOREPLY there.
// It must send nothing for a header or a body chunk when the MTA reads
// nothing there, and must still answer every one of them when the MTA does
// not know those flags (libmilter answers "continue" for the filter then), or
// when the MTA reuses the connection without negotiating again. Either
// mistake leaves the MTA and the filter out of step: an answer the MTA does
// not read is taken for the answer to its next command, a missing one stalls
// it until its timeout. (libmilter also withheld the "continue" the daemon
// used to return at those stages, logging it at LOG_ERR: tests/e2e/syslog.test
// shows that part.)
#include <libmilter/mfdef.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::Action;
using milterclient::EomResult;
using milterclient::Response;

const std::string kConfig =
    authoritative_domain("contoso.com") + internet_connector("Default Frontend", "tarpit_interval = 0\n");

class NoReplyTest : public DaemonTest {};

// Everything but the "no reply" flags for headers and body chunks: what an
// MTA that speaks an older milter protocol offers.
milterclient::Options mta_without_no_reply_flags() {
    milterclient::Options o;
    o.protocol &= ~static_cast<std::uint32_t>(SMFIP_NR_HDR | SMFIP_NR_BODY);
    return o;
}

// CONNECT, HELO, MAIL and RCPT of an anonymous message to an accepted domain.
void open_transaction(Mta& mta) {
    ASSERT_TRUE(mta.connect().proceeds());
    ASSERT_TRUE(mta.mail("<bob@fabrikam.example>").proceeds());
    ASSERT_TRUE(mta.rcpt("<user@contoso.com>").proceeds());
}

// Nothing may come back within half a second (the daemon answers an event
// in well under a millisecond here).
void expect_no_packet(milterclient::Session& s, const std::string& what) {
    try {
        const auto p = s.read_packet(500ms);
        EXPECT_FALSE(p.has_value()) << "the daemon answered " << what << " with '" << p->command << "'";
    } catch (const milterclient::Error& e) {
        FAIL() << "the daemon closed the connection after " << what << ": " << e.what();
    }
}

TEST_F(NoReplyTest, HeadersAndBodyChunksGetNoPacketWhenNoReplyWasNegotiated) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kConfig));
    Mta mta(socket_spec(), SmtpClient{});
    auto& s = mta.session();
    ASSERT_TRUE(s.negotiated().has(SMFIP_NR_HDR));
    ASSERT_TRUE(s.negotiated().has(SMFIP_NR_BODY));
    ASSERT_NO_FATAL_FAILURE(open_transaction(mta));
    s.send_packet(SMFIC_HEADER, std::string("From") + '\0' + " Bob <bob@fabrikam.example>" + '\0');
    for (int i = 0; i < 20; ++i) {
        s.send_packet(SMFIC_HEADER, "X-Filler-" + std::to_string(i) + std::string(1, '\0') + " value" +
                                        std::string(1, '\0'));
    }
    expect_no_packet(s, "a header");
    EXPECT_EQ(s.eoh().action, Action::Continue);
    s.send_packet(SMFIC_BODY, std::string(65535, 'x'));
    s.send_packet(SMFIC_BODY, std::string(1000, 'y') + "\r\n");
    expect_no_packet(s, "a body chunk");
    // The end of message is answered: the next packets are its answer.
    const EomResult r = s.end_of_message();
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

TEST_F(NoReplyTest, MtaWithoutNoReplyFlagsGetsAnAnswerForEveryHeaderAndChunk) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kConfig));
    Mta mta(socket_spec(), SmtpClient{}, mta_without_no_reply_flags());
    auto& s = mta.session();
    EXPECT_FALSE(s.negotiated().has(SMFIP_NR_HDR));
    EXPECT_FALSE(s.negotiated().has(SMFIP_NR_BODY));
    ASSERT_NO_FATAL_FAILURE(open_transaction(mta));
    const std::pair<std::string, std::string> headers[] = {{"From", "Bob <bob@fabrikam.example>"},
                                                           {"To", "user@contoso.com"},
                                                           {"Subject", "older MTA"},
                                                           {"X-Filler", "one more"}};
    for (const auto& [name, value] : headers) {
        const Response h = s.header(name, value);  // reads the answer (10 s timeout)
        EXPECT_EQ(h.action, Action::Continue) << name << ": " << describe(h);
    }
    EXPECT_EQ(s.eoh().action, Action::Continue);
    const Response b = s.body(std::string(70000, 'z') + "\r\n");  // two chunks, each answered
    EXPECT_EQ(b.action, Action::Continue) << describe(b);
    const EomResult r = s.end_of_message();
    EXPECT_TRUE(r.proceeds()) << describe(r);
    EXPECT_EQ(r.new_headers("Authentication-Results").size(), 1U) << describe(r);
}

// sendmail reuses a milter connection (QUIT_NC) without negotiating again:
// the second client's message must be handled with the flags negotiated at
// the start, not answered per header.
TEST_F(NoReplyTest, ReusedMilterConnectionKeepsTheNegotiatedNoReplyStages) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kConfig));
    Mta mta(socket_spec(), SmtpClient{});
    ASSERT_TRUE(mta.connect().proceeds());
    SimpleMessage m;
    const EomResult first = mta.send(m);
    ASSERT_TRUE(first.proceeds()) << describe(first);
    SmtpClient next;
    next.port = 40002;
    mta.reuse_for(next);
    ASSERT_NO_FATAL_FAILURE(open_transaction(mta));
    auto& s = mta.session();
    s.send_packet(SMFIC_HEADER, std::string("From") + '\0' + " Bob <bob@fabrikam.example>" + '\0');
    s.send_packet(SMFIC_HEADER, std::string("Subject") + '\0' + " reused" + '\0');
    expect_no_packet(s, "a header after QUIT_NC");
    EXPECT_EQ(s.eoh().action, Action::Continue);
    const EomResult r = s.end_of_message();
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

}  // namespace
}  // namespace protocol_test
