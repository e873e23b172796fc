// CPU per message for ARC verification (issue 19): verifies the ARC-sealed
// messages of a corpus made by tests/bench/corpus_gen.py with
// auth::ArcVerifier, keys from its bench.zone through dns::StaticResolver,
// and prints the process CPU time per message, beside DKIM verification
// (auth::DkimVerifier with its default options) of the same messages for scale.
//
//   arc_cpu CORPUS_DIR [ROUNDS]     (CORPUS_DIR: corpus_gen.py's --out)
//
// The first round warms the caches (parsed keys, as in the daemon); the
// figure is the median of the others. One thread: CPU time, not latency.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "auth/arc.hpp"
#include "auth/dkim.hpp"
#include "dns/static_zone.hpp"

namespace {

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Message {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

Message split(const std::string& text) {
    Message m;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t eol = text.find("\r\n", pos);
        if (eol == std::string::npos) eol = text.size();
        if (eol == pos) {
            pos += 2;
            break;
        }
        const std::string line = text.substr(pos, eol - pos);
        if ((line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
            m.headers.back().second += "\r\n" + line;
        } else if (const auto colon = line.find(':'); colon != std::string::npos) {
            m.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
        }
        pos = eol + 2;
    }
    if (pos < text.size()) m.body = text.substr(pos);
    return m;
}

template <typename Verify>
double median_us_per_message(int rounds, std::size_t count, Verify&& verify) {
    std::vector<double> per;
    for (int r = 0; r < rounds; ++r) {
        const double start = cpu_seconds();
        verify();
        if (r > 0) per.push_back((cpu_seconds() - start) * 1e6 / static_cast<double>(count));
    }
    std::sort(per.begin(), per.end());
    return per.empty() ? 0 : per[per.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [ROUNDS]\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    const int rounds = argc > 2 ? std::max(2, std::atoi(argv[2])) : 6;
    std::vector<dns::ZoneError> errors;
    auto zone = std::make_shared<dns::StaticZone>(dns::StaticZone::load(dir + "/bench.zone", errors));
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    auto resolver = std::make_shared<dns::StaticResolver>(zone);

    std::vector<Message> sealed;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir + "/corpus"))
        if (entry.path().extension() == ".eml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
        std::ifstream in(path, std::ios::binary);
        std::stringstream s;
        s << in.rdbuf();
        if (s.str().rfind("ARC-Seal:", 0) == 0) sealed.push_back(split(s.str()));
    }
    if (sealed.empty()) {
        std::fprintf(stderr, "no ARC-sealed message in %s/corpus\n", dir.c_str());
        return 1;
    }

    const auth::ArcVerifier arc(resolver, auth::ArcOptions{});
    std::size_t passed = 0;
    const double arc_us = median_us_per_message(rounds, sealed.size(), [&] {
        passed = 0;
        for (const auto& m : sealed) {
            auto v = arc.start();
            for (const auto& [n, val] : m.headers) v->header(n, val);
            v->end_of_headers();
            v->body(m.body);
            dns::Budget budget = dns::Budget::unlimited();
            if (v->finish(budget).result == auth::ArcResult::Pass) ++passed;
        }
    });
    const auth::DkimVerifier dkim(resolver, auth::DkimOptions{});
    std::size_t dkim_passed = 0;
    const double dkim_us = median_us_per_message(rounds, sealed.size(), [&] {
        dkim_passed = 0;
        for (const auto& m : sealed) {
            auto v = dkim.start("bench");
            for (const auto& [n, val] : m.headers) v->header(n, val);
            v->end_of_headers();
            v->body(m.body);
            dns::Budget budget = dns::Budget::unlimited();
            for (const auto& r : v->finish(budget))
                if (r.result == auth::DkimResult::Pass) ++dkim_passed;
        }
    });
    std::printf("ARC-sealed messages: %zu (%zu chains pass); median of %d rounds after a warm-up\n", sealed.size(),
                passed, rounds - 1);
    std::printf("ARC verification:  %.1f us CPU per message\n", arc_us);
    std::printf("DKIM verification: %.1f us CPU per message (%zu signatures pass)\n", dkim_us, dkim_passed);
    return passed == sealed.size() ? 0 : 1;
}
