// Unit tests of the ARC verifier (src/auth/arc*, tag_list, canonicalization,
// dkim_key_record) and of the arc resinfo (session/auth_decisions): a chain
// sealed by dkimpy 1.1.4 (python3-dkim, arc_sign with the ValiMail signing
// suite's 1024-bit key) broken one field at a time, each variant judged
// live by two other verifiers as well: dkimpy's arc_verify and Mail::DKIM's
// ARC::Verifier (tests/unit/arc_oracle.pl).
#include <gtest/gtest.h>

#include <random>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <vector>
#include <string>

#include "auth/arc.hpp"
#include "auth/authres.hpp"
#include "auth/canonicalization.hpp"
#include "auth/tag_list.hpp"
#include "dkim_fake_resolver.hpp"
#include "arc_sealed_sample.hpp"
#include "dkim_message_io.hpp"
#include "session/auth_decisions.hpp"
#include "suite_lines.hpp"

namespace {

using testing_arc::kChain;
using testing_arc::kKey;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

struct ArcRun {
    std::shared_ptr<testing_dns::FakeResolver> dns = std::make_shared<testing_dns::FakeResolver>();
    auth::ArcOptions options;
    ArcRun() { dns->add_txt("dummy._domainkey.example.org", kKey); }
    auth::ArcVerdict verify(const std::string& message_lf, std::size_t chunk = 4096,
                            dns::Budget budget = dns::Budget::unlimited()) {
        const auth::ArcVerifier verifier(dns, options);
        const auto raw = testing_dkim::split_message(testing_dkim::lf_to_crlf(message_lf));
        auto m = verifier.start();
        for (const auto& [n, v] : raw.headers) m->header(n, v);
        m->end_of_headers();
        for (std::size_t i = 0; i < raw.body.size(); i += chunk) m->body(std::string_view(raw.body).substr(i, chunk));
        return m->finish(budget);
    }
};

TEST(ArcTagList, RepeatedTagEmptyTagSpecAndBadNamesAreRefused) {
    EXPECT_FALSE(auth::parse_tag_list("a=1; a=2"));
    EXPECT_FALSE(auth::parse_tag_list("a=1;; b=2"));
    EXPECT_FALSE(auth::parse_tag_list("1a=1"));
    EXPECT_FALSE(auth::parse_tag_list("a 1=1"));
    EXPECT_FALSE(auth::parse_tag_list("a"));
    const auto ok = auth::parse_tag_list(" a = x y ;\r\n\tb=;");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->get("a").value_or("?"), "x y");
    EXPECT_EQ(ok->get("b").value_or("?"), "");
    EXPECT_FALSE(ok->get("c"));
}

TEST(ArcTagList, Base64IsStrict) {
    EXPECT_EQ(auth::decode_base64("aGk=").value_or("?"), "hi");
    EXPECT_EQ(auth::decode_base64(" aG\r\n\tk= ").value_or("?"), "hi");
    EXPECT_FALSE(auth::decode_base64("aGk"));
    EXPECT_FALSE(auth::decode_base64("a=Gk"));
    EXPECT_FALSE(auth::decode_base64("aG!="));
}

// RFC 6376 section 3.4.6 example.
TEST(ArcCanonicalization, RelaxedAndSimpleFollowTheRfc6376Example) {
    std::string h;
    auth::canonicalize_header(auth::Canon::Relaxed, "A", " X", h);
    auth::canonicalize_header(auth::Canon::Relaxed, "B ", " Y\t\r\n\tZ  ", h);
    EXPECT_EQ(h, "a:X\r\nb:Y Z\r\n");
    std::string s;
    auth::canonicalize_header(auth::Canon::Simple, "B ", " Y\t\r\n\tZ  ", s);
    EXPECT_EQ(s, "B : Y\t\r\n\tZ  \r\n");
}

