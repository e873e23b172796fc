// DMARC (RFC 9989): record parsing, the DNS Tree Walk and its query bound,
// psd= boundaries, Identifier Alignment, p/sp/np/t, temperror handling, and
// the RFC 7489 public-suffix-list mode.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dmarc.hpp"
#include "auth/dmarc_record.hpp"
#include "auth/org_domain.hpp"
#include "dkim_fake_resolver.hpp"

namespace auth {
// Readable values in test failure messages.
inline void PrintTo(DmarcResult r, std::ostream* os) { *os << dmarc_result_name(r); }
inline void PrintTo(DmarcPolicy p, std::ostream* os) { *os << dmarc_policy_name(p); }
}  // namespace auth

namespace {

using testing_dns::FakeResolver;

// The typed results from the RFC 8601 keywords the tests are written in.
auth::DkimResult dkim_result_of(std::string_view name) {
    for (auto r : {auth::DkimResult::Pass, auth::DkimResult::Fail, auth::DkimResult::Neutral, auth::DkimResult::Policy,
                   auth::DkimResult::TempError, auth::DkimResult::PermError})
        if (auth::dkim_result_name(r) == name) return r;
    ADD_FAILURE() << "no DKIM result " << name;
    return auth::DkimResult::PermError;
}

// (Spelled out here: this suite does not link libspf2.)
auth::SpfResult spf_result_of(std::string_view name) {
    if (name == "none") return auth::SpfResult::None;
    if (name == "neutral") return auth::SpfResult::Neutral;
    if (name == "pass") return auth::SpfResult::Pass;
    if (name == "fail") return auth::SpfResult::Fail;
    if (name == "softfail") return auth::SpfResult::SoftFail;
    if (name == "temperror") return auth::SpfResult::TempError;
    if (name == "permerror") return auth::SpfResult::PermError;
    ADD_FAILURE() << "no SPF result " << name;
    return auth::SpfResult::None;
}

auth::DkimSignatureResult dkim(std::string result, std::string domain) {
    auth::DkimSignatureResult r;
    r.result = dkim_result_of(result);
    r.domain = std::move(domain);
    r.selector = "s1";
    r.algorithm = "rsa-sha256";
    return r;
}

auth::DmarcInput input(std::string from, std::vector<auth::DkimSignatureResult> sigs = {},
                       std::string spf_domain = "", std::string spf_result = "none") {
    auth::DmarcInput in;
    in.from_domain = std::move(from);
    in.dkim = std::move(sigs);
    in.spf_domain = std::move(spf_domain);
    in.spf_result = spf_result_of(spf_result);
    return in;
}

class DmarcTest : public ::testing::Test {
protected:
    std::shared_ptr<FakeResolver> dns = std::make_shared<FakeResolver>();

