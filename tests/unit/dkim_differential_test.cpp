// Differential test: our DKIM verifier ([dkim] verifier = "native") and
// libopendkim ("libopendkim") over every DKIM corpus in ../shared/testdata
// and over variants generated from each signed message in them: every
// header field changed, removed, duplicated or re-spaced one at a time,
// every tag of every DKIM-Signature removed, emptied or changed (l= one
// shorter and one longer), and the body with trailing blank lines, bare LF,
// white space changes and truncation. Both must give the same verdict on
// every signature: the same result, the same reason (for "neutral", a
// syntax error, any reason: the two parsers word them differently), and
// the same header.d, header.s, header.a, header.b and key size.
//
// A disagreement fails the test unless kRfcDifferences explains it: cases
// where libopendkim departs from the RFC, each with its section.
//
// Prints every disagreement and a final "N messages, N signatures, N
// disagreements"; exits non-zero on an unexplained one.
#include <cstdlib>
#include <ctime>
#include <random>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/dkim.hpp"
#include "dkim_message_io.hpp"
#include "dkim_test_signer.hpp"
#include "dns/static_zone.hpp"

namespace {

using testing_dkim::RawMessage;

// Where libopendkim is wrong per the RFC and we are not: a variant whose
// label ends (or, for key records, starts) with `variant`, where
// libopendkim's verdict contains `theirs` (and ours `ours`, when given).
struct Difference {
    std::string variant;
    std::string theirs;
    std::string why;
    std::string ours = "";
};
const std::vector<Difference> kRfcDifferences = {
    {"tag x=X", "fail (",
     "RFC 6376 section 3.5: x= is 1*12DIGIT, so a non-numeric x= is a syntax error (neutral, RFC 8601 section "
     "2.7.1); libopendkim reads its leading digits (none: 0, an expired signature) and goes on"},
    {"tag x emptied", "fail (signature expired)", "as above, an empty x="},
    {"tag t=X", "fail (",
     "RFC 6376 section 3.5: t= is 1*12DIGIT, so a non-numeric t= is a syntax error (neutral); libopendkim "
     "reads its leading digits (none: a timestamp in the future) and goes on"},
    {"tag t emptied", "fail (signature timestamp in the future)", "as above, an empty t="},
    {"duplicate d=", "",
     "RFC 6376 section 3.2: \"if a tag name does occur more than once, the entire tag-list is invalid\", and "
     "an empty tag-spec (\";;\") is not in the grammar: neutral; libopendkim takes the last d= and goes on"},
    {"body no final CRLF", "",
     "RFC 6376 sections 3.4.3 and 3.4.4: a body that does not end with CRLF gets one (relaxed: after its "
     "trailing white space is removed); libopendkim 2.11 gives up on a relaxed-body signature over such a "
     "body, or hashes it differently"},
    {"tag l emptied", "fail (",
     "RFC 6376 section 3.5: l= is 1*76DIGIT, so an empty l= is a syntax error (neutral); libopendkim reads "
     "it as l=0"},
    {"body last byte gone", "",
     "the body ends in a bare CR: RFC 6376 section 3.4 and RFC 5322 section 2.3 make only CRLF a line end, "
     "so the canonical body ends \"CR CRLF\" and differs from the signed one (dkimpy agrees); libopendkim "
     "takes the lone CR as the start of the final CRLF (and passes, or gives up on a relaxed body, or counts "
     "another length)"},
    {"tag b=X", "",
     "RFC 6376 section 3.5: b= is a base64string (section 2.4), so a character after its \"=\" padding is a "
     "syntax error (neutral; dkimpy agrees); libopendkim stops decoding at the \"=\" and verifies the rest",
     "neutral (signature data corrupt)"},
    {"key record k=ed25519, ", "pass",
     "RFC 6376 section 6.1.2 step 6: an RSA key published with k=ed25519 does not suit a=rsa-sha256 "
     "(PERMFAIL; dkimpy agrees); libopendkim does not compare k= with a=",
     "permerror (key type does not match the signature algorithm)"},
};

// A generated body (escaped in its label) with a CR not followed by LF.
// RFC 6376 section 3.4 and RFC 5322 section 2.3 make only CRLF a line end:
// a lone CR is content, in both canonicalizations (dkimpy agrees, and so
// does our milter path, which turns only bare LF into CRLF). libopendkim
// 2.11 does not clear its "blank line" state on a CR, so a line of lone CRs
// counts as an empty line (the CRs are dropped) and an empty line at the
// end of the body may be kept: its signer and its verifier agree with each
// other, and not with the RFC.
bool has_lone_cr(const std::string& label) {
    const auto quote = label.find('"');
    if (quote == std::string::npos) return false;
    for (auto p = label.find("\\r", quote); p != std::string::npos; p = label.find("\\r", p + 2))
        if (label.compare(p + 2, 2, "\\n") != 0) return true;
    return false;
}

std::string show(const auth::DkimSignatureResult& r) {
    return std::string(auth::dkim_result_name(r.result)) + " (" + r.reason + ") d=" + r.domain + " s=" + r.selector +
           " a=" + r.algorithm + " bits=" + std::to_string(r.key_bits) + " b=" + r.b.substr(0, 12);
}

// Empty when the two verdicts agree, else what differs.
std::string compare(const std::vector<auth::DkimSignatureResult>& ours,
                    const std::vector<auth::DkimSignatureResult>& theirs) {
    if (ours.size() != theirs.size())
        return "ours gave " + std::to_string(ours.size()) + " results, libopendkim " + std::to_string(theirs.size());
    std::string out;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        const auto& a = ours[i];
        const auto& b = theirs[i];
        bool same = a.result == b.result;
        if (same && a.result != auth::DkimResult::Neutral) {
            same = a.reason == b.reason && a.domain == b.domain && a.selector == b.selector &&
                   a.algorithm == b.algorithm && a.b == b.b && a.key_bits == b.key_bits;
        }
        if (!same) out += "sig " + std::to_string(i) + ": ours " + show(a) + " | libopendkim " + show(b) + "; ";
    }
    return out;
}

