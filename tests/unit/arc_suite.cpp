// Runs the ValiMail ARC validation suite (testdata/arc/
// arc-draft-validation-tests.yml, 171 cases; see testdata/arc/README.md and
// PROVENANCE.md) through auth::ArcVerifier, each scenario's txt-records
// served by a dns::StaticZone parsed from zone-file lines built from them.
//
// The YAML is converted at test time by tests/unit/arc_suite_yaml2lines.py
// (python3 + python3-yaml). Messages are LF in the YAML: they are turned
// into CRLF, split into header fields as a milter receives them and fed
// with the body in small chunks (so that chunk boundaries are exercised).
//
// Every case that differs from the suite is printed with its reason; the
// test fails for any difference not in kRfc8617Differences, and for an
// entry of that list that no longer differs.
#include <gtest/gtest.h>

#include "suite_lines.hpp"

#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "auth/arc.hpp"
#include "dkim_message_io.hpp"
#include "dns/static_zone.hpp"

namespace {

// Cases where RFC 8617 as published says something else than the suite
// (which targets draft -18 and was never updated; testdata/arc/README.md).
// Each maps to the result we give and why.
struct Difference {
    std::string ours;
    std::string why;
};
const std::map<std::string, Difference> kRfc8617Differences = {
    {"cv_fail_i1_as_cv_fail",
     {"fail", "suite expects an empty cv (draft-05 era); RFC 8617 section 5.2 step 2: the newest seal has "
              "cv=fail, so the chain fails (Mail::DKIM agrees, OpenARC issue #78)"}},
    {"cv_fail_i2_as2_fail",
     {"fail", "suite expects an empty cv; RFC 8617 section 5.2 step 2: newest seal cv=fail => fail"}},
    {"cv_fail_i2_as1_fail",
     {"fail", "suite expects an empty cv; RFC 8617 section 5.2 step 3.3: a seal with cv=fail => fail"}},
    {"ams_fields_c_na",
     {"fail", "the AMS has no c= but was signed relaxed; RFC 8617 section 4.1.2 gives the AMS DKIM "
              "semantics, where a missing c= is simple/simple (RFC 6376 section 3.5), so it does not "
              "verify (Mail::DKIM agrees; only dkimpy defaults ARC to relaxed)"}},
};

struct SuiteCase {
    std::string name, cv, message;
};
struct Scenario {
    std::string description;
    std::vector<std::pair<std::string, std::string>> records;
    std::vector<SuiteCase> cases;
};

std::optional<std::vector<Scenario>> load_suite(const std::string& yaml, std::string& why) {
    const auto text = testing_suite::run_converter(testing_suite::script_path("arc_suite_yaml2lines.py", __FILE__), yaml, why);
    if (!text) return std::nullopt;
    std::vector<Scenario> scenarios;
    std::istringstream in(*text);
    std::string line;
    while (std::getline(in, line)) {
        const auto f = testing_suite::split_fields(line);
        if (f[0] == "S" && f.size() >= 2) {
            scenarios.push_back(Scenario{f[1], {}, {}});
        } else if (f[0] == "Z" && f.size() >= 3 && !scenarios.empty()) {
            scenarios.back().records.emplace_back(f[1], f[2]);
        } else if (f[0] == "T" && f.size() >= 4 && !scenarios.empty()) {
            scenarios.back().cases.push_back({f[1], f[2], f[3]});
        } else {
            why = "unexpected converter line: " + line.substr(0, 80);
            return std::nullopt;
        }
    }
    return scenarios;
}

// One zone-file TXT line per record, the value cut into 255-octet
// character-strings (RFC 1035 section 3.3; RFC 6376 section 3.6.2.2 joins
// them again).
std::string zone_text(const Scenario& s) {
    std::string zone;
    for (const auto& [name, value] : s.records) {
        zone += name + ". 3600 IN TXT";
        for (std::size_t i = 0; i < value.size() || i == 0; i += 255) {
            zone += " \"";
            for (char c : value.substr(i, 255)) {
                if (c == '"' || c == '\\') zone += '\\';
                zone += c;
            }
            zone += '"';
        }
        zone += '\n';
    }
    return zone;
}

// testdata/arc/ORACLE-RESULTS.tsv: what dkimpy 1.1.4 (python3-dkim,
// arc_verify) and Mail::DKIM 1.20230212 (libmail-dkim-perl,
// ARC::Verifier with Strict => 1) returned for each case, run over the
// same messages with the same per-scenario zone. case -> {dkimpy, maildkim}
// with "invalid" (a key or syntax error) read as fail.
std::map<std::string, std::pair<std::string, std::string>> load_oracles(const std::string& path) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    std::ifstream in(path);
    std::string line;
    auto norm = [](std::string v) {
        if (v == "(empty)") return std::string();
        if (v == "invalid") return std::string("fail");
        return v;
    };
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
        if (f.size() >= 5) out[f[0]] = {norm(f[3]), norm(f[4])};
    }
    return out;
}

