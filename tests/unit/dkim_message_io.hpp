// Test helpers: split a raw RFC 5322 message (CRLF or LF) into header
// fields as a milter receives them (name, value after the colon with its
// leading space, folds kept) and the body, and feed it to a DKIM verifier.
#pragma once
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/dkim.hpp"

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

}  // namespace testing_dkim
