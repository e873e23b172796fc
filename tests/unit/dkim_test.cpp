// DKIM verification through libopendkim with keys from dns::Resolver:
// results per signature, RFC 8301 (no rsa-sha1, no short RSA keys), key
// lookup failures, limits, and the line-ending normalisation the milter
// needs. Messages are signed here with libopendkim's signer and freshly
// generated OpenSSL keys; ed25519 is checked against RFC 8463's own example.
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "auth/dkim.hpp"
#include "auth/dkim_key_cache.hpp"
#include "dkim_fake_resolver.hpp"
#include "dkim_message_io.hpp"
#include "dkim_test_signer.hpp"

namespace auth {
// Readable values in test failure messages.
inline void PrintTo(DkimResult r, std::ostream* os) { *os << dkim_result_name(r); }
}  // namespace auth

namespace {

using testing_dkim::RawMessage;
using testing_dns::FakeResolver;
using namespace testing_dkim_signer;

const char* const kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.net\r\n"
    "Subject: quarterly\r\n"
    " report\r\n"
    "Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "the numbers are in.\r\n";

// The tag value of `tag` in a signature value (whitespace removed).
std::string tag_of(const std::string& sig, const std::string& tag) {
    std::string flat;
    for (char c : sig)
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') flat += c;
    const std::string key = ";" + tag + "=";
    auto pos = (";" + flat).find(key);
    if (pos == std::string::npos) return "";
    pos += key.size() - 1;
    const auto end = flat.find(';', pos);
    return flat.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

class DkimTest : public ::testing::Test {
protected:
    std::shared_ptr<FakeResolver> dns = std::make_shared<FakeResolver>();
    auth::DkimOptions settings = options_from_environment();

    // DKIM_TEST_VERIFIER=libopendkim (tests/unit/dkim_libopendkim.test):
    // the same tests on the alternative verifier.
    static auth::DkimOptions options_from_environment() {
        auth::DkimOptions o;
        const char* v = std::getenv("DKIM_TEST_VERIFIER");
        if (v != nullptr && std::string(v) == "libopendkim") o.verifier = auth::DkimVerifierKind::LibOpenDkim;
        return o;
    }

    // The message with `signatures` prepended as DKIM-Signature fields.
    static RawMessage with_signatures(const std::string& text, const std::vector<std::string>& sigs) {
        RawMessage m = testing_dkim::split_message(text);
        for (auto it = sigs.rbegin(); it != sigs.rend(); ++it)
            m.headers.insert(m.headers.begin(), {"DKIM-Signature", *it});
        return m;
    }

    std::vector<auth::DkimSignatureResult> verify(const RawMessage& m, std::size_t chunk = 4096) {
        const auth::DkimVerifier verifier(dns, settings);
        auto budget = dns::Budget::unlimited();
        return testing_dkim::verify(verifier, m, budget, chunk);
    }

    std::string signed_and_published(const SignSpec& spec, const std::string& text = kMessage) {
        dns->add_txt(spec.selector + "._domainkey." + spec.domain, publish(spec));
        return sign(text, spec);
    }
};

TEST_F(DkimTest, RsaSha256SignatureWith2048BitKeyPasses) {
    const SignSpec spec;
    const std::string sig = signed_and_published(spec);
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
    EXPECT_EQ(results[0].domain, "example.com");
    EXPECT_EQ(results[0].selector, "s1");
    EXPECT_EQ(results[0].algorithm, "rsa-sha256");
    EXPECT_EQ(results[0].key_bits, 2048u);
    EXPECT_EQ(results[0].b, tag_of(sig, "b"));
    EXPECT_GT(results[0].b.size(), 100u);
}

TEST_F(DkimTest, KeyIsFetchedThroughTheResolverAtSelectorDomainkeyName) {
    const SignSpec spec;
    const std::string sig = signed_and_published(spec);
    (void)verify(with_signatures(kMessage, {sig}));
    const std::vector<std::string> expected = {"s1._domainkey.example.com/TXT"};
    EXPECT_EQ(dns->asked(), expected);
}

TEST_F(DkimTest, ModifiedBodyFailsOnBodyHash) {
    const std::string sig = signed_and_published(SignSpec{});
    RawMessage m = with_signatures(kMessage, {sig});
    m.body += "P.S. wire the money\r\n";
    const auto results = verify(m);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Fail);
    EXPECT_EQ(results[0].reason, "body hash did not verify");
}

// `m` with its signed Subject changed after signing.
RawMessage with_forged_subject(RawMessage m) {
    for (auto& [n, v] : m.headers)
        if (n == "Subject") v = " urgent: new bank details";
    return m;
}

TEST_F(DkimTest, ModifiedSignedHeaderFails) {
    const std::string sig = signed_and_published(SignSpec{});
    const auto results = verify(with_forged_subject(with_signatures(kMessage, {sig})));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Fail);
    EXPECT_EQ(results[0].reason, "signature did not verify");
}

