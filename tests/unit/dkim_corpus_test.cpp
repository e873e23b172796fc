// Conformance replay: RFC 8463 Appendix A (ed25519-sha256 and rsa-sha256
// must both pass) and the Mail::DKIM verifier corpus, with keys served from
// a dns::StaticZone. EXPECTED.tsv holds Mail::DKIM's historical verdicts;
// the modern expectation is derived from them: under RFC 8301 rsa-sha1 and
// RSA keys under 1024 bits must not pass.
//
// Prints every mismatch with its reason and a final "N passed, N failed";
// exits non-zero when any mismatch is not in kKnownDifferences.
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dkim.hpp"
#include "dns/static_zone.hpp"
#include "dkim_message_io.hpp"

namespace auth {
// Readable values in test failure messages.
inline void PrintTo(DkimResult r, std::ostream* os) { *os << dkim_result_name(r); }
}  // namespace auth

namespace {

// Cases where this verifier deliberately differs from the derived
// expectation. Keep it short; every entry needs its reason.
const std::map<std::string, std::string> kKnownDifferences = {
};

struct Counts {
    int passed = 0;
    int failed = 0;
    int unexplained = 0;
};

void report(Counts& c, const std::string& name, bool ok, const std::string& why) {
    if (ok) {
        ++c.passed;
        return;
    }
    ++c.failed;
    const auto known = kKnownDifferences.find(name);
    if (known != kKnownDifferences.end()) {
        std::cout << "KNOWN    " << name << ": " << why << " [" << known->second << "]\n";
    } else {
        ++c.unexplained;
        std::cout << "MISMATCH " << name << ": " << why << "\n";
    }
}

std::string describe(const std::vector<auth::DkimSignatureResult>& results) {
    if (results.empty()) return "no signature results";
    std::ostringstream s;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        if (i) s << " | ";
        s << auth::dkim_result_name(r.result) << " d=" << r.domain << " s=" << r.selector << " a=" << r.algorithm
          << " bits=" << r.key_bits;
        if (!r.reason.empty()) s << " (" << r.reason << ")";
    }
    return s.str();
}