struct Counts {
    int messages = 0, signatures = 0, disagreements = 0, explained = 0, passes = 0;
};

struct Pair {
    std::unique_ptr<auth::DkimVerifier> native, libopendkim;
    explicit Pair(const std::shared_ptr<dns::Resolver>& resolver) {
        auth::DkimOptions o;
        o.verifier = auth::DkimVerifierKind::Native;
        native = std::make_unique<auth::DkimVerifier>(resolver, o);
        o.verifier = auth::DkimVerifierKind::LibOpenDkim;
        libopendkim = std::make_unique<auth::DkimVerifier>(resolver, o);
    }
};

void check(Counts& c, const Pair& pair, const std::string& label, const RawMessage& m) {
    auto b1 = dns::Budget::unlimited();
    auto b2 = dns::Budget::unlimited();
    auto b3 = dns::Budget::unlimited();
    const auto ours = testing_dkim::verify(*pair.native, m, b1, 4096);
    const auto theirs = testing_dkim::verify(*pair.libopendkim, m, b2, 4096);
    // Ours again in 7-byte chunks: the verdict must not depend on chunking.
    const auto chunked = testing_dkim::verify(*pair.native, m, b3, 7);
    ++c.messages;
    c.signatures += static_cast<int>(ours.size());
    for (const auto& r : ours) c.passes += r.result == auth::DkimResult::Pass;
    // DKIM_DIFFERENTIAL_VERBOSE=1 prints every verdict, agreeing or not.
    if (std::getenv("DKIM_DIFFERENTIAL_VERBOSE") != nullptr)
        for (const auto& r : ours) std::cout << "         " << label << ": " << show(r) << "\n";
    std::string diff = compare(ours, theirs);
    if (const std::string d = compare(ours, chunked); !d.empty()) {
        ++c.disagreements;
        std::cout << "CHUNKING " << label << ": " << d << "\n";
        return;
    }
    if (diff.empty()) return;
    const bool verbose = std::getenv("DKIM_DIFFERENTIAL_VERBOSE") != nullptr;
    if (has_lone_cr(label)) {
        ++c.explained;
        if (verbose) std::cout << "EXPLAINED (lone CR) " << label << ": " << diff << "\n";
        return;
    }
    for (const auto& known : kRfcDifferences) {
        const bool ends = label.size() >= known.variant.size() &&
                          label.compare(label.size() - known.variant.size(), known.variant.size(), known.variant) == 0;
        const bool key_record = known.variant.starts_with("key record ") && label.starts_with(known.variant);
        if ((ends || key_record) && diff.find("libopendkim " + known.theirs) != std::string::npos &&
            (known.ours.empty() || diff.find("ours " + known.ours) != std::string::npos)) {
            ++c.explained;
            return;
        }
    }
    ++c.disagreements;
    std::cout << "DIFFER   " << label << ": " << diff << "\n";
}