    auth::DmarcVerdict run(const auth::DmarcInput& in,
                           auth::DmarcOptions settings = auth::DmarcOptions{}) {
        const auth::DmarcEvaluator evaluator(dns, settings);
        auto budget = dns::Budget::unlimited();
        return evaluator.evaluate(in, budget);
    }
    std::size_t dmarc_questions() const {
        std::size_t n = 0;
        for (const auto& q : dns->asked())
            if (q.rfind("_dmarc.", 0) == 0) ++n;
        return n;
    }
};

std::string testdata_dir() {
    const char* d = std::getenv("TESTDATA_DIR");
    return d == nullptr ? std::string() : std::string(d);
}

// ---------------------------------------------------------------- records

TEST(DmarcRecord, RecordWhoseFirstTagIsNotVersionIsNotADmarcRecord) {
    EXPECT_FALSE(auth::parse_dmarc_record("p=reject; v=DMARC1").has_value());
}

TEST(DmarcRecord, VersionValueIsCaseSensitive) {
    EXPECT_FALSE(auth::parse_dmarc_record("v=dmarc1; p=reject").has_value());
}

TEST(DmarcRecord, WhitespaceAroundTagsAndKeywordCaseAreAccepted) {
    const auto rec = auth::parse_dmarc_record("v = DMARC1 ;\tP = Reject ; sp=QUARANTINE;");
    ASSERT_TRUE(rec.has_value());
    ASSERT_TRUE(rec->p.has_value());
    EXPECT_EQ(*rec->p, auth::DmarcPolicy::Reject);
    ASSERT_TRUE(rec->sp.has_value());
    EXPECT_EQ(*rec->sp, auth::DmarcPolicy::Quarantine);
}

TEST(DmarcRecord, InvalidPolicyValueIsFlaggedNotApplied) {
    const auto rec = auth::parse_dmarc_record("v=DMARC1; p=bounce");
    ASSERT_TRUE(rec.has_value());
    EXPECT_FALSE(rec->p.has_value());
    EXPECT_TRUE(rec->p_invalid);
}

TEST(DmarcRecord, TagsParsedWithDefaults) {
    const auto rec = auth::parse_dmarc_record("v=DMARC1; p=none");
    ASSERT_TRUE(rec.has_value());
    EXPECT_FALSE(rec->testing);
    EXPECT_FALSE(rec->strict_dkim);
    EXPECT_FALSE(rec->strict_spf);
    EXPECT_EQ(rec->psd, 'u');
    const auto full = auth::parse_dmarc_record("v=DMARC1; p=none; t=y; adkim=s; aspf=s; psd=n");
    ASSERT_TRUE(full.has_value());
    EXPECT_TRUE(full->testing);
    EXPECT_TRUE(full->strict_dkim);
    EXPECT_TRUE(full->strict_spf);
    EXPECT_EQ(full->psd, 'n');
}

TEST(DmarcRecord, RemovedPctTagDoesNotChangeThePolicy) {
    const auto rec = auth::parse_dmarc_record("v=DMARC1; p=reject; pct=0; rf=afrf; ri=3600");
    ASSERT_TRUE(rec.has_value());
    ASSERT_TRUE(rec->p.has_value());
    EXPECT_EQ(*rec->p, auth::DmarcPolicy::Reject);
    EXPECT_FALSE(rec->testing);
}

// ------------------------------------------------------- discovery & walk

TEST_F(DmarcTest, AlignedDkimPassAtDomainWithRecordPassesWithOneQuery) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("pass", "example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
    EXPECT_EQ(v.policy, "reject");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
    EXPECT_EQ(dns->questions(), 1u);
}

// RFC 9990 policy_evaluated states both alignment results: with rua= the
// SPF alignment is evaluated even after an aligned DKIM pass, and what an
// aggregate report needs of the record comes with the verdict.
TEST_F(DmarcTest, WithRuaBothAlignmentsAndThePublishedTagsComeWithTheVerdict) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; rua=mailto:d@example.com!10m; fo=1; aspf=s; psd=n");
    const auto v = run(input("example.com", {dkim("pass", "example.com")}, "example.com", "pass"));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
    EXPECT_TRUE(v.dkim_aligned);
    EXPECT_TRUE(v.spf_aligned);
    EXPECT_EQ(v.rua, "mailto:d@example.com!10m");
    EXPECT_EQ(v.fo, "1");
    EXPECT_TRUE(v.strict_spf);
    EXPECT_FALSE(v.strict_dkim);
    EXPECT_EQ(v.psd, 'n');
    EXPECT_EQ(v.discovery, auth::DmarcDiscovery::TreeWalk);
}

TEST_F(DmarcTest, WithoutRuaAnAlignedDkimPassIsEnoughAndSpfIsNotEvaluated) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("pass", "example.com")}, "mail.example.com", "pass"));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
    EXPECT_TRUE(v.dkim_aligned);
    EXPECT_FALSE(v.spf_aligned);
    EXPECT_EQ(dns->questions(), 1u);
}

