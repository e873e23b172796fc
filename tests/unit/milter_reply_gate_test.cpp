// The reply gate of the milter adapter (src/milter/reply_gate.hpp): which
// stages answer, and that a refusal reached where the negotiation promised
// no reply (SMFIP_NR_HDR, SMFIP_NR_EOH, SMFIP_NR_BODY) reaches the MTA at
// the next stage that may answer instead of being dropped (issue 11, item
// 2; issue 14 for the end of headers).
#include <gtest/gtest.h>

#include <chrono>

#include "milter/reply_gate.hpp"

namespace {

using milter::ReplyGate;
using milter::Stage;
using session::Outcome;

Outcome tempfail(const std::string& text) {
    Outcome o;
    o.verdict.action = policy::Verdict::Action::TempFail;
    o.verdict.reply = {"451", "4.3.0", text};
    return o;
}

Outcome reject(const std::string& text) {
    Outcome o;
    o.verdict.action = policy::Verdict::Action::Reject;
    o.verdict.reply = {"550", "5.7.1", text};
    return o;
}

ReplyGate negotiated_like_postfix() {
    ReplyGate gate;
    gate.set_no_reply(true, true, true);
    return gate;
}

// No reply for headers and body chunks but one at the end of headers: what
// the daemon asked for before it asked for none there, and what an MTA
// that offers SMFIP_NR_HDR and SMFIP_NR_BODY but not SMFIP_NR_EOH agrees to.
ReplyGate negotiated_with_replies_at_end_of_headers() {
    ReplyGate gate;
    gate.set_no_reply(true, false, true);
    return gate;
}

TEST(ReplyGate, HeaderEndOfHeadersAndBodyChunksGetNoReplyWhenNegotiatedWithout) {
    ReplyGate gate = negotiated_like_postfix();
    EXPECT_FALSE(gate.answer(Stage::Header, {}).has_value());
    EXPECT_FALSE(gate.answer(Stage::EndOfHeaders, {}).has_value());
    EXPECT_FALSE(gate.answer(Stage::Body, {}).has_value());
    EXPECT_FALSE(gate.may_reply(Stage::Header));
    EXPECT_FALSE(gate.may_reply(Stage::EndOfHeaders));
    EXPECT_FALSE(gate.may_reply(Stage::Body));
}

TEST(ReplyGate, EveryOtherStageAnswersWhateverWasNegotiated) {
    for (bool nr : {false, true}) {
        ReplyGate gate;
        gate.set_no_reply(nr, nr, nr);
        for (Stage s : {Stage::Connect, Stage::Helo, Stage::Mail, Stage::Rcpt, Stage::EndOfMessage}) {
            SCOPED_TRACE(std::string(milter::stage_name(s)));
            EXPECT_TRUE(gate.may_reply(s));
            const auto a = gate.answer(s, reject("no"));
            ASSERT_TRUE(a.has_value());
            EXPECT_EQ(a->verdict.reply.code, "550");
        }
    }
}

TEST(ReplyGate, WithoutNoReplyFlagsAHeaderRefusalIsAnsweredAtTheHeader) {
    ReplyGate gate;  // an MTA that reads a reply for every header
    const auto a = gate.answer(Stage::Header, tempfail("header stage"));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.reply.text, "header stage");
    EXPECT_FALSE(gate.holding());
    // A continue is answered too: the MTA waits for it.
    const auto c = gate.answer(Stage::Body, {});
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(c->verdict.ok());
}

TEST(ReplyGate, RefusalAtEndOfHeadersWithoutReplyIsGivenAtEndOfMessageWithItsTarpit) {
    ReplyGate gate = negotiated_like_postfix();
    Outcome refusal = reject("held from the end of headers");
    refusal.tarpit = true;
    refusal.tarpit_delay = std::chrono::milliseconds(1500);
    EXPECT_FALSE(gate.answer(Stage::Header, {}).has_value());
    EXPECT_FALSE(gate.answer(Stage::EndOfHeaders, refusal).has_value());
    EXPECT_TRUE(gate.holding());
    EXPECT_FALSE(gate.answer(Stage::Body, {}).has_value());
    std::optional<Stage> from;
    const auto a = gate.answer(Stage::EndOfMessage, {}, &from);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.reply.to_string(), "550 5.7.1 held from the end of headers");
    EXPECT_TRUE(a->tarpit);
    EXPECT_EQ(a->tarpit_delay, std::chrono::milliseconds(1500));
    ASSERT_TRUE(from.has_value());
    EXPECT_EQ(*from, Stage::EndOfHeaders);
    EXPECT_FALSE(gate.holding());
}