std::string body_digest(auth::Canon canon, const std::string& body, std::size_t chunk) {
    auth::BodyHasher h(canon);
    const auto i = h.add_limit(std::nullopt);
    for (std::size_t at = 0; at < body.size(); at += chunk) h.body(std::string_view(body).substr(at, chunk));
    h.finish();
    return h.digest(i);
}

std::string sha256(const std::string& data) {
    auth::BodyHasher h(auth::Canon::Simple);  // simple keeps a body that ends in one CRLF as it is
    const auto i = h.add_limit(std::nullopt);
    h.body(data);
    h.finish();
    return h.digest(i);
}

TEST(ArcCanonicalization, BodiesFollowTheRfc6376ExampleInAnyChunking) {
    const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
    for (std::size_t chunk : {1u, 2u, 3u, 100u}) {
        EXPECT_EQ(body_digest(auth::Canon::Relaxed, body, chunk), sha256(" C\r\nD E\r\n")) << chunk;
        EXPECT_EQ(body_digest(auth::Canon::Simple, body, chunk), sha256(" C \r\nD \t E\r\n")) << chunk;
    }
    // Bare LF line ends are the MTA's CRLF.
    EXPECT_EQ(body_digest(auth::Canon::Relaxed, " C \nD \t E\n\n", 1), sha256(" C\r\nD E\r\n"));
}

// RFC 6376 section 3.4.4 written plainly, line by line, as the reference
// for BodyHasher's word-at-a-time relaxed canonicalization: lines end at
// CRLF or a bare LF (a lone CR is content), WSP runs become one SP, WSP at
// a line's end goes, empty lines at the end go, a last line gets its CRLF.
std::string relaxed_reference(const std::string& body) {
    std::vector<std::string> lines;
    std::string line;
    bool open = false;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\n' || (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n')) {
            if (body[i] == '\r') ++i;
            lines.push_back(line);
            line.clear();
            open = false;
            continue;
        }
        line += body[i];
        open = true;
    }
    if (open) lines.push_back(line);
    std::string out;
    std::vector<std::string> canonical;
    for (const auto& l : lines) {
        std::string c;
        bool wsp = false;
        for (char ch : l) {
            if (ch == ' ' || ch == '\t') {
                wsp = true;
                continue;
            }
            if (wsp) c += ' ';
            wsp = false;
            c += ch;
        }
        canonical.push_back(c);
    }
    while (!canonical.empty() && canonical.back().empty()) canonical.pop_back();
    for (const auto& c : canonical) out += c + "\r\n";
    return out;
}

TEST(ArcCanonicalization, RelaxedBodyMatchesTheLineByLineReferenceInAnyChunking) {
    std::mt19937 rng(6376);
    const std::vector<std::string> pieces = {"a", "word", "longerwordsofeight", " ", " ", "  ", "\t", " \t",
                                             "\t ", "\r\n", "\n", "\r", "\r\n\r\n", ".", "x y z"};
    for (int n = 0; n < 400; ++n) {
        std::string body;
        const int len = static_cast<int>(rng() % 80);
        for (int i = 0; i < len; ++i) body += pieces[rng() % pieces.size()];
        const std::string reference = relaxed_reference(body);
        for (std::size_t chunk : {1u, 7u, 9u, 16u, 4096u}) {
            // sha256() hashes "simple", which makes an empty text one CRLF:
            // an empty reference is checked by its length only.
            auth::BodyHasher h(auth::Canon::Relaxed);
            const auto i = h.add_limit(std::nullopt);
            for (std::size_t at = 0; at < body.size(); at += chunk) h.body(std::string_view(body).substr(at, chunk));
            h.finish();
            EXPECT_EQ(h.canonical_length(), reference.size()) << "chunk " << chunk << " body #" << n;
            if (!reference.empty()) {
                EXPECT_EQ(h.digest(i), sha256(reference)) << "chunk " << chunk << " body #" << n;
            }
        }
    }
}

