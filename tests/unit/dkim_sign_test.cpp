// DKIM signing (issue 15): the signing and key tables (OpenDKIM's file
// formats included), key loading, header selection and oversigning, the
// signatures checked by two independent verifiers (python3-dkim and
// Mail::DKIM), and the session's decision of who is signed.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include "auth/dkim.hpp"
#include "auth/dkim_sign_options.hpp"
#include "auth/dkim_signature_maker.hpp"
#include "auth/dkim_signer.hpp"
#include "config/config.hpp"
#include "config/dkim_signing.hpp"
#include "config_test_util.hpp"
#include "dns/make_resolver.hpp"
#include "dns/static_zone.hpp"
#include "metrics/catalogue.hpp"
#include "policy/signing.hpp"
#include "session/session.hpp"
#include "util/ascii.hpp"

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

// config_test::TempDir, with the file mode DKIM keys need.
class TempDir : public config_test::TempDir {
public:
    std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
        const std::string p = config_test::TempDir::write(name, text);
        chmod(p.c_str(), mode);
        return p;
    }
};

std::string new_key(auth::DkimKeyType type, unsigned bits = 2048) {
    std::string error;
    std::string pem = config::generate_signing_key(type, bits, &error);
    EXPECT_FALSE(pem.empty()) << error;
    return pem;
}

// Keys are slow to make: one of each for the whole program.
const std::string& rsa_pem() {
    static const std::string pem = new_key(auth::DkimKeyType::Rsa);
    return pem;
}
const std::string& ed_pem() {
    static const std::string pem = new_key(auth::DkimKeyType::Ed25519);
    return pem;
}

auth::DkimSigningKey key_of(const std::string& pem, const std::string& name, const std::string& domain,
                            const std::string& selector) {
    auto load = config::signing_key_from_text(pem);
    EXPECT_TRUE(load.key) << load.error;
    auth::DkimSigningKey k = load.key ? *load.key : auth::DkimSigningKey{};
    k.name = name;
    k.domain = domain;
    k.selector = selector;
    k.origin = "test";
    return k;
}

// ---- tables ---------------------------------------------------------------

auth::DkimSignOptions tables(const std::string& key_table, const std::string& signing_table, bool refile,
                             TempDir& dir) {
    dir.write("keys/a.private", rsa_pem());
    dir.write("keys/b.private", ed_pem());
    auth::DkimSignOptions o;
    auto kp = config::parse_opendkim_key_table(key_table, "KeyTable", dir.path().string(), o.keys);
    for (const auto& p : kp) ADD_FAILURE() << "KeyTable:" << p.line << ": " << p.message;
    auto sp = config::parse_opendkim_signing_table(signing_table, "SigningTable", refile, o.rules);
    for (const auto& p : sp) ADD_FAILURE() << "SigningTable:" << p.line << ": " << p.message;
    return o;
}

std::vector<std::string> chosen(const auth::DkimSignOptions& o, const std::string& local, const std::string& domain) {
    std::vector<std::string> out;
    auto sel = auth::choose_signing_keys(o, local, domain);
    if (!sel.error.empty()) out.push_back("error: " + sel.error);
    for (const auto& c : sel.choices) out.push_back(c.key->name + " d=" + c.domain);
    return out;
}

const char* kKeyTable =
    "# OpenDKIM KeyTable\n"
    "rsa-key   example.com:2026r:keys/a.private\n"
    "ed-key    example.com:2026e:keys/b.private   # trailing comment\n"
    "\n"
    "sub-key   sub.example.com:s1:keys/a.private\n";

TEST(DkimSigningTable, RefilePatternsAreTriedInOrderAndTheFirstMatchWins) {
    TempDir dir;
    auto o = tables(kKeyTable,
                    "# refile: patterns\n"
                    "ceo@example.com  ed-key\n"
                    "*@example.com    rsa-key\n"
                    "*.example.com    sub-key\n",
                    true, dir);
    EXPECT_EQ(chosen(o, "ceo", "example.com"), std::vector<std::string>{"ed-key d=example.com"});
    EXPECT_EQ(chosen(o, "Bob", "EXAMPLE.com"), std::vector<std::string>{"rsa-key d=example.com"});
    EXPECT_EQ(chosen(o, "bob", "mail.example.com"), std::vector<std::string>{"sub-key d=sub.example.com"});
    EXPECT_TRUE(chosen(o, "bob", "example.net").empty());
    // "*@example.com" does not match a subdomain, "*.example.com" not the domain itself.
    EXPECT_TRUE(chosen(o, "bob", "notexample.com").empty());
}

TEST(DkimSigningTable, MultipleSignaturesAppliesEveryMatchingEntry) {
    TempDir dir;
    auto o = tables(kKeyTable, "*@example.com ed-key\n*@example.com rsa-key\n", true, dir);
    EXPECT_EQ(chosen(o, "bob", "example.com"), std::vector<std::string>{"ed-key d=example.com"});
    o.multiple_signatures = true;
    EXPECT_EQ(chosen(o, "bob", "example.com"),
              (std::vector<std::string>{"ed-key d=example.com", "rsa-key d=example.com"}));
}

TEST(DkimSigningTable, PlainTableIsLookedUpInOpenDkimOrder) {
    TempDir dir;
    // In file order the domain entry comes first; OpenDKIM still tries the
    // full address first, then the domain, then parents with a leading dot.
    auto o = tables(kKeyTable, "example.com rsa-key\nceo@example.com ed-key\n.example.com sub-key\n", false, dir);
    EXPECT_EQ(chosen(o, "ceo", "example.com"), std::vector<std::string>{"ed-key d=example.com"});
    EXPECT_EQ(chosen(o, "bob", "example.com"), std::vector<std::string>{"rsa-key d=example.com"});
    EXPECT_EQ(chosen(o, "bob", "a.b.example.com"), std::vector<std::string>{"sub-key d=sub.example.com"});
    // Plain entries are exact: no wildcard meaning for '*' inside a key.
    auto p = tables(kKeyTable, "*@example.com rsa-key\n", false, dir);
    EXPECT_TRUE(chosen(p, "bob", "example.com").empty());
}

TEST(DkimSigningTable, PercentKeyNameAndDomainStandForTheAddressDomain) {
    TempDir dir;
    auto o = tables("example.org %:sel:keys/a.private\n", "*@example.org %\n", true, dir);
    EXPECT_EQ(chosen(o, "bob", "example.org"), std::vector<std::string>{"example.org d=example.org"});
    // No key named after example.net: an error, so that failure_action applies.
    auto r = tables("example.org %:sel:keys/a.private\n", "* %\n", true, dir);
    ASSERT_EQ(chosen(r, "bob", "example.net").size(), 1u);
    EXPECT_NE(chosen(r, "bob", "example.net").front().find("error: SigningTable:1"), std::string::npos);
}

// OpenDKIM's SigningTable: "pattern keyname [signer]", the signer written
// as i= with "%" standing for the address's domain (opendkim.conf(5)).
std::vector<std::string> identities(const auth::DkimSignOptions& o, const std::string& local,
                                    const std::string& domain) {
    std::vector<std::string> out;
    for (const auto& c : auth::choose_signing_keys(o, local, domain).choices)
        out.push_back(c.identity.empty() ? "(none: " + c.identity_dropped + ")" : c.identity);
    return out;
}

