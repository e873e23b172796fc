// Protocol tests for DKIM, DMARC and the Authentication-Results header,
// through the built daemon over the milter protocol (issue 4, "Protocol tests
// through the daemon"; issue 7, "Forged headers").
//
// The signed message is RFC 8463 appendix A.3 (an ed25519-sha256 and an
// rsa-sha256 signature by football.example.com), with the keys of its
// appendix A.2 served by the test's static zone. Expected results come from
// the RFCs and the issues (RFC 6376/8463 verification, RFC 9989 policy, RFC
// 8601 header syntax, the reply texts of man/connector-milter.conf.5), never
// from the daemon's code. The Authentication-Results header is checked with
// a parser written here from RFC 8601 section 2.2, not the daemon's own.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <libmilter/mfdef.h>

#include "milterclient/milter_client.hpp"
#include "protocol/daemon_fixture.hpp"
#include "protocol/suite_daemon.hpp"

namespace protocol_test {
namespace {

using namespace std::chrono_literals;
using milterclient::Action;
using milterclient::EomResult;
using milterclient::HeaderEdit;
using milterclient::Response;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kAuthservId = "mx.example.com";
constexpr const char* kAuthorDomain = "football.example.com";
// The default bad_from reply of man/connector-milter.conf.5 (issue 4: "no
// From, several From addresses with different domains ... default: refuse
// with 550 5.7.1").
constexpr const char* kBadFrom = "550 5.7.1 Message needs exactly one From: address domain";

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// ===========================================================================
// An RFC 8601 section 2.2 parser for the checks (independent of src/auth).
// ===========================================================================

struct ResInfo {
    std::string method;
    std::string result;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> properties;  // "header.d" -> value
    std::string property(std::string_view name) const {
        for (const auto& [k, v] : properties)
            if (iequals(k, name)) return v;
        return {};
    }
};

struct AuthRes {
    std::string authserv_id;
    std::vector<ResInfo> results;
    std::vector<const ResInfo*> of(std::string_view method) const {
        std::vector<const ResInfo*> out;
        for (const auto& r : results)
            if (iequals(r.method, method)) out.push_back(&r);
        return out;
    }
};

class AuthResParser {
public:
    explicit AuthResParser(std::string_view s) : s_(s) {}

    std::optional<AuthRes> parse(std::string* error) {
        AuthRes out;
        auto fail = [&](const std::string& why) -> std::optional<AuthRes> {
            *error = why + " at offset " + std::to_string(pos_) + " of \"" + visible(s_) + "\"";
            return std::nullopt;
        };
        if (!cfws()) return fail("bad comment or folding");
        auto id = value();
        if (!id) return fail("no authserv-id");
        out.authserv_id = *id;
        const std::size_t before = pos_;
        if (!cfws()) return fail("bad comment or folding");
        if (pos_ != before && pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
            while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
            if (!cfws()) return fail("bad comment or folding");
        }
        if (at_end()) return fail("expected ';'");
        while (!at_end()) {
            // resinfo = [CFWS] ";" methodspec [CFWS reasonspec] [CFWS 1*propspec]
            if (s_[pos_] != ';') return fail("expected ';'");
            ++pos_;
            if (!cfws()) return fail("bad comment or folding");
            ResInfo r;
            auto method = keyword();
            if (!method) return fail("expected a method");
            if (!cfws()) return fail("bad comment or folding");
            if (*method == "none" && out.results.empty() && at_end()) break;  // no-result
            if (peek() == '/') {  // method-version
                ++pos_;
                if (!cfws()) return fail("bad folding");
                while (std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
                if (!cfws()) return fail("bad folding");
            }
            if (peek() != '=') return fail("expected '=' after method");
            ++pos_;
            if (!cfws()) return fail("bad comment or folding");
            auto result = keyword();
            if (!result) return fail("expected a result");
            r.method = *method;
            r.result = *result;
            if (!cfws()) return fail("bad comment or folding");
            while (!at_end() && peek() != ';') {
                auto name = keyword();
                if (!name) return fail("expected reason or propspec");
                if (!cfws()) return fail("bad folding");
                if (iequals(*name, "reason") && peek() == '=') {
                    ++pos_;
                    if (!cfws()) return fail("bad folding");
                    auto v = value();
                    if (!v) return fail("bad reason value");
                    r.reason = *v;
                } else {
                    // propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
                    if (peek() != '.') return fail("expected '.' in propspec");
                    ++pos_;
                    if (!cfws()) return fail("bad folding");
                    auto prop = keyword();
                    if (!prop) return fail("expected a property");
                    if (!cfws()) return fail("bad folding");
                    if (peek() != '=') return fail("expected '=' in propspec");
                    ++pos_;
                    if (!cfws()) return fail("bad folding");
                    auto v = pvalue();
                    if (!v) return fail("bad property value");
                    r.properties.emplace_back(*name + "." + *prop, *v);
                }
                if (!cfws()) return fail("bad comment or folding");
            }
            out.results.push_back(std::move(r));
        }
        return out;
    }

private:
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }

    // FWS: WSP, or a line break (CRLF or the MTA's bare LF) followed by WSP.
    // A line break not followed by WSP would end the header: a split.
    bool cfws() {
        for (;;) {
            if (at_end()) return true;
            const char c = s_[pos_];
            if (c == ' ' || c == '\t') {
                ++pos_;
            } else if (c == '\r' || c == '\n') {
                std::size_t p = pos_;
                if (s_[p] == '\r') {
                    if (p + 1 >= s_.size() || s_[p + 1] != '\n') return false;
                    ++p;
                }
                ++p;
                if (p >= s_.size() || (s_[p] != ' ' && s_[p] != '\t')) return false;
                pos_ = p;
            } else if (c == '(') {
                if (!comment()) return false;
            } else {
                return true;
            }
        }
    }
    bool comment() {
        int depth = 0;
        while (!at_end()) {
            const char c = s_[pos_];
            if (c == '\\') {
                if (pos_ + 1 >= s_.size() || s_[pos_ + 1] == '\r' || s_[pos_ + 1] == '\n') return false;
                pos_ += 2;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (!fold()) return false;
                continue;
            }
            ++pos_;
            if (c == '(') ++depth;
            if (c == ')' && --depth == 0) return true;
        }
        return false;
    }
    // A fold inside a comment or quoted string.
    bool fold() {
        std::size_t p = pos_;
        if (s_[p] == '\r') {
            if (p + 1 >= s_.size() || s_[p + 1] != '\n') return false;
            ++p;
        }
        ++p;
        if (p >= s_.size() || (s_[p] != ' ' && s_[p] != '\t')) return false;
        pos_ = p;
        return true;
    }
    // RFC 8601 Keyword = ldh-str (letters, digits, hyphens).
    std::optional<std::string> keyword() {
        const std::size_t start = pos_;
        while (!at_end() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-' || s_[pos_] == '_'))
            ++pos_;
        if (pos_ == start) return std::nullopt;
        return std::string(s_.substr(start, pos_ - start));
    }
    std::optional<std::string> quoted() {
        ++pos_;  // opening quote
        std::string out;
        while (!at_end()) {
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c == '\\') {
                if (pos_ + 1 >= s_.size() || s_[pos_ + 1] == '\r' || s_[pos_ + 1] == '\n') return std::nullopt;
                out += s_[pos_ + 1];
                pos_ += 2;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (!fold()) return std::nullopt;
                continue;
            }
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return std::nullopt;
            out += c;
            ++pos_;
        }
        return std::nullopt;
    }
    // value = token / quoted-string (RFC 2045 token: no SPACE, CTLs or tspecials).
    std::optional<std::string> value() {
        if (peek() == '"') return quoted();
        static constexpr std::string_view tspecials = "()<>@,;:\\\"/[]?=";
        const std::size_t start = pos_;
        while (!at_end()) {
            const unsigned char c = static_cast<unsigned char>(s_[pos_]);
            if (c <= 0x20 || c >= 0x7f || tspecials.find(static_cast<char>(c)) != std::string_view::npos) break;
            ++pos_;
        }
        if (pos_ == start) return std::nullopt;
        return std::string(s_.substr(start, pos_ - start));
    }
    // pvalue = value / [[local-part] "@"] domain-name: a quoted string, or a
    // run of atext, '.' and '@' (RFC 5322 section 3.2.3).
    std::optional<std::string> pvalue() {
        if (peek() == '"') return quoted();
        static constexpr std::string_view specials = "!#$%&'*+-/=?^_`{|}~.@";
        const std::size_t start = pos_;
        while (!at_end()) {
            const unsigned char c = static_cast<unsigned char>(s_[pos_]);
            if (!std::isalnum(c) && specials.find(static_cast<char>(c)) == std::string_view::npos) break;
            ++pos_;
        }
        if (pos_ == start) return std::nullopt;
        return std::string(s_.substr(start, pos_ - start));
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

// The only line breaks allowed in a header value we write are folds: a line
// break (CRLF, or the bare LF that milter MTAs use) followed by WSP.
::testing::AssertionResult only_folding_line_breaks(std::string_view v) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\r') {
            if (i + 1 >= v.size() || v[i + 1] != '\n')
                return ::testing::AssertionFailure() << "bare CR at " << i << " in \"" << visible(v) << "\"";
            continue;
        }
        if (v[i] == '\n' && (i + 1 >= v.size() || (v[i + 1] != '\t' && v[i + 1] != ' ')))
            return ::testing::AssertionFailure() << "line break not followed by WSP at " << i << " in \""
                                                 << visible(v) << "\"";
        if (v[i] == '\0') return ::testing::AssertionFailure() << "NUL in \"" << visible(v) << "\"";
    }
    return ::testing::AssertionSuccess();
}

// The one Authentication-Results header the daemon inserted, parsed.
struct OurHeader {
    HeaderEdit edit;
    AuthRes parsed;
};

// Checks there is exactly one new Authentication-Results header, at the top,
// with only folding line breaks, parsing per RFC 8601 with our authserv-id.
std::optional<OurHeader> our_header(const EomResult& r) {
    const auto ar = r.new_headers("Authentication-Results");
    EXPECT_EQ(ar.size(), 1U) << "expected exactly one new Authentication-Results header";
    if (ar.size() != 1U) return std::nullopt;
    EXPECT_EQ(ar[0].kind, HeaderEdit::Kind::Insert) << "not inserted (SMFIR_INSHEADER)";
    EXPECT_EQ(ar[0].index, 0U) << "not inserted at the top";
    EXPECT_TRUE(only_folding_line_breaks(ar[0].value));
    std::string error;
    auto parsed = AuthResParser(ar[0].value).parse(&error);
    EXPECT_TRUE(parsed.has_value()) << "not RFC 8601 syntax: " << error;
    if (!parsed) return std::nullopt;
    EXPECT_TRUE(iequals(parsed->authserv_id, kAuthservId)) << visible(ar[0].value);
    return OurHeader{ar[0], *parsed};
}

// What the MTA's header list becomes after the edits, applied in wire order
// as sendmail and Postfix do: SMFIR_CHGHEADER with an empty value deletes the
// index-th (1-based) header of that name, SMFIR_INSHEADER inserts at the
// position (0 = top), SMFIR_ADDHEADER appends.
Headers apply_edits(Headers headers, const EomResult& r) {
    for (const HeaderEdit& e : r.header_edits) {
        if (e.kind == HeaderEdit::Kind::Add) {
            headers.emplace_back(e.name, e.value);
        } else if (e.kind == HeaderEdit::Kind::Insert) {
            const std::size_t at = std::min<std::size_t>(e.index, headers.size());
            headers.insert(headers.begin() + static_cast<std::ptrdiff_t>(at), {e.name, e.value});
        } else {
            const std::uint32_t wanted = e.index == 0 ? 1 : e.index;
            std::uint32_t seen = 0;
            for (auto it = headers.begin(); it != headers.end(); ++it) {
                if (!iequals(it->first, e.name) || ++seen != wanted) continue;
                if (e.is_delete()) headers.erase(it);
                else it->second = e.value;
                break;
            }
        }
    }
    return headers;
}

std::vector<std::string> values_of(const Headers& headers, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers)
        if (iequals(n, name)) out.push_back(v);
    return out;
}

