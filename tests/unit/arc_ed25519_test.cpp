// ARC chains sealed with ed25519-sha256 (RFC 8617 with RFC 8463) through
// auth::ArcVerifier. Neither dkimpy nor Mail::DKIM seals ARC with ed25519,
// so tests/unit/arc_sealer.py (python3-cryptography, relaxed
// canonicalization of its own, nothing of ours) seals the chains with fresh
// keys at every run: ed25519 only, one and three instances, and chains that
// mix rsa-sha256 and ed25519-sha256 instances. Keys are served from the
// zone file the sealer writes, through dns::StaticZone as in the suite
// replay.
//
// The sealer is itself checked by another implementation on the same
// bytes: dkimpy's arc_verify, with ed25519-sha256 admitted in its ARC
// algorithm table (dkimpy verifies ed25519 keys and signatures but its ARC
// code lists rsa-sha256 only), must pass every intact chain and fail every
// broken one, so a verdict of ours is never judged against a sealer that
// is wrong in the same way. Mail::DKIM (tests/unit/arc_oracle.pl) checks
// the rsa-only chain the same way.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/arc.hpp"
#include "dkim_message_io.hpp"
#include "dns/static_zone.hpp"
#include "suite_lines.hpp"

namespace {

// What the sealer makes: chain name -> (number of instances, seal domains
// of instances 1..N), as CHAINS/SEALERS in arc_sealer.py.
const std::map<std::string, std::vector<std::string>> kChains = {
    {"ed25519-one", {"ed.example"}},
    {"ed25519-three", {"ed.example", "fwd.example", "relay.example"}},
    {"mixed-rsa-ed25519-rsa", {"rsa.example", "fwd.example", "rsa.example"}},
    {"mixed-ed25519-rsa", {"ed.example", "rsa.example"}},
    {"rsa-two", {"rsa.example", "rsa.example"}},
};

std::string run(const std::string& command) {
    std::string out;
    if (std::FILE* p = popen(command.c_str(), "r")) {
        char buf[4096];
        while (const std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        if (pclose(p) != 0) out = "exit status != 0: " + out;
    }
    return out;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto nl = text.find('\n', at);
        out.push_back(text.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
        at = nl == std::string::npos ? text.size() : nl + 1;
    }
    return out;
}

class ArcEd25519 : public ::testing::Test {
public:
    // Sealed once for the whole suite (fresh keys each run).
    static void SetUpTestSuite() {
        char dir[] = "/tmp/arc-ed25519-XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr);
        dir_ = dir;
        const std::string out = run("/usr/bin/python3 " +
                                    testing_suite::shell_quote(testing_suite::script_path("arc_sealer.py", __FILE__)) +
                                    " seal " + testing_suite::shell_quote(dir_));
        ASSERT_EQ(lines(out).size(), kChains.size()) << "arc_sealer.py (needs python3-cryptography): " << out;
    }
    static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

    static std::string path(const std::string& file) { return dir_ + "/" + file; }
    static std::string chain(const std::string& name) { return testing_dkim::read_file(path(name + ".eml")); }

    // Our verdict on `message` (CRLF) with the keys of `zone_file`.
    static auth::ArcVerdict verify(const std::string& message, const std::string& zone_file = "zone") {
        std::vector<dns::ZoneError> errors;
        auto zone = std::make_shared<dns::StaticZone>(dns::StaticZone::load(path(zone_file), errors));
        for (const auto& e : errors) ADD_FAILURE() << "zone: " << e.to_string();
        const auth::ArcVerifier verifier(std::make_shared<dns::StaticResolver>(zone), auth::ArcOptions{});
        const auto raw = testing_dkim::split_message(message);
        auto m = verifier.start();
        for (const auto& [n, v] : raw.headers) m->header(n, v);
        m->end_of_headers();
        // Small body chunks: the hashers see split lines and CRLFs.
        for (std::size_t i = 0; i < raw.body.size(); i += 7) m->body(std::string_view(raw.body).substr(i, 7));
        dns::Budget budget = dns::Budget::unlimited();
        return m->finish(budget);
    }

    // dkimpy's verdict (see the file comment) on each message, in order.
    static std::vector<std::string> dkimpy(const std::vector<std::string>& messages,
                                           const std::string& zone_file = "zone") {
        std::string files;
        for (std::size_t i = 0; i < messages.size(); ++i) {
            const std::string file = path("oracle-" + std::to_string(i) + ".eml");
            std::FILE* f = std::fopen(file.c_str(), "wb");
            if (!f) return {};
            std::fwrite(messages[i].data(), 1, messages[i].size(), f);
            std::fclose(f);
            files += " " + file;
        }
        return lines(run("/usr/bin/python3 " +
                         testing_suite::shell_quote(testing_suite::script_path("arc_sealer.py", __FILE__)) +
                         " dkimpy-verify " + testing_suite::shell_quote(path(zone_file)) + files + " 2>/dev/null"));
    }

    static std::string dir_;
};
std::string ArcEd25519::dir_;

// The header field of `message` that starts with `start` (e.g. "ARC-Seal:
// i=2;"): its tag `tag` has its value passed through `change`. The value
// runs to the next ';' or the end of the field, folds included.
std::string with_tag(std::string message, const std::string& start, const std::string& tag,
                     const std::function<std::string(std::string)>& change) {
    // `field` is where the field's line begins, minus the CRLF before it.
    const std::string prefixed = "\r\n" + message;
    const auto found = prefixed.find("\r\n" + start);
    if (found == std::string::npos) {
        ADD_FAILURE() << "no field " << start;
        return message;
    }
    message = prefixed;
    const auto field = found;
    auto end = field + 2;
    while ((end = message.find("\r\n", end)) != std::string::npos && (message[end + 2] == ' ' || message[end + 2] == '\t'))
        end += 2;
    std::size_t at = field + 2 + start.size();
    for (;; ++at) {
        at = message.find(tag + "=", at);
        if (at == std::string::npos || at >= end) {
            ADD_FAILURE() << "no " << tag << "= in " << start;
            return message;
        }
        const char before = message[at - 1];
        if (before == ';' || before == ' ' || before == '\t' || before == '\n') break;
    }
    const auto value = at + tag.size() + 1;
    auto value_end = message.find(';', value);
    if (value_end == std::string::npos || value_end > end) value_end = end;
    message.replace(value, value_end - value, change(message.substr(value, value_end - value)));
    return message.substr(2);
}

// The first base64 character of a b=/bh= value, changed.
std::string flip_first(std::string v) {
    const auto at = v.find_first_not_of(" \t\r\n");
    v[at] = v[at] == 'A' ? 'B' : 'A';
    return v;
}

std::string other_algorithm(const std::string& a) { return a == "rsa-sha256" ? "ed25519-sha256" : "rsa-sha256"; }

std::string replaced(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

TEST_F(ArcEd25519, Ed25519AndMixedChainsPassAndTheSealerAgreesWithDkimpy) {
    std::vector<std::string> messages;
    for (const auto& [name, domains] : kChains) {
        messages.push_back(chain(name));
        const auto v = verify(messages.back());
        EXPECT_EQ(v.result, auth::ArcResult::Pass) << name << ": " << v.reason;
        EXPECT_EQ(v.instances, domains.size()) << name;
        EXPECT_EQ(v.oldest_pass, 0u) << name;
        ASSERT_EQ(v.sets.size(), domains.size()) << name;
        for (std::size_t i = 0; i < domains.size(); ++i) {
            EXPECT_EQ(v.sets[i].seal_domain, domains[i]) << name << " instance " << i + 1;
            EXPECT_EQ(v.sets[i].cv, i == 0 ? "none" : "pass") << name << " instance " << i + 1;
        }
    }
    const auto oracle = dkimpy(messages);
    ASSERT_EQ(oracle.size(), messages.size()) << "python3-dkim did not run";
    for (const auto& o : oracle) EXPECT_EQ(o, "pass");
    // The rsa-sha256 construction checked by a third implementation:
    // Mail::DKIM (Debian 12's has no ed25519, so the rsa-only chain).
    const std::string maildkim = run("/usr/bin/perl " +
                                     testing_suite::shell_quote(testing_suite::script_path("arc_oracle.pl", __FILE__)) +
                                     " " + testing_suite::shell_quote(path("keys.tsv")) + " " +
                                     testing_suite::shell_quote(path("rsa-two.eml")) + " 2>/dev/null");
    EXPECT_EQ(maildkim.substr(0, 5), "pass ") << "Mail::DKIM on rsa-two: " << maildkim;
}

struct Break {
    const char* what;
    std::function<std::string(const std::string&)> apply;
    const char* reason;  // a part of our reason
};

std::vector<Break> breaks_of(const std::string& newest, const std::string& older) {
    // newest / older: "i=N;" of the newest instance and of an older one.
    const auto seal = "ARC-Seal: " + newest, ams = "ARC-Message-Signature: " + newest;
    const auto old_seal = "ARC-Seal: " + older, old_aar = "ARC-Authentication-Results: " + older;
    return {
        {"signed header changed", [](const std::string& m) { return replaced(m, "Subject: ed25519 seals", "Subject: ed25519 seal"); },
         "signature"},
        {"body changed", [](const std::string& m) { return replaced(m, "two spaces", "two  spaces!"); }, "body hash"},
        {"newest AMS b= changed", [=](const std::string& m) { return with_tag(m, ams, "b", flip_first); }, "signature"},
        {"newest AMS b= one byte short",
         [=](const std::string& m) {
             return with_tag(m, ams, "b", [](std::string v) {
                 // 64 bytes are 86 base64 characters and "=="; 63 are 84.
                 const auto last = v.find_last_not_of(" \t\r\n=");
                 return v.substr(0, last - 1);
             });
         },
         "signature"},
        {"newest AMS bh= changed", [=](const std::string& m) { return with_tag(m, ams, "bh", flip_first); }, "body hash"},
        {"newest AS b= changed", [=](const std::string& m) { return with_tag(m, seal, "b", flip_first); }, "signature"},
        {"older AS b= changed", [=](const std::string& m) { return with_tag(m, old_seal, "b", flip_first); }, "signature"},
        {"older AAR changed", [=](const std::string& m) { return replaced(m, old_aar, old_aar + " x=y;"); }, "signature"},
        {"newest AS cv= changed", [=](const std::string& m) { return with_tag(m, seal, "cv", [](std::string) { return "fail"; }); },
         "cv=fail"},
        {"newest AS d= changed",
         [=](const std::string& m) { return with_tag(m, seal, "d", [](std::string v) { return "x" + v; }); }, "no key"},
        {"newest AMS a= names the other algorithm than its key's",
         [=](const std::string& m) { return with_tag(m, ams, "a", other_algorithm); }, ""},
        {"newest AS a= names the other algorithm than its key's",
         [=](const std::string& m) { return with_tag(m, seal, "a", other_algorithm); }, ""},
        {"newest AS t= changed",
         [=](const std::string& m) { return with_tag(m, seal, "t", [](std::string v) { return v + "1"; }); }, "signature"},
    };
}

void expect_every_break_fails(const std::string& name, const std::string& newest, const std::string& older) {
    const std::string intact = ArcEd25519::chain(name);
    std::vector<std::string> messages;
    const auto breaks = breaks_of(newest, older);
    for (const auto& b : breaks) {
        messages.push_back(b.apply(intact));
        ASSERT_NE(messages.back(), intact) << b.what;
        const auto v = ArcEd25519::verify(messages.back());
        EXPECT_EQ(v.result, auth::ArcResult::Fail) << name << ", " << b.what;
        EXPECT_NE(v.reason.find(b.reason), std::string::npos) << name << ", " << b.what << ": " << v.reason;
        EXPECT_FALSE(v.temporary) << name << ", " << b.what;
    }
    const auto oracle = ArcEd25519::dkimpy(messages);
    ASSERT_EQ(oracle.size(), messages.size()) << "python3-dkim did not run";
    for (std::size_t i = 0; i < oracle.size(); ++i) {
        // dkimpy answers None (no value) for a chain whose newest seal says
        // cv=fail; we say fail (RFC 8617 section 5.2 step 2).
        if (std::string(breaks[i].what) == "newest AS cv= changed") EXPECT_EQ(oracle[i], "None");
        else EXPECT_TRUE(oracle[i] == "fail" || oracle[i] == "error") << name << ", " << breaks[i].what << ": dkimpy says " << oracle[i];
    }
}

TEST_F(ArcEd25519, AnEd25519ChainBrokenInAnyFieldFails) {
    expect_every_break_fails("ed25519-three", "i=3;", "i=1;");
}

TEST_F(ArcEd25519, AMixedChainBrokenInItsEd25519SetFails) {
    // ed25519 then rsa: the rsa seal is the newest, the ed25519 set the
    // older one whose seal and AAR are broken.
    expect_every_break_fails("mixed-ed25519-rsa", "i=2;", "i=1;");
    // The ed25519 set in the middle of rsa / ed25519 / rsa: the newest
    // seal signs it, so any change to it fails the chain.
    const std::string mixed = chain("mixed-rsa-ed25519-rsa");
    const std::vector<std::pair<std::string, std::string>> middle = {
        {"AS 2 b= changed", with_tag(mixed, "ARC-Seal: i=2;", "b", flip_first)},
        {"AS 2 cv=none", with_tag(mixed, "ARC-Seal: i=2;", "cv", [](std::string) { return "none"; })},
        {"AMS 2 b= changed", with_tag(mixed, "ARC-Message-Signature: i=2;", "b", flip_first)},
        {"AAR 2 changed", replaced(mixed, "ARC-Authentication-Results: i=2;", "ARC-Authentication-Results: i=2; x=y;")},
    };
    for (const auto& [what, message] : middle) {
        const auto v = verify(message);
        EXPECT_EQ(v.result, auth::ArcResult::Fail) << what;
        EXPECT_FALSE(v.temporary) << what << ": " << v.reason;
    }
}

TEST_F(ArcEd25519, AnEd25519KeyRecordWithAnotherKeyFails) {
    // wrong-key.zone: every ed25519 selector publishes an unrelated
    // ed25519 key; the rsa key is unchanged, so the rsa-only chain passes.
    std::vector<std::string> messages;
    for (const auto& [name, domains] : kChains) {
        messages.push_back(chain(name));
        const auto v = verify(messages.back(), "wrong-key.zone");
        EXPECT_EQ(v.result, name == "rsa-two" ? auth::ArcResult::Pass : auth::ArcResult::Fail) << name << ": " << v.reason;
        EXPECT_FALSE(v.temporary) << name;
    }
    const auto oracle = dkimpy(messages, "wrong-key.zone");
    ASSERT_EQ(oracle.size(), messages.size()) << "python3-dkim did not run";
    std::size_t i = 0;
    for (const auto& [name, domains] : kChains) EXPECT_EQ(oracle[i++], name == "rsa-two" ? "pass" : "fail") << name;
}

TEST_F(ArcEd25519, MalformedEd25519KeyRecordsFail) {
    // The ed1 record (instance 1 of ed25519-one) replaced by: a 31-byte key,
    // a 33-byte key, an RSA key type over the ed25519 bytes, and an
    // ed25519 key type over the rsa key's bytes.
    const std::string zone = testing_dkim::read_file(path("zone"));
    auto record_of = [&](const std::string& owner) {
        for (const auto& l : lines(zone))
            if (l.rfind(owner, 0) == 0) return l;
        ADD_FAILURE() << owner;
        return std::string();
    };
    const std::string ed1 = record_of("ed1._domainkey.ed.example.");
    const std::string rsa = record_of("rsa._domainkey.rsa.example.");
    const auto p = ed1.find("p=") + 2;
    const std::string ed_key = ed1.substr(p, ed1.find('"', p) - p);
    const std::string rsa_key = rsa.substr(rsa.find("p=") + 2, 40);  // a prefix is enough to be wrong
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"31-byte key", "v=DKIM1; k=ed25519; p=" + std::string(40, 'A') + "AAA="},
        {"33-byte key", "v=DKIM1; k=ed25519; p=" + std::string(44, 'A')},
        {"k=rsa over ed25519 bytes", "v=DKIM1; k=rsa; p=" + ed_key},
        {"k=ed25519 over rsa bytes", "v=DKIM1; k=ed25519; p=" + rsa_key},
        {"revoked", "v=DKIM1; k=ed25519; p="},
    };
    for (std::size_t i = 0; i < bad.size(); ++i) {
        const auto& [what, record] = bad[i];
        std::string text;
        for (const auto& l : lines(zone))
            text += (l == ed1 ? "ed1._domainkey.ed.example. 3600 IN TXT \"" + record + "\"" : l) + "\n";
        const std::string file = "bad-" + std::to_string(i) + ".zone";
        if (std::FILE* f = std::fopen(path(file).c_str(), "w")) {
            std::fputs(text.c_str(), f);
            std::fclose(f);
        }
        const auto v = verify(chain("ed25519-one"), file);
        EXPECT_EQ(v.result, auth::ArcResult::Fail) << what;
        EXPECT_FALSE(v.temporary) << what;
    }
}

}  // namespace