TEST_F(DkimTest, RsaSha1SignatureIsRefusedByPolicyWithoutKeyLookup) {
    SignSpec spec;
    spec.alg = DKIM_SIGN_RSASHA1;
    const std::string sig = signed_and_published(spec);
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Policy);
    EXPECT_EQ(results[0].reason, "rsa-sha1 not accepted (RFC 8301)");
    EXPECT_EQ(results[0].algorithm, "rsa-sha1");
    EXPECT_EQ(dns->questions(), 0u);
}

TEST_F(DkimTest, Rsa512BitKeyIsRefusedByPolicy) {
    SignSpec spec;
    spec.bits = 512;
    const std::string sig = signed_and_published(spec);
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Policy);
    EXPECT_EQ(results[0].key_bits, 512u);
    EXPECT_NE(results[0].reason.find("RFC 8301"), std::string::npos);
}

TEST_F(DkimTest, Rsa1024BitKeyIsTheSmallestThatPasses) {
    SignSpec spec;
    spec.bits = 1024;
    const std::string sig = signed_and_published(spec);
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
    EXPECT_EQ(results[0].key_bits, 1024u);
}

TEST_F(DkimTest, ConfiguredMinimumRsaBitsIsHonoured) {
    SignSpec spec;
    spec.bits = 1024;
    const std::string sig = signed_and_published(spec);
    settings.min_rsa_bits = 2048;
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Policy);
}

TEST_F(DkimTest, MissingKeyIsPermerrorNoKey) {
    const std::string sig = sign(kMessage, SignSpec{});  // not published: NXDOMAIN
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::PermError);
    EXPECT_EQ(results[0].reason, "no key");
}

TEST_F(DkimTest, KeyNameWithoutTxtRecordIsPermerrorNoKey) {
    const std::string sig = sign(kMessage, SignSpec{});
    dns->add_name("s1._domainkey.example.com");  // NODATA
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::PermError);
}

TEST_F(DkimTest, KeyLookupTimeoutIsTemperror) {
    const std::string sig = sign(kMessage, SignSpec{});
    dns->add_failure("s1._domainkey.example.com", dns::Status::Timeout);
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::TempError);
}

TEST_F(DkimTest, KeyLookupServfailIsTemperror) {
    const std::string sig = sign(kMessage, SignSpec{});
    dns->add_failure("s1._domainkey.example.com", dns::Status::ServFail);
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::TempError);
}

TEST_F(DkimTest, ExhaustedDnsBudgetIsTemperror) {
    const std::string sig = signed_and_published(SignSpec{});
    const auth::DkimVerifier verifier(dns, settings);
    dns::Budget budget(0, std::chrono::milliseconds(1000));
    const auto results = testing_dkim::verify(verifier, with_signatures(kMessage, {sig}), budget);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::TempError);
}

TEST_F(DkimTest, TemperrorOnOneSignatureDoesNotStopTheNext) {
    SignSpec broken;
    broken.domain = "down.example";
    SignSpec good;
    good.domain = "example.com";
    const std::string s1 = sign(kMessage, broken);
    dns->add_failure("s1._domainkey.down.example", dns::Status::Timeout);
    const std::string s2 = signed_and_published(good);
    const auto results = verify(with_signatures(kMessage, {s1, s2}));
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].result, auth::DkimResult::TempError);
    EXPECT_EQ(results[0].domain, "down.example");
    EXPECT_EQ(results[1].result, auth::DkimResult::Pass) << results[1].reason;
    EXPECT_EQ(results[1].domain, "example.com");
}

TEST_F(DkimTest, OnlyMaxSignaturesAreVerified) {
    std::vector<std::string> sigs;
    for (const char* d : {"a.example", "b.example", "c.example"}) {
        SignSpec spec;
        spec.domain = d;
        sigs.push_back(signed_and_published(spec));
    }
    settings.max_signatures = 2;
    const auto results = verify(with_signatures(kMessage, sigs));
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].domain, "a.example");
    EXPECT_EQ(results[1].domain, "b.example");
    EXPECT_EQ(dns->questions(), 2u);
}