// ===========================================================================
// The RFC 8463 appendix A.3 message and its keys
// ===========================================================================

struct Eml {
    Headers headers;  // values without the space after the colon; folds as CRLF WSP
    std::string body;  // CRLF line endings
};

std::optional<std::string> testdata_dir() {
    const char* dir = std::getenv("TESTDATA_DIR");
    if (dir == nullptr || *dir == '\0') return std::nullopt;
    return std::string(dir);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Eml parse_eml(const std::string& text) {
    Eml eml;
    const std::size_t split = text.find("\r\n\r\n");
    const std::string head = text.substr(0, split + 2);
    eml.body = split == std::string::npos ? std::string() : text.substr(split + 4);
    std::size_t pos = 0;
    while (pos < head.size()) {
        const std::size_t eol = head.find("\r\n", pos);
        const std::string line = head.substr(pos, eol - pos);
        pos = eol + 2;
        if (line.empty()) continue;
        if ((line[0] == ' ' || line[0] == '\t') && !eml.headers.empty()) {
            eml.headers.back().second += "\r\n" + line;  // RFC 5322 section 2.2.3 fold
            continue;
        }
        const std::size_t colon = line.find(':');
        std::string value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);  // the client adds it back (LEADSPC)
        eml.headers.emplace_back(line.substr(0, colon), value);
    }
    return eml;
}

// A TXT string in master-file syntax (RFC 1035 section 5.1).
std::string txt_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// The key records of dns.txt ("name<TAB>rdata") as zone lines.
std::string zone_lines_from_dns_txt(const std::string& text) {
    std::string zone;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty() || line[0] == '#') continue;
        const std::size_t tab = line.find('\t');
        if (tab == std::string::npos) continue;
        zone += line.substr(0, tab) + " IN TXT " + txt_string(line.substr(tab + 1)) + "\n";
    }
    return zone;
}

// The RFC 8463 message and its keys from $TESTDATA_DIR.
struct Rfc8463 {
    Eml eml;
    std::string key_zone;  // the key records as static zone lines
    std::string error;     // why they could not be read
};

