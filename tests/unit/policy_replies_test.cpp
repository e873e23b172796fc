// SMTP replies: Exchange's default texts, parsing of overrides, the table.
#include <gtest/gtest.h>

#include "policy/replies.hpp"

#include <cstdint>

using namespace policy;

namespace {

struct Expected {
    ReplyId id;
    const char* text;  // as issue 2 and Exchange 2016/2019 give them; RFC 7372 for SPF
};

// The texts are written out here from Exchange's documented replies, not
// taken from the code under test.
constexpr Expected kExchangeReplies[] = {
    {ReplyId::NoConnector, "421 4.3.2 Service not available"},
    // Not Exchange's "451 5.7.3 STARTTLS is required to send mail": RFC 3207
    // section 4's reply (issue 11: Postfix refuses a 4xx with a class-5 code).
    {ReplyId::RequireTls, "530 5.7.0 Must issue a STARTTLS command first"},
    {ReplyId::AnonymousNoSubmit,
     "530 5.7.57 SMTP; Client was not authenticated to send anonymous mail during MAIL FROM"},
    {ReplyId::AuthenticatedNoSubmit, "550 5.7.1 Client does not have permissions to submit to this server"},
    {ReplyId::MessageTooLarge, "552 5.3.4 Message size exceeds fixed maximum message size"},
    {ReplyId::RateLimited, "421 4.4.2 Message submission rate for this client has exceeded the configured limit"},
    {ReplyId::TooManyConnections,
     "421 4.3.2 The maximum number of concurrent connections has exceeded a limit, closing transmission channel"},
    {ReplyId::TooManyRecipients, "452 4.5.3 Too many recipients"},
    {ReplyId::RelayDenied, "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"},
    {ReplyId::SenderDenied, "550 5.7.1 Client does not have permissions to send as this sender"},
    {ReplyId::AnonymousSenderDenied, "550 5.7.1 Anonymous client does not have permissions to send as this sender"},
    {ReplyId::EhloRequiresDomain, "501 5.0.0 EHLO requires domain address"},
    {ReplyId::InvalidAddress, "501 5.1.3 Invalid address"},
    // Authentication verdicts (RFC 7372 codes for SPF).
    {ReplyId::SpfFail, "550 5.7.23 SPF validation failed"},
    {ReplyId::SpfPermError, "550 5.7.24 SPF validation error"},
    {ReplyId::SpfTempError, "451 4.7.24 SPF validation error: temporary DNS failure, try again later"},
    {ReplyId::DmarcReject, "550 5.7.1 Rejected by DMARC policy for"},
    {ReplyId::DmarcTempError,
     "451 4.7.5 DMARC could not be evaluated because of a temporary error, try again later"},
    {ReplyId::BadFrom, "550 5.7.1 Message needs exactly one From: address domain"},
    {ReplyId::HeaderTooLarge, "552 5.3.4 Header size exceeds fixed maximum size"},
};

}  // namespace

TEST(Replies, EveryDefaultReplyHasExchangeText) {
    static_assert(std::size(kExchangeReplies) == kReplyCount, "a reply is missing from this test");
    for (const auto& e : kExchangeReplies)
        EXPECT_EQ(default_reply(e.id).to_string(), e.text) << reply_key(e.id);
}

// Issue 11: every reply the table can ship passes the rules Postfix and
// sendmail apply to a milter's reply, and reads back as itself from the
// config form.
TEST(Replies, EveryDefaultReplyPassesTheMtaRulesAndParsesBackToItself) {
    for (std::size_t i = 0; i < kReplyCount; ++i) {
        const auto id = static_cast<ReplyId>(i);
        const Reply& r = default_reply(id);
        EXPECT_EQ(check_reply(r), "") << reply_key(id);
        std::string error;
        const auto parsed = Reply::parse(r.to_string(), &error);
        ASSERT_TRUE(parsed) << reply_key(id) << ": " << error;
        EXPECT_EQ(*parsed, r) << reply_key(id);
    }
}