TEST_F(DkimTest, HundredsOfSignaturesCostOnlyMaxSignaturesKeyLookups) {
    const std::string sig = signed_and_published(SignSpec{});
    std::vector<std::string> sigs(300, sig);
    const auto results = verify(with_signatures(kMessage, sigs));
    ASSERT_EQ(results.size(), 5u);  // the default max_signatures
    for (const auto& r : results) EXPECT_EQ(r.result, auth::DkimResult::Pass) << r.reason;
    EXPECT_LE(dns->questions(), 5u);
}

TEST_F(DkimTest, SeveralKeyRecordsAtTheSelectorArePermerror) {
    const SignSpec spec;
    const std::string sig = signed_and_published(spec);
    dns->add_txt("s1._domainkey.example.com", publish(spec));
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::PermError);
    EXPECT_EQ(results[0].reason, "multiple key records");
}

TEST_F(DkimTest, RevokedKeyIsPermerror) {
    const std::string sig = sign(kMessage, SignSpec{});
    dns->add_txt("s1._domainkey.example.com", "v=DKIM1; k=rsa; p=");
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::PermError);
    EXPECT_EQ(results[0].reason, "key revoked");
}

TEST_F(DkimTest, KeySplitOverSeveralTxtStringsIsJoined) {
    const SignSpec spec;
    const std::string sig = sign(kMessage, spec);
    const std::string record = publish(spec);
    dns->add_txt("s1._domainkey.example.com",
                 std::vector<std::string>{record.substr(0, 200), record.substr(200)});
    const auto results = verify(with_signatures(kMessage, {sig}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
}

TEST_F(DkimTest, BareLfHeadersAndBodyAreNormalisedToCrlf) {
    const std::string sig = signed_and_published(SignSpec{});
    RawMessage m = with_signatures(kMessage, {sig});
    auto strip_cr = [](std::string s) {
        std::erase(s, '\r');
        return s;
    };
    for (auto& [n, v] : m.headers) v = strip_cr(v);
    m.body = strip_cr(m.body);
    ASSERT_EQ(m.body.find('\r'), std::string::npos);
    const auto results = verify(m);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
}

TEST_F(DkimTest, CrlfSplitAcrossBodyChunksIsNotDoubled) {
    SignSpec spec;
    spec.canon = DKIM_CANON_SIMPLE;
    const std::string sig = signed_and_published(spec);
    const auto results = verify(with_signatures(kMessage, {sig}), 1);  // one byte per chunk
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
}

TEST_F(DkimTest, BareLineFeedsInTheBodyAreVerifiedAsCrlfWhateverTheChunking) {
    // Some MTAs hand the body over with bare LF line ends; DKIM signs the
    // CRLF form (RFC 6376 section 3.4.4), so they are converted, including
    // where a chunk boundary falls next to the LF.
    SignSpec spec;
    spec.canon = DKIM_CANON_SIMPLE;
    const std::string sig = signed_and_published(spec);
    RawMessage m = with_signatures(kMessage, {sig});
    std::string lf_only;
    for (std::size_t i = 0; i < m.body.size(); ++i)
        if (!(m.body[i] == '\r' && i + 1 < m.body.size() && m.body[i + 1] == '\n')) lf_only += m.body[i];
    ASSERT_NE(lf_only, m.body) << "the test body needs line ends";
    m.body = lf_only;
    for (std::size_t chunk : {1u, 2u, 7u, 4096u}) {
        const auto results = verify(m, chunk);
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << "chunk " << chunk << ": " << results[0].reason;
    }
}

TEST_F(DkimTest, SimpleCanonicalizationSeesTheHeaderValueExactlyAsReceived) {
    // Why the milter adapter negotiates SMFIP_HDR_LEADSPC: with c=simple the
    // space after the colon is signed, so dropping it breaks the signature.
    SignSpec spec;
    spec.canon = DKIM_CANON_SIMPLE;
    const std::string sig = signed_and_published(spec);
    RawMessage m = with_signatures(kMessage, {sig});
    for (auto& [n, v] : m.headers)
        if (n == "Subject" && !v.empty() && v[0] == ' ') v.erase(0, 1);
    const auto results = verify(m);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Fail);
}

TEST_F(DkimTest, UnsignedMessageHasNoResults) {
    EXPECT_TRUE(verify(testing_dkim::split_message(kMessage)).empty());
    EXPECT_EQ(dns->questions(), 0u);
}

TEST_F(DkimTest, MalformedSignatureIsNeutral) {
    const auto results =
        verify(with_signatures(kMessage, {" v=1; a=rsa-sha256; d=example.com; h=from; bh=; b="}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Neutral);
    EXPECT_EQ(dns->questions(), 0u);
}

TEST_F(DkimTest, GarbageSignatureFieldsNeverPassAndNeverCrash) {
    const std::string good = signed_and_published(SignSpec{});
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    const std::string alphabet = "v=1;a=rsa-sha256 d=example.com s=s1 bh=b=h=from:to c=simple/relaxed "
                                 "l=0 x= t= q=dns/txt\r\n\t\0\xff=;;==";
    for (int round = 0; round < 300; ++round) {
        std::string garbage;
        const auto len = next() % 200;
        for (unsigned i = 0; i < len; ++i) garbage += alphabet[next() % alphabet.size()];
        // Half of the rounds mutate a real signature instead.
        if (round % 2 == 1) {
            garbage = good;
            for (int k = 0; k < 3; ++k) garbage[next() % garbage.size()] = alphabet[next() % alphabet.size()];
        }
        const auto results = verify(with_signatures(kMessage, {garbage}));
        for (const auto& r : results)
            if (r.result == auth::DkimResult::Pass) {
                // A mutation may land in folding white space; then the
                // signature is still the genuine one.
                EXPECT_EQ(r.b, tag_of(good, "b")) << garbage;
            }
    }
}

TEST_F(DkimTest, SignedMessageWhoseFromWasRemovedDoesNotPass) {
    const std::string sig = signed_and_published(SignSpec{});
    RawMessage m = with_signatures(kMessage, {sig});
    std::erase_if(m.headers, [](const auto& h) { return h.first == "From"; });
    const auto results = verify(m);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_NE(results[0].result, auth::DkimResult::Pass);
}

TEST_F(DkimTest, FinishWithoutBodyOrEndOfHeadersStillReports) {
    const std::string sig = signed_and_published(SignSpec{});
    const auth::DkimVerifier verifier(dns, settings);
    auto budget = dns::Budget::unlimited();
    auto msg = verifier.start("q1");
    const RawMessage m = with_signatures(kMessage, {sig});
    for (const auto& [n, v] : m.headers) msg->header(n, v);
    const auto results = msg->finish(budget);  // body missing: the body hash cannot match
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Fail);
}

TEST_F(DkimTest, MessagesVerifyConcurrentlyOnSeveralThreads) {
    const std::string sig = signed_and_published(SignSpec{});
    const RawMessage m = with_signatures(kMessage, {sig});
    const auth::DkimVerifier verifier(dns, settings);
    std::atomic<int> passes{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 25; ++i) {
                auto budget = dns::Budget::unlimited();
                const auto r = testing_dkim::verify(verifier, m, budget, 13);
                if (r.size() == 1 && r[0].result == auth::DkimResult::Pass) ++passes;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(passes.load(), 100);
}

// The parsed-key cache (dkim_key_cache.hpp) sits under libopendkim by
// overriding d2i_PUBKEY_bio(): these tests check that the override still
// takes effect (a libopendkim or OpenSSL that stops calling it makes the
// counts below zero), and that it never changes a verdict. configure leaves
// the override out when its probe fails; then there is nothing to test.
#define SKIP_UNLESS_KEY_CACHE_BUILT()                                                   \
    if (!auth::dkim_key_cache::built())                                                 \
    GTEST_SKIP() << "configure did not build the DKIM key cache (see configure output)"

TEST_F(DkimTest, KeyCacheParsesASendersKeyOnceForManyMessages) {
    SKIP_UNLESS_KEY_CACHE_BUILT();
    settings.verifier = auth::DkimVerifierKind::LibOpenDkim;  // the cache is under libopendkim
    const std::string sig = signed_and_published(SignSpec{});
    auth::dkim_key_cache::clear();
    for (int i = 0; i < 3; ++i) {
        const auto results = verify(with_signatures(kMessage, {sig}));
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].result, auth::DkimResult::Pass) << results[0].reason;
        EXPECT_EQ(results[0].key_bits, 2048u);
    }
    const auto st = auth::dkim_key_cache::stats();
    EXPECT_EQ(st.misses, 1u);
    EXPECT_EQ(st.hits, 2u);
    EXPECT_EQ(st.entries, 1u);
}