Rfc8463 load_rfc8463() {
    Rfc8463 data;
    const auto dir = testdata_dir();
    if (!dir) {
        data.error = "TESTDATA_DIR is not set: run through `make check`, or export TESTDATA_DIR=/work/shared/testdata";
        return data;
    }
    const std::string eml_path = *dir + "/rfc8463/rfc8463-A.3-signed.eml";
    const std::string dns_path = *dir + "/rfc8463/dns.txt";
    const std::string eml_text = read_file(eml_path);
    const std::string dns_text = read_file(dns_path);
    if (eml_text.empty()) data.error = "cannot read " + eml_path;
    else if (dns_text.empty()) data.error = "cannot read " + dns_path;
    if (!data.error.empty()) return data;
    data.eml = parse_eml(eml_text);
    data.key_zone = zone_lines_from_dns_txt(dns_text);
    if (data.eml.headers.size() < 7U || data.eml.body.empty())
        data.error = eml_path + " does not look like the RFC 8463 message";
    else if (data.key_zone.find("brisbane._domainkey.football.example.com.") == std::string::npos ||
             data.key_zone.find("test._domainkey.football.example.com.") == std::string::npos)
        data.error = dns_path + " lacks the brisbane or the test key";
    return data;
}

// A daemon (one per suite) whose static zone also holds the RFC 8463 keys
// and the DMARC record of football.example.com that the suite names.
class DkimDaemonTest : public SuiteDaemonTest {
protected:
    static void start_with_dmarc(const std::string& dmarc_record) {
        data_ = load_rfc8463();
        if (!data_.error.empty()) return;  // SetUp() reports it
        start_suite_daemon(kConfig, data_.key_zone + "_dmarc.football.example.com. IN TXT " +
                                        txt_string(dmarc_record) + "\n");
    }
    static void TearDownTestSuite() { stop_suite_daemon(); }

    void SetUp() override {
        ASSERT_TRUE(data_.error.empty()) << data_.error;
        ASSERT_NO_FATAL_FAILURE(SuiteDaemonTest::SetUp());
        eml_ = data_.eml;
    }

    // The signed message with one body line changed: both body hashes break.
    Eml tampered() const {
        Eml e = eml_;
        const std::size_t at = e.body.find("hungry");
        EXPECT_NE(at, std::string::npos);
        if (at != std::string::npos) e.body.replace(at, 6, "thirsty");
        return e;
    }

    static SmtpClient client() {
        SmtpClient c;  // 198.51.100.7; football.example.com has no SPF record
        return c;
    }

    // MAIL, RCPT, DATA, the headers one by one as the MTA sends them, EOH,
    // the body in `chunk`-octet pieces, EOM; stops at the first refusal.
    static EomResult deliver(Mta& mta, const std::string& from, const std::string& rcpt, const Eml& eml,
                             std::size_t chunk = 17) {
        EomResult result;
        auto stop = [&](const Response& r) {
            static_cast<Response&>(result) = r;
            if (r.action != Action::Accept) mta.session().abort();
            return result;
        };
        auto& s = mta.session();
        const std::vector<std::pair<std::string, std::string>> queue_id{{"i", "QTDKIM1"}};
        // The daemon asks for header values with their leading space
        // (SMFIP_HDR_LEADSPC); Session::header() then sends " value", as
        // sendmail and Postfix do.
        EXPECT_TRUE(s.negotiated().has(SMFIP_HDR_LEADSPC)) << "the daemon did not negotiate SMFIP_HDR_LEADSPC";
        const Response m = mta.mail(from);
        if (!m.proceeds()) return stop(m);
        const Response r = mta.rcpt(rcpt);
        if (!r.proceeds()) return stop(r);
        s.macros('T', queue_id);
        if (const Response d = s.data(); !d.proceeds()) return stop(d);
        for (const auto& [name, value] : eml.headers) {
            s.macros('L', queue_id);
            const Response h = s.header(name, value);
            if (!h.proceeds()) return stop(h);
        }
        s.macros('N', queue_id);
        if (const Response e = s.eoh(); !e.proceeds()) return stop(e);
        for (std::size_t at = 0; at < eml.body.size(); at += chunk) {
            s.macros('B', queue_id);
            const Response b = s.body(std::string_view(eml.body).substr(at, chunk));
            if (b.action == Action::Skip) break;
            if (!b.proceeds()) return stop(b);
        }
        s.macros('E', queue_id);
        return s.end_of_message();
    }

    EomResult deliver_anonymously(const Eml& eml) {
        Mta mta(socket_spec(), client());
        const Response c = mta.connect();
        EXPECT_TRUE(c.proceeds()) << describe(c);
        return deliver(mta, "<joe@football.example.com>", "<suzie@shopping.example.net>", eml);
    }

    static const std::string kConfig;
    static Rfc8463 data_;
    Eml eml_;
};

Rfc8463 DkimDaemonTest::data_;

class DmarcRejectDomainTest : public DkimDaemonTest {
protected:
    static void SetUpTestSuite() { start_with_dmarc("v=DMARC1; p=reject"); }
};

class DmarcNoneDomainTest : public DkimDaemonTest {
protected:
    static void SetUpTestSuite() { start_with_dmarc("v=DMARC1; p=none"); }
};

class DmarcTestingRejectDomainTest : public DkimDaemonTest {
protected:
    static void SetUpTestSuite() { start_with_dmarc("v=DMARC1; p=reject; t=y"); }
};