TEST(Replies, TheMiltersOwnRepliesPassTheMtaRules) {
    EXPECT_EQ(check_reply(internal_error_reply()), "");
    EXPECT_FALSE(internal_error_reply().permanent());
    EXPECT_EQ(check_reply(shutting_down_reply()), "");
    EXPECT_EQ(shutting_down_reply().code, "421");
    EXPECT_EQ(check_reply(busy_reply()), "");
    EXPECT_FALSE(busy_reply().permanent());
}

// Exchange's own RequireTLS reply: Postfix's milter8.c calls it malformed,
// answers 451 4.3.5 and stops using the milter for the session.
TEST(Replies, ExchangesRequireTlsReplyWithMismatchedClassIsRefused) {
    std::string error;
    EXPECT_FALSE(Reply::parse("451 5.7.3 STARTTLS is required to send mail", &error));
    EXPECT_NE(error.find("does not match reply code 451"), std::string::npos) << error;
    EXPECT_TRUE(Reply::parse("451 4.7.3 STARTTLS is required to send mail"));
}

TEST(Replies, ReplyKeysRoundTripAndAreDistinct) {
    for (std::size_t i = 0; i < kReplyCount; ++i) {
        const auto id = static_cast<ReplyId>(i);
        EXPECT_EQ(parse_reply_key(reply_key(id)), id);
    }
    EXPECT_EQ(reply_key(ReplyId::RelayDenied), "relay_denied");
    EXPECT_FALSE(parse_reply_key("RelayDenied"));
}

TEST(Replies, PermanentIsTrueOnlyFor5xx) {
    EXPECT_TRUE(default_reply(ReplyId::RelayDenied).permanent());
    EXPECT_FALSE(default_reply(ReplyId::TooManyRecipients).permanent());
}

TEST(Replies, ParseSplitsCodeEnhancedCodeAndText) {
    const auto r = Reply::parse("550 5.7.1 No relaying here, friend");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, "550");
    EXPECT_EQ(r->xcode, "5.7.1");
    EXPECT_EQ(r->text, "No relaying here, friend");
}

// RFC 2034 section 3: with ENHANCEDSTATUSCODES announced (both MTAs do),
// every reply carries one; old Postfix versions even required it.
TEST(Replies, ParseRequiresAnEnhancedCode) {
    std::string error;
    EXPECT_FALSE(Reply::parse("450 try again later", &error));
    EXPECT_NE(error.find("enhanced status code"), std::string::npos) << error;
}

TEST(Replies, ParseRejectsInvalidReplies) {
    for (const std::string& bad :
         {std::string(""), std::string("250 2.0.0 ok"), std::string("55 5.7.1 short"), std::string("5500 x"),
          std::string("550-5.7.1 multi"), std::string("550 4.7.1 class mismatch"), std::string("550 5.7 text"),
          std::string("550 5.7.1000 text"), std::string("550 5.7.1 two\r\nlines"),
          std::string("550 5.7.1 bare\nlf"), std::string("550 5.7.1 nul\0x", 15), std::string(513, '5'),
          std::string("550"), std::string("550 5.7.1"), std::string("550 5.7.1 "), std::string("abc 5.7.1 text"),
          std::string("560 5.7.1 second digit above 5"), std::string("550 3.7.1 class 3"),
          std::string("550 5..1 empty subject"), std::string("550 5.7.1 caf\xc3\xa9"),
          std::string("550 5.7.1 tab\there"), std::string("550 5.7.1 del\x7f"), std::string("550  5.7.1 two spaces")}) {
        std::string error;
        EXPECT_FALSE(Reply::parse(bad, &error)) << '"' << bad << '"';
        EXPECT_FALSE(error.empty()) << '"' << bad << '"';
    }
}

// RFC 5321 section 4.5.3.1.5: 512 octets with the CRLF.
TEST(Replies, ParseAcceptsA510OctetLineButNotMore) {
    const std::string head = "550 5.7.1 ";
    EXPECT_TRUE(Reply::parse(head + std::string(510 - head.size(), 'x')));
    EXPECT_FALSE(Reply::parse(head + std::string(511 - head.size(), 'x')));
}

