// milter_load: a load generator that plays the MTA against one milter or a
// chain of milters (as Postfix does with smtpd_milters = a, b: every message
// goes through each filter in turn), over unix: or inet: sockets.
//
//   milter_load --corpus DIR --target SPEC [--target SPEC2] [--pid PID]...
//               [--connections N] [--messages M] [--per-connection K]
//               [--label NAME] [--time-limit SECONDS] [--split 1]
//   milter_load --idle N --target SPEC --pid PID [--hold-ms MS]
//
// Load mode: N worker threads, each holding one milter connection per
// target, send M messages in all (corpus round robin), K per SMTP session
// (then QUIT and a new connection, as an MTA does per SMTP session);
// with --split 1 each worker's sessions go to one target only, worker i to
// target i mod T (several MX hosts sharing the clients) instead of through
// the chain. The
// envelope (client IP, HELO, MAIL FROM, RCPT TO) comes from the corpus
// manifest; the MTA's binding macros are those of a port-25 listener at
// 10.0.0.50, so connector-milter's connector selection and policy run.
// Reports messages/s, per-message latency (MAIL to the last filter's
// end-of-message reply) p50/p99/max, the time to open a session
// (negotiation, CONNECT and HELO, where connection limits are checked)
// p50/p99, errors, how many messages the filters
// said passed DKIM and DMARC (from the headers they added), and for each
// --pid its peak RSS (VmHWM, /proc/PID/status) and the CPU seconds it used
// during the run (utime+stime, /proc/PID/stat fields 14 and 15).
//
// Idle mode: opens N milter sessions (negotiation, CONNECT, HELO) and holds
// them; reports how many were established, the failures, and the target's
// RSS and thread count while they are held.
//
// One line starting with "RESULT" carries every figure as key=value for the
// driver (scripts/bench). Everything is bounded: each socket operation by the
// client's timeout, the whole run by --time-limit.
#include <unistd.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/corpus.hpp"
#include "milterclient/milter_client.hpp"
#include "milterclient/mta.hpp"

namespace {

using bench::CorpusMessage;
using bench::load_corpus;
using Clock = std::chrono::steady_clock;

struct Options {
    std::string corpus;
    std::vector<std::string> targets;
    std::vector<pid_t> pids;
    std::string label = "run";
    int connections = 16;
    long messages = 1000;
    int per_connection = 10;
    int idle = 0;
    int hold_ms = 2000;
    double time_limit = 120;
    bool split = false;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "milter_load: " << why << "\n"
              << "usage: milter_load --corpus DIR --target SPEC [--target SPEC] [--pid PID]...\n"
                 "                   [--connections N] [--messages M] [--per-connection K]\n"
                 "                   [--label NAME] [--time-limit SECONDS] [--split 1]\n"
                 "       milter_load --idle N --target SPEC [--pid PID] [--hold-ms MS]\n";
    std::exit(2);
}

long to_number(const std::string& flag, const std::string& text, long min) {
    try {
        std::size_t used = 0;
        const long v = std::stol(text, &used);
        if (used != text.size() || v < min) throw std::invalid_argument(text);
        return v;
    } catch (const std::exception&) {
        usage(flag + " needs a number >= " + std::to_string(min) + ", not '" + text + "'");
    }
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) usage(flag + " needs a value");
        const std::string value = argv[++i];
        if (flag == "--corpus") o.corpus = value;
        else if (flag == "--target") o.targets.push_back(value);
        else if (flag == "--pid") o.pids.push_back(static_cast<pid_t>(to_number(flag, value, 1)));
        else if (flag == "--label") o.label = value;
        else if (flag == "--connections") o.connections = static_cast<int>(to_number(flag, value, 1));
        else if (flag == "--messages") o.messages = to_number(flag, value, 1);
        else if (flag == "--per-connection") o.per_connection = static_cast<int>(to_number(flag, value, 1));
        else if (flag == "--idle") o.idle = static_cast<int>(to_number(flag, value, 1));
        else if (flag == "--hold-ms") o.hold_ms = static_cast<int>(to_number(flag, value, 0));
        else if (flag == "--time-limit") o.time_limit = static_cast<double>(to_number(flag, value, 1));
        else if (flag == "--split") o.split = to_number(flag, value, 0) != 0;
        else usage("unknown option " + flag);
    }
    if (o.targets.empty()) usage("--target is required");
    if (o.idle == 0 && o.corpus.empty()) usage("--corpus is required");
    return o;
}

struct ProcStats {
    long hwm_kib = -1;
    long rss_kib = -1;
    long threads = -1;
    double cpu_seconds = -1;
};