TEST_F(DkimTest, CachedKeyStillFailsATamperedMessage) {
    SKIP_UNLESS_KEY_CACHE_BUILT();
    settings.verifier = auth::DkimVerifierKind::LibOpenDkim;  // the cache is under libopendkim
    const std::string sig = signed_and_published(SignSpec{});
    auth::dkim_key_cache::clear();
    ASSERT_EQ(verify(with_signatures(kMessage, {sig})).at(0).result, auth::DkimResult::Pass);
    const auto results = verify(with_forged_subject(with_signatures(kMessage, {sig})));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, auth::DkimResult::Fail);
    EXPECT_EQ(results[0].reason, "signature did not verify");
    EXPECT_EQ(auth::dkim_key_cache::stats().hits, 1u);  // the key came from the cache
}

TEST_F(DkimTest, RotatedKeyIsParsedAfreshAndOldSignaturesFail) {
    SKIP_UNLESS_KEY_CACHE_BUILT();
    settings.verifier = auth::DkimVerifierKind::LibOpenDkim;  // the cache is under libopendkim
    SignSpec spec;
    const std::string old_sig = signed_and_published(spec);
    auth::dkim_key_cache::clear();
    ASSERT_EQ(verify(with_signatures(kMessage, {old_sig})).at(0).result, auth::DkimResult::Pass);
    // The domain publishes a different key under the same selector.
    spec.bits = 1024;
    auto fresh = std::make_shared<FakeResolver>();
    fresh->add_txt("s1._domainkey.example.com", publish(spec));
    dns = fresh;
    const auto stale = verify(with_signatures(kMessage, {old_sig}));
    ASSERT_EQ(stale.size(), 1u);
    EXPECT_EQ(stale[0].result, auth::DkimResult::Fail);
    EXPECT_EQ(stale[0].key_bits, 1024u);
    const auto now = verify(with_signatures(kMessage, {sign(kMessage, spec)}));
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0].result, auth::DkimResult::Pass) << now[0].reason;
    const auto st = auth::dkim_key_cache::stats();
    EXPECT_EQ(st.misses, 2u);
    EXPECT_EQ(st.hits, 1u);
    EXPECT_EQ(st.entries, 2u);
}