// The recipient's domain is ours; an internet-facing connector without tarpit.
const std::string DkimDaemonTest::kConfig = R"(
[[accepted_domain]]
domain = "shopping.example.net"
type = "authoritative"
)" + internet_connector("Default Frontend", std::string("tarpit_interval = 0\n") + kDenyAnonymousOwnDomainSenders);

// ---- issue 4: DKIM and DMARC through the daemon ----

TEST_F(DmarcRejectDomainTest, SignedMessageFromRejectDomainPassesDkimAndDmarc) {
    const EomResult r = deliver_anonymously(eml_);
    ASSERT_TRUE(r.proceeds()) << describe(r);
    EXPECT_FALSE(r.quarantine.has_value()) << describe(r);
    const auto ours = our_header(r);
    ASSERT_TRUE(ours.has_value());
    // RFC 8463 section A.3: both signatures verify.
    const auto dkim = ours->parsed.of("dkim");
    ASSERT_EQ(dkim.size(), 2U) << ours->edit.value;
    std::vector<std::string> signatures;  // "algorithm selector"
    for (const ResInfo* d : dkim) {
        EXPECT_EQ(d->result, "pass") << ours->edit.value;
        EXPECT_EQ(d->property("header.d"), kAuthorDomain) << ours->edit.value;
        signatures.push_back(d->property("header.a") + " " + d->property("header.s"));
    }
    std::sort(signatures.begin(), signatures.end());
    EXPECT_EQ(signatures, (std::vector<std::string>{"ed25519-sha256 brisbane", "rsa-sha256 test"}))
        << ours->edit.value;
    const auto dmarc = ours->parsed.of("dmarc");
    ASSERT_EQ(dmarc.size(), 1U) << ours->edit.value;
    EXPECT_EQ(dmarc[0]->result, "pass") << ours->edit.value;
    EXPECT_EQ(dmarc[0]->property("header.from"), kAuthorDomain) << ours->edit.value;
}

TEST_F(DmarcRejectDomainTest, ModifiedBodyFromRejectDomainIsRefusedWithDmarcReply) {
    const EomResult r = deliver_anonymously(tampered());
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.reply, std::string("550 5.7.1 Rejected by DMARC policy for ") + kAuthorDomain) << describe(r);
    EXPECT_TRUE(r.header_edits.empty()) << "a refused message got header edits";
}

TEST_F(DmarcNoneDomainTest, ModifiedBodyFromNoneDomainIsOnlyReported) {
    const EomResult r = deliver_anonymously(tampered());
    ASSERT_TRUE(r.proceeds()) << describe(r);
    EXPECT_FALSE(r.quarantine.has_value()) << "p=none must not quarantine: " << describe(r);
    const auto ours = our_header(r);
    ASSERT_TRUE(ours.has_value());
    for (const ResInfo* d : ours->parsed.of("dkim")) EXPECT_NE(d->result, "pass") << ours->edit.value;
    const auto dmarc = ours->parsed.of("dmarc");
    ASSERT_EQ(dmarc.size(), 1U) << ours->edit.value;
    EXPECT_EQ(dmarc[0]->result, "fail") << ours->edit.value;
    EXPECT_EQ(dmarc[0]->property("header.from"), kAuthorDomain) << ours->edit.value;
}

// RFC 9989: t=y asks receivers to apply the next lower policy, so a failing
// message under p=reject is quarantined (the default quarantine_action, the
// milter quarantine: SMFIR_QUARANTINE), not rejected.
TEST_F(DmarcTestingRejectDomainTest, TestingFlagTurnsRejectIntoQuarantine) {
    const EomResult r = deliver_anonymously(tampered());
    ASSERT_TRUE(r.proceeds()) << "t=y must lower enforcement below reject: " << describe(r);
    EXPECT_TRUE(r.quarantine.has_value()) << "not quarantined (no SMFIR_QUARANTINE): " << describe(r);
    const auto ours = our_header(r);
    ASSERT_TRUE(ours.has_value());
    const auto dmarc = ours->parsed.of("dmarc");
    ASSERT_EQ(dmarc.size(), 1U) << ours->edit.value;
    EXPECT_EQ(dmarc[0]->result, "fail") << ours->edit.value;
}

// Issue 4: "several From addresses with different domains ... default:
// refuse with 550 5.7.1".
TEST_F(DmarcRejectDomainTest, FromWithAddressesInTwoDomainsIsRefusedWith550_5_7_1) {
    Eml e = eml_;
    for (auto& [name, value] : e.headers)
        if (iequals(name, "From")) value = "Joe SixPack <joe@football.example.com>, Eve <eve@other.example>";
    const EomResult r = deliver_anonymously(e);
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.reply, kBadFrom) << describe(r);
}

TEST_F(DmarcRejectDomainTest, MessageWithoutFromIsRefusedWith550_5_7_1) {
    Eml e = eml_;
    std::erase_if(e.headers, [](const auto& h) { return iequals(h.first, "From"); });
    const EomResult r = deliver_anonymously(e);
    EXPECT_EQ(r.action, Action::ReplyCode) << describe(r);
    EXPECT_EQ(r.reply, kBadFrom) << describe(r);
}

