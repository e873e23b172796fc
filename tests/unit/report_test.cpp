// DMARC aggregate reports (RFC 9990): periods, grouping, destinations
// (external verification through a static zone), size limits, suppression.
#include <gtest/gtest.h>

#include <memory>

#include "dns/static_zone.hpp"
#include "dmarc_evaluation_sample.hpp"
#include "report/aggregate.hpp"
#include "report/destinations.hpp"
#include "report/feedback_xml.hpp"
#include "report/period.hpp"
#include "report/report_mail.hpp"
#include "report/split.hpp"

namespace {

using report::Verification;

using report_test::evaluation;

std::vector<report::DomainReport> aggregate(const std::vector<state::DmarcEvaluation>& in) {
    std::vector<report::DomainReport> out;
    report::Aggregator a([&](report::DomainReport&& r) { out.push_back(std::move(r)); });
    for (const auto& e : in) a.add(e);
    a.finish();
    return out;
}

// ---- periods ----------------------------------------------------------

TEST(ReportPeriod, DayIsTheWholeUtcDay) {
    const auto p = report::day_period("2026-12-03");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->begin, 1796256000);  // date -u -d 2026-12-03 +%s
    EXPECT_EQ(p->until - p->begin, 86400);
    EXPECT_EQ(report::utc_date(p->begin), "2026-12-03");
    EXPECT_EQ(report::utc_date(p->until - 1), "2026-12-03");
}

TEST(ReportPeriod, ImpossibleOrMalformedDatesAreRefused) {
    EXPECT_FALSE(report::day_period("2026-02-30"));
    EXPECT_FALSE(report::day_period("2026-13-01"));
    EXPECT_FALSE(report::day_period("2026-1-01"));
    EXPECT_FALSE(report::day_period("yesterday"));
    EXPECT_TRUE(report::day_period("2028-02-29"));  // leap year
    EXPECT_FALSE(report::day_period("2027-02-29"));
}

TEST(ReportPeriod, SinceAndUntilTakeDatesTimesAndEpochSeconds) {
    EXPECT_EQ(report::parse_time("2026-12-03"), 1796256000);
    EXPECT_EQ(report::parse_time("2026-12-03T01:02:03Z"), 1796256000 + 3723);
    EXPECT_EQ(report::parse_time("1796256000"), 1796256000);
    EXPECT_FALSE(report::parse_time("2026-12-03T25:00:00Z"));
    EXPECT_FALSE(report::parse_time("-5"));
    EXPECT_FALSE(report::parse_time(""));
}

TEST(ReportPeriod, DefaultIsThePreviousUtcDay) {
    const auto p = report::previous_day(1796256000 + 5);  // 2026-12-03 00:00:05
    EXPECT_EQ(report::utc_date(p.begin), "2026-12-02");
    EXPECT_EQ(p.until, 1796256000);
}

// ---- grouping ---------------------------------------------------------

TEST(ReportGrouping, IdenticalResultsFromOneSourceBecomeOneRecordWithACount) {
    const auto r = aggregate({evaluation("a.example", "192.0.2.1"), evaluation("a.example", "192.0.2.1"),
                              evaluation("a.example", "192.0.2.2")});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].messages, 3u);
    ASSERT_EQ(r[0].rows.size(), 2u);
    EXPECT_EQ(r[0].rows.begin()->first.source_ip, "192.0.2.1");
    EXPECT_EQ(r[0].rows.begin()->second, 2u);
}

TEST(ReportGrouping, AnyDifferenceInResultsOrIdentifiersMakesAnotherRecord) {
    auto base = evaluation("a.example", "192.0.2.1");
    std::vector<state::DmarcEvaluation> in{base};
    auto e = base;
    e.dkim[0].selector = "s2";
    in.push_back(e);
    e = base;
    e.envelope_to = "other.example";
    in.push_back(e);
    e = base;
    e.disposition = "none";
    in.push_back(e);
    e = base;
    e.spf_aligned = false;
    in.push_back(e);
    e = base;
    e.reason_type = "local_policy";
    in.push_back(e);
    const auto r = aggregate(in);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].rows.size(), 6u);
}

TEST(ReportGrouping, OneReportPerPolicyDomain) {
    const auto r = aggregate({evaluation("a.example", "192.0.2.1"), evaluation("b.example", "192.0.2.1"),
                              evaluation("b.example", "192.0.2.1")});
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].policy_domain, "a.example");
    EXPECT_EQ(r[1].policy_domain, "b.example");
    EXPECT_EQ(r[1].rows.begin()->second, 2u);
}