TEST(ReplyGate, HeaderRefusalWithoutReplyAtEndOfHeadersWaitsForEndOfMessage) {
    ReplyGate gate = negotiated_like_postfix();
    EXPECT_FALSE(gate.answer(Stage::Header, tempfail("held from a header")).has_value());
    EXPECT_FALSE(gate.answer(Stage::EndOfHeaders, reject("later")).has_value());
    std::optional<Stage> from;
    const auto a = gate.answer(Stage::EndOfMessage, {}, &from);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.reply.to_string(), "451 4.3.0 held from a header");
    ASSERT_TRUE(from.has_value());
    EXPECT_EQ(*from, Stage::Header);
}

TEST(ReplyGate, TempfailAtAHeaderWithoutReplyIsGivenAtEndOfHeadersThatAnswer) {
    ReplyGate gate = negotiated_with_replies_at_end_of_headers();
    EXPECT_TRUE(gate.may_reply(Stage::EndOfHeaders));
    EXPECT_FALSE(gate.answer(Stage::Header, {}).has_value());
    EXPECT_FALSE(gate.answer(Stage::Header, tempfail("held from a header")).has_value());
    EXPECT_TRUE(gate.holding());
    EXPECT_FALSE(gate.answer(Stage::Header, {}).has_value());
    std::optional<Stage> from;
    const auto a = gate.answer(Stage::EndOfHeaders, {}, &from);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_EQ(a->verdict.reply.to_string(), "451 4.3.0 held from a header");
    ASSERT_TRUE(from.has_value());
    EXPECT_EQ(*from, Stage::Header);
    EXPECT_FALSE(gate.holding());
}

TEST(ReplyGate, RefusalAtABodyChunkWithoutReplyIsGivenAtEndOfMessageWithItsTarpit) {
    ReplyGate gate = negotiated_like_postfix();
    Outcome refusal = reject("held from the body");
    refusal.tarpit = true;
    refusal.tarpit_delay = std::chrono::milliseconds(1500);
    EXPECT_FALSE(gate.answer(Stage::Body, {}).has_value());
    EXPECT_FALSE(gate.answer(Stage::Body, refusal).has_value());
    EXPECT_FALSE(gate.answer(Stage::Body, {}).has_value());
    std::optional<Stage> from;
    const auto a = gate.answer(Stage::EndOfMessage, {}, &from);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.reply.to_string(), "550 5.7.1 held from the body");
    EXPECT_TRUE(a->tarpit);
    EXPECT_EQ(a->tarpit_delay, std::chrono::milliseconds(1500));
    ASSERT_TRUE(from.has_value());
    EXPECT_EQ(*from, Stage::Body);
}

TEST(ReplyGate, HeldRefusalComesBeforeTheOutcomeOfTheStageThatAnswers) {
    ReplyGate gate = negotiated_with_replies_at_end_of_headers();
    gate.answer(Stage::Header, tempfail("first"));
    const auto a = gate.answer(Stage::EndOfHeaders, reject("later"));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.reply.text, "first");
}

TEST(ReplyGate, FirstRefusalOfTheMessageIsTheOneHeld) {
    ReplyGate gate = negotiated_like_postfix();
    gate.answer(Stage::Header, tempfail("first"));
    gate.answer(Stage::Header, reject("second"));
    gate.answer(Stage::Body, reject("third"));
    const auto a = gate.answer(Stage::EndOfMessage, {});
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->verdict.reply.text, "first");
}

TEST(ReplyGate, HeldRefusalDoesNotOutliveItsMessage) {
    ReplyGate gate = negotiated_like_postfix();
    gate.answer(Stage::Header, tempfail("of the aborted message"));
    gate.forget_message();  // abort, or MAIL of the next transaction
    EXPECT_FALSE(gate.holding());
    const auto a = gate.answer(Stage::EndOfMessage, {});
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->verdict.ok());
}

TEST(ReplyGate, NothingHeldMeansTheStageAnswersItsOwnOutcome) {
    ReplyGate gate = negotiated_like_postfix();
    gate.answer(Stage::Header, {});
    gate.answer(Stage::EndOfHeaders, {});
    std::optional<Stage> from;
    const auto a = gate.answer(Stage::EndOfMessage, {}, &from);
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->verdict.ok());
    EXPECT_FALSE(from.has_value());
}

}  // namespace