// Issue 4: sessions with Bypass-Anti-Spam (SMTP AUTH users) are not verified
// and are exempt from enforcement: even the tampered message of a p=reject
// domain goes through, marked auth=pass.
TEST_F(DmarcRejectDomainTest, AuthenticatedSessionIsNotVerifiedAndGetsAuthPass) {
    SmtpClient c = client();
    c.auth_user = "joe@football.example.com";
    c.tls = true;
    Mta mta(socket_spec(), c);
    ASSERT_TRUE(mta.connect().proceeds());
    const EomResult r = deliver(mta, "<joe@football.example.com>", "<suzie@shopping.example.net>", tampered());
    ASSERT_TRUE(r.proceeds()) << describe(r);
    EXPECT_FALSE(r.quarantine.has_value()) << describe(r);
    const auto ours = our_header(r);
    ASSERT_TRUE(ours.has_value());
    const auto auth = ours->parsed.of("auth");
    ASSERT_EQ(auth.size(), 1U) << ours->edit.value;
    EXPECT_EQ(auth[0]->result, "pass") << ours->edit.value;
    EXPECT_TRUE(ours->parsed.of("dkim").empty()) << "verified anyway: " << ours->edit.value;
    EXPECT_TRUE(ours->parsed.of("dmarc").empty()) << "verified anyway: " << ours->edit.value;
    EXPECT_TRUE(ours->parsed.of("spf").empty()) << "verified anyway: " << ours->edit.value;
}

// ===========================================================================
// Issue 7, "Forged headers": nothing we copy can split or inject into the
// header we write.
// ===========================================================================

const std::string kInjectionConfig =
    authoritative_domain("contoso.com") + internet_connector("Default Frontend", "tarpit_interval = 0\n");

struct Injection {
    const char* name = "";
    std::string helo = "mail.fabrikam.example";
    std::string mail_from = "<bob@fabrikam.example>";
    // A DKIM-Signature field value to add (none when empty).
    std::string dkim_signature{};
    // RFC 5321 has no such domain: the daemon may refuse the MAIL command
    // (501 5.1.3) instead of accepting it.
    bool invalid_mail_from = false;
    // When set: the property of our header that carries the injected text
    // ("smtp.helo", "header.s", ...) and the value it must parse back to,
    // intact (quoted and escaped, neither cut short nor spilling over).
    std::string property{};
    std::string property_value{};
};

// GoogleTest names a failing row with this.
void PrintTo(const Injection& i, std::ostream* os) { *os << i.name; }

std::string signature_with(const std::string& d, const std::string& s, const std::string& b = "dGVzdA==") {
    return "v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + d + "; s=" + s +
           "; h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=" + b;
}

std::vector<Injection> injections() {
    // A HELO name that must come back intact in smtp.helo.
    const auto helo_kept = [](const char* name, const std::string& helo) {
        return Injection{.name = name, .helo = helo, .property = "smtp.helo", .property_value = helo};
    };
    // A MAIL FROM domain RFC 5321 does not allow.
    const auto bad_mail_from = [](const char* name, const std::string& from) {
        return Injection{.name = name, .mail_from = from, .invalid_mail_from = true};
    };
    return {
        {.name = "HeloWithCrLf", .helo = "mail.fabrikam.example\r\nX-Injected: yes"},
        {.name = "HeloWithLfAndResult", .helo = "mail.fabrikam.example\n; dkim=pass header.d=contoso.com"},
        helo_kept("HeloWithSemicolon", "mail.fabrikam.example; dkim=pass header.d=contoso.com"),
        helo_kept("HeloWithQuote", "mail.fabrikam.example\"; dkim=pass header.d=\"contoso.com"),
        helo_kept("HeloWithParenthesis", "mail.fabrikam.example(\"; dkim=pass"),
        bad_mail_from("MailFromDomainWithSemicolon", "<bob@fabrikam.example;dkim=pass>"),
        bad_mail_from("MailFromDomainWithQuote", "<bob@fabrikam.example\"; dkim=pass>"),
        bad_mail_from("MailFromDomainWithCrLf", "<bob@fabrikam.example\r\n; dkim=pass>"),
        // A quoted local part may hold all of these (RFC 5321 section 4.1.2);
        // smtp.mailfrom may carry the address or only its domain.
        {.name = "MailFromQuotedLocalPartWithSemicolonAndQuote", .mail_from = "<\"bob\\\";dkim=pass\"@fabrikam.example>"},
        {.name = "DkimSelectorWithQuote",
         .dkim_signature = signature_with("fabrikam.example", "sel\"dkim=pass"),
         .property = "header.s",
         .property_value = "sel\"dkim=pass"},
        {.name = "DkimSelectorWithParenthesisAndEquals",
         .dkim_signature = signature_with("fabrikam.example", "sel(x)=\"dkim=pass"),
         .property = "header.s",
         .property_value = "sel(x)=\"dkim=pass"},
        {.name = "DkimSelectorWithFold", .dkim_signature = signature_with("fabrikam.example", "sel\r\n\tdkim=pass")},
        {.name = "DkimDomainWithQuote",
         .dkim_signature = signature_with("fabrikam.example\"dkim=pass", "sel"),
         .property = "header.d",
         .property_value = "fabrikam.example\"dkim=pass"},
        // RFC 8601 section 2.7.1: header.b holds the first characters of b=.
        {.name = "DkimSignatureValueWithQuote",
         .dkim_signature = signature_with("fabrikam.example", "sel", "\"(dkim=pass"),
         .property = "header.b",
         .property_value = "\"(dkim=p"},
    };
}