TEST(Replies, PercentIsAllowedAndDoubledOnTheWire) {
    const auto r = Reply::parse("550 5.7.1 100% sure");
    ASSERT_TRUE(r);
    EXPECT_EQ(percent_escaped(r->text), "100%% sure");
}

// libmilter's smfi_setreply refuses a text over 980 octets, after escaping.
TEST(Replies, TextWhoseEscapedFormExceedsLibmiltersLimitIsRefused) {
    const std::string head = "550 5.7.1 ";
    EXPECT_TRUE(Reply::parse(head + std::string(490, '%')));
    std::string error;
    EXPECT_FALSE(Reply::parse(head + std::string(491, '%'), &error));
    EXPECT_NE(error.find("980"), std::string::npos) << error;
}

TEST(Replies, WithDetailAppendsPrintableText) {
    const Reply r = default_reply(ReplyId::SpfFail).with_detail(": ", "a.example does not designate 192.0.2.7");
    EXPECT_EQ(r.to_string(), "550 5.7.23 SPF validation failed: a.example does not designate 192.0.2.7");
}

// Text from DNS (SPF exp=) or a header is untrusted: what it holds must not
// make a reply the MTA refuses.
TEST(Replies, WithDetailReplacesLineBreaksControlsAndNonAscii) {
    const Reply r = default_reply(ReplyId::SpfFail).with_detail(": ", "line\r\n550 5.7.1 x\tcaf\xc3\xa9\x01 100%");
    EXPECT_EQ(r.text, "SPF validation failed: line  550 5.7.1 x caf??? 100%");
    EXPECT_EQ(check_reply(r), "");
}

TEST(Replies, WithDetailCutsLongTextToTheLineLimit) {
    const Reply base = default_reply(ReplyId::SpfFail);
    const Reply r = base.with_detail(": ", std::string(2000, 'x'));
    EXPECT_EQ(check_reply(r), "");
    EXPECT_EQ(r.to_string().size(), kMaxReplyLine);
    EXPECT_EQ(r.text.substr(r.text.size() - 4), "x...");
    EXPECT_EQ(r.text.rfind(base.text + ": x", 0), 0U);
}

TEST(Replies, WithDetailCutsPercentsToLibmiltersLimit) {
    const Reply r = default_reply(ReplyId::SpfFail).with_detail(": ", std::string(600, '%'));
    EXPECT_EQ(check_reply(r), "");
    EXPECT_LE(percent_escaped(r.text).size(), kMaxMilterReplyText);
    EXPECT_EQ(r.text.substr(r.text.size() - 3), "...");
}

TEST(Replies, WithEmptyOrBlankDetailIsUnchanged) {
    const Reply& base = default_reply(ReplyId::DmarcReject);
    EXPECT_EQ(base.with_detail(" ", ""), base);
    EXPECT_EQ(base.with_detail(" ", " \r\n"), base);
}

// Whatever bytes the detail holds, the result passes the MTA rules.
TEST(Replies, WithDetailOfAnyBytesPassesTheMtaRules) {
    std::uint32_t seed = 11;
    for (int round = 0; round < 500; ++round) {
        std::string detail(static_cast<std::size_t>(round * 3 % 1100), '\0');
        for (auto& ch : detail) {
            seed = seed * 1664525U + 1013904223U;
            ch = static_cast<char>(seed >> 24);
        }
        for (std::size_t i = 0; i < kReplyCount; ++i) {
            const Reply r = default_reply(static_cast<ReplyId>(i)).with_detail(": ", detail);
            ASSERT_EQ(check_reply(r), "") << round << " " << i;
        }
    }
}

TEST(ReplyTable, ReturnsDefaultUntilOverridden) {
    ReplyTable t;
    EXPECT_EQ(t.get(ReplyId::RelayDenied), default_reply(ReplyId::RelayDenied));
    const Reply custom = Reply::parse("550 5.7.54 Relaying is not allowed from your network").value();
    t.set(ReplyId::RelayDenied, custom);
    EXPECT_EQ(t.get(ReplyId::RelayDenied), custom);
    EXPECT_EQ(t.get(ReplyId::SenderDenied), default_reply(ReplyId::SenderDenied));
}
