#include "bench/corpus.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace bench {

namespace {

std::vector<std::string> split(std::string_view line, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = line.find(sep, start);
        out.emplace_back(line.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) return out;
        start = end + 1;
    }
}

// An RFC 5322 message with CRLF line endings: header fields (continuation
// lines kept with their CRLF, which the milter protocol carries as is) and
// the body after the empty line.
void parse_message(const std::string& text, milterclient::SimpleMessage& m, const std::string& file) {
    m.headers.clear();
    std::size_t pos = 0;
    while (true) {
        const std::size_t eol = text.find("\r\n", pos);
        if (eol == std::string::npos) throw std::runtime_error(file + ": no end of header");
        if (eol == pos) {  // the empty line
            m.body = text.substr(eol + 2);
            return;
        }
        std::string_view line(text.data() + pos, eol - pos);
        if (line.front() == ' ' || line.front() == '\t') {
            if (m.headers.empty()) throw std::runtime_error(file + ": continuation before any header");
            m.headers.back().second += "\r\n";
            m.headers.back().second += line;
        } else {
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) throw std::runtime_error(file + ": header without colon");
            std::string_view value = line.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            m.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
        }
        pos = eol + 2;
    }
}

}  // namespace

std::vector<CorpusMessage> load_corpus(const std::string& dir) {
    std::ifstream manifest(dir + "/manifest.tsv");
    if (!manifest) throw std::runtime_error("cannot read " + dir + "/manifest.tsv");
    std::vector<CorpusMessage> corpus;
    std::string line;
    while (std::getline(manifest, line)) {
        if (line.empty()) continue;
        const auto f = split(line, '\t');
        if (f.size() != 5) throw std::runtime_error("manifest.tsv: bad line: " + line);
        std::ifstream in(dir + "/" + f[0], std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + dir + "/" + f[0]);
        std::ostringstream text;
        text << in.rdbuf();
        CorpusMessage c;
        c.client.ip = f[1];
        c.client.name = f[2];
        c.client.helo = f[2];
        c.client.local_addr = "10.0.0.50";
        c.client.local_port = "25";
        c.client.mta_name = "mx.contoso.test";
        c.message.from = f[3];
        c.message.recipients = {f[4]};
        parse_message(text.str(), c.message, f[0]);
        corpus.push_back(std::move(c));
    }
    if (corpus.empty()) throw std::runtime_error("empty corpus in " + dir);
    return corpus;
}

}  // namespace bench