TEST(ArcCanonicalization, EmptyBodyIsOneCrlfSimpleAndNothingRelaxed) {
    auth::BodyHasher relaxed(auth::Canon::Relaxed);
    const auto i = relaxed.add_limit(std::nullopt);
    relaxed.body("\r\n \r\n");
    relaxed.finish();
    EXPECT_EQ(relaxed.canonical_length(), 0u);
    EXPECT_EQ(body_digest(auth::Canon::Simple, "", 1), sha256("\r\n"));
    (void)i;
}

TEST(ArcChain, ASealedMessagePassesWithItsSealerAndAar) {
    ArcRun r;
    const auto v = r.verify(kChain);
    EXPECT_EQ(v.result, auth::ArcResult::Pass) << v.reason;
    EXPECT_EQ(v.instances, 1u);
    EXPECT_EQ(v.oldest_pass, 0u);
    ASSERT_EQ(v.sets.size(), 1u);
    EXPECT_EQ(v.sets[0].seal_domain, "example.org");
    EXPECT_EQ(v.sets[0].cv, "none");
    EXPECT_EQ(v.sets[0].authentication_results.substr(0, 18), "lists.example.org;");
    // One key record for the seal and the message signature.
    EXPECT_EQ(r.dns->questions(), 1u);
}

TEST(ArcChain, BodyFedOneByteAtATimeGivesTheSameVerdict) {
    ArcRun r;
    EXPECT_EQ(r.verify(kChain, 1).result, auth::ArcResult::Pass);
}

TEST(ArcChain, MessageWithoutArcFieldsIsNone) {
    ArcRun r;
    const auto v = r.verify("From: a@b.example\nSubject: x\n\nbody\n");
    EXPECT_EQ(v.result, auth::ArcResult::None);
    EXPECT_EQ(r.dns->questions(), 0u);
}

// The messages (LF line ends) as CRLF files in a fresh directory, for the
// oracles; removed with it.
struct OracleFiles {
    std::string dir, list;  // list: " path path ..."
    explicit OracleFiles(const std::vector<std::string>& messages) {
        char tmp[] = "/tmp/arc-oracle-XXXXXX";
        if (!mkdtemp(tmp)) return;
        dir = tmp;
        for (std::size_t i = 0; i < messages.size(); ++i) {
            const std::string path = dir + "/" + std::to_string(i) + ".eml";
            std::FILE* f = std::fopen(path.c_str(), "wb");
            if (!f) return;
            const std::string crlf = testing_dkim::lf_to_crlf(messages[i]);
            std::fwrite(crlf.data(), 1, crlf.size(), f);
            std::fclose(f);
            list += " " + path;
        }
    }
    ~OracleFiles() {
        if (!dir.empty()) std::filesystem::remove_all(dir);
    }
    OracleFiles(const OracleFiles&) = delete;
    OracleFiles& operator=(const OracleFiles&) = delete;
};

// The lines `command` prints (empty when it cannot run).
std::vector<std::string> output_lines(const std::string& command) {
    std::vector<std::string> out;
    if (std::FILE* p = popen(command.c_str(), "r")) {
        char line[1024];
        while (std::fgets(line, sizeof line, p)) {
            std::string v(line);
            while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
            out.push_back(v);
        }
        pclose(p);
    }
    return out;
}

// dkimpy's arc_verify verdict for each message, run in one /usr/bin/python3
// process.
std::vector<std::string> dkimpy_arc_verdicts(const OracleFiles& files) {
    auto out = output_lines(
        "/usr/bin/python3 -c 'import sys, dkim\n"
        "key = sys.argv[1].encode()\n"
        "dns = lambda name, timeout=5: key if name.lower() == b\"dummy._domainkey.example.org.\" else None\n"
        "for p in sys.argv[2:]:\n"
        "    try:\n"
        "        print(dkim.arc_verify(open(p, \"rb\").read(), dnsfunc=dns)[0])\n"
        "    except Exception:\n"
        "        print(\"error\")' '" +
        kKey + "'" + files.list + " 2>/dev/null");
    for (auto& v : out)
        if (v.size() > 3 && v[0] == 'b' && v[1] == '\'') v = v.substr(2, v.size() - 3);  // b'pass'
    return out;
}