TEST(DkimSigningTable, SignerFieldIsTheIdentityWithPercentAsTheAddressDomain) {
    TempDir dir;
    const std::string table =
        "ceo@example.com rsa-key ceo@example.com\n*@sub.example.com sub-key bulk@%\n*@example.com rsa-key @%\n* ed-key\n";
    auto o = tables(kKeyTable, table, true, dir);
    EXPECT_EQ(identities(o, "ceo", "example.com"), std::vector<std::string>{"ceo@example.com"});
    EXPECT_EQ(identities(o, "bob", "Example.COM"), std::vector<std::string>{"@example.com"});
    EXPECT_EQ(identities(o, "x", "sub.example.com"), std::vector<std::string>{"bulk@sub.example.com"});
    // No signer field: no i= (its default is "@" and d=, RFC 6376 section 3.5).
    const auto other = auth::choose_signing_keys(o, "x", "other.example");
    ASSERT_EQ(other.choices.size(), 1u);
    EXPECT_TRUE(other.choices[0].identity.empty());
    EXPECT_TRUE(other.choices[0].identity_dropped.empty());
}

TEST(DkimSigningTable, SignerOutsideTheSigningDomainIsLeftOutAndSaysWhy) {
    // RFC 6376 section 3.5: i='s domain must be d= or below it; OpenDKIM
    // then signs without i=.
    TempDir dir;
    auto o = tables(kKeyTable, "*@example.com  sub-key  boss@example.com\n*  rsa-key  x@%\n", true, dir);
    const auto sel = auth::choose_signing_keys(o, "bob", "example.com");
    ASSERT_EQ(sel.choices.size(), 1u);  // sub-key signs d=sub.example.com
    EXPECT_TRUE(sel.choices[0].identity.empty());
    EXPECT_NE(sel.choices[0].identity_dropped.find("i=boss@example.com left out: not in d=sub.example.com"),
              std::string::npos)
        << sel.choices[0].identity_dropped;
    // "%" is the address's domain, and d= is the key's example.com.
    EXPECT_EQ(identities(o, "y", "mail.example.com"), std::vector<std::string>{"x@mail.example.com"});
    EXPECT_EQ(identities(o, "y", "elsewhere.example")[0].rfind("(none: i=x@elsewhere.example left out", 0), 0u);
    EXPECT_TRUE(auth::dkim_identity_fits("a@Mail.Example.com", "example.COM"));
    EXPECT_FALSE(auth::dkim_identity_fits("a@badexample.com", "example.com"));
    EXPECT_FALSE(auth::dkim_identity_fits("no-at-sign", "example.com"));
}

TEST(DkimSigningTable, SignerThatIsNoAddressIsAWarningAndNoIdentity) {
    std::vector<auth::DkimSigningRule> rules;
    const auto problems = config::parse_opendkim_signing_table(
        "*@example.com k1 not-an-address\n*@example.net k2 ok@example.net\n", "SigningTable", true, rules);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_TRUE(problems[0].warning);
    EXPECT_EQ(problems[0].line, 1);
    EXPECT_NE(problems[0].message.find("not-an-address"), std::string::npos) << problems[0].message;
    ASSERT_EQ(rules.size(), 2u);
    EXPECT_TRUE(rules[0].identity.empty());
    EXPECT_EQ(rules[1].identity, "ok@example.net");
}

TEST(DkimSigningTable, KeyTableErrorsNameTheFileAndLine) {
    TempDir dir;
    dir.write("keys/a.private", rsa_pem());
    dir.write("keys/open.private", rsa_pem(), 0644);
    std::vector<auth::DkimSigningKey> keys;
    auto problems = config::parse_opendkim_key_table(
        "good example.com:s:keys/a.private\nbad example.com-no-selector\nopen example.com:s:keys/open.private\n"
        "missing example.com:s:keys/none.private\n",
        "KeyTable", dir.path().string(), keys);
    ASSERT_EQ(problems.size(), 3u);
    EXPECT_EQ(problems[0].line, 2);
    EXPECT_EQ(problems[1].line, 3);
    EXPECT_NE(problems[1].message.find("mode 0644"), std::string::npos) << problems[1].message;
    EXPECT_EQ(problems[2].line, 4);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0].origin, "KeyTable:1");
}

TEST(DkimSigningTable, PatternMatchingIsLinearAndCaseInsensitive) {
    EXPECT_TRUE(auth::dkim_pattern_matches("*@Example.COM", "bob@example.com"));
    EXPECT_TRUE(auth::dkim_pattern_matches("*", ""));
    EXPECT_FALSE(auth::dkim_pattern_matches("*@example.com", "bob@example.com.evil"));
    EXPECT_TRUE(auth::dkim_pattern_matches("a*b*c", "axxbyyc"));
    std::string text(5000, 'a');
    EXPECT_FALSE(auth::dkim_pattern_matches("*a*a*a*a*a*a*a*b", text));
}

// ---- keys -----------------------------------------------------------------

TEST(DkimSigningKeys, RsaUnder1024BitsIsRefusedAndUnder2048Warned) {
    auto weak = config::signing_key_from_text(new_key(auth::DkimKeyType::Rsa, 768));
    EXPECT_FALSE(weak.key);
    EXPECT_NE(weak.error.find("RFC 8301"), std::string::npos) << weak.error;
    auto small = config::signing_key_from_text(new_key(auth::DkimKeyType::Rsa, 1024));
    ASSERT_TRUE(small.key) << small.error;
    EXPECT_NE(small.warning.find("recommends 2048"), std::string::npos) << small.warning;
    auto good = config::signing_key_from_text(rsa_pem());
    ASSERT_TRUE(good.key);
    EXPECT_TRUE(good.warning.empty());
    EXPECT_EQ(good.key->bits, 2048u);
    EXPECT_EQ(good.key->dns_record().rfind("v=DKIM1; k=rsa; p=MII", 0), 0u);
}

TEST(DkimSigningKeys, Ed25519PublishesTheRawPublicKey) {
    auto ed = config::signing_key_from_text(ed_pem());
    ASSERT_TRUE(ed.key) << ed.error;
    EXPECT_EQ(ed.key->type, auth::DkimKeyType::Ed25519);
    // RFC 8463 section 4.2: 32 octets, 44 base64 characters.
    EXPECT_EQ(ed.key->public_key.size(), 44u);
}

TEST(DkimSigningKeys, GroupOrWorldAccessIsRefused) {
    TempDir dir;
    for (mode_t mode : {0640, 0604, 0620}) {
        const auto path = dir.write("k.private", rsa_pem(), mode);
        auto load = config::load_signing_key_file(path);
        EXPECT_FALSE(load.key) << std::oct << mode;
        EXPECT_NE(load.error.find("group or others"), std::string::npos) << load.error;
    }
    EXPECT_TRUE(config::load_signing_key_file(dir.write("k.private", rsa_pem(), 0600)).key);
    EXPECT_TRUE(config::load_signing_key_file(dir.write("k.private", rsa_pem(), 0400)).key);
}