TEST_F(DmarcTest, AnUnalignedSpfPassIsReportedAsSpfAlignmentFail) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=none; rua=mailto:d@example.com");
    const auto v = run(input("example.com", {dkim("fail", "example.com")}, "other.example", "pass"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_FALSE(v.dkim_aligned);
    EXPECT_FALSE(v.spf_aligned);
}

TEST_F(DmarcTest, NoRecordAnywhereGivesNone) {
    const auto v = run(input("mail.example.com", {dkim("fail", "example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::None);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
}

TEST_F(DmarcTest, DeepAuthorDomainWalkAsksExactlyTheEightNamesOfSection4_10) {
    // RFC 9989 section 4.10's own example.
    const auto v = run(input("a.b.c.d.e.f.g.h.i.j.mail.example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::None);
    const std::vector<std::string> expected = {
        "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com/TXT",
        "_dmarc.g.h.i.j.mail.example.com/TXT",
        "_dmarc.h.i.j.mail.example.com/TXT",
        "_dmarc.i.j.mail.example.com/TXT",
        "_dmarc.j.mail.example.com/TXT",
        "_dmarc.mail.example.com/TXT",
        "_dmarc.example.com/TXT",
        "_dmarc.com/TXT",
    };
    EXPECT_EQ(dns->asked(), expected);
}

TEST_F(DmarcTest, WalkNeverExceedsEightQueriesForAnyLabelCount) {
    std::string name = "example.com";
    for (int labels = 3; labels <= 40; ++labels) {
        name = "x" + std::to_string(labels) + "." + name;
        dns->clear_log();
        (void)run(input(name, {dkim("pass", "other.org")}));
        EXPECT_LE(dmarc_questions(), 8u) << name;
    }
}

TEST_F(DmarcTest, SubdomainWithoutRecordUsesOrganizationalDomainSp) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine");
    dns->add_name("mail.example.com");
    const auto v = run(input("mail.example.com", {dkim("pass", "other.org")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy_domain, "example.com");
    EXPECT_EQ(v.organizational_domain, "example.com");
    EXPECT_EQ(v.policy, "reject");
    EXPECT_EQ(v.subdomain_policy, "quarantine");
    EXPECT_EQ(v.applied_policy, "quarantine");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(DmarcTest, SubdomainWithoutSpFallsBackToP) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    dns->add_name("mail.example.com");
    const auto v = run(input("mail.example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, AuthorDomainRecordUsesPNotSp) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=none");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, NonExistentSubdomainUsesNp) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject");
    const auto v = run(input("ghost.example.com"));  // NXDOMAIN
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.np, "reject");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, ExistingSubdomainIgnoresNp) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine; np=reject");
    dns->add_name("real.example.com");
    const auto v = run(input("real.example.com"));
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(DmarcTest, NonExistentSubdomainWithoutNpUsesSp) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=none; sp=quarantine");
    const auto v = run(input("ghost.example.com"));
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(DmarcTest, TestingFlagLowersRejectToQuarantine) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; t=y");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_TRUE(v.testing);
    EXPECT_EQ(v.policy, "reject");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(DmarcTest, TestingFlagLowersQuarantineToNone) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=quarantine; t=y");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
}

TEST_F(DmarcTest, MissingPTagIsTreatedAsNone) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; rua=mailto:d@example.com");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy, "none");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
}

TEST_F(DmarcTest, InvalidPWithRuaActsAsPNone) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=bogus; rua=mailto:d@example.com");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy, "none");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
}

TEST_F(DmarcTest, InvalidSpWithoutRuaMeansNoDmarcProcessing) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=invalid");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::None);
}

TEST_F(DmarcTest, SeveralRecordsAtOneNameAreDiscardedAndTheWalkGoesOn) {
    dns->add_txt("_dmarc.mail.example.com", "v=DMARC1; p=none");
    dns->add_txt("_dmarc.mail.example.com", "v=DMARC1; p=quarantine");
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    dns->add_name("mail.example.com");
    const auto v = run(input("mail.example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy_domain, "example.com");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, SeveralRecordsAtTheOnlyNameGiveNone) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::None);
}

TEST_F(DmarcTest, NonDmarcTxtRecordsBesideTheRecordAreIgnored) {
    dns->add_txt("_dmarc.example.com", "v=spf1 -all");
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, RecordSplitOverSeveralStringsIsJoined) {
    dns->add_txt("_dmarc.example.com", std::vector<std::string>{"v=DMARC1; p=rej", "ect"});
    const auto v = run(input("example.com"));
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

// ------------------------------------------------------------ psd= tags

TEST_F(DmarcTest, PsdYesMakesTheChildOfThePsdTheOrganizationalDomain) {
    // RFC 9989 Appendix "Example with a PSD DMARC Policy Record".
    dns->add_txt("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y");
    dns->add_txt("_dmarc.giant.bank.example", "v=DMARC1; p=quarantine");
    const auto spf_aligned =
        run(input("giant.bank.example", {}, "mail.giant.bank.example", "pass"));
    EXPECT_EQ(spf_aligned.result, auth::DmarcResult::Pass);

    const auto dkim_other =
        run(input("giant.bank.example", {dkim("pass", "mail.mega.bank.example")}));
    EXPECT_EQ(dkim_other.result, auth::DmarcResult::Fail);
    EXPECT_EQ(dkim_other.policy_domain, "giant.bank.example");
    EXPECT_EQ(dkim_other.disposition, auth::DmarcPolicy::Quarantine);
}

TEST_F(DmarcTest, PsdPolicyAppliesWhenTheOrganizationalDomainHasNoRecord) {
    dns->add_txt("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y");
    dns->add_name("www.mega.bank.example");
    const auto v = run(input("www.mega.bank.example"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.organizational_domain, "mega.bank.example");
    EXPECT_EQ(v.policy_domain, "bank.example");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, PsdYesDoesNotLetSiblingsUnderThePsdAlign) {
    dns->add_txt("_dmarc.bank.example", "v=DMARC1; p=reject; psd=y");
    dns->add_txt("_dmarc.giant.bank.example", "v=DMARC1; p=reject");
    const auto v = run(input("giant.bank.example", {dkim("pass", "evil.bank.example")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
}

TEST_F(DmarcTest, PsdNoStopsTheWalkAndFixesTheOrganizationalDomain) {
    dns->add_txt("_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n");
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    dns->add_name("a.mail.example.com");
    const auto not_aligned = run(input("a.mail.example.com", {dkim("pass", "example.com")}));
    EXPECT_EQ(not_aligned.result, auth::DmarcResult::Fail);
    EXPECT_EQ(not_aligned.policy_domain, "mail.example.com");

    const auto aligned = run(input("a.mail.example.com", {dkim("pass", "b.mail.example.com")}));
    EXPECT_EQ(aligned.result, auth::DmarcResult::Pass);
}

TEST_F(DmarcTest, PsdNoRecordEndsTheWalkWithoutAskingHigherNames) {
    dns->add_txt("_dmarc.mail.example.com", "v=DMARC1; p=reject; psd=n");
    dns->add_name("a.mail.example.com");
    (void)run(input("a.mail.example.com"));
    const std::vector<std::string> expected = {"_dmarc.a.mail.example.com/TXT",
                                               "_dmarc.mail.example.com/TXT"};
    std::vector<std::string> dmarc;
    for (const auto& q : dns->asked())
        if (q.rfind("_dmarc.", 0) == 0) dmarc.push_back(q);
    EXPECT_EQ(dmarc, expected);
}

TEST_F(DmarcTest, WithoutPsdTagsTheRecordWithFewestLabelsIsTheOrganizationalDomain) {
    // RFC 9989 Appendix "Simple Organizational and Policy Example".
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    dns->add_txt("_dmarc.signing.example.com", "v=DMARC1; p=none");
    const auto v = run(input("example.com", {dkim("pass", "signing.example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
    EXPECT_EQ(v.organizational_domain, "example.com");
}

// ------------------------------------------------------------- alignment

TEST_F(DmarcTest, RelaxedDkimAlignmentAcceptsSubdomainSigner) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("pass", "mail.example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
}

TEST_F(DmarcTest, StrictDkimAlignmentRefusesSubdomainSigner) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s");
    const auto v = run(input("example.com", {dkim("pass", "mail.example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, StrictDkimAlignmentAcceptsIdenticalDomainInAnyCase) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; adkim=s");
    const auto v = run(input("example.com", {dkim("pass", "EXAMPLE.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
}

TEST_F(DmarcTest, RelaxedSpfAlignmentAcceptsSubdomainMailFrom) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {}, "bounce.example.com", "pass"));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
}

TEST_F(DmarcTest, StrictSpfAlignmentRefusesSubdomainMailFrom) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject; aspf=s");
    const auto v = run(input("example.com", {}, "bounce.example.com", "pass"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
}

TEST_F(DmarcTest, SubdomainAuthorAlignsWithParentSignerWhenRelaxed) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    dns->add_name("news.example.com");
    const auto v = run(input("news.example.com", {dkim("pass", "foo.example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
}

TEST_F(DmarcTest, UnrelatedSignerDoesNotAlign) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("pass", "example.net")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
}

TEST_F(DmarcTest, AlignedButFailingDkimAndSpfDoNotPass) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("fail", "example.com"), dkim("policy", "example.com")},
                             "example.com", "softfail"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
}

TEST_F(DmarcTest, SecondSignatureCanBeTheAlignedOne) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("pass", "esp.example"), dkim("pass", "example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
}

// ------------------------------------------------------------- temperror

TEST_F(DmarcTest, RecordLookupTimeoutIsTemperror) {
    dns->add_failure("_dmarc.example.com", dns::Status::Timeout);
    const auto v = run(input("example.com", {dkim("pass", "example.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::TempError);
}

TEST_F(DmarcTest, ServfailDuringTreeWalkIsTemperror) {
    dns->add_failure("_dmarc.example.com", dns::Status::ServFail);
    dns->add_name("mail.example.com");
    const auto v = run(input("mail.example.com"));
    EXPECT_EQ(v.result, auth::DmarcResult::TempError);
}

TEST_F(DmarcTest, ExhaustedBudgetIsTemperror) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auth::DmarcEvaluator evaluator(dns, auth::DmarcOptions{});
    dns::Budget budget(0, std::chrono::milliseconds(1000));
    const auto v = evaluator.evaluate(input("example.com"), budget);
    EXPECT_EQ(v.result, auth::DmarcResult::TempError);
}

TEST_F(DmarcTest, DnsFailureUnderAForeignSignerDoesNotTurnFailIntoTemperror) {
    dns->add_txt("_dmarc.bank.com", "v=DMARC1; p=reject");
    dns->add_failure("_dmarc.x.attacker.com", dns::Status::Timeout);
    dns->add_failure("_dmarc.attacker.com", dns::Status::Timeout);
    const auto v = run(input("bank.com", {dkim("pass", "x.attacker.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, DnsFailureUnderTheAuthorsOwnOrganizationalDomainIsTemperror) {
    dns->add_txt("_dmarc.bank.com", "v=DMARC1; p=reject");
    dns->add_failure("_dmarc.mail.bank.com", dns::Status::ServFail);
    const auto v = run(input("bank.com", {dkim("pass", "mail.bank.com")}));
    EXPECT_EQ(v.result, auth::DmarcResult::TempError);
}

TEST_F(DmarcTest, FailWithAlignedDkimTemperrorIsMarkedAsOnlyDueToTemperror) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("temperror", "example.com")}, "other.net", "pass"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_TRUE(v.fail_only_due_to_temperror);
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
}

TEST_F(DmarcTest, FailWithUnalignedDkimTemperrorIsARealFail) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("temperror", "other.net")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_FALSE(v.fail_only_due_to_temperror);
}

TEST_F(DmarcTest, FailWithAlignedSpfTemperrorIsMarkedAsOnlyDueToTemperror) {
    dns->add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    const auto v = run(input("example.com", {dkim("fail", "example.com")}, "example.com", "temperror"));
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_TRUE(v.fail_only_due_to_temperror);
}

TEST_F(DmarcTest, UnicodeAuthorDomainIsLookedUpAsALabel) {
    // RFC 9989 section 5.3.1: U-labels are converted to A-labels.
    dns->add_txt("_dmarc.xn--bcher-kva.example", "v=DMARC1; p=reject");
    const auto v = run(input("b\xC3\xBC" "cher.example", {dkim("pass", "xn--bcher-kva.example")}));
    EXPECT_EQ(v.result, auth::DmarcResult::Pass);
    EXPECT_EQ(v.from_domain, "xn--bcher-kva.example");
}

TEST_F(DmarcTest, UnusableFromDomainIsPermerror) {
    EXPECT_EQ(run(input("")).result, auth::DmarcResult::PermError);
    EXPECT_EQ(run(input("a..example.com")).result, auth::DmarcResult::PermError);
}

// -------------------------------------------------------------- PSL mode

auth::DmarcOptions psl_settings() {
    auth::DmarcOptions s;
    s.discovery = auth::DmarcDiscovery::PublicSuffixList;
    s.public_suffix_list = testdata_dir() + "/publicsuffix/public_suffix_list.dat";
    return s;
}

TEST(PublicSuffixList, RegistrableDomainsMatchThePublicSuffixTestSuite) {
    const std::string dir = testdata_dir();
    ASSERT_FALSE(dir.empty()) << "TESTDATA_DIR is not set (export TESTDATA_DIR=/work/shared/testdata)";
    const auto psl = auth::PublicSuffixList::load(dir + "/publicsuffix/public_suffix_list.dat");
    std::ifstream in(dir + "/publicsuffix/tests.txt");
    ASSERT_TRUE(in) << "cannot read publicsuffix/tests.txt";
    std::string line;
    int cases = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line.rfind("//", 0) == 0) continue;
        std::istringstream fields(line);
        std::string domain, expected;
        if (!(fields >> domain >> expected)) continue;
        if (domain == "null") continue;  // no input at all: not expressible here
        ++cases;
        const auto got = psl->registrable_domain(domain);
        if (expected == "null") {
            EXPECT_FALSE(got.has_value()) << domain << " -> " << got.value_or("");
        } else {
            // Expected values are given as U-labels; we work in A-labels.
            const auto want = auth::normalize_dmarc_domain(expected);
            ASSERT_TRUE(want.has_value()) << expected;
            EXPECT_EQ(got.value_or("(none)"), *want) << domain;
        }
    }
    EXPECT_GT(cases, 50);
}

TEST_F(DmarcTest, PslModeFindsPolicyAtRegistrableDomainWithTwoQueries) {
    dns->add_txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine");
    const auto v = run(input("a.b.example.co.uk"), psl_settings());
    EXPECT_EQ(v.result, auth::DmarcResult::Fail);
    EXPECT_EQ(v.policy_domain, "example.co.uk");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Quarantine);
    EXPECT_EQ(dmarc_questions(), 2u);
}

TEST_F(DmarcTest, PslModeRelaxedAlignmentUsesTheRegistrableDomain) {
    dns->add_txt("_dmarc.example.co.uk", "v=DMARC1; p=reject");
    const auto pass = run(input("news.example.co.uk", {dkim("pass", "mail.example.co.uk")}),
                          psl_settings());
    EXPECT_EQ(pass.result, auth::DmarcResult::Pass);
    const auto fail = run(input("news.example.co.uk", {dkim("pass", "other.co.uk")}),
                          psl_settings());
    EXPECT_EQ(fail.result, auth::DmarcResult::Fail);
}

TEST_F(DmarcTest, PslModeDoesNotWalkIntermediateNames) {
    dns->add_txt("_dmarc.b.example.co.uk", "v=DMARC1; p=reject");
    const auto v = run(input("a.b.example.co.uk"), psl_settings());
    EXPECT_EQ(v.result, auth::DmarcResult::None);
}

TEST(PublicSuffixList, DefaultListFromLibpslLoads) {
    const auto psl = auth::PublicSuffixList::load("");
    EXPECT_EQ(psl->organizational_domain("a.b.example.co.uk"), "example.co.uk");
    EXPECT_EQ(psl->organizational_domain("co.uk"), "co.uk");
}

TEST(PublicSuffixList, MissingListFileIsAClearError) {
    try {
        (void)auth::PublicSuffixList::load("/nonexistent/psl.dat");
        FAIL() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/psl.dat"), std::string::npos);
    }
}

}  // namespace