// Mail::DKIM::ARC::Verifier's "result detail" for each message
// (tests/unit/arc_oracle.pl, one perl process, the same key).
std::vector<std::string> maildkim_arc_verdicts(const OracleFiles& files) {
    const std::string zone = files.dir + "/zone";
    if (std::FILE* f = std::fopen(zone.c_str(), "w")) {
        std::fputs(("dummy._domainkey.example.org\t" + kKey + "\n").c_str(), f);
        std::fclose(f);
    }
    return output_lines("/usr/bin/perl " +
                        testing_suite::shell_quote(testing_suite::script_path("arc_oracle.pl", __FILE__)) + " " +
                        testing_suite::shell_quote(zone) + files.list + " 2>/dev/null");
}

struct Broken {
    const char* what;
    std::string from, to;
    const char* reason;  // a part of the expected reason
};

TEST(ArcChain, AChainBrokenInAnyFieldFails) {
    const std::vector<Broken> cases = {
        {"signed header changed", "Subject: Example 1", "Subject: Example 2", "ARC-Message-Signature 1: signature"},
        {"body changed", "This is a test message.", "This is a changed message.", "body hash"},
        {"AAR changed (sealed by the AS)", "spf=pass smtp.mfrom", "spf=fail smtp.mfrom", "ARC-Seal 1: signature"},
        {"AAR instance wrong", "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: i=2;", "incomplete"},
        {"AAR without i=", "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results:", "valid i="},
        {"AMS instance zero", "ARC-Message-Signature: i=1;", "ARC-Message-Signature: i=0;", "valid i="},
        {"AS instance 51", "ARC-Seal: i=1;", "ARC-Seal: i=51;", "valid i="},
        {"AS cv=pass on instance 1", "cv=none", "cv=pass", "cv=pass, not none"},
        {"AS cv=fail", "cv=none", "cv=fail", "cv=fail"},
        {"AS cv missing", "cv=none; ", "", "cv=(missing)"},
        {"AS a=rsa-sha1", "ARC-Seal: i=1; cv=none; a=rsa-sha256", "ARC-Seal: i=1; cv=none; a=rsa-sha1", "RFC 8301"},
        {"AMS a=rsa-sha1", "ARC-Message-Signature: i=1; a=rsa-sha256", "ARC-Message-Signature: i=1; a=rsa-sha1",
         "RFC 8301"},
        {"AMS unknown algorithm", "ARC-Message-Signature: i=1; a=rsa-sha256", "ARC-Message-Signature: i=1; a=rsa-md5",
         "unknown algorithm"},
        {"AS d= changed", "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.org",
         "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.net", "no key"},
        {"AMS s= changed", "d=example.org; s=dummy; t=1500000000; h=", "d=example.org; s=other; t=1500000000; h=",
         "no key"},
        {"AMS bh= changed", "bh=KWSe46", "bh=AWSe46", "body hash"},
        {"AMS bh= not base64", "bh=KWSe46", "bh=!WSe46", "bh= is not base64"},
        {"AS b= changed", "b=QFQZbYA5", "b=AFQZbYA5", "ARC-Seal 1: signature"},
        {"AS h= present", "ARC-Seal: i=1; cv=none;", "ARC-Seal: i=1; h=from; cv=none;", "h= in ARC-Seal"},
        {"AMS h= signs ARC-Seal", "h=from : to", "h=arc-seal : from : to", "ARC-Seal"},
        {"AMS t= not a number", "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;\n d=example.org; s=dummy; t=1500000000",
         "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;\n d=example.org; s=dummy; t=15x", "bad t="},
        {"AMS c= unknown", "c=relaxed/relaxed", "c=relaxed/loose", "bad c="},
        {"AMS tag repeated", "ARC-Message-Signature: i=1;", "ARC-Message-Signature: i=1; i=1;", "does not parse"},
        {"AS set duplicated", "ARC-Seal: i=1;", "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=x; s=y; b=AAAA\nARC-Seal: i=1;",
         "two ARC-Seal"},
    };
    std::vector<std::string> messages{kChain};
    for (const auto& c : cases) {
        ArcRun r;
        messages.push_back(replaced(kChain, c.from, c.to));
        const auto v = r.verify(messages.back());
        EXPECT_EQ(v.result, auth::ArcResult::Fail) << c.what;
        EXPECT_NE(v.reason.find(c.reason), std::string::npos) << c.what << ": " << v.reason;
        EXPECT_FALSE(v.temporary) << c.what;
        EXPECT_TRUE(v.sets.empty()) << c.what;
    }
    // The independent oracle on the same bytes: dkimpy (python3-dkim)
    // arc_verify with a DNS function serving the same key. It must pass the
    // intact chain and fail (or refuse, "none"/no value is its answer to a
    // cv=fail seal) every broken one; an exception ("error", a message it
    // cannot parse) counts as fail, as the suite's README asks of harnesses.
    const OracleFiles files(messages);
    const auto verdicts = dkimpy_arc_verdicts(files);
    ASSERT_EQ(verdicts.size(), messages.size()) << "python3-dkim did not run";
    EXPECT_EQ(verdicts[0], "pass");
    for (std::size_t i = 1; i < verdicts.size(); ++i) {
        const std::string what = cases[i - 1].what;
        if (what == "AS cv=fail") EXPECT_EQ(verdicts[i], "None") << what << ": dkimpy returns no value here";
        else EXPECT_TRUE(verdicts[i] == "fail" || verdicts[i] == "error") << what << ": dkimpy says " << verdicts[i];
    }
    // The second oracle, live on the same files: Mail::DKIM's
    // ARC::Verifier (Strict). It must pass the intact chain and say fail
    // for every broken one, except where it answers otherwise for a reason
    // RFC 8617 gives (listed here).
    const std::map<std::string, std::pair<std::string, std::string>> maildkim_differs = {
        {"AS d= changed",
         {"invalid", "Mail::DKIM says invalid for a seal whose key it cannot fetch; RFC 8617 section 4.4 has "
                     "only pass/fail/none for a chain, and section 5.2 step 6 fails a chain with a seal that "
                     "does not validate, so invalid is our fail"}},
    };
    const auto maildkim = maildkim_arc_verdicts(files);
    ASSERT_EQ(maildkim.size(), messages.size()) << "Mail::DKIM (libmail-dkim-perl) did not run";
    EXPECT_EQ(maildkim[0].substr(0, 5), "pass ") << maildkim[0];
    for (std::size_t i = 1; i < maildkim.size(); ++i) {
        const std::string what = cases[i - 1].what;
        const auto differs = maildkim_differs.find(what);
        const std::string expected = differs == maildkim_differs.end() ? "fail" : differs->second.first;
        EXPECT_EQ(maildkim[i].substr(0, maildkim[i].find(' ')), expected) << what << ": Mail::DKIM says " << maildkim[i];
    }
}