TEST_F(DkimTest, UndecodableKeyIsPermerrorAndNotCached) {
    SKIP_UNLESS_KEY_CACHE_BUILT();
    settings.verifier = auth::DkimVerifierKind::LibOpenDkim;  // the cache is under libopendkim
    const std::string sig = sign(kMessage, SignSpec{});
    // Valid base64, but not a SubjectPublicKeyInfo.
    dns->add_txt("s1._domainkey.example.com", "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwXyZ");
    auth::dkim_key_cache::clear();
    for (int i = 0; i < 2; ++i) {
        const auto results = verify(with_signatures(kMessage, {sig}));
        ASSERT_EQ(results.size(), 1u);
        EXPECT_EQ(results[0].result, auth::DkimResult::PermError);
    }
    const auto st = auth::dkim_key_cache::stats();
    EXPECT_EQ(st.hits, 0u);
    EXPECT_EQ(st.entries, 0u);
}

TEST_F(DkimTest, Rfc8463Ed25519AndRsaExampleSignaturesBothPass) {
    const char* dir = std::getenv("TESTDATA_DIR");
    ASSERT_NE(dir, nullptr) << "TESTDATA_DIR is not set (export TESTDATA_DIR=/work/shared/testdata)";
    // RFC 8463 Appendix A.2 keys.
    dns->add_txt("brisbane._domainkey.football.example.com",
                 "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    dns->add_txt("test._domainkey.football.example.com",
                 "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3i"
                 "dY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lx"
                 "j+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
    const auto m = testing_dkim::split_message(
        testing_dkim::read_file(std::string(dir) + "/rfc8463/rfc8463-A.3-signed.eml"));
    const auto results = verify(m);
    ASSERT_EQ(results.size(), 2u);
    std::map<std::string, std::string> by_alg;
    for (const auto& r : results) by_alg[r.algorithm] = std::string(auth::dkim_result_name(r.result));
    EXPECT_EQ(by_alg["ed25519-sha256"], "pass");
    EXPECT_EQ(by_alg["rsa-sha256"], "pass");
    for (const auto& r : results)
        if (r.algorithm == "ed25519-sha256") {
            EXPECT_EQ(r.key_bits, 256u);
        }
}

}  // namespace
