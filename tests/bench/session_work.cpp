// session_work: the "work alone" figure of issue 14. It drives
// session::Session (connector policy, SPF, DKIM, DMARC, the
// Authentication-Results header, the log line) with the benchmark corpus
// exactly as the milter engines do, in one thread, with no milter protocol
// and no I/O, and reports the CPU time per message. The daemon's CPU per
// message in the side-by-side runs, divided by this, is what the engine
// (framing, macros, threads, sockets) costs on top of the work.
//
//   session_work --config FILE --corpus DIR [--messages M] [--per-connection K]
//                [--label NAME] [--warmup W]
//
// The configuration is the daemon's (the same file, the same loader, so the
// same static zone and checks). Sessions of K messages each, as the load
// generator sends them; the first W messages warm the caches (the daemon
// is warmed the same way) and are not counted. The session log lines go
// through the daemon's logger to stderr, as with `connector-milter -f`.
// One line starting with "RESULT" carries the figures for scripts/bench.
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/corpus.hpp"
#include "daemon/allocator.hpp"
#include "daemon/config_loader.hpp"
#include "log/log.hpp"
#include "session/session.hpp"

namespace {

const char* const kUsage =
    "usage: session_work --config FILE --corpus DIR [--messages M] [--per-connection K]\n"
    "                    [--label NAME] [--warmup W]\n";

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "session_work: " << why << "\n" << kUsage;
    std::exit(2);
}

// The command line, --flag value pairs, with defaults for what it omits.
class Options {
public:
    Options(int argc, char** argv) {
        for (int i = 1; i < argc; i += 2) {
            if (!values_.count(argv[i])) usage(std::string("unknown option ") + argv[i]);
            if (i + 1 >= argc) usage(std::string(argv[i]) + " needs a value");
            values_[argv[i]] = argv[i + 1];
        }
        if (text("--config").empty() || text("--corpus").empty()) usage("--config and --corpus are required");
    }
    const std::string& text(const std::string& flag) const { return values_.at(flag); }
    long number(const std::string& flag, long min) const {
        const std::string& t = text(flag);
        char* end = nullptr;
        const long v = std::strtol(t.c_str(), &end, 10);
        if (t.empty() || *end != '\0' || v < min) usage(flag + " needs a number >= " + std::to_string(min));
        return v;
    }

private:
    std::map<std::string, std::string> values_{{"--config", ""},   {"--corpus", ""},        {"--label", "work-alone"},
                                               {"--messages", "2000"}, {"--warmup", "400"}, {"--per-connection", "10"}};
};

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// What the engines read from the MTA's connect macros (milter/session_facts.cpp),
// for the load generator's macros.
session::ConnectFacts connect_facts(const milterclient::SmtpClient& c) {
    session::ConnectFacts facts;
    facts.client = policy::IpAddress::parse(c.ip);
    facts.client_name = c.name;
    facts.local.address = policy::IpAddress::parse(c.local_addr);
    facts.local.port = static_cast<std::uint16_t>(std::stoul(c.local_port));
    facts.local.daemon_name = c.daemon_name;
    facts.mta_name = c.mta_name;
    facts.evidence.family = policy::ConnectEvidence::Family::Inet;
    facts.evidence.address = facts.client;
    facts.evidence.port = c.port;
    facts.evidence.client_addr = c.ip;
    facts.evidence.client_port = std::to_string(c.port);
    facts.evidence.daemon_addr = c.local_addr;
    facts.evidence.daemon_port = c.local_port;
    return facts;
}

struct Counts {
    long messages = 0, refused = 0, dkim_pass = 0, dmarc_pass = 0;
};

bool mentions(const session::Outcome& o, std::string_view what) {
    for (const auto& e : o.header_edits)
        if (e.value.find(what) != std::string::npos) return true;
    return false;
}

// One message through the session, as the engines call it: MAIL, RCPT,
// every header, end of headers, the body in the MTA's 65,535-octet chunks,
// end of message.
void one_message(session::Session& s, const bench::CorpusMessage& c, const session::Runtime& runtime, Counts& n) {
    const session::SecurityFacts security;
    ++n.messages;
    if (!s.on_mail({c.message.from}, security, runtime.now()).verdict.ok()) return ++n.refused, void();
    for (const auto& r : c.message.recipients)
        if (!s.on_rcpt({r}).verdict.ok()) return s.on_abort(), ++n.refused, void();
    for (const auto& [name, value] : c.message.headers) s.on_header(name, value);
    s.on_end_of_headers();
    constexpr std::size_t kChunk = 65535;
    const std::string_view body = c.message.body;
    for (std::size_t at = 0; at < body.size(); at += kChunk) s.on_body(body.substr(at, kChunk));
    const auto eom = s.on_end_of_message();
    if (!eom.verdict.ok()) return ++n.refused, void();
    n.dkim_pass += mentions(eom, "dkim=pass");
    n.dmarc_pass += mentions(eom, "dmarc=pass");
}

Counts run(int per_connection, const daemon_main::Loaded& loaded, const std::vector<bench::CorpusMessage>& corpus,
           long first, long count) {
    const auto shared = std::make_shared<session::Shared>();
    Counts n;
    std::unique_ptr<session::Session> s;
    int in_session = 0;
    for (long i = first; i < first + count; ++i) {
        const auto& c = corpus[static_cast<std::size_t>(i) % corpus.size()];
        if (!s) {
            s = std::make_unique<session::Session>(loaded.runtime, shared,
                                                   [](std::string_view line) { daemon_log::info(line); });
            s->on_connect(connect_facts(c.client));
            s->on_helo(c.client.helo, {});
            in_session = 0;
        }
        one_message(*s, c, *loaded.runtime, n);
        if (++in_session >= per_connection) {
            s->on_close();
            s.reset();
        }
    }
    if (s) s->on_close();
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        // The daemon's allocator settings, so that the work is measured as
        // the daemon does it.
        daemon_main::tune_allocator();
        const Options o(argc, argv);
        const int per_connection = static_cast<int>(o.number("--per-connection", 1));
        const long warmup = o.number("--warmup", 0), messages = o.number("--messages", 1);
        daemon_log::init(true);
        const auto loaded = daemon_main::load(o.text("--config"), daemon_main::MissingFile::IsAnError);
        if (!loaded.runtime) {
            for (const auto& e : loaded.errors) std::cerr << "session_work: " << e << "\n";
            return 2;
        }
        const auto corpus = bench::load_corpus(o.text("--corpus"));
        run(per_connection, loaded, corpus, 0, warmup);
        const double cpu0 = cpu_seconds();
        const Counts n = run(per_connection, loaded, corpus, warmup, messages);
        const double cpu = cpu_seconds() - cpu0;
        std::printf("RESULT label=%s messages=%ld refused=%ld dkim_pass=%ld dmarc_pass=%ld cpu_s=%.4f "
                    "cpu_ms_per_msg=%.4f\n",
                    o.text("--label").c_str(), n.messages, n.refused, n.dkim_pass, n.dmarc_pass, cpu,
                    1000 * cpu / static_cast<double>(n.messages));
        return n.refused == 0 ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "session_work: " << e.what() << "\n";
        return 2;
    }
}
