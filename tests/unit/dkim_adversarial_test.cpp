// Adversarial DKIM cases (tests/unit/dkim_adversarial_cases.py makes them:
// signatures written tag by tag and signed with dkimpy's canonicalization
// and crypto, then tampered with). Each case carries the verdict RFC 6376,
// RFC 8301 and RFC 8463 demand; our verifier ([dkim] verifier = "native")
// must give exactly that. python3-dkim's and libopendkim's verdicts are
// printed beside it: where an oracle departs from the RFC the case says
// why (its last column), and the test does not follow the oracle.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dkim.hpp"
#include "dkim_message_io.hpp"
#include "dns/static_zone.hpp"

namespace {

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const auto tab = line.find('\t', start);
        out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
        if (tab == std::string::npos) return out;
        start = tab + 1;
    }
}

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/dkim-adversarial-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// "pass" when the message's one signature passes, else "nopass" (with the
// verdict and reason, for the report).
std::string verdict(const std::vector<auth::DkimSignatureResult>& results, std::string* detail) {
    detail->clear();
    for (const auto& r : results)
        *detail +=
            std::string(auth::dkim_result_name(r.result)) + (r.reason.empty() ? "" : " (" + r.reason + ")") + " ";
    return results.size() == 1 && results[0].result == auth::DkimResult::Pass ? "pass" : "nopass";
}

TEST(DkimAdversarial, NativeVerifierGivesTheRfcVerdictOnEveryCase) {
    const std::string testdata = env_or("TESTDATA_DIR", "/work/shared/testdata");
    const std::string script = env_or("TOP_SRCDIR", ".") + std::string("/tests/unit/dkim_adversarial_cases.py");
    TempDir dir;
    const std::string command = "/usr/bin/python3 " + script + " " + testdata + " " + dir.path;
    ASSERT_EQ(std::system(command.c_str()), 0) << command << " (python3-dkim, python3-nacl installed?)";

    dns::StaticZone zone;
    {
        std::istringstream in(testing_dkim::read_file(dir.path + "/zone.txt"));
        std::string line;
        while (std::getline(in, line)) {
            const auto fields = split_tabs(line);
            dns::Record r;
            r.type = dns::Type::TXT;
            r.strings.assign(fields.begin() + 1, fields.end());
            zone.add(fields[0], std::move(r));
        }
    }
    const auto resolver = testing_dkim::serve(std::move(zone));
    auth::DkimOptions options;
    options.verifier = auth::DkimVerifierKind::Native;
    const auth::DkimVerifier native(resolver, options);
    options.verifier = auth::DkimVerifierKind::LibOpenDkim;
    const auth::DkimVerifier libopendkim(resolver, options);

    std::istringstream cases(testing_dkim::read_file(dir.path + "/cases.tsv"));
    std::string line;
    int count = 0;
    while (std::getline(cases, line)) {
        const auto f = split_tabs(line);
        ASSERT_EQ(f.size(), 4u) << line;
        const std::string& name = f[0];
        const std::string& rfc = f[1];
        const std::string& dkimpy = f[2];
        const auto message = testing_dkim::split_message(testing_dkim::read_file(dir.path + "/" + name + ".eml"));
        auto b1 = dns::Budget::unlimited();
        auto b2 = dns::Budget::unlimited();
        std::string ours_detail, theirs_detail;
        const std::string ours = verdict(testing_dkim::verify(native, message, b1), &ours_detail);
        const std::string theirs = verdict(testing_dkim::verify(libopendkim, message, b2), &theirs_detail);
        std::cout << (ours == rfc ? "ok      " : "WRONG   ") << name << ": rfc " << rfc << ", native " << ours_detail
                  << "| libopendkim " << theirs_detail << "| dkimpy " << dkimpy
                  << (theirs != rfc || dkimpy != rfc ? "  [oracle departs: " + f[3] + "]" : "") << "\n";
        EXPECT_EQ(ours, rfc) << name << ": " << f[3] << "; native: " << ours_detail;
        ++count;
    }
    EXPECT_GE(count, 40);
}

}  // namespace