TEST(ReportGrouping, ThePolicyLastSeenInThePeriodIsReported) {
    auto older = evaluation("a.example", "192.0.2.1", 100);
    auto newer = evaluation("a.example", "192.0.2.1", 200);
    newer.p = "quarantine";
    newer.rua = "mailto:new@a.example";
    const auto r = aggregate({newer, older});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].policy.p, "quarantine");
    EXPECT_EQ(r[0].rua, "mailto:new@a.example");
}

// ---- rua URIs, size limits, suppression --------------------------------

TEST(ReportDestinations, MailtoUrisWithSizeLimitsAreRead) {
    std::vector<std::string> problems;
    const auto d = report::parse_rua(
        "mailto:a@x.example!10k, mailto:b%40c@y.example, https://r.example/x, mailto:z@Z.Example!2m,mailto:q@w!x",
        &problems);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].address, "a@x.example");
    EXPECT_EQ(d[0].max_size, 10240u);
    EXPECT_EQ(d[1].address, "z@Z.Example");
    EXPECT_EQ(d[1].host, "z.example");
    EXPECT_EQ(d[1].max_size, 2u * 1024 * 1024);
    EXPECT_EQ(problems.size(), 3u);  // two @ after decoding, https, bad size
}

TEST(ReportDestinations, HeaderInjectionThroughAPercentEscapeIsRefused) {
    std::vector<std::string> problems;
    EXPECT_TRUE(report::parse_rua("mailto:a@x.example%0ABcc:victim@y.example", &problems).empty());
    EXPECT_EQ(problems.size(), 1u);
}

TEST(ReportDestinations, SuppressionListNamesAddressesOrDomainsWithTheirSubdomains) {
    const auto d = report::parse_rua("mailto:Dmarc@Reports.Example, mailto:x@sub.other.example, mailto:y@kept.example",
                                     nullptr);
    ASSERT_EQ(d.size(), 3u);
    const std::vector<std::string> list{"dmarc@reports.example", "other.example"};
    EXPECT_TRUE(report::suppressed(d[0], list));
    EXPECT_TRUE(report::suppressed(d[1], list));
    EXPECT_FALSE(report::suppressed(d[2], list));
    EXPECT_FALSE(report::suppressed(d[2], {"ept.example"}));
}

TEST(ReportSizeLimits, AReportTooLargeIsSplitIntoPartsThatFit) {
    std::vector<report::RowKey> keys(10);
    report::Rows rows;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        keys[i].source_ip = "192.0.2." + std::to_string(i);
        rows.emplace_back(&keys[i], 1);
    }
    // A part's "size" is its number of rows: a limit of 3 needs 4 parts.
    const auto parts = report::split_to_fit<report::Rows>(
        rows, [](const report::Rows& r, std::size_t, std::size_t) { return r; },
        [](const report::Rows& r) { return r.size() <= 3; });
    ASSERT_EQ(parts.size(), 4u);
    std::size_t total = 0;
    for (const auto& p : parts) total += p.size();
    EXPECT_EQ(total, 10u);
    EXPECT_EQ(parts[3].back().first->source_ip, "192.0.2.9");
}

TEST(ReportSizeLimits, AReportThatCannotFitEvenOneRecordPerPartIsSkipped) {
    report::RowKey k;
    report::Rows rows{{&k, 1}, {&k, 2}};
    const auto parts = report::split_to_fit<report::Rows>(
        rows, [](const report::Rows& r, std::size_t, std::size_t) { return r; },
        [](const report::Rows&) { return false; });
    EXPECT_TRUE(parts.empty());
}

// ---- external destinations (RFC 9990 section 5) -----------------------

class ExternalDestination : public ::testing::Test {
protected:
    void SetUp() override {
        std::vector<dns::ZoneError> errors;
        auto zone = std::make_shared<dns::StaticZone>(dns::StaticZone::parse(
            "blue.example._report._dmarc.red.example TXT \"v=DMARC1\"\n"
            "green.example._report._dmarc.red.example TXT \"v=DMARC1; rua=mailto:other@red.example\"\n"
            "pink.example._report._dmarc.red.example TXT \"v=DMARC1; rua=mailto:x@elsewhere.example\"\n"
            "grey.example._report._dmarc.red.example TXT \"v=spf1 -all\"\n"
            "slow.example._report._dmarc.red.example TIMEOUT\n",
            "zone", errors));
        ASSERT_TRUE(errors.empty());
        resolver = std::make_shared<dns::StaticResolver>(zone);
    }
    report::VerifiedDestinations verify(const std::string& rua, const std::string& domain,
                                        const std::string& org = "") {
        const auto d = report::parse_rua(rua, nullptr);
        EXPECT_EQ(d.size(), 1u);
        return report::verify_destination(d.at(0), domain, org, *resolver);
    }
    std::shared_ptr<dns::StaticResolver> resolver;
};