bool is_signature(const std::string& name) {
    if (name.size() != 14) return false;
    std::string n = name;
    for (auto& ch : n) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return n == "dkim-signature";
}

// Every tag=value of a DKIM-Signature value, as [begin, end) spans of the
// whole "tag=value" text (a plain split on ";": enough for well-formed
// signatures, and a broken split is itself a variant worth comparing).
std::vector<std::pair<std::size_t, std::size_t>> tag_spans(const std::string& v) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    std::size_t start = 0;
    while (start < v.size()) {
        std::size_t end = v.find(';', start);
        if (end == std::string::npos) end = v.size();
        out.emplace_back(start, end);
        start = end + 1;
    }
    return out;
}

std::string tag_name(const std::string& spec) {
    const auto eq = spec.find('=');
    std::string n = spec.substr(0, eq == std::string::npos ? 0 : eq);
    std::erase_if(n, [](char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; });
    return n;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
    return s;
}

// The message and its variants, each with a label.
void variants(const std::string& label, const RawMessage& m,
              const std::function<void(const std::string&, const RawMessage&)>& run) {
    run(label, m);
    bool signed_message = false;
    for (const auto& h : m.headers) signed_message = signed_message || is_signature(h.first);
    if (!signed_message) return;
    for (std::size_t i = 0; i < m.headers.size(); ++i) {
        const std::string& name = m.headers[i].first;
        const std::string& value = m.headers[i].second;
        const std::string at = label + " [" + std::to_string(i) + " " + name + "]";
        if (is_signature(name)) {
            const auto spans = tag_spans(value);
            for (const auto& [b, e] : spans) {
                const std::string spec = value.substr(b, e - b);
                const std::string tag = tag_name(spec);
                if (tag.empty()) continue;
                const auto eq = value.find('=', b);
                RawMessage v = m;
                v.headers[i].second = value.substr(0, b) + value.substr(std::min(e + 1, value.size()));
                run(at + " tag " + tag + " removed", v);
                v = m;
                v.headers[i].second = value.substr(0, eq + 1) + value.substr(e);
                run(at + " tag " + tag + " emptied", v);
                v = m;
                v.headers[i].second = value.substr(0, e) + "X" + value.substr(e);
                run(at + " tag " + tag + "=X", v);
                v = m;
                v.headers[i].second = value.substr(0, eq + 1) + " " + value.substr(eq + 1);
                run(at + " tag " + tag + " spaced", v);
                if (tag == "l") {
                    std::string digits = value.substr(eq + 1, e - eq - 1);
                    std::erase_if(digits, [](char ch) { return ch < '0' || ch > '9'; });
                    if (!digits.empty()) {
                        const long long n = std::atoll(digits.c_str());
                        for (long long delta : {-1LL, 1LL, -n}) {
                            v = m;
                            v.headers[i].second = value.substr(0, eq + 1) + std::to_string(n + delta) + value.substr(e);
                            run(at + " l=" + std::to_string(n + delta), v);
                        }
                    }
                }
            }
            // A duplicated tag (RFC 6376 section 3.2: the tag-list is invalid).
            RawMessage v = m;
            v.headers[i].second = value + "; d=example.org";
            run(at + " duplicate d=", v);
            continue;
        }
        RawMessage v = m;
        v.headers[i].second = value + "X";
        run(at + " changed", v);
        v = m;
        v.headers.erase(v.headers.begin() + static_cast<long>(i));
        run(at + " removed", v);
        v = m;
        v.headers.insert(v.headers.begin(), m.headers[i]);
        run(at + " duplicated on top", v);
        v = m;
        v.headers[i].second = " " + value + " ";
        run(at + " spaces around", v);
        v = m;
        v.headers[i].second = replace_all(value, " ", "  ");
        run(at + " spaces doubled", v);
        v = m;
        v.headers[i].first = name + " ";
        run(at + " space before colon", v);
    }
    const std::vector<std::pair<std::string, std::function<std::string(const std::string&)>>> bodies = {
        {"trailing CRLF", [](const std::string& b) { return b + "\r\n"; }},
        {"trailing blank lines", [](const std::string& b) { return b + "\r\n\r\n\r\n"; }},
        {"trailing WSP line", [](const std::string& b) { return b + " \t\r\n"; }},
        {"bare LF", [](const std::string& b) { return replace_all(b, "\r\n", "\n"); }},
        {"trailing WSP on lines", [](const std::string& b) { return replace_all(b, "\r\n", " \r\n"); }},
        {"WSP doubled", [](const std::string& b) { return replace_all(b, " ", "  "); }},
        {"tab for space", [](const std::string& b) { return replace_all(b, " ", "\t"); }},
        {"empty", [](const std::string&) { return std::string(); }},
        {"no final CRLF", [](const std::string& b) { return b.size() >= 2 ? b.substr(0, b.size() - 2) : b; }},
        {"last byte gone", [](const std::string& b) { return b.empty() ? b : b.substr(0, b.size() - 1); }},
        {"line appended", [](const std::string& b) { return b + "appended\r\n"; }},
        {"first byte changed", [](const std::string& b) { return b.empty() ? std::string("x") : "x" + b.substr(1); }},
        {"bare CR", [](const std::string& b) { return "a\rb\r\n" + b; }},
    };
    for (const auto& [what, f] : bodies) {
        RawMessage v = m;
        v.body = f(m.body);
        run(label + " body " + what, v);
    }
}