TEST(DkimSigningKeys, OpenDkimPkcs1KeyFilesAreAccepted) {
    // opendkim-genkey writes "BEGIN RSA PRIVATE KEY" (PKCS#1).
    TempDir dir;
    const std::string path = (dir.path() / "k.pem").string();
    const std::string cmd = "openssl genrsa -traditional -out " + path + " 2048 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    chmod(path.c_str(), 0600);
    std::ifstream in(path);
    std::string first;
    std::getline(in, first);
    ASSERT_EQ(first, "-----BEGIN RSA PRIVATE KEY-----");
    auto load = config::load_signing_key_file(path);
    ASSERT_TRUE(load.key) << load.error;
    EXPECT_EQ(load.key->private_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
}

// ---- the signer -----------------------------------------------------------

struct Signed {
    std::string value;  // DKIM-Signature value
    std::string error;
};

std::vector<Signed> sign(const auth::DkimSignOptions& o, const std::vector<auth::DkimKeyChoice>& choices,
                         const Headers& headers, const std::vector<std::string>& body_chunks,
                         std::uint64_t fixed_time = 0) {
    auth::DkimSigner signer(o);
    if (fixed_time) signer.set_fixed_time(fixed_time);
    auto m = signer.start("T1", choices, headers);
    for (const auto& c : body_chunks) m->body(c);
    std::vector<Signed> out;
    for (auto& s : m->finish()) out.push_back({s.header_value, s.error});
    return out;
}

std::string tag(const std::string& value, const std::string& name) {
    std::string flat;
    for (char c : value)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') flat += c;
    const std::string needle = ";" + name + "=";
    std::size_t at = ("; " + flat).find(needle);
    flat = ";" + flat;
    at = flat.find(needle);
    if (at == std::string::npos) return "(absent)";
    const auto start = at + needle.size();
    // Header names in h= keep the case they have in the message.
    std::string v = flat.substr(start, flat.find(';', start) - start);
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
}

const Headers kHeaders = {
    {"Received", " from a by b"},
    {"From", " Alice <alice@example.com>"},
    {"To", " bob@example.net"},
    {"Subject", " hello\r\n\tfolded"},
    {"Date", " Fri, 04 Dec 2026 10:00:00 +0000"},
    {"Message-ID", " <1@example.com>"},
    {"X-Custom", " yes"},
};

TEST(DkimSigner, DefaultHeaderListSignsOnlyPresentRecommendedHeadersAndOversignsFrom) {
    auth::DkimSignOptions o;
    o.keys.push_back(key_of(rsa_pem(), "k", "example.com", "s1"));
    auto sigs = sign(o, {{&o.keys[0], "example.com", "test"}}, kHeaders, {"body\r\n"});
    ASSERT_EQ(sigs.size(), 1u);
    ASSERT_TRUE(sigs[0].error.empty()) << sigs[0].error;
    // From once more than present; Received, Message-ID and X-Custom are
    // not in OpenDKIM's default list.
    EXPECT_EQ(tag(sigs[0].value, "h"), "from:to:subject:date:from") << sigs[0].value;
    EXPECT_EQ(tag(sigs[0].value, "c"), "relaxed/relaxed");
    EXPECT_EQ(tag(sigs[0].value, "a"), "rsa-sha256");
    EXPECT_EQ(tag(sigs[0].value, "l"), "(absent)");
    EXPECT_NE(tag(sigs[0].value, "t"), "(absent)");
    EXPECT_EQ(tag(sigs[0].value, "x"), "(absent)");
    EXPECT_EQ(sigs[0].value.find('\r'), std::string::npos);
}

TEST(DkimSigner, DefaultHeaderListIsOpenDkimsDefault) {
    // Migration: with no sign_headers, the same fields are signed as
    // OpenDKIM signs by default (libopendkim's dkim_should_signhdrs).
    std::vector<std::string> opendkim;
    for (const unsigned char** h = dkim_should_signhdrs; *h != nullptr; ++h)
        opendkim.emplace_back(reinterpret_cast<const char*>(*h));
    EXPECT_EQ(auth::dkim_default_sign_headers(), opendkim);
}

TEST(DkimSigner, ConfiguredHeaderListsAndExpiryAreUsed) {
    auth::DkimSignOptions o;
    o.sign_headers = {"from", "x-custom", "reply-to"};
    o.oversign_headers = {"from", "reply-to"};
    o.expire = std::chrono::hours(24 * 7);
    o.keys.push_back(key_of(ed_pem(), "k", "example.com", "e1"));
    auth::DkimSigner signer(o);
    auto sigs = sign(o, {{&o.keys[0], "example.com", "test"}}, kHeaders, {"body\r\n"}, 1'800'000'000);
    ASSERT_TRUE(sigs[0].error.empty()) << sigs[0].error;
    EXPECT_EQ(tag(sigs[0].value, "h"), "from:x-custom:from:reply-to") << sigs[0].value;
    EXPECT_EQ(tag(sigs[0].value, "a"), "ed25519-sha256");
    EXPECT_EQ(tag(sigs[0].value, "t"), "1800000000");
    EXPECT_EQ(tag(sigs[0].value, "x"), "1800604800");
}

TEST(DkimSigner, DualSignaturesCarryTheSameHeaderListAndTags) {
    // Both algorithms go through one signature maker: the two signatures
    // must say the same apart from a=, bh= and b=.
    auth::DkimSignOptions o;
    o.oversign_headers = {"from", "reply-to"};
    o.expire = std::chrono::hours(1);
    o.header_canon = auth::DkimCanon::Simple;
    o.keys.push_back(key_of(rsa_pem(), "r", "example.com", "r1"));
    o.keys.push_back(key_of(ed_pem(), "e", "example.com", "e1"));
    Headers headers = kHeaders;
    headers.push_back({"to", " second@example.net"});
    auto sigs = sign(o, {{&o.keys[0], "example.com", "test"}, {&o.keys[1], "example.com", "test"}}, headers,
                     {"body\r\n"}, 1'800'000'000);
    ASSERT_EQ(sigs.size(), 2u);
    ASSERT_TRUE(sigs[0].error.empty() && sigs[1].error.empty()) << sigs[0].error << sigs[1].error;
    EXPECT_EQ(tag(sigs[1].value, "h"), "from:to:subject:date:to:from:reply-to") << sigs[1].value;
    for (const char* t : {"v", "c", "d", "t", "x", "h", "bh", "l", "i", "q"})
        EXPECT_EQ(tag(sigs[0].value, t), tag(sigs[1].value, t)) << t << "\n" << sigs[0].value << "\n" << sigs[1].value;
    EXPECT_EQ(tag(sigs[1].value, "a"), "ed25519-sha256");
    // The same tags in the same order: the value up to bh= differs only in a= and s=.
    auto prefix = [](std::string v) {
        v = v.substr(0, v.find("; bh="));
        for (const char* a : {"rsa-sha256", "ed25519-sha256", "s=r1", "s=e1"}) {
            const auto at = v.find(a);
            if (at != std::string::npos) v.erase(at, std::string(a).size());
        }
        return v;
    };
    EXPECT_EQ(prefix(sigs[0].value), prefix(sigs[1].value));
}

TEST(DkimSigner, MessageWithoutFromIsAnErrorWithEitherAlgorithm) {
    // RFC 6376 section 5.4: From MUST be signed; libopendkim refused, and
    // so does our signer with either algorithm.
    auth::DkimSignOptions o;
    o.keys.push_back(key_of(rsa_pem(), "r", "example.com", "r1"));
    o.keys.push_back(key_of(ed_pem(), "e", "example.com", "e1"));
    auto sigs = sign(o, {{&o.keys[0], "example.com", "test"}, {&o.keys[1], "example.com", "test"}},
                     {{"To", " x@example.net"}}, {"body\r\n"});
    ASSERT_EQ(sigs.size(), 2u);
    for (const auto& s : sigs) {
        EXPECT_TRUE(s.value.empty()) << s.value;
        EXPECT_NE(util::ascii_lower(s.error).find("from"), std::string::npos) << s.error;
    }
}

#if defined(__SANITIZE_ADDRESS__)
TEST(DkimSigner, Ed25519SigningKeepsNoMemoryPerSignature) {
    GTEST_SKIP() << "heap counters do not see ASan's allocator; LeakSanitizer checks this test program instead";
}
TEST(DkimSigner, RsaSigningKeepsNoMemoryPerSignature) {
    GTEST_SKIP() << "heap counters do not see ASan's allocator; LeakSanitizer checks this test program instead";
}
#else
// How much the heap grew over `signatures` signatures with `pem`, after a
// warm-up: what one signer and its first messages may keep is allowed.
long heap_growth_over_signatures(const std::string& pem, int signatures) {
    auth::DkimSignOptions o;
    o.keys.push_back(key_of(pem, "k", "example.com", "s1"));
    auth::DkimSigner signer(o);
    bool ok = true;
    auto one = [&] {
        auto m = signer.start("T", {{&o.keys[0], "example.com", "test"}}, kHeaders);
        m->body("Hello\r\n");
        const auto sigs = m->finish();
        ok = ok && sigs.size() == 1 && sigs[0].error.empty();
    };
    for (int i = 0; i < 50; ++i) one();
    const auto before = mallinfo2().uordblks;
    for (int i = 0; i < signatures; ++i) one();
    const auto after = mallinfo2().uordblks;
    EXPECT_TRUE(ok) << "a signature failed";
    return static_cast<long>(after) - static_cast<long>(before);
}

TEST(DkimSigner, Ed25519SigningKeepsNoMemoryPerSignature) {
    // libopendkim 2.11 kept each ed25519 handle's parsed key (a few hundred
    // bytes a signature): 2000 signatures must not grow the heap by more
    // than what one signer and its first messages may keep.
    constexpr int kSignatures = 2000;
    const long grown = heap_growth_over_signatures(ed_pem(), kSignatures);
    EXPECT_LT(grown, 64 * 1024) << grown / kSignatures << " bytes per signature";
}

TEST(DkimSigner, RsaSigningKeepsNoMemoryPerSignature) {
    // The same bound for rsa-sha256, made the same way since libopendkim
    // stopped signing (the key parsed once and shared by every signature).
    // Fewer signatures: each costs a 2048-bit private-key operation.
    constexpr int kSignatures = 1000;
    const long grown = heap_growth_over_signatures(rsa_pem(), kSignatures);
    EXPECT_LT(grown, 64 * 1024) << grown / kSignatures << " bytes per signature";
}
#endif

// ---- independent verifiers ---------------------------------------------------

struct OracleCase {
    std::string name;
    std::string message;  // as delivered, CRLF
    bool expect_pass = true;
};

std::string delivered(const std::vector<Signed>& sigs, const Headers& headers, const std::string& body) {
    std::string out;
    for (const auto& s : sigs) {
        std::string v = s.value;
        std::string crlf;
        for (char c : v) {
            if (c == '\n') crlf += '\r';
            crlf += c;
        }
        out += "DKIM-Signature: " + crlf + "\r\n";
    }
    // Over SMTP every line ends in CRLF, folds of header fields included.
    auto crlf = [&out](const std::string& text) {
        for (std::size_t i = 0; i < text.size(); ++i) {
            if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
            out += text[i];
        }
    };
    for (const auto& [n, v] : headers) crlf(n + ":" + v + "\r\n");
    out += "\r\n";
    crlf(body);
    return out;
}

std::map<std::string, std::string> run_oracle(const std::string& command) {
    std::map<std::string, std::string> out;
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char line[512];
    while (std::fgets(line, sizeof line, p)) {
        std::istringstream in(line);
        std::string file, verdict;
        in >> file >> verdict;
        out[file] = verdict;
    }
    const int status = pclose(p);
    EXPECT_EQ(status, 0) << command;
    return out;
}

std::string source_dir() {
    const char* top = std::getenv("TOP_SRCDIR");
    return top ? top : ".";
}

TEST(DkimSignerOracles, EverySignatureVerifiesWithPythonDkimAndMailDkim) {
    TempDir dir;
    std::vector<auth::DkimSigningKey> keys = {key_of(rsa_pem(), "r", "example.com", "2026r"),
                                              key_of(ed_pem(), "e", "example.com", "2026e")};
    std::string zone;
    for (const auto& k : keys) zone += k.selector + "._domainkey." + k.domain + "\t" + k.dns_record() + "\n";
    dir.write("zone.txt", zone, 0644);

    const std::vector<std::pair<std::string, std::vector<std::string>>> bodies = {
        {"plain", {"Hello,\r\nworld.\r\n"}},
        {"trailing-blank-lines", {"Hello\r\n\r\n\r\n\r\n"}},
        {"bare-lf", {"line one\nline two\n", "\nend\n"}},
        {"split-crlf", {"line one\r", "\nline two\r\n"}},
        {"eight-bit", {"Gr\xc3\xbc\xc3\x9f" "e, \xe9t\xe9\r\n  trailing  spaces \t\r\n"}},
        {"empty", {}},
    };
    const std::vector<Headers> header_sets = {
        kHeaders,
        {{"From", " a@example.com"}},
        {{"from", "  spaced@example.com  "}, {"SUBJECT", " Mixed  case\r\n  and\tfolds"}, {"Cc", " c@example.net"},
         {"Reply-To", " r@example.com"}, {"List-Id", " <list.example.com>"}},
        // Two instances of a signed name (section 5.4.2: hashed bottom-up),
        // an unsigned one between them, and a fold with a bare LF.
        {{"To", " one@example.net"}, {"From", " b@example.com"}, {"Received", " from x"},
         {"to", " two@example.net"}, {"Subject", " bare\n\tLF fold"}},
    };
    const std::vector<std::pair<auth::DkimCanon, auth::DkimCanon>> canons = {
        {auth::DkimCanon::Relaxed, auth::DkimCanon::Relaxed},
        {auth::DkimCanon::Simple, auth::DkimCanon::Simple},
        {auth::DkimCanon::Relaxed, auth::DkimCanon::Simple},
        {auth::DkimCanon::Simple, auth::DkimCanon::Relaxed},
    };
    std::map<std::string, bool> expected;
    std::set<std::string> ed_only;  // Mail::DKIM cannot check these
    int n = 0;
    for (const auto& [hc, bc] : canons) {
        auth::DkimSignOptions o;
        o.header_canon = hc;
        o.body_canon = bc;
        for (std::size_t h = 0; h < header_sets.size(); ++h) {
            for (const auto& [body_name, chunks] : bodies) {
                // Both keys at once (dual signing) and each alone.
                const std::vector<std::vector<const auth::DkimSigningKey*>> key_sets = {
                    {&keys[0]}, {&keys[1]}, {&keys[1], &keys[0]}};
                for (const auto& ks : key_sets) {
                    std::vector<auth::DkimKeyChoice> choices;
                    for (const auto* k : ks) choices.push_back({k, k->domain, "test"});
                    auto sigs = sign(o, choices, header_sets[h], chunks);
                    for (const auto& s : sigs) ASSERT_TRUE(s.error.empty()) << s.error;
                    std::string body;
                    for (const auto& c : chunks) body += c;
                    const std::string base = std::to_string(++n) + "-" + body_name + "-h" + std::to_string(h) + "-" +
                                             (hc == auth::DkimCanon::Simple ? "s" : "r") +
                                             (bc == auth::DkimCanon::Simple ? "s" : "r") + "-k" +
                                             std::to_string(ks.size()) + (ks[0] == &keys[0] ? "rsa" : "ed");
                    dir.write(base + ".eml", delivered(sigs, header_sets[h], body), 0644);
                    expected[base + ".eml"] = true;
                    if (ks.size() == 1 && ks[0] == &keys[1]) ed_only.insert(base);
                    if (h == 0 && ks.size() == 1) {
                        // A changed body, and a From: added on the way, must fail.
                        dir.write(base + "-changed-body.eml", delivered(sigs, header_sets[h], body + "PS\r\n"), 0644);
                        expected[base + "-changed-body.eml"] = false;
                        Headers more = header_sets[h];
                        more.insert(more.begin(), {"From", " Mallory <m@evil.example>"});
                        dir.write(base + "-added-from.eml", delivered(sigs, more, body), 0644);
                        expected[base + "-added-from.eml"] = false;
                    }
                }
            }
        }
    }
    const std::string d = dir.path().string();
    for (const bool perl : {false, true}) {
        const std::string oracle = perl ? "perl " + source_dir() + "/tests/unit/dkim_oracle.pl"
                                        : "/usr/bin/python3 " + source_dir() + "/tests/unit/dkim_oracle.py";
        auto results = run_oracle(oracle + " " + d);
        ASSERT_EQ(results.size(), expected.size()) << oracle << " (python3-dkim and libmail-dkim-perl installed?)";
        int checked = 0;
        for (const auto& [file, pass] : expected) {
            const bool unsupported = perl && std::any_of(ed_only.begin(), ed_only.end(), [&](const std::string& e) {
                return file.rfind(e, 0) == 0 && (file.size() == e.size() + 4 || file[e.size()] == '-');
            });
            if (unsupported) {
                EXPECT_EQ(results[file], "unsupported") << oracle << " " << file;
                continue;
            }
            ++checked;
            EXPECT_EQ(results[file], pass ? "pass" : "fail") << oracle << " " << file;
        }
        EXPECT_GT(checked, 100) << oracle;
    }
}

TEST(DkimSigner, IdentityIsWrittenAsQuotedPrintableAndVerifies) {
    // i= is DKIM-Quoted-Printable (RFC 6376 sections 2.11 and 3.5): ';' and
    // '=' in a local part are written =3B and =3D. python3-dkim checks the
    // signature and that i= is within d=.
    TempDir dir;
    auth::DkimSignOptions o;
    o.keys.push_back(key_of(rsa_pem(), "r", "example.com", "2026r"));
    o.keys.push_back(key_of(ed_pem(), "e", "example.com", "2026e"));
    dir.write("zone.txt",
              "2026r._domainkey.example.com\t" + o.keys[0].dns_record() + "\n2026e._domainkey.example.com\t" +
                  o.keys[1].dns_record() + "\n",
              0644);
    const std::vector<auth::DkimKeyChoice> choices = {{&o.keys[0], "example.com", "test", "odd;one=x@mail.example.com"},
                                                      {&o.keys[1], "example.com", "test", "@example.com"}};
    const auto sigs = sign(o, choices, kHeaders, {"body\r\n"});
    ASSERT_EQ(sigs.size(), 2u);
    ASSERT_TRUE(sigs[0].error.empty() && sigs[1].error.empty()) << sigs[0].error << sigs[1].error;
    EXPECT_NE(sigs[0].value.find("; d=example.com; i=odd=3Bone=3Dx@mail.example.com; s=2026r;"), std::string::npos)
        << sigs[0].value;
    EXPECT_NE(sigs[1].value.find("; i=@example.com; s=2026e;"), std::string::npos) << sigs[1].value;
    dir.write("identity.eml", delivered(sigs, kHeaders, "body\r\n"), 0644);
    const auto results = run_oracle("/usr/bin/python3 " + source_dir() + "/tests/unit/dkim_oracle.py " +
                                    dir.path().string());
    ASSERT_EQ(results.count("identity.eml"), 1u) << "python3-dkim installed?";
    EXPECT_EQ(results.at("identity.eml"), "pass");
}

// ---- who gets signed: the session ------------------------------------------

const char* kSessionConfig = R"toml(
[milter]
authserv_id = "mx.example.com"

[dns]
offline = true

[spf]
enabled = false

[dmarc]
enabled = false

[[accepted_domain]]
domain = "example.com"

[dkim_signing]
key_table = "KeyTable"
signing_table = "refile:SigningTable"
@EXTRA@

[[connector]]
name = "Internet"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers", "ExchangeUsers"]
tarpit_interval = 0
dkim_sign = true

[[connector]]
name = "Client Frontend"
bindings = ["0.0.0.0:587"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["ExchangeUsers"]
dkim_sign = true
[connector.grant]
AuthenticatedUsers = ["Ms-Exch-SMTP-Accept-Any-Sender", "Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender"]

[[connector]]
name = "Devices"
bindings = ["0.0.0.0:2525"]
remote_ip_ranges = ["10.0.0.0/8"]
permission_groups = ["AnonymousUsers"]
dkim_sign = true
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Unsigned Devices"
bindings = ["0.0.0.0:2526"]
remote_ip_ranges = ["10.0.0.0/8"]
permission_groups = ["AnonymousUsers"]
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]
)toml";

struct SessionSigning : ::testing::Test {
    TempDir dir;
    std::shared_ptr<const session::Runtime> runtime;
    std::shared_ptr<session::Shared> shared = std::make_shared<session::Shared>();
    std::vector<std::string> log;
    std::vector<auth::DkimSigningKey> keys;

    std::string key_table = "rsa example.com:2026r:keys/rsa.private\ned example.com:2026e:keys/ed.private\n";

    void load(const std::string& extra = "", const std::string& signing_table = "*@example.com rsa\n") {
        dir.write("keys/rsa.private", rsa_pem());
        dir.write("keys/ed.private", ed_pem());
        dir.write("KeyTable", key_table);
        dir.write("SigningTable", signing_table);
        std::string text = kSessionConfig;
        text.replace(text.find("@EXTRA@"), 7, extra);
        auto loaded = config::load_string(text, (dir.path() / "c.conf").string(), dir.path().string());
        for (auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
        ASSERT_TRUE(loaded.config);
        keys = loaded.config->dkim_signing.keys;
        std::vector<dns::ZoneError> ze;
        runtime = session::build_runtime(loaded.config, dns::make_resolver(loaded.config->dns, ze)).runtime;
        ASSERT_TRUE(runtime);
    }

    // One message through a session; returns the end-of-message outcome.
    session::Outcome run(std::uint16_t port, const std::string& client, const session::SecurityFacts& sec,
                         const Headers& headers, const std::string& body, bool local = false) {
        session::Session s(runtime, shared, [this](std::string_view l) { log.emplace_back(l); });
        s.set_header_leading_space(true);
        session::ConnectFacts facts;
        facts.client = policy::IpAddress::parse(client);
        facts.local.address = policy::IpAddress::parse("192.0.2.1");
        facts.local.port = port;
        if (local) {
            facts.client = policy::IpAddress::parse("127.0.0.1");
            facts.local.address = facts.client;
            facts.local.port.reset();
            facts.evidence.family = policy::ConnectEvidence::Family::Inet;
            facts.evidence.address = facts.client;
            facts.evidence.client_addr = facts.evidence.daemon_addr = "127.0.0.1";
            facts.evidence.client_port = facts.evidence.daemon_port = "0";
        }
        EXPECT_TRUE(s.on_connect(facts).verdict.ok());
        s.set_queue_id("Q1");
        s.on_helo("client.example", sec);
        const auto mail = s.on_mail({"<alice@example.com>"}, sec, std::chrono::steady_clock::now());
        EXPECT_TRUE(mail.verdict.ok()) << mail.verdict.reason;
        const auto rcpt = s.on_rcpt({"<bob@example.com>"});
        EXPECT_TRUE(rcpt.verdict.ok()) << rcpt.verdict.reason;
        for (const auto& [n, v] : headers) s.on_header(n, v);
        EXPECT_TRUE(s.on_end_of_headers().verdict.ok());
        s.on_body(body);
        return s.on_end_of_message();
    }

    static session::SecurityFacts user() {
        session::SecurityFacts f;
        f.identity.auth_user = "alice";
        f.identity.auth_type = "PLAIN";
        f.identity.tls = true;
        return f;
    }

    static std::vector<std::string> signatures(const session::Outcome& o) {
        std::vector<std::string> out;
        for (const auto& e : o.header_edits)
            if (e.kind == session::HeaderEdit::Kind::Insert && e.name == "DKIM-Signature") out.push_back(e.value);
        return out;
    }

    // The message as the MTA delivers it (our inserts at the top, forged
    // Authentication-Results removed), verified with our own verifier
    // against the published keys.
    std::vector<auth::DkimSignatureResult> verify(const session::Outcome& o, const Headers& headers,
                                                  const std::string& body) {
        auto zone = std::make_shared<dns::StaticZone>();
        for (const auto& k : keys) {
            dns::Record r;
            r.type = dns::Type::TXT;
            const std::string rec = k.dns_record();
            for (std::size_t i = 0; i < rec.size(); i += 255) r.strings.push_back(rec.substr(i, 255));
            zone->add(k.selector + "._domainkey." + k.domain, r);
        }
        auth::DkimVerifier verifier(std::make_shared<dns::StaticResolver>(zone), {});
        auto m = verifier.start("V");
        Headers out;
        for (const auto& e : o.header_edits)
            if (e.kind == session::HeaderEdit::Kind::Insert) out.insert(out.begin(), {e.name, " " + e.value});
        int authres = 0;
        std::vector<int> deleted;
        for (const auto& e : o.header_edits)
            if (e.kind == session::HeaderEdit::Kind::Delete) deleted.push_back(e.index);
        for (const auto& h : headers) {
            if (h.first == "Authentication-Results" &&
                std::find(deleted.begin(), deleted.end(), ++authres) != deleted.end())
                continue;
            out.push_back(h);
        }
        for (const auto& [n, v] : out) m->header(n, v);
        m->end_of_headers();
        m->body(body);
        auto budget = dns::Budget::unlimited();
        return m->finish(budget);
    }
};

const Headers kMessage = {
    {"From", " Alice <alice@example.com>"},
    {"To", " bob@example.com"},
    {"Subject", " test"},
    {"Authentication-Results", " mx.example.com; dkim=pass (forged)"},
};
const std::string kBody = "Hello\r\n";

TEST_F(SessionSigning, AuthenticatedSubmissionIsSignedAsDelivered) {
    load();
    auto o = run(587, "198.51.100.7", user(), kMessage, kBody);
    ASSERT_TRUE(o.verdict.ok()) << o.verdict.reason;
    ASSERT_EQ(signatures(o).size(), 1u);
    auto results = verify(o, kMessage, kBody);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
    EXPECT_EQ(results[0].domain, "example.com");
    bool logged = false;
    for (const auto& l : log)
        if (l.find("stage=SIGN") != std::string::npos && l.find("signed d=example.com s=2026r a=rsa-sha256") !=
                                                               std::string::npos &&
            l.find("SigningTable:1 *@example.com -> key rsa") != std::string::npos &&
            l.find("authenticated session") != std::string::npos)
            logged = true;
    EXPECT_TRUE(logged) << ::testing::PrintToString(log);
}

TEST_F(SessionSigning, AnonymousInboundIsNeverSignedEvenOnASigningConnector) {
    load();
    auto o = run(25, "198.51.100.7", {}, kMessage, kBody);
    ASSERT_TRUE(o.verdict.ok());
    EXPECT_TRUE(signatures(o).empty());
}

TEST_F(SessionSigning, RelayConnectorForDevicesSignsWhenItSaysSo) {
    load();
    EXPECT_EQ(signatures(run(2525, "10.1.2.3", {}, kMessage, kBody)).size(), 1u);
    EXPECT_TRUE(signatures(run(2526, "10.1.2.3", {}, kMessage, kBody)).empty());
}

TEST_F(SessionSigning, LocalSubmissionIsSignedByTheBuiltInLocalConnector) {
    load();
    EXPECT_EQ(signatures(run(0, "127.0.0.1", {}, kMessage, kBody, true)).size(), 1u);
    load("local_submissions = false");
    EXPECT_TRUE(signatures(run(0, "127.0.0.1", {}, kMessage, kBody, true)).empty());
}

TEST_F(SessionSigning, DualSigningWithMultipleSignatures) {
    load("multiple_signatures = true", "*@example.com ed\n*@example.com rsa\n");
    auto o = run(587, "198.51.100.7", user(), kMessage, kBody);
    ASSERT_EQ(signatures(o).size(), 2u);
    auto results = verify(o, kMessage, kBody);
    ASSERT_EQ(results.size(), 2u);
    for (const auto& r : results) EXPECT_EQ(r.result, auth::DkimResult::Pass) << r.reason;
}

TEST_F(SessionSigning, SenderOutsideTheSigningTableIsDeliveredUnsigned) {
    load();
    Headers other = kMessage;
    other[0].second = " someone@elsewhere.example";
    auto o = run(587, "198.51.100.7", user(), other, kBody);
    EXPECT_TRUE(o.verdict.ok());
    EXPECT_TRUE(signatures(o).empty());
}

TEST_F(SessionSigning, UnusableKeyTempfailsByDefaultOrDeliversUnsignedWithAccept) {
    // "%": the key named after the From: domain, which the key table lacks.
    load("", "* %\n");
    auto o = run(587, "198.51.100.7", user(), kMessage, kBody);
    EXPECT_EQ(o.verdict.action, policy::Verdict::Action::TempFail);
    EXPECT_NE(o.verdict.reason.find("DKIM signing failed"), std::string::npos) << o.verdict.reason;
    load("failure_action = \"accept\"", "* %\n");
    o = run(587, "198.51.100.7", user(), kMessage, kBody);
    EXPECT_TRUE(o.verdict.ok());
    EXPECT_TRUE(signatures(o).empty());
}

TEST_F(SessionSigning, OurOwnValidSignatureIsNotMadeTwice) {
    load();
    auto first = run(587, "198.51.100.7", user(), kMessage, kBody);
    ASSERT_EQ(signatures(first).size(), 1u);
    Headers again = {{"DKIM-Signature", " " + signatures(first)[0]}};
    for (const auto& h : kMessage)
        if (h.first != "Authentication-Results") again.push_back(h);
    auto second = run(587, "198.51.100.7", user(), again, kBody);
    EXPECT_TRUE(signatures(second).empty());
    // A changed body invalidates it: then we sign again.
    auto third = run(587, "198.51.100.7", user(), again, "Changed\r\n");
    EXPECT_EQ(signatures(third).size(), 1u);
}

TEST_F(SessionSigning, OurOwnValidSignatureWithPercentDomainIsNotMadeTwice) {
    // A KeyTable domain of "%" signs as d=<the From: domain>: our signature
    // already on the message is recognised for that d= too.
    key_table = "pct %:2026p:keys/rsa.private\ned %:2026e:keys/ed.private\n";
    load("multiple_signatures = true", "*@example.com pct\n*@example.com ed\n");
    auto first = run(587, "198.51.100.7", user(), kMessage, kBody);
    ASSERT_EQ(signatures(first).size(), 2u);
    for (const auto& s : signatures(first)) EXPECT_NE(s.find("d=example.com;"), std::string::npos) << s;
    Headers again;
    for (const auto& s : signatures(first)) again.push_back({"DKIM-Signature", " " + s});
    for (const auto& h : kMessage)
        if (h.first != "Authentication-Results") again.push_back(h);
    auto second = run(587, "198.51.100.7", user(), again, kBody);
    EXPECT_TRUE(second.verdict.ok()) << second.verdict.reason;
    EXPECT_TRUE(signatures(second).empty()) << signatures(second).size() << " signed again";
    // A changed body invalidates them: then both sign again.
    auto third = run(587, "198.51.100.7", user(), again, "Changed\r\n");
    EXPECT_EQ(signatures(third).size(), 2u);
}

TEST_F(SessionSigning, IdentityFromTheSigningTableIsLoggedAndSigned) {
    load("", "*@example.com rsa alice@%\n");
    auto o = run(587, "198.51.100.7", user(), kMessage, kBody);
    ASSERT_EQ(signatures(o).size(), 1u);
    EXPECT_NE(signatures(o)[0].find("; i=alice@example.com;"), std::string::npos) << signatures(o)[0];
    auto results = verify(o, kMessage, kBody);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
    EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& l) {
        return l.find("stage=SIGN") != std::string::npos &&
               l.find("signed d=example.com s=2026r a=rsa-sha256 i=alice@example.com") != std::string::npos;
    }));
}