// One daemon serves every row (each on its own milter connection).
class InjectionTest : public SuiteDaemonTest, public ::testing::WithParamInterface<Injection> {
protected:
    static void SetUpTestSuite() { start_suite_daemon(kInjectionConfig); }
    static void TearDownTestSuite() { stop_suite_daemon(); }
};

TEST_P(InjectionTest, CannotSplitOrInjectIntoAuthenticationResults) {
    const Injection& in = GetParam();
    SmtpClient client;  // 198.51.100.7: SPF pass for fabrikam.example
    client.helo = in.helo;
    Mta mta(socket_spec(), client);
    const Response c = mta.connect();
    ASSERT_TRUE(c.proceeds()) << describe(c);
    SimpleMessage m;
    m.from = in.mail_from;
    m.recipients = {"<user@contoso.com>"};
    if (!in.dkim_signature.empty()) m.headers.insert(m.headers.begin(), {"DKIM-Signature", in.dkim_signature});
    const EomResult r = mta.send(m);
    if (in.invalid_mail_from && !r.proceeds()) {
        // Refusing an address RFC 5321 does not allow is a fine answer.
        EXPECT_EQ(r.reply.rfind("501 5.1.3", 0), 0U) << describe(r);
        return;
    }
    ASSERT_TRUE(r.proceeds()) << describe(r);
    const auto ours = our_header(r);
    ASSERT_TRUE(ours.has_value());
    const std::string& v = ours->edit.value;
    RecordProperty("authentication_results", v);
    // One resinfo per method, and only the methods the daemon checks.
    EXPECT_EQ(ours->parsed.of("spf").size(), 1U) << visible(v);
    EXPECT_EQ(ours->parsed.of("dkim").size(), 1U) << visible(v);
    EXPECT_EQ(ours->parsed.of("dmarc").size(), 1U) << visible(v);
    EXPECT_EQ(ours->parsed.of("arc").size(), 1U) << visible(v);  // ARC runs with DKIM
    EXPECT_EQ(ours->parsed.results.size(), 4U) << visible(v);
    // SPF passes (198.51.100.7 is in fabrikam.example's record); nothing
    // here can pass DKIM or DMARC, so a pass there is an injected one.
    for (const ResInfo& res : ours->parsed.results) {
        if (iequals(res.method, "spf")) continue;
        EXPECT_NE(res.result, "pass") << res.method << "=pass in " << visible(v);
    }
    if (!in.property.empty()) {
        const auto& results = ours->parsed.results;
        const auto carrier = std::find_if(results.begin(), results.end(),
                                          [&](const ResInfo& res) { return !res.property(in.property).empty(); });
        ASSERT_NE(carrier, results.end()) << "no " << in.property << " in " << visible(v);
        EXPECT_EQ(carrier->property(in.property), in.property_value) << visible(v);
    }
}

INSTANTIATE_TEST_SUITE_P(ForgedHeaders, InjectionTest, ::testing::ValuesIn(injections()),
                         [](const ::testing::TestParamInfo<Injection>& param_info) { return param_info.param.name; });

// ---- Authentication-Results claiming our authserv-id are removed ----

class ForgedAuthResTest : public SuiteDaemonTest {
protected:
    static void SetUpTestSuite() { start_suite_daemon(kInjectionConfig); }
    static void TearDownTestSuite() { stop_suite_daemon(); }