ProcStats read_proc(pid_t pid) {
    ProcStats s;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        auto field = [&](std::string_view name, long& out) {
            if (line.rfind(name, 0) == 0) out = std::atol(line.c_str() + name.size());
        };
        field("VmHWM:", s.hwm_kib);
        field("VmRSS:", s.rss_kib);
        field("Threads:", s.threads);
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Field 2 (comm) may hold blanks: count fields after its closing paren.
    const std::size_t paren = text.rfind(')');
    if (paren != std::string::npos) {
        std::istringstream rest(text.substr(paren + 2));
        std::vector<std::string> f;
        std::string word;
        while (rest >> word) f.push_back(word);
        // rest starts at field 3 (state): utime is field 14, stime 15.
        if (f.size() > 13)
            s.cpu_seconds = (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) /
                            static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    return s;
}

bool mentions(const milterclient::EomResult& eom, std::string_view what) {
    for (const auto& h : eom.header_edits)
        if (h.value.find(what) != std::string::npos) return true;
    return false;
}

// Added headers go last, inserted ones at their position (0 = first);
// changes and deletions are not needed by any filter of the benchmark.
void apply_new_headers(const milterclient::EomResult& eom, milterclient::SimpleMessage& m) {
    for (const auto& h : eom.header_edits) {
        if (h.kind == milterclient::HeaderEdit::Kind::Add) {
            m.headers.emplace_back(h.name, h.value);
        } else if (h.kind == milterclient::HeaderEdit::Kind::Insert) {
            const auto at = std::min<std::size_t>(h.index, m.headers.size());
            m.headers.insert(m.headers.begin() + static_cast<std::ptrdiff_t>(at), {h.name, h.value});
        }
    }
}

struct Totals {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    std::vector<double> connect_ms;
    long ok = 0, refused = 0, errors = 0, dkim_pass = 0, dmarc_pass = 0;
    std::string first_error;
};

void worker(const Options& o, std::size_t index, const std::vector<CorpusMessage>& corpus, std::atomic<long>& next,
            Clock::time_point deadline, Totals& totals) {
    const std::vector<std::string> targets =
        o.split ? std::vector<std::string>{o.targets[index % o.targets.size()]} : o.targets;
    std::vector<double> lat;
    std::vector<double> connect_lat;
    long ok = 0, refused = 0, errors = 0, dkim = 0, dmarc = 0;
    std::string first_error;
    std::vector<std::unique_ptr<milterclient::Mta>> chain;
    int in_session = 0;
    while (Clock::now() < deadline) {
        const long n = next.fetch_add(1);
        if (n >= o.messages) break;
        const CorpusMessage& c = corpus[static_cast<std::size_t>(n) % corpus.size()];
        try {
            if (chain.empty()) {
                const auto opening = Clock::now();
                for (const auto& t : targets) {
                    // Written and read as Postfix does (Options::buffered).
                    milterclient::Options mta_options;
                    mta_options.buffered = true;
                    chain.push_back(std::make_unique<milterclient::Mta>(t, c.client, mta_options));
                    const auto r = chain.back()->connect();
                    if (!r.proceeds()) throw milterclient::Error("connect refused: " + r.smtp_reply());
                }
                connect_lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - opening).count());
                in_session = 0;
            }
            const auto start = Clock::now();
            bool accepted = true;
            bool saw_dkim = false, saw_dmarc = false;
            // A later filter sees the headers an earlier one added, as in
            // the usual Postfix set-up where OpenDMARC reads OpenDKIM's
            // Authentication-Results.
            std::optional<milterclient::SimpleMessage> edited;
            for (auto& mta : chain) {
                const auto eom = mta->send(edited ? *edited : c.message);
                if (!eom.proceeds()) {
                    accepted = false;
                    if (first_error.empty()) first_error = "refused: " + eom.smtp_reply();
                    break;
                }
                saw_dkim = saw_dkim || mentions(eom, "dkim=pass");
                saw_dmarc = saw_dmarc || mentions(eom, "dmarc=pass");
                if (chain.size() > 1 && !eom.header_edits.empty()) {
                    if (!edited) edited = c.message;
                    apply_new_headers(eom, *edited);
                }
            }
            lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
            if (accepted) ++ok;
            else ++refused;
            dkim += saw_dkim;
            dmarc += saw_dmarc;
            if (++in_session >= o.per_connection) chain.clear();  // QUIT, as at the end of an SMTP session
        } catch (const std::exception& e) {
            ++errors;
            if (first_error.empty()) first_error = e.what();
            chain.clear();
        }
    }
    chain.clear();
    const std::lock_guard<std::mutex> lock(totals.mutex);
    totals.latencies_ms.insert(totals.latencies_ms.end(), lat.begin(), lat.end());
    totals.connect_ms.insert(totals.connect_ms.end(), connect_lat.begin(), connect_lat.end());
    totals.ok += ok;
    totals.refused += refused;
    totals.errors += errors;
    totals.dkim_pass += dkim;
    totals.dmarc_pass += dmarc;
    if (totals.first_error.empty()) totals.first_error = first_error;
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