TEST(SigningDecision, PrincipalsThatMayBeSigned) {
    policy::Connector c;
    c.name = "C";
    policy::SessionRights anon;
    EXPECT_FALSE(policy::decide_signing(c, true, anon, policy::LocalSubmission::No).sign);
    EXPECT_TRUE(policy::decide_signing(c, true, anon, policy::LocalSubmission::PostfixStandIn).sign);
    policy::SessionRights user;
    user.authenticated = true;
    EXPECT_TRUE(policy::decide_signing(c, true, user, policy::LocalSubmission::No).sign);
    EXPECT_FALSE(policy::decide_signing(c, false, user, policy::LocalSubmission::No).sign);
    policy::SessionRights secured;
    secured.externally_secured = true;
    EXPECT_TRUE(policy::decide_signing(c, true, secured, policy::LocalSubmission::No).sign);
}

}  // namespace

namespace {

// ---- configuration: native form, errors, OpenDKIM migration ---------------------

const char* kMinimal = R"toml(
[[connector]]
name = "Client Frontend"
bindings = ["0.0.0.0:587"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["ExchangeUsers"]
dkim_sign = true
)toml";

TEST(DkimSigningConfig, NativeKeysAndRulesLoad) {
    TempDir dir;
    dir.write("keys/ed.private", ed_pem());
    dir.write("keys/rsa.private", rsa_pem());
    const std::string text = std::string(kMinimal) + R"toml(
[dkim_signing]
canonicalization = "simple/relaxed"
oversign_headers = ["From", "Subject"]
expire = "168h"
[[dkim_signing.key]]
name = "ed"
domain = "Example.COM"
selector = "2026e"
private_key = "keys/ed.private"
[[dkim_signing.key]]
name = "rsa"
domain = "example.com"
selector = "2026r"
private_key = "keys/rsa.private"
[[dkim_signing.rule]]
pattern = "*@example.com"
keys = ["ed", "rsa"]
)toml";
    auto r = config::load_string(text, (dir.path() / "c.conf").string(), dir.path().string());
    ASSERT_TRUE(r.config) << (r.errors.empty() ? std::string() : r.errors[0].to_string());
    const auto& o = r.config->dkim_signing;
    ASSERT_EQ(o.keys.size(), 2u);
    EXPECT_EQ(o.keys[0].domain, "example.com");
    EXPECT_EQ(o.header_canon, auth::DkimCanon::Simple);
    EXPECT_EQ(o.body_canon, auth::DkimCanon::Relaxed);
    EXPECT_EQ(o.oversign_headers, (std::vector<std::string>{"from", "subject"}));
    EXPECT_EQ(o.expire, std::chrono::hours(168));
    EXPECT_EQ(chosen(o, "bob", "example.com"),
              (std::vector<std::string>{"ed d=example.com", "rsa d=example.com"}));
}

