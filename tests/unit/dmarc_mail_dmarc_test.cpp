// The DMARCbis fixtures of Mail::DMARC (t/04.PurePerl.t's mock zone, see
// testdata PROVENANCE.md) served through dns::StaticZone: psd=n/psd=y
// Organizational Domains, t=y, np/sp for non-existent subdomains, and
// invalid sp= with and without rua=.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "auth/dmarc.hpp"
#include "dns/static_zone.hpp"

namespace auth {
// Readable values in test failure messages.
inline void PrintTo(DmarcResult r, std::ostream* os) { *os << dmarc_result_name(r); }
inline void PrintTo(DmarcPolicy p, std::ostream* os) { *os << dmarc_policy_name(p); }
}  // namespace auth

namespace {

class MailDmarcZone : public ::testing::Test {
protected:
    void SetUp() override {
        const char* dir = std::getenv("TESTDATA_DIR");
        ASSERT_NE(dir, nullptr) << "TESTDATA_DIR is not set (export TESTDATA_DIR=/work/shared/testdata)";
        std::vector<dns::ZoneError> errors;
        auto zone = dns::StaticZone::load(std::string(dir) + "/mail-dmarc/mock-zone-04.PurePerl.zone",
                                          errors);
        for (const auto& e : errors) ADD_FAILURE() << e.to_string();
        resolver_ = std::make_shared<dns::StaticResolver>(
            std::make_shared<const dns::StaticZone>(std::move(zone)));
    }

    // A message from `from` with nothing aligned: only the policy matters.
    auth::DmarcVerdict unauthenticated(const std::string& from) {
        const auth::DmarcEvaluator evaluator(resolver_, auth::DmarcOptions{});
        auth::DmarcInput in;
        in.from_domain = from;
        in.spf_domain = "unrelated.example.org";
        in.spf_result = auth::SpfResult::Pass;
        auto budget = dns::Budget::unlimited();
        return evaluator.evaluate(in, budget);
    }

    std::shared_ptr<dns::Resolver> resolver_;
};

TEST_F(MailDmarcZone, PsdNoRecordAnchorsTheOrganizationalDomainOfItsSubdomains) {
    const auto v = unauthenticated("sub.anchor.dmarctest.net");
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.organizational_domain, "anchor.dmarctest.net");
    EXPECT_EQ(v.policy_domain, "anchor.dmarctest.net");
}

TEST_F(MailDmarcZone, PsdYesMakesTheChildOfThePsdTheOrganizationalDomainOfADeepAuthor) {
    const auto v = unauthenticated("deep.sub.psd.dmarctest.net");
    EXPECT_EQ(v.organizational_domain, "sub.psd.dmarctest.net");
    // No record at the Organizational Domain: the PSD's record applies.
    EXPECT_EQ(v.policy_domain, "psd.dmarctest.net");
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy, "none");
}

TEST_F(MailDmarcZone, TestingModeDowngradesRejectToQuarantine) {
    const auto v = unauthenticated("ttest.dmarctest.net");
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_TRUE(v.testing);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(MailDmarcZone, NonExistentSubdomainGetsNpReject) {
    EXPECT_EQ(unauthenticated("ghost.np.dmarctest.net").disposition, auth::DmarcPolicy::Reject);
}

TEST_F(MailDmarcZone, ExistingSubdomainsGetPNotNp) {
    EXPECT_EQ(unauthenticated("real.np.dmarctest.net").disposition, auth::DmarcPolicy::None);
    EXPECT_EQ(unauthenticated("txtonly.np.dmarctest.net").disposition, auth::DmarcPolicy::None);
}

TEST_F(MailDmarcZone, NonExistentSubdomainWithoutNpFallsBackToSp) {
    EXPECT_EQ(unauthenticated("ghost.npnosp.dmarctest.net").disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(MailDmarcZone, NpNoneOverridesPRejectForNonExistentSubdomains) {
    EXPECT_EQ(unauthenticated("ghost.npnone.dmarctest.net").disposition, auth::DmarcPolicy::None);
    EXPECT_EQ(unauthenticated("npnone.dmarctest.net").disposition, auth::DmarcPolicy::Reject);
}

TEST_F(MailDmarcZone, NpRejectWithTestingBecomesQuarantine) {
    EXPECT_EQ(unauthenticated("ghost.npttest2.dmarctest.net").disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(MailDmarcZone, InvalidSpWithRuaIsTreatedAsPNone) {
    const auto v = unauthenticated("invalid-sp-and-with-rua.example.com");
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy, "none");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
}

TEST_F(MailDmarcZone, InvalidSpWithoutRuaDisablesDmarc) {
    EXPECT_EQ(unauthenticated("invalid-sp-and-without-rua.example.com").result, auth::DmarcResult::None);
}

TEST_F(MailDmarcZone, PctTagNoLongerSoftensReject) {
    const auto v = unauthenticated("mail-dmarc.tnpi.net");
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

}  // namespace