std::string proc_figures(const Options& o, const std::vector<ProcStats>& before) {
    std::ostringstream out;
    long hwm = 0;
    double cpu = 0;
    for (std::size_t i = 0; i < o.pids.size(); ++i) {
        const ProcStats after = read_proc(o.pids[i]);
        out << " pid" << i << "_hwm_kib=" << after.hwm_kib << " pid" << i << "_rss_kib=" << after.rss_kib << " pid" << i
            << "_threads=" << after.threads << " pid" << i << "_cpu_s=" << after.cpu_seconds - before[i].cpu_seconds;
        hwm += after.hwm_kib;
        cpu += after.cpu_seconds - before[i].cpu_seconds;
    }
    out << " hwm_kib=" << hwm << " cpu_s=" << cpu;
    return out.str();
}

int run_load(const Options& o) {
    const auto corpus = load_corpus(o.corpus);
    std::vector<ProcStats> before;
    for (const pid_t p : o.pids) before.push_back(read_proc(p));
    // The load generator's own CPU (it shares the machine with the targets).
    rusage self_before{};
    getrusage(RUSAGE_SELF, &self_before);
    const double gen_cpu_before =
        static_cast<double>(self_before.ru_utime.tv_sec + self_before.ru_stime.tv_sec) +
        static_cast<double>(self_before.ru_utime.tv_usec + self_before.ru_stime.tv_usec) / 1e6;
    Totals totals;
    std::atomic<long> next{0};
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::milliseconds(static_cast<long>(o.time_limit * 1000));
    std::vector<std::thread> threads;
    for (int i = 0; i < o.connections; ++i)
        threads.emplace_back(worker, std::cref(o), static_cast<std::size_t>(i), std::cref(corpus), std::ref(next),
                             deadline, std::ref(totals));
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const long done = totals.ok + totals.refused;
    char line[640];
    std::snprintf(line, sizeof line,
                  "RESULT label=%s connections=%d per_connection=%d messages=%ld ok=%ld refused=%ld "
                  "errors=%ld dkim_pass=%ld dmarc_pass=%ld secs=%.3f mps=%.1f p50_ms=%.3f p99_ms=%.3f "
                  "max_ms=%.3f sessions=%zu connect_p50_ms=%.3f connect_p99_ms=%.3f",
                  o.label.c_str(), o.connections, o.per_connection, done, totals.ok, totals.refused,
                  totals.errors, totals.dkim_pass, totals.dmarc_pass, secs,
                  static_cast<double>(done) / secs, percentile(totals.latencies_ms, 0.50),
                  percentile(totals.latencies_ms, 0.99), percentile(totals.latencies_ms, 1.0),
                  totals.connect_ms.size(), percentile(totals.connect_ms, 0.50), percentile(totals.connect_ms, 0.99));
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    const double gen_cpu = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                           static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6 - gen_cpu_before;
    std::cout << line << proc_figures(o, before) << " gen_cpu_s=" << gen_cpu << "\n";
    if (!totals.first_error.empty()) std::cerr << o.label << ": first problem: " << totals.first_error << "\n";
    return totals.errors == 0 ? 0 : 1;
}

int run_idle(const Options& o) {
    std::vector<std::unique_ptr<milterclient::Mta>> sessions;
    sessions.reserve(static_cast<std::size_t>(o.idle));
    long failures = 0;
    std::string first_error;
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::milliseconds(static_cast<long>(o.time_limit * 1000));
    for (int i = 0; i < o.idle && Clock::now() < deadline; ++i) {
        milterclient::SmtpClient client;
        client.ip = "198.51.100." + std::to_string(1 + i % 254);
        client.name = "[" + client.ip + "]";
        client.helo = "idle" + std::to_string(i) + ".sender0.example";
        client.port = static_cast<std::uint16_t>(1024 + i % 60000);
        client.local_addr = "10.0.0.50";
        try {
            auto mta = std::make_unique<milterclient::Mta>(o.targets.front(), client);
            const auto r = mta->connect();
            if (!r.proceeds()) throw milterclient::Error("refused: " + r.smtp_reply());
            sessions.push_back(std::move(mta));
        } catch (const std::exception& e) {
            ++failures;
            if (first_error.empty()) first_error = e.what();
        }
    }
    const double open_secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.hold_ms));
    // Still there? Every held session must still answer (a MAIL command).
    long alive = 0;
    const ProcStats held = o.pids.empty() ? ProcStats{} : read_proc(o.pids.front());
    for (auto& s : sessions) {
        try {
            if (s->mail("<probe@sender0.example>").proceeds()) ++alive;
            s->session().abort();
        } catch (const std::exception& e) {
            if (first_error.empty()) first_error = e.what();
        }
    }
    std::cout << "RESULT label=" << o.label << " idle_requested=" << o.idle
              << " established=" << sessions.size() << " failures=" << failures
              << " alive_after_hold=" << alive << " open_secs=" << open_secs
              << " rss_kib=" << held.rss_kib << " hwm_kib=" << held.hwm_kib
              << " threads=" << held.threads << "\n";
    if (!first_error.empty()) std::cerr << o.label << ": first problem: " << first_error << "\n";
    sessions.clear();
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Options o = parse_options(argc, argv);
        return o.idle > 0 ? run_idle(o) : run_load(o);
    } catch (const std::exception& e) {
        std::cerr << "milter_load: " << e.what() << "\n";
        return 2;
    }
}