TEST(ArcChain, SetMissingOrGapFails) {
    ArcRun r;
    // Instance 2 without instance 1.
    std::string gap = kChain;
    for (const char* f : {"ARC-Seal: i=1;", "ARC-Message-Signature: i=1;", "ARC-Authentication-Results: i=1;"}) {
        std::string to = f;
        to.replace(to.find("i=1"), 3, "i=2");
        gap = replaced(gap, f, to);
    }
    const auto v = r.verify(gap);
    EXPECT_EQ(v.result, auth::ArcResult::Fail);
    EXPECT_NE(v.reason.find("set 1 is incomplete"), std::string::npos) << v.reason;
}

TEST(ArcChain, KeyUnderTheRfc8301MinimumFails) {
    ArcRun r;
    r.options.min_rsa_bits = 2048;
    const auto v = r.verify(kChain);
    EXPECT_EQ(v.result, auth::ArcResult::Fail);
    EXPECT_NE(v.reason.find("1024 bits"), std::string::npos) << v.reason;
}

TEST(ArcChain, KeyLookupTimeoutFailsAsTemporary) {
    ArcRun r;
    r.dns->add_failure("dummy._domainkey.example.org", dns::Status::Timeout);
    const auto v = r.verify(kChain);
    EXPECT_EQ(v.result, auth::ArcResult::Fail);
    EXPECT_TRUE(v.temporary) << v.reason;
}