TEST(DkimSigningConfig, NativeRuleIdentityIsCheckedAndAnIdentityOutsideDIsWarned) {
    TempDir dir;
    dir.write("keys/rsa.private", rsa_pem());
    // The native tables written inline, one rule per load.
    const auto load = [&](const std::string& identity) {
        return config::load_string(
            std::string(kMinimal) +
                "[dkim_signing]\nkey = [{ name = \"rsa\", domain = \"example.com\", selector = \"2026r\", "
                "private_key = \"keys/rsa.private\" }]\nrule = [{ pattern = \"*@example.com\", keys = [\"rsa\"], "
                "identity = \"" + identity + "\" }]\n",
            (dir.path() / "c.conf").string(), dir.path().string());
    };
    auto good = load("%s@%");
    ASSERT_TRUE(good.config) << (good.errors.empty() ? std::string() : good.errors[0].to_string());
    EXPECT_EQ(good.config->dkim_signing.rules[0].identity, "%s@%");
    auto bad = load("no address");
    EXPECT_FALSE(bad.config);
    ASSERT_FALSE(bad.errors.empty());
    EXPECT_NE(bad.errors[0].to_string().find("identity"), std::string::npos) << bad.errors[0].to_string();
    auto outside = load("a@example.net");
    ASSERT_TRUE(outside.config);
    EXPECT_TRUE(std::any_of(outside.config->warnings.begin(), outside.config->warnings.end(), [](const std::string& w) {
        return w.find("i=a@example.net is not in d=example.com") != std::string::npos;
    }));
}