    // Sends a message with these Authentication-Results headers (among the
    // usual ones) and returns the Authentication-Results the MTA ends up with.
    std::vector<std::string> resulting_authres(const std::vector<std::string>& authres_values) {
        Mta mta(socket_spec(), SmtpClient{});
        const Response c = mta.connect();
        EXPECT_TRUE(c.proceeds()) << describe(c);
        SimpleMessage m;
        m.recipients = {"<user@contoso.com>"};
        Headers headers;
        headers.emplace_back("Received", "from a.example by b.example; Sun, 22 Nov 2026 11:00:00 +0000");
        for (const auto& v : authres_values) headers.emplace_back("Authentication-Results", v);
        headers.insert(headers.end(), m.headers.begin(), m.headers.end());
        m.headers = headers;
        const EomResult r = mta.send(m);
        EXPECT_TRUE(r.proceeds()) << describe(r);
        // As the MTA holds them: values with folds as bare LF.
        Headers sent;
        for (auto [n, v] : headers) {
            std::string lf;
            for (std::size_t i = 0; i < v.size(); ++i)
                if (!(v[i] == '\r' && i + 1 < v.size() && v[i + 1] == '\n')) lf += v[i];
            sent.emplace_back(n, lf);
        }
        std::vector<std::string> out = values_of(apply_edits(sent, r), "Authentication-Results");
        // Ours is first: inserted at the top; the test checks the others.
        EXPECT_FALSE(out.empty());
        if (!out.empty()) {
            EXPECT_EQ(out.front().rfind(std::string(kAuthservId) + ";", 0), 0U) << visible(out.front());
            out.erase(out.begin());
        }
        return out;
    }
};

const std::string kOther1 = "other.example.net; spf=pass smtp.mailfrom=fabrikam.example";
const std::string kOther2 = "relay.example.org; dkim=none";

TEST_F(ForgedAuthResTest, OursFirstOfSeveralIsRemovedOthersStay) {
    EXPECT_EQ(resulting_authres({"mx.example.com; dkim=pass header.d=contoso.com", kOther1, kOther2}),
              (std::vector<std::string>{kOther1, kOther2}));
}

TEST_F(ForgedAuthResTest, OursInTheMiddleIsRemovedOthersStay) {
    EXPECT_EQ(resulting_authres({kOther1, "mx.example.com; dkim=pass header.d=contoso.com", kOther2}),
              (std::vector<std::string>{kOther1, kOther2}));
}

TEST_F(ForgedAuthResTest, OursLastOfSeveralIsRemovedOthersStay) {
    EXPECT_EQ(resulting_authres({kOther1, kOther2, "mx.example.com; dkim=pass header.d=contoso.com"}),
              (std::vector<std::string>{kOther1, kOther2}));
}

// RFC 8601 section 2.5: the authserv-id is compared case-insensitively.
TEST_F(ForgedAuthResTest, OursInUpperCaseIsRemoved) {
    EXPECT_EQ(resulting_authres({kOther1, "MX.EXAMPLE.COM; dkim=pass header.d=contoso.com", kOther2}),
              (std::vector<std::string>{kOther1, kOther2}));
}

// A folded header is one header, wherever the fold is (RFC 5322 section 2.2.3).
TEST_F(ForgedAuthResTest, OursFoldedBeforeTheIdIsRemoved) {
    EXPECT_EQ(resulting_authres({kOther1, "\r\n\tMx.Example.Com;\r\n\tdkim=pass header.d=contoso.com"}),
              (std::vector<std::string>{kOther1}));
}

TEST_F(ForgedAuthResTest, OursFoldedBeforeTheSemicolonIsRemoved) {
    EXPECT_EQ(resulting_authres({"mx.example.com\r\n ; dkim=pass header.d=contoso.com", kOther2}),
              (std::vector<std::string>{kOther2}));
}

// RFC 8601 section 2.2: CFWS before the id, a version after it, and the id
// as a quoted-string are all the same authserv-id.
TEST_F(ForgedAuthResTest, OursAfterACommentIsRemoved) {
    EXPECT_EQ(resulting_authres({"(forged) mx.example.com; dkim=pass header.d=contoso.com", kOther1}),
              (std::vector<std::string>{kOther1}));
}

TEST_F(ForgedAuthResTest, OursWithAVersionIsRemoved) {
    EXPECT_EQ(resulting_authres({kOther1, "mx.example.com 1; dkim=pass header.d=contoso.com"}),
              (std::vector<std::string>{kOther1}));
}

TEST_F(ForgedAuthResTest, OursAsQuotedStringIsRemoved) {
    EXPECT_EQ(resulting_authres({kOther1, "\"mx.example.com\"; dkim=pass header.d=contoso.com"}),
              (std::vector<std::string>{kOther1}));
}

TEST_F(ForgedAuthResTest, SeveralOfOursAmongOthersAreAllRemoved) {
    EXPECT_EQ(resulting_authres({"mx.example.com; spf=pass smtp.mailfrom=contoso.com", kOther1,
                                 "MX.example.com; dkim=pass header.d=contoso.com", kOther2,
                                 "mx.example.COM;\r\n\tdmarc=pass header.from=contoso.com"}),
              (std::vector<std::string>{kOther1, kOther2}));
}

// Only the exact id is ours: look-alikes belong to someone else and stay.
TEST_F(ForgedAuthResTest, LookAlikeIdsStay) {
    const std::vector<std::string> lookalikes = {
        "mx.example.com.evil.example; dkim=pass header.d=contoso.com",
        "notmx.example.com; dkim=pass header.d=contoso.com",
        "mx.example.co; dkim=pass header.d=contoso.com",
    };
    EXPECT_EQ(resulting_authres(lookalikes), lookalikes);
}

}  // namespace
}  // namespace protocol_test
