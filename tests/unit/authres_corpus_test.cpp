// The Authentication-Results cases of python3-authres' doctest
// (testdata/authres-python/authres-doctest-cases.json, see PROVENANCE.md).
//
// Expected outcomes come from the JSON itself:
// - a parse case with "output_when_parsing" (a syntax error message) must be
//   rejected; every other parse case must parse, and each of its "checks"
//   (expr -> expected, as python's str() printed it; "None" = absent) must hold;
// - every "generation_expected_outputs" header must parse, and re-generating it
//   must parse back to the same results; it must also be reproduced byte for
//   byte unless it uses something our writer deliberately does not produce
//   (listed in kNotOurLayout with the reason).
#include "auth/authres.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace {

// ----------------------------------------------------------------------------
// A minimal JSON reader (the build has no JSON library; the file is plain
// objects, arrays, strings and numbers).
// ----------------------------------------------------------------------------

struct Json {
    enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<Json> array;
    std::map<std::string, Json> object;

    const Json* get(const std::string& key) const {
        const auto it = object.find(key);
        return it == object.end() ? nullptr : &it->second;
    }
};

class JsonReader {
public:
    explicit JsonReader(const std::string& text) : s_(text) {}

    Json document() {
        Json v = value();
        ws();
        if (i_ != s_.size()) throw std::runtime_error("trailing data at " + std::to_string(i_));
        return v;
    }

private:
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
    }
    char next() {
        if (i_ >= s_.size()) throw std::runtime_error("unexpected end of JSON");
        return s_[i_++];
    }
    void expect(char c) {
        ws();
        if (next() != c) throw std::runtime_error(std::string("expected ") + c + " at " + std::to_string(i_));
    }
    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        } else {
            out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
        }
    }
    unsigned hex4() {
        if (i_ + 4 > s_.size()) throw std::runtime_error("short \\u escape");
        const unsigned v = static_cast<unsigned>(std::stoul(s_.substr(i_, 4), nullptr, 16));
        i_ += 4;
        return v;
    }
    std::string str() {
        expect('"');
        std::string out;
        while (true) {
            const char c = next();
            if (c == '"') return out;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            const char e = next();
            switch (e) {
            case 'n': out.push_back('\n'); break;
            case 't': out.push_back('\t'); break;
            case 'r': out.push_back('\r'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'u': {
                unsigned cp = hex4();
                if (cp >= 0xd800 && cp < 0xdc00 && i_ + 6 <= s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
                    i_ += 2;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4() - 0xdc00);
                }
                append_utf8(out, cp);
                break;
            }
            default: out.push_back(e); break;  // " \ /
            }
        }
    }
    Json value() {
        ws();
        if (i_ >= s_.size()) throw std::runtime_error("unexpected end of JSON");
        Json v;
        const char c = s_[i_];
        if (c == '{') {
            v.kind = Json::Kind::Object;
            ++i_;
            ws();
            if (s_[i_] == '}') { ++i_; return v; }
            while (true) {
                std::string key = str();
                expect(':');
                v.object[key] = value();
                ws();
                const char d = next();
                if (d == '}') return v;
                if (d != ',') throw std::runtime_error("expected , or } at " + std::to_string(i_));
            }
        }
        if (c == '[') {
            v.kind = Json::Kind::Array;
            ++i_;
            ws();
            if (s_[i_] == ']') { ++i_; return v; }
            while (true) {
                v.array.push_back(value());
                ws();
                const char d = next();
                if (d == ']') return v;
                if (d != ',') throw std::runtime_error("expected , or ] at " + std::to_string(i_));
            }
        }
        if (c == '"') {
            v.kind = Json::Kind::String;
            v.string = str();
            return v;
        }
        if (s_.compare(i_, 4, "true") == 0) { i_ += 4; v.kind = Json::Kind::Bool; v.boolean = true; return v; }
        if (s_.compare(i_, 5, "false") == 0) { i_ += 5; v.kind = Json::Kind::Bool; return v; }
        if (s_.compare(i_, 4, "null") == 0) { i_ += 4; return v; }
        std::size_t used = 0;
        v.kind = Json::Kind::Number;
        v.number = std::stod(s_.substr(i_), &used);
        i_ += used;
        return v;
    }

    const std::string& s_;
    std::size_t i_ = 0;
};

// ----------------------------------------------------------------------------