TEST(DkimSigningConfig, UnsafeKeyIsRefusedAtTheLineThatNamesIt) {
    TempDir dir;
    dir.write("keys/rsa.private", rsa_pem(), 0644);
    const std::string text = std::string(kMinimal) +
                             "[dkim_signing]\n"
                             "[[dkim_signing.key]]\n"
                             "name = \"rsa\"\n"
                             "domain = \"example.com\"\n"
                             "selector = \"s\"\n"
                             "private_key = \"keys/rsa.private\"\n"
                             "[[dkim_signing.rule]]\n"
                             "pattern = \"*@example.com\"\n"
                             "keys = [\"rsa\"]\n";
    auto r = config::load_string(text, "c.conf", dir.path().string());
    ASSERT_FALSE(r.config);
    bool found = false;
    for (const auto& e : r.errors)
        if (e.line == 13 && e.message.find("mode 0644") != std::string::npos) found = true;
    EXPECT_TRUE(found) << (r.errors.empty() ? "" : r.errors[0].to_string());
}

TEST(DkimSigningConfig, SigningConnectorWithoutKeysIsAnError) {
    auto r = config::load_string(kMinimal, "c.conf");
    ASSERT_FALSE(r.config);
    EXPECT_NE(r.errors[0].message.find("dkim_sign = true needs [dkim_signing]"), std::string::npos);
}