TEST_F(ExternalDestination, ADestinationInsideTheOrganizationalDomainNeedsNoRecord) {
    EXPECT_EQ(verify("mailto:d@reports.blue.example", "blue.example").verification, Verification::Internal);
    EXPECT_EQ(verify("mailto:d@blue.example", "mail.blue.example", "blue.example").verification,
              Verification::Internal);
}

TEST_F(ExternalDestination, AnExternalDestinationIsUsedOnlyWithItsVerificationRecord) {
    const auto ok = verify("mailto:d@red.example", "blue.example");
    EXPECT_EQ(ok.verification, Verification::Authorized);
    ASSERT_EQ(ok.destinations.size(), 1u);
    EXPECT_EQ(ok.destinations[0].address, "d@red.example");
    EXPECT_EQ(verify("mailto:d@red.example", "yellow.example").verification, Verification::Refused);
    // A TXT record that is not v=DMARC1 does not authorise anything.
    EXPECT_EQ(verify("mailto:d@red.example", "grey.example").verification, Verification::Refused);
}

TEST_F(ExternalDestination, TheVerificationRecordsRuaReplacesTheDestinationOnTheSameHostOnly) {
    const auto same = verify("mailto:d@red.example", "green.example");
    EXPECT_EQ(same.verification, Verification::Authorized);
    ASSERT_EQ(same.destinations.size(), 1u);
    EXPECT_EQ(same.destinations[0].address, "other@red.example");
    EXPECT_EQ(verify("mailto:d@red.example", "pink.example").verification, Verification::Refused);
}

TEST_F(ExternalDestination, ADnsFailureIsATemporaryErrorNotARefusal) {
    EXPECT_EQ(verify("mailto:d@red.example", "slow.example").verification, Verification::TempError);
}

// ---- XML and mail pieces -----------------------------------------------

TEST(ReportXml, MarkupAndBytesXmlCannotHoldAreEscapedOrReplaced) {
    EXPECT_EQ(report::xml_text("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
    EXPECT_EQ(report::xml_text(std::string("x\x01y\xff") + "\xc3\xa9"), "x?y?\xc3\xa9");
}

TEST(ReportXml, PsdGoesToTheExtensionAndHeloChecksAreSaidInHumanResult) {
    auto e = evaluation("a.example", "192.0.2.1");
    e.psd = 'y';
    e.envelope_from = "";
    e.helo = "mx.a.example";
    e.spf_domain = "mx.a.example";
    e.spf_scope = "helo";
    const auto r = aggregate({e});
    report::Rows rows;
    for (const auto& [k, n] : r[0].rows) rows.emplace_back(&k, n);
    const std::string xml = report::feedback_xml({"Org", "c@x", "", "id@x", 0, 86399, "g"}, r[0], rows);
    EXPECT_NE(xml.find("<cm:psd>y</cm:psd>"), std::string::npos);
    EXPECT_NE(xml.find("<envelope_from></envelope_from>"), std::string::npos);
    EXPECT_EQ(xml.find("<scope>"), std::string::npos);
    EXPECT_NE(xml.find("HELO identity checked (null reverse-path): mx.a.example"), std::string::npos);
}

TEST(ReportMail, FilenameAndSubjectFollowRfc9990) {
    EXPECT_EQ(report::report_filename("mail.receiver.example", "example.com", 1013662812, 1013749130, ""),
              "mail.receiver.example!example.com!1013662812!1013749130.xml.gz");
    EXPECT_EQ(report::report_filename("r.example", "example.com", 1, 2, "2"), "r.example!example.com!1!2!2.xml.gz");
    EXPECT_EQ(report::report_subject("example.com", "r.example", "id@r.example"),
              "Report Domain: example.com\n Submitter: r.example\n Report-ID: <id@r.example>");
}

TEST(ReportMail, GzipOutputHasTheGzipMagic) {
    const std::string gz = report::gzip("<feedback/>");
    ASSERT_GE(gz.size(), 10u);
    EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
}

}  // namespace