// Where an oracle disagrees with us, and why (each checked by hand).
const std::map<std::string, std::string> kOracleDisagreements = {
    {"cv_fail_i1_as_cv_fail", "dkimpy returns no value for a newest seal with cv=fail; RFC 8617 5.2 step 2 says fail"},
    {"cv_fail_i2_as2_fail", "dkimpy returns no value for a newest seal with cv=fail; RFC 8617 5.2 step 2 says fail"},
    {"cv_fail_i2_as1_fail", "dkimpy returns no value for an older seal with cv=fail; RFC 8617 5.2 step 3.3 says fail"},
    {"ams_fields_c_na", "dkimpy reads a missing c= on an AMS as relaxed/relaxed; RFC 6376 3.5 (and Mail::DKIM): simple"},
};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return s;
}

TEST(ArcValidationSuite, EveryCaseMatchesTheSuiteOrAListedRfc8617Difference) {
    const char* dir = std::getenv("TESTDATA_DIR");
    ASSERT_TRUE(dir && *dir) << "TESTDATA_DIR is not set (export TESTDATA_DIR=/work/shared/testdata when running by hand)";
    std::string why;
    const auto scenarios = load_suite(std::string(dir) + "/arc/arc-draft-validation-tests.yml", why);
    ASSERT_TRUE(scenarios) << why;

    const auto oracles = load_oracles(std::string(dir) + "/arc/ORACLE-RESULTS.tsv");
    EXPECT_EQ(oracles.size(), 171u) << "ORACLE-RESULTS.tsv";
    int total = 0, matched = 0, differences = 0, oracle_disagreements = 0;
    std::set<std::string> seen;
    for (const Scenario& s : *scenarios) {
        std::vector<dns::ZoneError> zone_errors;
        auto zone =
            std::make_shared<dns::StaticZone>(dns::StaticZone::parse(zone_text(s), s.description, zone_errors));
        for (const auto& e : zone_errors) ADD_FAILURE() << "zone: " << e.to_string();
        auto resolver = std::make_shared<dns::StaticResolver>(zone);
        const auth::ArcVerifier verifier(resolver, auth::ArcOptions{});
        for (const SuiteCase& c : s.cases) {
            ++total;
            seen.insert(c.name);
            const auto raw = testing_dkim::split_message(testing_dkim::lf_to_crlf(c.message));
            auto msg = verifier.start();
            for (const auto& [n, v] : raw.headers) msg->header(n, v);
            msg->end_of_headers();
            for (std::size_t i = 0; i < raw.body.size(); i += 7) msg->body(std::string_view(raw.body).substr(i, 7));
            dns::Budget budget = dns::Budget::unlimited();
            const auth::ArcVerdict v = msg->finish(budget);
            const std::string got(auth::arc_result_name(v.result));
            const std::string expected = lower(c.cv);
            // The independent verifiers on the same bytes: any case where
            // one says otherwise than we do must be listed with its reason.
            if (const auto o = oracles.find(c.name); o != oracles.end()) {
                const bool listed = kOracleDisagreements.count(c.name) > 0;
                const bool differs = o->second.first != got || o->second.second != got;
                if (differs) ++oracle_disagreements;
                EXPECT_EQ(differs, listed) << c.name << ": ours " << got << ", dkimpy '" << o->second.first
                                           << "', Mail::DKIM '" << o->second.second << "' (" << v.reason << ")";
            } else {
                ADD_FAILURE() << c.name << " is not in ORACLE-RESULTS.tsv";
            }
            const auto diff = kRfc8617Differences.find(c.name);
            if (diff != kRfc8617Differences.end()) {
                ++differences;
                EXPECT_EQ(got, diff->second.ours) << c.name << " [" << s.description << "]: " << v.reason;
                EXPECT_NE(got, expected) << c.name << " is listed as a difference but matches the suite";
                std::printf("DIFF %s: suite '%s', ours '%s': %s\n", c.name.c_str(), expected.c_str(), got.c_str(),
                            diff->second.why.c_str());
                continue;
            }
            if (got == expected) {
                ++matched;
                continue;
            }
            ADD_FAILURE() << c.name << " [" << s.description << "]: got " << got << ", suite expects " << expected
                          << " (" << v.reason << ")";
        }
    }
    for (const auto& [name, d] : kRfc8617Differences) EXPECT_TRUE(seen.count(name)) << name << " not in the suite";
    std::printf("%d cases: %d as the suite expects, %d listed RFC 8617 differences; %d where dkimpy or "
                "Mail::DKIM (Strict) says otherwise, all listed\n",
                total, matched, differences, oracle_disagreements);
    EXPECT_EQ(total, 171);
}

}  // namespace