// Just enough JSON (RFC 8259) for opendkim/opendkim-milter-tests.json:
// values as a tree; numbers, true, false and null are kept as their text.
struct Json {
    enum class Kind { Object, Array, String, Other } kind = Kind::Other;
    std::string text;                                 // String, Other
    std::vector<std::pair<std::string, Json>> fields;  // Object
    std::vector<Json> items;                          // Array
    const Json* get(const std::string& key) const {
        for (const auto& [k, v] : fields)
            if (k == key) return &v;
        return nullptr;
    }
};

class JsonReader {
public:
    explicit JsonReader(const std::string& text) : s_(text) {}
    Json value() {
        skip();
        if (i_ >= s_.size()) throw std::runtime_error("JSON: unexpected end");
        Json j;
        const char c = s_[i_];
        if (c == '{') {
            j.kind = Json::Kind::Object;
            ++i_;
            skip();
            if (peek('}')) return ++i_, j;
            while (true) {
                skip();
                std::string key = string();
                skip();
                expect(':');
                j.fields.emplace_back(std::move(key), value());
                skip();
                if (peek(',')) { ++i_; continue; }
                expect('}');
                return j;
            }
        }
        if (c == '[') {
            j.kind = Json::Kind::Array;
            ++i_;
            skip();
            if (peek(']')) return ++i_, j;
            while (true) {
                j.items.push_back(value());
                skip();
                if (peek(',')) { ++i_; continue; }
                expect(']');
                return j;
            }
        }
        if (c == '"') {
            j.kind = Json::Kind::String;
            j.text = string();
            return j;
        }
        const std::size_t start = i_;
        while (i_ < s_.size() && std::string_view(",]} \t\r\n").find(s_[i_]) == std::string_view::npos) ++i_;
        j.text = s_.substr(start, i_ - start);
        return j;
    }

private:
    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
    }
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    void expect(char c) {
        if (!peek(c)) throw std::runtime_error(std::string("JSON: expected ") + c);
        ++i_;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) break;
            c = s_[i_++];
            switch (c) {
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'u': {
                // Only the ASCII range occurs in the test data.
                const unsigned code = static_cast<unsigned>(std::stoul(s_.substr(i_, 4), nullptr, 16));
                i_ += 4;
                if (code > 0x7f) throw std::runtime_error("JSON: non-ASCII \\u escape");
                out += static_cast<char>(code);
                break;
            }
            default: out += c; break;  // \" \\ \/
            }
        }
        expect('"');
        return out;
    }
    const std::string& s_;
    std::size_t i_ = 0;
};