TEST(ArcChain, ExhaustedDnsBudgetFailsAsTemporaryWithoutAsking) {
    ArcRun r;
    const auto v = r.verify(kChain, 4096, dns::Budget(0, std::chrono::milliseconds(1000)));
    EXPECT_EQ(v.result, auth::ArcResult::Fail);
    EXPECT_TRUE(v.temporary);
    EXPECT_EQ(r.dns->questions(), 0u);
}

TEST(ArcChain, RevokedAndBrokenKeysFail) {
    for (const char* key : {"v=DKIM1; k=rsa; p=", "v=DKIM1; k=rsa; p=AAAA", "v=DKIM2; p=AAAA", "k=dsa; p=AAAA",
                            "v=DKIM1; s=tlsrpt; p=AAAA"}) {
        ArcRun r;
        r.dns = std::make_shared<testing_dns::FakeResolver>();
        r.dns->add_txt("dummy._domainkey.example.org", key);
        const auto v = r.verify(kChain);
        EXPECT_EQ(v.result, auth::ArcResult::Fail) << key;
        EXPECT_FALSE(v.temporary) << key;
    }
}

// The header: RFC 8617 section 10 suggests smtp.remote-ip; an IPv6 address
// is not an RFC 2045 token and must be quoted to parse.
TEST(ArcResinfo, PassCarriesSealerRemoteIpAndParsesWithPythonAuthres) {
    ArcRun r;
    const auto v = r.verify(kChain);
    const auto res = session::arc_result(v, policy::IpAddress::parse("2001:db8::25"));
    const std::string value = auth::format_authentication_results("mx.example", {res});
    EXPECT_EQ(value, "mx.example; arc=pass (i=1 as.d=example.org) smtp.remote-ip=\"2001:db8::25\"");
    const auto parsed = auth::parse_authentication_results(value);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->results.size(), 1u);
    EXPECT_EQ(parsed->results[0].properties.at(0).second, "2001:db8::25");
    const std::string command = "/usr/bin/python3 -c 'import sys, authres; "
                                "h = authres.AuthenticationResultsHeader.parse(sys.argv[1]); "
                                "print(h.results[0].method, h.results[0].result, h.results[0].properties[0].value)' "
                                "'Authentication-Results: " + value + "' 2>&1";
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    ASSERT_TRUE(p);
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    EXPECT_EQ(pclose(p), 0) << out;
    EXPECT_EQ(out, "arc pass 2001:db8::25\n");
}

TEST(ArcResinfo, FailCarriesTheReasonAndNoneIsBare) {
    auth::ArcVerdict fail;
    fail.result = auth::ArcResult::Fail;
    fail.instances = 2;
    fail.reason = "ARC-Seal 2: signature did not verify";
    EXPECT_EQ(auth::format_authentication_results("mx", {session::arc_result(fail, policy::IpAddress::parse("192.0.2.1"))}),
              "mx; arc=fail (i=2) reason=\"ARC-Seal 2: signature did not verify\" smtp.remote-ip=192.0.2.1");
    EXPECT_EQ(auth::format_authentication_results("mx", {session::arc_result(auth::ArcVerdict{}, std::nullopt)}),
              "mx; arc=none");
}

}  // namespace