TEST(DkimSigningConfig, TypicalOpenDkimDirectoryIsUsedUnchanged) {
    TempDir dir;
    // What a Debian OpenDKIM signing set-up looks like, paths absolute.
    const std::string etc = (dir.path() / "etc/opendkim").string();
    dir.write("etc/opendkim/keys/example.com/2026a.private", rsa_pem());
    dir.write("etc/opendkim/keys/example.org/2026b.private", ed_pem());
    dir.write("etc/opendkim/KeyTable",
              "2026a._domainkey.example.com example.com:2026a:" + etc + "/keys/example.com/2026a.private\n"
              "2026b._domainkey.example.org example.org:2026b:" + etc + "/keys/example.org/2026b.private\n");
    dir.write("etc/opendkim/SigningTable",
              "# first match wins\n"
              "*@example.com 2026a._domainkey.example.com\n"
              "*@example.org 2026b._domainkey.example.org\n");
    dir.write("etc/opendkim/TrustedHosts", "127.0.0.1\n::1\n");
    dir.write("etc/opendkim.conf",
              "Syslog yes\nUMask 007\nMode sv\nSocket local:/run/opendkim/opendkim.sock\n"
              "Canonicalization relaxed/simple\nOversignHeaders From\n"
              "KeyTable " + etc + "/KeyTable\nSigningTable refile:" + etc + "/SigningTable\n"
              "ExternalIgnoreList " + etc + "/TrustedHosts\nInternalHosts " + etc + "/TrustedHosts\n"
              "UserID opendkim\nPidFile /run/opendkim/opendkim.pid\n");
    const std::string text = std::string(kMinimal) + "[dkim_signing]\nopendkim_conf = \"etc/opendkim.conf\"\n";
    auto r = config::load_string(text, "c.conf", dir.path().string());
    ASSERT_TRUE(r.config) << (r.errors.empty() ? std::string() : r.errors[0].to_string());
    const auto& o = r.config->dkim_signing;
    EXPECT_EQ(o.header_canon, auth::DkimCanon::Relaxed);
    EXPECT_EQ(o.body_canon, auth::DkimCanon::Simple);
    EXPECT_EQ(chosen(o, "bob", "example.com"),
              std::vector<std::string>{"2026a._domainkey.example.com d=example.com"});
    EXPECT_EQ(chosen(o, "bob", "example.org"),
              std::vector<std::string>{"2026b._domainkey.example.org d=example.org"});
    bool noted = false;
    for (const auto& n : r.config->notes)
        if (n.find("not used by connector-milter") != std::string::npos && n.find("Socket") != std::string::npos)
            noted = true;
    EXPECT_TRUE(noted);
}