// A body in a label: CR, LF and HTAB spelled out.
std::string escaped(const std::string& body) {
    std::string out;
    for (char ch : body) {
        if (ch == '\r') out += "\\r";
        else if (ch == '\n') out += "\\n";
        else if (ch == '\t') out += "\\t";
        else out += ch;
    }
    return out;
}

// Messages signed here with libopendkim's signer: every header/body
// canonicalization pair, with and without l= (none, 0, part of the body,
// all of it), over fixed bodies with the awkward cases (empty, only blank
// lines, trailing white space, no final CRLF) and random ones made of
// letters, SP, HTAB, CRLF, bare LF and bare CR; the first message of each
// kind also goes through every variant above.
void generated(Counts& counts) {
    using namespace testing_dkim_signer;
    auto zone = std::make_shared<dns::StaticZone>();
    SignSpec base;
    base.domain = "gen.example";
    for (unsigned bits : {1024u, 2048u}) {
        SignSpec k = base;
        k.bits = bits;
        k.selector = "k" + std::to_string(bits);
        zone->add(k.selector + "._domainkey." + k.domain, testing_dkim::txt_record(publish(k)));
    }
    const Pair pair(std::make_shared<dns::StaticResolver>(zone));
    const std::string headers =
        "From: Alice <alice@gen.example>\r\n"
        "To: bob@example.net\r\n"
        "Subject:  folded\r\n"
        " \tsubject \r\n"
        "Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
        "Message-ID: <1@gen.example>\r\n"
        "\r\n";
    std::vector<std::string> bodies = {
        "",
        "\r\n",
        "\r\n\r\n\r\n",
        "one line\r\n",
        "no final line end",
        "trailing  \t \r\n\r\n  \r\n",
        "  leading and  inner\t\twhite space\r\n\r\nnext paragraph \r\n",
        "a\r\n.\r\n..dot\r\n\r\n",
    };
    std::mt19937 rng(14);  // fixed seed: the same bodies every run
    const std::vector<std::string> pieces = {"a", "b", "word", " ", "\t", "\r\n", "\r\n", "\r\n\r\n", "\n", "\r"};
    for (int n = 0; n < 120; ++n) {
        std::string body;
        const int len = static_cast<int>(rng() % 60);
        for (int i = 0; i < len; ++i) body += pieces[rng() % pieces.size()];
        bodies.push_back(body);
    }
    const dkim_canon_t canons[] = {DKIM_CANON_SIMPLE, DKIM_CANON_RELAXED};
    for (dkim_canon_t hc : canons) {
        for (dkim_canon_t bc : canons) {
            for (int lmode = 0; lmode < 4; ++lmode) {
                for (std::size_t n = 0; n < bodies.size(); ++n) {
                    SignSpec spec = base;
                    spec.bits = n % 2 ? 1024 : 2048;
                    spec.selector = "k" + std::to_string(spec.bits);
                    spec.canon = hc;
                    spec.body_canon = bc;
                    const std::string& body = bodies[n];
                    spec.length = lmode == 0 ? -1 : lmode == 1 ? 0 : lmode == 2 ? static_cast<ssize_t>(body.size() / 2)
                                                                                : static_cast<ssize_t>(body.size());
                    const std::string text = headers + body;
                    RawMessage m = testing_dkim::split_message(text);
                    std::string sig;
                    try {
                        sig = sign(text, spec);
                    } catch (const std::exception&) {
                        continue;  // libopendkim would not sign it (l= beyond its canonical body)
                    }
                    m.headers.insert(m.headers.begin(), {"DKIM-Signature", sig});
                    const std::string label = std::string("generated c=") + (hc == DKIM_CANON_SIMPLE ? "simple" : "relaxed") +
                                              "/" + (bc == DKIM_CANON_SIMPLE ? "simple" : "relaxed") + " l=" +
                                              std::to_string(spec.length) + " body " + std::to_string(n) + " \"" +
                                              escaped(body) + "\"";
                    if (n == 6) {
                        variants(label, m, [&](const std::string& l, const RawMessage& v) { check(counts, pair, l, v); });
                    } else {
                        check(counts, pair, label, m);
                    }
                }
            }
        }
    }
}