std::optional<Json> load_cases(std::string& why) {
    const char* dir = std::getenv("TESTDATA_DIR");
    if (!dir || !*dir) {
        why = "TESTDATA_DIR is not set (export TESTDATA_DIR=/work/shared/testdata when running by hand)";
        return std::nullopt;
    }
    const std::string path = std::string(dir) + "/authres-python/authres-doctest-cases.json";
    std::ifstream in(path);
    if (!in) {
        why = "cannot read " + path;
        return std::nullopt;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    try {
        return JsonReader(buf.str()).document();
    } catch (const std::exception& e) {
        why = path + ": " + e.what();
        return std::nullopt;
    }
}

// The doctest inputs are whole header lines; we parse values.
std::string header_value(const std::string& line) {
    static const std::string name = "authentication-results:";
    if (line.size() >= name.size()) {
        std::string head = line.substr(0, name.size());
        for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (head == name) return line.substr(name.size());
    }
    return line;
}

// python's str() of one result (method=result, reason, properties, no
// comments) is compared by meaning, not spelling: quoting is a writer's
// choice (we always quote header.b, python does not).
std::optional<auth::AuthResult> result_of_text(const std::string& text) {
    auto parsed = auth::parse_authentication_results("x; " + text);
    if (!parsed || parsed->results.size() != 1) return std::nullopt;
    return parsed->results[0];
}

std::string or_none(const std::string& s) { return s.empty() ? "None" : s; }

// Evaluates one doctest expression against our parse; nullopt = the
// expression is not one this test knows (reported as a failure).
std::optional<std::string> evaluate(const auth::ParsedAuthRes& parsed, const std::string& expr) {
    if (expr == "authserv_id") return parsed.authserv_id;
    static const std::regex result_re(R"(results\[(\d+)\](?:\.(.+))?)");
    std::smatch m;
    if (!std::regex_match(expr, m, result_re)) return std::nullopt;
    const std::size_t i = std::stoul(m[1]);
    if (i >= parsed.results.size()) return "<no results[" + std::to_string(i) + "]>";
    const auth::AuthResult& r = parsed.results[i];
    if (!m[2].matched) return std::string("<whole result>");
    const std::string attr = m[2];
    if (attr == "method") return r.method;
    if (attr == "result") return r.result;
    if (attr == "reason") return or_none(r.reason);
    static const std::regex prop_re(R"(properties\[(\d+)\]\.(type|name|value))");
    std::smatch pm;
    if (std::regex_match(attr, pm, prop_re)) {
        const std::size_t j = std::stoul(pm[1]);
        if (j >= r.properties.size()) return "<no properties[" + std::to_string(j) + "]>";
        const auto& [key, value] = r.properties[j];
        const auto dot = key.find('.');
        if (pm[2] == "type") return key.substr(0, dot);
        if (pm[2] == "name") return key.substr(dot + 1);
        return value;
    }
    // python's attribute shortcut: <ptype>_<property> (e.g. smtp_mailfrom).
    const auto underscore = attr.find('_');
    if (underscore == std::string::npos) return std::nullopt;
    const std::string key = attr.substr(0, underscore) + "." + attr.substr(underscore + 1);
    for (const auto& [k, v] : r.properties)
        if (k == key) return v;
    return "None";
}

TEST(AuthResDoctestCorpus, EveryParseCaseHasItsExpectedOutcome) {
    std::string why;
    const auto cases = load_cases(why);
    ASSERT_TRUE(cases) << why;
    const Json* list = cases->get("parse_cases");
    ASSERT_TRUE(list && !list->array.empty());
    int checked = 0;
    for (const Json& c : list->array) {
        const std::string line = std::to_string(static_cast<int>(c.get("doctest_line")->number));
        const std::string input = c.get("input")->string;
        SCOPED_TRACE("doctest line " + line + ": " + input);
        std::string error;
        const auto parsed = auth::parse_authentication_results(header_value(input), &error);
        if (const Json* err = c.get("output_when_parsing")) {
            ASSERT_NE(err->string.find("error"), std::string::npos) << "not an error case?";
            EXPECT_FALSE(parsed) << "python rejects it: " << err->string;
            ++checked;
            continue;
        }
        ASSERT_TRUE(parsed) << error;
        ++checked;
        if (const Json* checks = c.get("checks")) {
            for (const Json& ch : checks->array) {
                const std::string expr = ch.get("expr")->string;
                static const std::regex whole_re(R"(results\[(\d+)\])");
                std::smatch m;
                if (std::regex_match(expr, m, whole_re)) {
                    const std::size_t i = std::stoul(m[1]);
                    ASSERT_LT(i, parsed->results.size()) << expr;
                    auto expected = result_of_text(ch.get("expected")->string);
                    ASSERT_TRUE(expected) << "expected text does not parse: " << ch.get("expected")->string;
                    auth::AuthResult got = parsed->results[i];
                    got.comment.clear();
                    EXPECT_EQ(got, *expected) << expr << " = " << ch.get("expected")->string << "; we have "
                                              << auth::format_authentication_results("x", {got});
                    continue;
                }
                const auto got = evaluate(*parsed, expr);
                ASSERT_TRUE(got) << "unsupported doctest expression " << expr;
                EXPECT_EQ(*got, ch.get("expected")->string) << expr;
            }
        }
    }
    EXPECT_EQ(checked, static_cast<int>(list->array.size()));
}

// Generation outputs whose exact text our writer does not produce, and why.
// They still have to parse and survive a re-generation round trip.
const std::map<int, const char*> kNotOurLayout = {
    {23, "authres-version '1': we never write a version (RFC 8601 section 2.2 makes it optional)"},
    {28, "a comment after 'none': our 'none' carries no comment"},
    {586, "comment after a property: we write the comment right after method=result"},
    {645, "comments after the result and after a property: we keep one, after the result"},
};

TEST(AuthResDoctestCorpus, EveryGeneratedHeaderParsesAndRoundTrips) {
    std::string why;
    const auto cases = load_cases(why);
    ASSERT_TRUE(cases) << why;
    const Json* list = cases->get("generation_expected_outputs");
    ASSERT_TRUE(list && !list->array.empty());
    for (const Json& c : list->array) {
        const int line = static_cast<int>(c.get("doctest_line")->number);
        const std::string expected = c.get("expected_output")->string;
        SCOPED_TRACE("doctest line " + std::to_string(line) + ": " + expected);
        std::string value = header_value(expected);
        if (!value.empty() && value.front() == ' ') value.erase(0, 1);
        std::string error;
        const auto parsed = auth::parse_authentication_results(value, &error);
        ASSERT_TRUE(parsed) << error;
        const std::string ours = auth::format_authentication_results(parsed->authserv_id, parsed->results);
        const auto again = auth::parse_authentication_results(ours, &error);
        ASSERT_TRUE(again) << ours << ": " << error;
        EXPECT_EQ(again->authserv_id, parsed->authserv_id);
        EXPECT_EQ(again->none, parsed->none);
        EXPECT_EQ(again->results, parsed->results) << ours;
        if (!kNotOurLayout.contains(line)) {
            EXPECT_EQ(ours, value);
        }
    }
}

}  // namespace