TEST(DkimSigningConfig, OpenDkimSingleKeyModeSignsTheListedDomains) {
    TempDir dir;
    dir.write("dkim/mail.private", rsa_pem());
    dir.write("opendkim.conf", "Domain example.com, example.net\nSelector mail\nKeyFile dkim/mail.private\n");
    const std::string text = std::string(kMinimal) + "[dkim_signing]\nopendkim_conf = \"opendkim.conf\"\n";
    auto r = config::load_string(text, "c.conf", dir.path().string());
    ASSERT_TRUE(r.config) << (r.errors.empty() ? std::string() : r.errors[0].to_string());
    EXPECT_EQ(chosen(r.config->dkim_signing, "a", "example.net"),
              std::vector<std::string>{"KeyFile:example.net d=example.net"});
    EXPECT_TRUE(chosen(r.config->dkim_signing, "a", "other.example").empty());
}

}  // namespace

namespace {

std::uint64_t counter_value(const std::string& algorithm, const std::string& result) {
    return metrics::catalogue().dkim_signatures.with({algorithm, result}).value();
}

TEST_F(SessionSigning, SignaturesMadeAndFailedAreCounted) {
    load("multiple_signatures = true", "*@example.com ed\n*@example.com rsa\n");
    const std::uint64_t ed = counter_value("ed25519-sha256", "made");
    const std::uint64_t rsa = counter_value("rsa-sha256", "made");
    ASSERT_EQ(signatures(run(587, "198.51.100.7", user(), kMessage, kBody)).size(), 2u);
    EXPECT_EQ(counter_value("ed25519-sha256", "made"), ed + 1);
    EXPECT_EQ(counter_value("rsa-sha256", "made"), rsa + 1);
    load("", "* %\n");
    const std::uint64_t none = counter_value("none", "failed");
    run(587, "198.51.100.7", user(), kMessage, kBody);
    EXPECT_EQ(counter_value("none", "failed"), none + 1);
}

}  // namespace