// Key records, i= and time stamps: one message signed with each of a set
// of i= values and t=/x= pairs, verified against each of a set of key
// records published for its selector.
void keys_and_tags(Counts& counts) {
    using namespace testing_dkim_signer;
    const std::string text =
        "From: Alice <alice@gen.example>\r\nTo: bob@example.net\r\nSubject: keys\r\n\r\nbody\r\n";
    const std::uint64_t now = static_cast<std::uint64_t>(std::time(nullptr));
    struct Signing {
        std::string label;
        std::string signer;
        std::uint64_t time = 0, ttl = 0;
        testing_dkim_signer::SignSpec spec() const {
            SignSpec s;
            s.domain = "gen.example";
            s.selector = "k";
            s.bits = 2048;
            s.signer = signer;
            s.time = time;
            s.ttl = ttl;
            return s;
        }
    };
    const std::vector<Signing> signings = {
        {"plain", "", 0, 0},
        {"i=@gen.example", "@gen.example", 0, 0},
        {"i=user@gen.example", "user@gen.example", 0, 0},
        {"i=@sub.gen.example", "@sub.gen.example", 0, 0},
        {"i=u@SUB.Gen.Example", "u@SUB.Gen.Example", 0, 0},
        {"i=@other.example", "@other.example", 0, 0},
        {"i=@xgen.example", "@xgen.example", 0, 0},
        {"x= in an hour", "", 0, 3600},
        {"x= 100 s ago (within the drift)", "", now - 1000, 900},
        {"x= 400 s ago", "", now - 1000, 600},
        {"x= a day ago", "", now - 2 * 86400, 86400},
        {"t= 200 s ahead (within the drift)", "", now + 200, 0},
        {"t= an hour ahead", "", now + 3600, 0},
        {"t= an hour ahead, x= later", "", now + 3600, 3600},
    };
    const std::string p = rsa_key(2048).public_b64;
    const std::vector<std::pair<std::string, std::vector<std::string>>> records = {
        {"plain", {"v=DKIM1; k=rsa; p=" + p}},
        {"no v= no k=", {"p=" + p}},
        {"v= not first", {"k=rsa; v=DKIM1; p=" + p}},
        {"v=DKIM2", {"v=DKIM2; p=" + p}},
        {"h=sha256", {"v=DKIM1; h=sha256; p=" + p}},
        {"h=sha1", {"v=DKIM1; h=sha1; p=" + p}},
        {"h=sha1:sha256", {"v=DKIM1; h=sha1 : sha256; p=" + p}},
        {"h=md5", {"v=DKIM1; h=md5; p=" + p}},
        {"s=email", {"v=DKIM1; s=email; p=" + p}},
        {"s=*", {"v=DKIM1; s=*; p=" + p}},
        {"s=EMAIL", {"v=DKIM1; s=EMAIL; p=" + p}},
        {"s=tlsrpt", {"v=DKIM1; s=tlsrpt; p=" + p}},
        {"k=ed25519", {"v=DKIM1; k=ed25519; p=" + p}},
        {"k=RSA", {"v=DKIM1; k=RSA; p=" + p}},
        {"k=dsa", {"v=DKIM1; k=dsa; p=" + p}},
        {"k= empty", {"v=DKIM1; k=; p=" + p}},
        {"p= missing", {"v=DKIM1; k=rsa"}},
        {"p= empty", {"v=DKIM1; k=rsa; p="}},
        {"p= garbage", {"v=DKIM1; k=rsa; p=AAAA"}},
        {"p= truncated", {"v=DKIM1; k=rsa; p=" + p.substr(0, p.size() - 8)}},
        {"p= with spaces", {"v=DKIM1; k=rsa; p=" + p.substr(0, 40) + " " + p.substr(40)}},
        {"p= in two strings", {"v=DKIM1; k=rsa; p=" + p.substr(0, 100), p.substr(100)}},
        {"t=y", {"v=DKIM1; t=y; p=" + p}},
        {"t=s", {"v=DKIM1; t=s; p=" + p}},
        {"t=y:s", {"v=DKIM1; t=y:s; p=" + p}},
        {"unknown tag", {"v=DKIM1; zz=top; p=" + p}},
        {"trailing ;", {"v=DKIM1; p=" + p + ";"}},
        {"empty record", {""}},
        {"not a tag list", {"hello world"}},
        {"n= note", {"v=DKIM1; n=a note; p=" + p}},
    };
    for (const auto& [rlabel, strings] : records) {
        auto zone = std::make_shared<dns::StaticZone>();
        dns::Record r;
        r.type = dns::Type::TXT;
        r.strings = strings;
        zone->add("k._domainkey.gen.example", std::move(r));
        const Pair pair(std::make_shared<dns::StaticResolver>(zone));
        for (const auto& signing : signings) {
            RawMessage m = testing_dkim::split_message(text);
            std::string sig;
            try {
                sig = sign(text, signing.spec());
            } catch (const std::exception&) {
                // libopendkim will not sign with an i= outside d=: add it to
                // a plain signature (which then no longer verifies either).
                Signing plain = signing;
                plain.signer.clear();
                sig = " i=" + signing.signer + ";" + sign(text, plain.spec());
            }
            m.headers.insert(m.headers.begin(), {"DKIM-Signature", sig});
            check(counts, pair, "key record " + rlabel + ", signature " + signing.label, m);
        }
    }
}

}  // namespace

