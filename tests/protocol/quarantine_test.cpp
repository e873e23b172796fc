// Quarantine when the MTA cannot quarantine (issue 12 item 6).
//
// A verdict whose action is "quarantine" (DMARC p=quarantine, [spf]
// fail_action, [dmarc] bad_from_action) is carried out with SMFIR_QUARANTINE,
// an action the MTA offers in option negotiation (SMFIF_QUARANTINE; Postfix
// since 2.6, sendmail since 8.13). An MTA that does not offer it used to get
// the message accepted without quarantine while the log said dis=quarantine.
// Now [milter] quarantine_fallback decides: tempfail (default), reject or
// header, and the log says which.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"

namespace protocol_test {
namespace {

using milterclient::Action;
using milterclient::EomResult;

constexpr std::uint32_t kSmfifQuarantine = 0x20;  // SMFIF_QUARANTINE

const std::string kDomains = authoritative_domain("contoso.com");
const std::string kFrontend = internet_connector("Default Frontend", "tarpit_interval = 0\n");

// SPF passes for the envelope (fabrikam.example lists 198.51.100.0/24) but
// the author domain quarantine.example is not aligned with it and the
// message is unsigned: DMARC fails, and its policy is p=quarantine.
SimpleMessage dmarc_quarantine_message() {
    SimpleMessage m;
    m.headers[0] = {"From", "Eve <eve@quarantine.example>"};
    return m;
}

milterclient::Options without_quarantine() {
    milterclient::Options o;
    o.actions &= ~kSmfifQuarantine;
    return o;
}

class QuarantineTest : public DaemonTest {
protected:
    EomResult deliver(const SimpleMessage& m, const milterclient::Options& options) {
        Mta mta(socket_spec(), SmtpClient{}, options);
        EXPECT_TRUE(mta.connect().proceeds());
        return mta.send(m);
    }
};

TEST_F(QuarantineTest, DmarcQuarantineIsAskedOfAnMtaThatOffersIt) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kDomains + kFrontend));
    const EomResult r = deliver(dmarc_quarantine_message(), {});
    ASSERT_TRUE(r.proceeds()) << describe(r);
    ASSERT_TRUE(r.quarantine.has_value()) << describe(r);
    EXPECT_NE(r.quarantine->find("quarantine.example"), std::string::npos) << *r.quarantine;
    EXPECT_NE(daemon_->log().find("quarantine (DMARC policy of quarantine.example)"), std::string::npos);
}

TEST_F(QuarantineTest, WithoutTheQuarantineActionDmarcQuarantineIsTempfailedByDefault) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kDomains + kFrontend));
    const EomResult r = deliver(dmarc_quarantine_message(), without_quarantine());
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.smtp_reply(), "451 4.3.0 Temporary local problem, try again later") << describe(r);
    EXPECT_FALSE(r.quarantine.has_value());
    const std::string log = daemon_->log();
    EXPECT_NE(log.find("the MTA does not offer the quarantine action): quarantine_fallback = tempfail"),
              std::string::npos)
        << log;
}

TEST_F(QuarantineTest, WithFallbackRejectDmarcQuarantineIsRefusedWithTheDmarcReply) {
    extra_milter_settings_ = "quarantine_fallback = \"reject\"\n";
    ASSERT_NO_FATAL_FAILURE(start_daemon(kDomains + kFrontend));
    const EomResult r = deliver(dmarc_quarantine_message(), without_quarantine());
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.smtp_reply(), "550 5.7.1 Rejected by DMARC policy for quarantine.example") << describe(r);
    EXPECT_NE(daemon_->log().find("quarantine_fallback = reject"), std::string::npos);
}

TEST_F(QuarantineTest, WithFallbackHeaderTheMessageIsDeliveredWithTheVerdictInAuthenticationResults) {
    extra_milter_settings_ = "quarantine_fallback = \"header\"\n";
    ASSERT_NO_FATAL_FAILURE(start_daemon(kDomains + kFrontend));
    const EomResult r = deliver(dmarc_quarantine_message(), without_quarantine());
    ASSERT_TRUE(r.proceeds()) << describe(r);
    EXPECT_FALSE(r.quarantine.has_value());
    const auto ar = r.new_headers("Authentication-Results");
    ASSERT_EQ(ar.size(), 1U);
    EXPECT_NE(ar[0].value.find("dmarc=fail"), std::string::npos) << ar[0].value;
    // The log says what happened, not only dis=quarantine.
    EXPECT_NE(daemon_->log().find("delivered without it, quarantine_fallback = header"), std::string::npos)
        << daemon_->log();
}

// Every quarantine reason, not only DMARC: an SPF fail whose action is
// quarantine.
TEST_F(QuarantineTest, WithoutTheQuarantineActionAnSpfQuarantineIsTempfailedToo) {
    ASSERT_NO_FATAL_FAILURE(start_daemon(kDomains + kFrontend + "\n[spf]\nfail_action = \"quarantine\"\n"));
    SimpleMessage m;
    m.from = "<bob@external.example>";  // v=spf1 -all
    m.headers[0] = {"From", "Bob <bob@external.example>"};
    const EomResult offered = deliver(m, {});
    ASSERT_TRUE(offered.proceeds()) << describe(offered);
    EXPECT_TRUE(offered.quarantine.has_value()) << describe(offered);
    const EomResult r = deliver(m, without_quarantine());
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.smtp_reply().rfind("451 4.3.0 ", 0), 0U) << describe(r);
}

// And a From: header that cannot be used, with bad_from_action = quarantine:
// the reject fallback uses the bad From reply.
TEST_F(QuarantineTest, WithFallbackRejectAnUnusableFromIsRefusedWithTheBadFromReply) {
    extra_milter_settings_ = "quarantine_fallback = \"reject\"\n";
    ASSERT_NO_FATAL_FAILURE(start_daemon(kDomains + kFrontend + "\n[dmarc]\nbad_from_action = \"quarantine\"\n"));
    SimpleMessage m;
    m.headers.erase(m.headers.begin());  // no From:
    const EomResult r = deliver(m, without_quarantine());
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.smtp_reply(), "550 5.7.1 Message needs exactly one From: address domain") << describe(r);
}

}  // namespace
}  // namespace protocol_test
