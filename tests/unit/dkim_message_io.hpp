// Test helpers: split a raw RFC 5322 message (CRLF or LF) into header
// fields as a milter receives them (name, value after the colon with its
// leading space, folds kept) and the body, and feed it to a DKIM verifier.
#pragma once
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/dkim.hpp"
#include "dns/static_zone.hpp"

namespace testing_dkim {

struct RawMessage {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Every LF preceded by CR (for test data written with LF line ends).
inline std::string lf_to_crlf(std::string_view lf) {
    std::string out;
    out.reserve(lf.size() + lf.size() / 32);
    for (char c : lf) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

inline RawMessage split_message(std::string_view text) {
    RawMessage m;
    std::size_t pos = 0;
    std::string name, value;
    bool have = false;
    auto flush = [&] {
        if (have) m.headers.emplace_back(name, value);
        have = false;
    };
    while (pos < text.size()) {
        std::size_t eol = text.find('\n', pos);
        const std::size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
        std::string_view line = text.substr(pos, next - pos);
        std::string_view content = line;
        while (!content.empty() && (content.back() == '\n' || content.back() == '\r'))
            content.remove_suffix(1);
        if (content.empty()) {  // end of the header section
            pos = next;
            break;
        }
        if (content.front() == ' ' || content.front() == '\t') {
            if (have) {  // folded continuation: keep the fold (as CRLF)
                value += "\r\n";
                value.append(content);
            }
        } else {
            flush();
            const auto colon = content.find(':');
            if (colon != std::string_view::npos) {
                name.assign(content.substr(0, colon));
                value.assign(content.substr(colon + 1));
                have = true;
            }
        }
        pos = next;
    }
    flush();
    m.body.assign(text.substr(std::min(pos, text.size())));
    return m;
}

// Feeds the message in `chunk`-byte body pieces and returns the results.
inline std::vector<auth::DkimSignatureResult> verify(const auth::DkimVerifier& verifier,
                                                      const RawMessage& m, dns::Budget& budget,
                                                      std::size_t chunk = 4096) {
    auto msg = verifier.start("test");
    for (const auto& [n, v] : m.headers) msg->header(n, v);
    msg->end_of_headers();
    for (std::size_t i = 0; i < m.body.size(); i += chunk)
        msg->body(std::string_view(m.body).substr(i, chunk));
    return msg->finish(budget);
}

inline std::string trim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
    std::size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    return s.substr(i);
}

inline dns::Record txt_record(std::string text) {
    dns::Record r;
    r.type = dns::Type::TXT;
    r.strings.push_back(std::move(text));
    return r;
}

inline std::shared_ptr<dns::Resolver> serve(dns::StaticZone zone) {
    return std::make_shared<dns::StaticResolver>(std::make_shared<const dns::StaticZone>(std::move(zone)));
}

// Mail::DKIM's t/FAKE_DNS.dat: "name<spaces>rdata"; NXDOMAIN, timeouts and
// SERVFAIL are spelled as pseudo-data.
inline void load_fake_dns(dns::StaticZone& zone, const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.find_first_of(" \t");
        if (sp == std::string::npos) continue;
        const std::string name = line.substr(0, sp);
        const std::string data = trim(line.substr(sp));
        if (data == "NXDOMAIN") continue;
        if (data == "~~Query timed out~~") {
            zone.add_failure(name, dns::Status::Timeout);
        } else if (data == "~~SERVFAIL~~") {
            zone.add_failure(name, dns::Status::ServFail);
        } else if (data == "\"\"") {
            zone.add(name, txt_record(std::string()));
        } else {
            zone.add(name, txt_record(data));
        }
    }
}

// rfc8463/dns.txt: "name.<TAB>rdata".
inline void load_tab_dns(dns::StaticZone& zone, const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto tab = line.find('\t');
        if (tab == std::string::npos) continue;
        std::string name = line.substr(0, tab);
        while (!name.empty() && name.back() == '.') name.pop_back();
        zone.add(name, txt_record(trim(line.substr(tab + 1))));
    }
}

}  // namespace testing_dkim