bool any_pass(const std::vector<auth::DkimSignatureResult>& results) {
    for (const auto& r : results)
        if (r.result == auth::DkimResult::Pass) return true;
    return false;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

using testing_dkim::load_fake_dns;
using testing_dkim::load_tab_dns;
using testing_dkim::serve;
using testing_dkim::trim;

struct SigInfo {
    std::string type;       // DKIM or DK
    std::string algorithm;  // rsa-sha1, rsa-sha256, ed25519-sha256, ...
    std::string key;        // rsa1024, ed25519, -, no-record
};

// The v= tag of a DKIM-Signature value ("" when absent).
std::string version_tag(const std::string& value) {
    for (const auto& part : split(value, ';')) {
        std::string t = part;
        std::erase_if(t, [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
        if (t.rfind("v=", 0) == 0) return t.substr(2);
    }
    return "";
}

// True when the message carries DKIM-Signature fields and none of them is
// an RFC 6376 signature (v=1). Draft-era signatures (no v=, or v=0.5) are
// malformed under RFC 6376 section 3.5 ("v= ... MUST have the value 1"),
// so a modern verifier reports them as neutral and never passes them,
// whatever Mail::DKIM's lenient historical verdict was.
bool only_prestandard(const testing_dkim::RawMessage& m) {
    int dkim = 0, standard = 0;
    for (const auto& [name, value] : m.headers) {
        if (name.size() != 14) continue;
        std::string n = name;
        for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (n != "dkim-signature") continue;
        ++dkim;
        if (version_tag(value) == "1") ++standard;
    }
    return dkim > 0 && standard == 0;
}

bool modern(const SigInfo& s) {
    if (s.type != "DKIM") return false;
    if (s.algorithm == "ed25519-sha256") return s.key.rfind("ed25519", 0) == 0;
    if (s.algorithm != "rsa-sha256") return false;
    if (s.key.rfind("rsa", 0) != 0) return false;
    return std::atoi(s.key.c_str() + 3) >= 1024;
}

}  // namespace

int main() {
    const char* dir_env = std::getenv("TESTDATA_DIR");
    if (dir_env == nullptr || *dir_env == '\0') {
        std::cerr << "dkim_corpus_test: TESTDATA_DIR is not set (export "
                     "TESTDATA_DIR=/work/shared/testdata)\n";
        return 2;
    }
    const std::string dir = dir_env;
    // DKIM_CORPUS_VERBOSE=1 prints every message's results, not only mismatches.
    const bool verbose = std::getenv("DKIM_CORPUS_VERBOSE") != nullptr;
    Counts counts;
    try {
        // --- RFC 8463 Appendix A.3: one ed25519-sha256 and one rsa-sha256
        // signature over the same message; both must pass.
        {
            dns::StaticZone zone;
            load_tab_dns(zone, testing_dkim::read_file(dir + "/rfc8463/dns.txt"));
            const auth::DkimVerifier verifier(serve(std::move(zone)), auth::DkimOptions{});
            if (!verifier.ed25519_supported())
                std::cout << "note: libopendkim reports no ed25519 support\n";
            const auto msg = testing_dkim::split_message(
                testing_dkim::read_file(dir + "/rfc8463/rfc8463-A.3-signed.eml"));
            auto budget = dns::Budget::unlimited();
            const auto results = testing_dkim::verify(verifier, msg, budget, 7);
            std::set<std::string> passed_algs;
            for (const auto& r : results)
                if (r.result == auth::DkimResult::Pass) passed_algs.insert(r.algorithm);
            for (const std::string alg : {"ed25519-sha256", "rsa-sha256"})
                report(counts, "rfc8463-A.3 " + alg, passed_algs.count(alg) == 1,
                       "expected " + alg + " to pass; got " + describe(results));
        }

        // --- Mail::DKIM corpus.
        dns::StaticZone zone;
        load_fake_dns(zone, testing_dkim::read_file(dir + "/mail-dkim/FAKE_DNS.dat"));
        const auth::DkimVerifier verifier(serve(std::move(zone)), auth::DkimOptions{});
        std::istringstream tsv(testing_dkim::read_file(dir + "/mail-dkim/EXPECTED.tsv"));
        std::string line;
        while (std::getline(tsv, line)) {
            if (line.empty() || line[0] == '#') continue;
            const auto cols = split(line, '\t');
            if (cols.size() < 2) continue;
            const std::string file = cols[0];
            const std::string historical = cols[1];
            const std::string comment = cols.size() > 2 ? cols[2] : "";
            std::vector<SigInfo> sigs;
            if (cols.size() > 3 && !trim(cols[3]).empty()) {
                for (const auto& part : split(cols[3], '|')) {
                    const auto f = split(trim(part), ':');
                    if (f.size() >= 5) sigs.push_back({f[0], f[1], f.back()});
                }
            }
            const bool strict = comment.find("STRICT") != std::string::npos;
            const std::string label = file + (strict ? " (strict row)" : "");

            const auto msg =
                testing_dkim::split_message(testing_dkim::read_file(dir + "/mail-dkim/corpus/" + file));
            auto budget = dns::Budget::unlimited();
            const auto results = testing_dkim::verify(verifier, msg, budget, 100);
            const bool passed = any_pass(results);
            if (verbose) std::cout << "         " << label << ": " << describe(results) << "\n";

            bool any_modern = false;
            bool any_dkim = false;
            for (const auto& s : sigs) {
                any_modern = any_modern || modern(s);
                any_dkim = any_dkim || s.type == "DKIM";
            }
            const bool prestandard = only_prestandard(msg);
            const bool expect_pass = historical == "pass" && any_modern && !prestandard;
            if (expect_pass != passed) {
                report(counts, label, false,
                       std::string(expect_pass ? "expected pass" : "expected no pass") +
                           " (historical " + historical + "); got " + describe(results));
                continue;
            }
            if (prestandard) {
                bool neutral = !results.empty();
                for (const auto& r : results) neutral = neutral && r.result == auth::DkimResult::Neutral;
                report(counts, label, neutral,
                       "pre-standard signature (no v=1): expected neutral; got " + describe(results));
                continue;
            }
            // A finer check: a message that passed historically only with
            // weak crypto must now be refused by policy (RFC 8301), which
            // shows that it still verified and was not broken by us.
            if (historical == "pass" && !any_modern && any_dkim && !strict) {
                bool policy = false;
                for (const auto& r : results) policy = policy || r.result == auth::DkimResult::Policy;
                report(counts, label, policy,
                       "expected an RFC 8301 'policy' result; got " + describe(results));
                continue;
            }
            // A modern-crypto signature that historically failed must fail.
            if (historical == "fail" && any_modern && !strict) {
                bool fail = false;
                for (const auto& r : results) fail = fail || r.result == auth::DkimResult::Fail;
                report(counts, label, fail, "expected fail; got " + describe(results));
                continue;
            }
            report(counts, label, true, "");
        }
    } catch (const std::exception& e) {
        std::cerr << "dkim_corpus_test: " << e.what() << "\n";
        return 2;
    }
    std::cout << counts.passed << " passed, " << counts.failed << " failed\n";
    return counts.unexplained == 0 ? 0 : 1;
}