namespace {

TEST(ArcChain, FieldsAddedAboveTheNewestSetAreNotSignedAndLeaveThePass) {
    ArcRun r;
    const auto v = r.verify("Received: from forwarder.example by mx.example\nSubject: added later\n" + kChain);
    EXPECT_EQ(v.result, auth::ArcResult::Pass) << v.reason;
}

// The DMARC override (P2): a fail with p=reject from author d1.example.
auth::DmarcVerdict rejected_fail() {
    auth::DmarcVerdict v;
    v.result = auth::DmarcResult::Fail;
    v.policy = "reject";
    v.disposition = auth::DmarcPolicy::Reject;
    v.from_domain = "d1.example";
    return v;
}

auth::ArcVerdict passing_chain() {
    ArcRun r;
    return r.verify(kChain);  // sealed by example.org, AAR dmarc=pass header.from=d1.example
}

TEST(DmarcOverride, TrustedSealerWhoseAarSawDmarcPassTurnsTheDispositionToNone) {
    auto v = rejected_fail();
    EXPECT_TRUE(session::apply_dmarc_override(v, passing_chain(), {"example.org"}, false));
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
    EXPECT_EQ(v.override_reason, auth::DmarcOverride::LocalPolicy);
    EXPECT_EQ(auth::dmarc_override_name(v.override_reason), "local_policy");
    EXPECT_NE(v.override_comment.find("example.org (i=1)"), std::string::npos) << v.override_comment;
    const auto res = session::dmarc_result(v, "d1.example");
    const std::string value = auth::format_authentication_results("mx", {res});
    EXPECT_NE(value.find("policy.override=local_policy"), std::string::npos) << value;
    EXPECT_NE(value.find("dis=none"), std::string::npos) << value;
}

TEST(DmarcOverride, UntrustedSealerLeavesTheFail) {
    auto v = rejected_fail();
    EXPECT_FALSE(session::apply_dmarc_override(v, passing_chain(), {"lists.example"}, false));
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::Reject);
    EXPECT_EQ(v.override_reason, auth::DmarcOverride::None);
}

TEST(DmarcOverride, FailedChainOrOtherAuthorDomainLeavesTheFail) {
    auto broken = passing_chain();
    broken.result = auth::ArcResult::Fail;
    auto v = rejected_fail();
    EXPECT_FALSE(session::apply_dmarc_override(v, broken, {"example.org"}, false));
    auto other = rejected_fail();
    other.from_domain = "bank.example";  // the AAR's dmarc=pass is for d1.example
    EXPECT_FALSE(session::apply_dmarc_override(other, passing_chain(), {"example.org"}, false));
    EXPECT_FALSE(session::apply_dmarc_override(other, std::nullopt, {"example.org"}, false));
}

TEST(DmarcOverride, TrustedForwarderRangeOverridesWithTrustedForwarder) {
    auto v = rejected_fail();
    EXPECT_TRUE(session::apply_dmarc_override(v, std::nullopt, {}, true));
    EXPECT_EQ(v.override_reason, auth::DmarcOverride::TrustedForwarder);
    EXPECT_EQ(auth::dmarc_override_name(v.override_reason), "trusted_forwarder");
    EXPECT_EQ(v.disposition, auth::DmarcPolicy::None);
}

TEST(DmarcOverride, PolicyNoneAndTemperrorFailsAreNotOverridden) {
    auto none = rejected_fail();
    none.disposition = auth::DmarcPolicy::None;
    EXPECT_FALSE(session::apply_dmarc_override(none, passing_chain(), {"example.org"}, true));
    auto temp = rejected_fail();
    temp.fail_only_due_to_temperror = true;
    EXPECT_FALSE(session::apply_dmarc_override(temp, passing_chain(), {"example.org"}, true));
    EXPECT_EQ(temp.override_reason, auth::DmarcOverride::None);
}

}  // namespace
