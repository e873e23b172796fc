// SMTP replies: Exchange's default texts, parsing of overrides, the table.
#include <gtest/gtest.h>

#include "policy/replies.hpp"

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
    {ReplyId::RequireTls, "451 5.7.3 STARTTLS is required to send mail"},
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
};

}  // namespace

TEST(Replies, EveryDefaultReplyHasExchangeText) {
    static_assert(std::size(kExchangeReplies) == kReplyCount, "a reply is missing from this test");
    for (const auto& e : kExchangeReplies)
        EXPECT_EQ(default_reply(e.id).to_string(), e.text) << reply_key(e.id);
}

TEST(Replies, EveryDefaultReplyButRequireTlsParsesBackToItself) {
    for (const auto& e : kExchangeReplies) {
        if (e.id == ReplyId::RequireTls) continue;  // see the next test
        std::string error;
        const auto r = Reply::parse(e.text, &error);
        ASSERT_TRUE(r) << e.text << ": " << error;
        EXPECT_EQ(*r, default_reply(e.id));
    }
}

// Exchange really answers "451 5.7.3": a 4xx code with a class-5 enhanced
// code. The default keeps Exchange's text; an administrator's override must
// be consistent (RFC 3463 section 2), so parsing refuses the same text.
TEST(Replies, RequireTlsDefaultKeepsExchangesMismatchedClassButOverridesMayNot) {
    EXPECT_EQ(default_reply(ReplyId::RequireTls).xcode, "5.7.3");
    EXPECT_FALSE(Reply::parse("451 5.7.3 STARTTLS is required to send mail"));
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

TEST(Replies, ParseAcceptsReplyWithoutEnhancedCode) {
    const auto r = Reply::parse("450 try again later");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->xcode, "");
    EXPECT_EQ(r->to_string(), "450 try again later");
}

TEST(Replies, ParseRejectsInvalidReplies) {
    for (const std::string& bad :
         {std::string(""), std::string("250 2.0.0 ok"), std::string("55 5.7.1 short"), std::string("5500 x"),
          std::string("550-5.7.1 multi"), std::string("550 4.7.1 class mismatch"), std::string("550 5.7 text"),
          std::string("550 5.7.1000 text"), std::string("550 5.7.1 two\r\nlines"),
          std::string("550 5.7.1 bare\nlf"), std::string("550 5.7.1 nul\0x", 15), std::string(513, '5'),
          std::string("550"), std::string("550 5.7.1"), std::string("abc 5.7.1 text")}) {
        std::string error;
        EXPECT_FALSE(Reply::parse(bad, &error)) << '"' << bad << '"';
        EXPECT_FALSE(error.empty()) << '"' << bad << '"';
    }
}

TEST(Replies, ParseAccepts512OctetsButNotMore) {
    const std::string head = "550 5.7.1 ";
    EXPECT_TRUE(Reply::parse(head + std::string(512 - head.size(), 'x')));
    EXPECT_FALSE(Reply::parse(head + std::string(513 - head.size(), 'x')));
}

TEST(ReplyTable, ReturnsDefaultUntilOverridden) {
    ReplyTable t;
    EXPECT_EQ(t.get(ReplyId::RelayDenied), default_reply(ReplyId::RelayDenied));
    const Reply custom = Reply::parse("550 5.7.54 Relaying is not allowed from your network").value();
    t.set(ReplyId::RelayDenied, custom);
    EXPECT_EQ(t.get(ReplyId::RelayDenied), custom);
    EXPECT_EQ(t.get(ReplyId::SenderDenied), default_reply(ReplyId::SenderDenied));
}