int main() {
    const char* dir_env = std::getenv("TESTDATA_DIR");
    if (dir_env == nullptr || *dir_env == '\0') {
        std::cerr << "dkim_differential_test: TESTDATA_DIR is not set (export TESTDATA_DIR=/work/shared/testdata)\n";
        return 2;
    }
    const std::string dir = dir_env;
    Counts counts;
    try {
        const auto each = [&](const Pair& pair) {
            return [&counts, &pair](const std::string& label, const RawMessage& m) { check(counts, pair, label, m); };
        };
        // RFC 8463 Appendix A.3 (ed25519-sha256 and rsa-sha256).
        {
            dns::StaticZone zone;
            testing_dkim::load_tab_dns(zone, testing_dkim::read_file(dir + "/rfc8463/dns.txt"));
            const Pair pair(testing_dkim::serve(std::move(zone)));
            const auto msg = testing_dkim::split_message(testing_dkim::read_file(dir + "/rfc8463/rfc8463-A.3-signed.eml"));
            variants("rfc8463-A.3", msg, each(pair));
        }
        // dkimpy's pre-signed messages (DNS-MAP.txt).
        {
            dns::StaticZone zone;
            const auto record = [&](const std::string& name, const std::string& file) {
                zone.add(name, testing_dkim::txt_record(testing_dkim::trim(
                                   replace_all(testing_dkim::read_file(dir + "/dkimpy/" + file), "\n", ""))));
            };
            record("20120113._domainkey.gmail.com", "20120113._domainkey.gmail.com.dns");
            record("sed._domainkey.test.ex", "eximtest.dns");
            record("brisbane._domainkey.football.example.com", "brisbane._domainkey.football.example.com.dns");
            record("test._domainkey.football.example.com", "test.txt");
            const Pair pair(testing_dkim::serve(std::move(zone)));
            for (const std::string file : {"test2.message", "ed25519test2.msg", "rfc6376.signed.msg"}) {
                const auto msg = testing_dkim::split_message(
                    testing_dkim::lf_to_crlf(replace_all(testing_dkim::read_file(dir + "/dkimpy/" + file), "\r\n", "\n")));
                variants("dkimpy/" + file, msg, each(pair));
            }
        }
        // OpenDKIM's own milter tests (opendkim-milter-tests.json): the
        // cases that carry a DKIM-Signature, keys from its pubkeys file.
        {
            dns::StaticZone zone;
            testing_dkim::load_fake_dns(zone, testing_dkim::read_file(dir + "/opendkim/pubkeys"));
            const Pair pair(testing_dkim::serve(std::move(zone)));
            const std::string json = testing_dkim::read_file(dir + "/opendkim/opendkim-milter-tests.json");
            const Json root = JsonReader(json).value();
            const Json* cases = root.get("cases");
            if (cases == nullptr) throw std::runtime_error("opendkim-milter-tests.json: no cases");
            for (const Json& c : cases->items) {
                RawMessage m;
                bool signed_case = false;
                if (const Json* hs = c.get("headers"))
                    for (const Json& h : hs->items) {
                        if (h.items.size() < 2) continue;
                        m.headers.emplace_back(h.items[0].text, " " + h.items[1].text);
                        signed_case = signed_case || is_signature(h.items[0].text);
                    }
                if (const Json* b = c.get("body"))
                    for (const Json& part : b->items) m.body += part.text;
                if (!signed_case) continue;
                variants("opendkim/" + (c.get("test") ? c.get("test")->text : std::string("?")), m, each(pair));
            }
        }
        // The Mail::DKIM verifier corpus.
        {
            dns::StaticZone zone;
            testing_dkim::load_fake_dns(zone, testing_dkim::read_file(dir + "/mail-dkim/FAKE_DNS.dat"));
            const Pair pair(testing_dkim::serve(std::move(zone)));
            std::istringstream tsv(testing_dkim::read_file(dir + "/mail-dkim/EXPECTED.tsv"));
            std::string line;
            while (std::getline(tsv, line)) {
                if (line.empty() || line[0] == '#') continue;
                const std::string file = line.substr(0, line.find('\t'));
                const auto msg =
                    testing_dkim::split_message(testing_dkim::read_file(dir + "/mail-dkim/corpus/" + file));
                variants("mail-dkim/" + file, msg, each(pair));
            }
        }
        generated(counts);
        keys_and_tags(counts);
    } catch (const std::exception& e) {
        std::cerr << "dkim_differential_test: " << e.what() << "\n";
        return 2;
    }
    std::cout << counts.messages << " messages, " << counts.signatures << " signatures (" << counts.passes
              << " passing), " << counts.disagreements << " unexplained disagreements, " << counts.explained
              << " explained by kRfcDifferences\n";
    return counts.disagreements == 0 ? 0 : 1;
}
