// Protocol tests of the "no reply" stages (issue 11, item 2; issue 14 for
// the end of headers): the daemon negotiates SMFIP_NR_HDR, SMFIP_NR_EOH and
// SMFIP_NR_BODY and answers SMFIS_NOREPLY there. It must send nothing for a
// header, the end of headers or a body chunk when the MTA reads nothing
// there, must give a refusal reached there at the end of message, and must still answer every one of them when the MTA does
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

// A connector whose anonymous clients may not send as our own domains, a
// From: header it refuses at the end of headers, and its reply.
const std::string kOwnDomainDenied =
    authoritative_domain("contoso.com") +
    internet_connector("Default Frontend", std::string("tarpit_interval = 0\n") + kDenyAnonymousOwnDomainSenders);
constexpr const char* kAnonymousSenderDenied =
    "550 5.7.1 Anonymous client does not have permissions to send as this sender";

// Everything but the "no reply" flags for headers, the end of headers and
// body chunks: what an MTA that speaks an older milter protocol offers.
milterclient::Options mta_without_no_reply_flags() {
    milterclient::Options o;
    o.protocol &= ~static_cast<std::uint32_t>(SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY);
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
    ASSERT_TRUE(s.negotiated().has(SMFIP_NR_EOH));
    ASSERT_TRUE(s.negotiated().has(SMFIP_NR_BODY));
    ASSERT_NO_FATAL_FAILURE(open_transaction(mta));
    s.send_packet(SMFIC_HEADER, std::string("From") + '\0' + " Bob <bob@fabrikam.example>" + '\0');
    for (int i = 0; i < 20; ++i) {
        s.send_packet(SMFIC_HEADER, "X-Filler-" + std::to_string(i) + std::string(1, '\0') + " value" +
                                        std::string(1, '\0'));
    }
    expect_no_packet(s, "a header");
    s.send_packet(SMFIC_EOH, "");
    expect_no_packet(s, "the end of headers");
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
    EXPECT_FALSE(s.negotiated().has(SMFIP_NR_EOH));
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
    s.send_packet(SMFIC_EOH, "");
    expect_no_packet(s, "a header and the end of headers after QUIT_NC");
    const EomResult r = s.end_of_message();
    EXPECT_TRUE(r.proceeds()) << describe(r);
}

// A refusal reached at the end of headers (here a From: header in our own
// domain, which an anonymous session may not send here) is the answer to the end
// of message when the MTA reads no reply at the end of headers: the body
// between gets no answer, and the next message of the connection is not
// touched by it.
TEST_F(NoReplyTest, RefusalAtEndOfHeadersWithoutReplyIsTheAnswerToEndOfMessage) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kOwnDomainDenied));
    Mta mta(socket_spec(), SmtpClient{});
    auto& s = mta.session();
    ASSERT_TRUE(s.negotiated().has(SMFIP_NR_EOH));
    ASSERT_NO_FATAL_FAILURE(open_transaction(mta));
    s.send_packet(SMFIC_HEADER, std::string("From") + '\0' + kOwnDomainFrom + '\0');
    s.send_packet(SMFIC_EOH, "");
    s.send_packet(SMFIC_BODY, "Please wire the money.\r\n");
    expect_no_packet(s, "a refused end of headers and a body chunk");
    const EomResult refused = s.end_of_message();
    EXPECT_EQ(refused.action, Action::ReplyCode) << describe(refused);
    EXPECT_EQ(refused.reply, kAnonymousSenderDenied) << describe(refused);
    EXPECT_TRUE(refused.header_edits.empty()) << describe(refused);
    // The next message on the same connection is judged on its own.
    SimpleMessage next;
    const EomResult accepted = mta.send(next);
    EXPECT_TRUE(accepted.proceeds()) << describe(accepted);
}

// An MTA without SMFIP_NR_EOH gets an answer at the end of headers and the
// same refusal: there on the native engine; on libmilter, which answered
// "continue" there for us (it offers the flag to the filter whatever the
// MTA knows), at the end of message.
TEST_F(NoReplyTest, MtaWithoutNoReplyAtEndOfHeadersGetsAnAnswerThereAndTheRefusal) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kOwnDomainDenied));
    Mta mta(socket_spec(), SmtpClient{}, mta_without_no_reply_flags());
    auto& s = mta.session();
    ASSERT_NO_FATAL_FAILURE(open_transaction(mta));
    EXPECT_EQ(s.header("From", kOwnDomainFrom).action, Action::Continue);
    const Response eoh = s.eoh();  // reads the answer (10 s timeout)
    if (engine_setting().find("libmilter") == std::string::npos) {
        EXPECT_EQ(eoh.action, Action::ReplyCode) << describe(eoh);
        EXPECT_EQ(eoh.reply, kAnonymousSenderDenied) << describe(eoh);
        return;
    }
    EXPECT_EQ(eoh.action, Action::Continue) << describe(eoh);
    EXPECT_EQ(s.body("Please wire the money.\r\n").action, Action::Continue);
    const EomResult refused = s.end_of_message();
    EXPECT_EQ(refused.action, Action::ReplyCode) << describe(refused);
    EXPECT_EQ(refused.reply, kAnonymousSenderDenied) << describe(refused);
}

}  // namespace
}  // namespace protocol_test
