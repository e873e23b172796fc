// `connector-milter status`: a short summary for the administrator, read
// from the running daemon's /metrics ([metrics] listen) twice, --interval
// seconds apart, so that it says what happened lately, not since start.
#include <getopt.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "config/socket_spec.hpp"
#include "daemon/config_loader.hpp"
#include "daemon/daemon.hpp"
#include "metrics/scrape.hpp"

namespace daemon_main {

namespace {

using Samples = std::vector<metrics::Sample>;
using Labels = std::map<std::string, std::string>;

constexpr const char* kDefaultMetricsUrl = "http://127.0.0.1:9892/metrics";

void status_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: connector-milter status [--metrics URL | -c FILE] [--interval SECONDS]\n"
                 "  --metrics URL       the daemon's endpoint: http://HOST:PORT/metrics,\n"
                 "                      http://[IPV6]:PORT/metrics or unix:/path (default:\n"
                 "                      [metrics] listen of the configuration, else\n"
                 "                      %s)\n"
                 "  -c FILE             the configuration whose [metrics] listen to read\n"
                 "  --interval SECONDS  read twice, this far apart, and show what happened in\n"
                 "                      between (default 5; 0: totals since the daemon started)\n",
                 kDefaultMetricsUrl);
}

std::string name(const char* suffix) { return std::string("connector_milter_") + suffix; }

// What moved between the two readings (or the total, without a first one).
class Reading {
public:
    Reading(const Samples* before, const Samples& after) : before_(before), after_(after) {}
    double now(const char* suffix, const Labels& labels = {}) const {
        return metrics::sum_of(after_, name(suffix), labels).value_or(0);
    }
    double moved(const char* suffix, const Labels& labels = {}) const {
        const double then = before_ ? metrics::sum_of(*before_, name(suffix), labels).value_or(0) : 0;
        return now(suffix, labels) - then;
    }
    std::set<std::string> label_values(const char* suffix, const std::string& label) const {
        std::set<std::string> out;
        for (const auto& s : after_)
            if (s.name == name(suffix))
                if (auto it = s.labels.find(label); it != s.labels.end()) out.insert(it->second);
        return out;
    }

private:
    const Samples* before_;
    const Samples& after_;
};

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", std::round(v));
    return buf;
}

std::string duration(double seconds) {
    const auto s = static_cast<long long>(seconds);
    if (s < 120) return std::to_string(s) + " s";
    if (s < 7200) return std::to_string(s / 60) + " min";
    if (s < 172800) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
    return std::to_string(s / 86400) + " days";
}

// "relay 2, sender 1" for the connector's refusals that moved, most first.
std::string reasons(const Reading& r, const std::string& connector) {
    std::vector<std::pair<double, std::string>> moved;
    for (const auto& reason : r.label_values("decision_reasons_total", "reason")) {
        const double n = r.moved("decision_reasons_total", {{"connector", connector}, {"reason", reason}});
        if (n > 0) moved.emplace_back(n, reason);
    }
    std::sort(moved.begin(), moved.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string out;
    for (const auto& [n, reason] : moved) out += (out.empty() ? "" : ", ") + reason + " " + number(n);
    return out;
}

std::string summary(const Reading& r, const std::string& url, const std::string& when) {
    std::string out;
    std::string version;
    for (const auto& v : r.label_values("build_info", "version")) version = v;
    out += "connector-milter " + (version.empty() ? std::string("?") : version) + " at " + url + "\n";
    out += "configuration loaded " + duration(r.now("config_age_seconds")) + " ago; reloads " + when + ": " +
           number(r.moved("config_reloads_total", {{"result", "ok"}})) + " ok, " +
           number(r.moved("config_reloads_total", {{"result", "failed"}})) + " failed\n";
    out += "sessions: " + number(r.now("sessions_active")) + " active; " + when + ": " +
           number(r.moved("sessions_opened_total")) + " opened, " + number(r.moved("sessions_refused_total")) +
           " refused at connect\n";
    for (const auto& c : r.label_values("decisions_total", "connector")) {
        const Labels of{{"connector", c}};
        const double decided = r.moved("decisions_total", of);
        const double opened = r.moved("sessions_opened_total", of);
        if (decided == 0 && opened == 0 && r.now("sessions_active", of) == 0) continue;
        auto action = [&](const char* a) { return r.moved("decisions_total", {{"connector", c}, {"action", a}}); };
        const std::string why = reasons(r, c);
        out += "  \"" + c + "\": " + number(r.now("sessions_active", of)) + " active, " + number(opened) +
               " sessions, " + number(r.moved("decisions_total", {{"connector", c}, {"stage", "eom"}, {"action", "continue"}})) +
               " messages accepted, " + number(action("quarantine")) + " quarantined, " + number(action("reject")) +
               " rejected, " + number(action("tempfail")) + " tempfailed" + (why.empty() ? "" : " (" + why + ")") +
               "\n";
    }
    const double queries = r.moved("dns_queries_total");
    const double timeouts = r.moved("dns_answers_total", {{"status", "timeout"}});
    const double servfail = r.moved("dns_answers_total", {{"status", "servfail"}});
    const double exhausted = r.moved("dns_budget_exhausted_total");
    std::string health = "ok";
    if (queries > 0 && (timeouts + servfail) / queries > 0.05) health = "FAILING";
    else if (timeouts + servfail + exhausted > 0) health = "some failures";
    out += "DNS " + when + ": " + health + ": " + number(queries) + " queries upstream, " +
           number(r.moved("dns_cache_hits_total")) + " cache hits, " + number(timeouts) + " timeouts, " +
           number(servfail) + " SERVFAIL, " + number(exhausted) + " budget exhausted\n";
    out += "engine: " + number(r.now("worker_pool_busy")) + " of " + number(r.now("worker_pool_threads")) +
           " worker threads busy, " + number(r.now("worker_pool_queued")) + " batches waiting; " + when + ": " +
           number(r.moved("work_queue_full_total")) + " overload tempfails (work queue full), " +
           number(r.moved("engine_tempfails_total", {{"reason", "descriptors"}}) +
                  r.moved("engine_tempfails_total", {{"reason", "descriptors_closed"}})) +
           " over the descriptor budget\n";
    return out;
}

std::string url_from_config(const std::string& path, bool given, std::string* error) {
    auto loaded = load(path, given ? MissingFile::IsAnError : MissingFile::MeansEmbeddedDefault);
    if (!loaded.runtime) {
        *error = loaded.errors.empty() ? "cannot load " + path : loaded.errors.front();
        return {};
    }
    const auto& listen = loaded.runtime->config->metrics.listen;
    if (listen.empty()) return kDefaultMetricsUrl;
    const auto spec = config::parse_metrics_listen(listen);
    if (!spec) return kDefaultMetricsUrl;  // the loader refused it already
    if (spec->kind == config::SocketSpec::Kind::Unix) return "unix:" + spec->path;
    // Every address: ask on loopback.
    if (spec->kind == config::SocketSpec::Kind::Inet6)
        return "http://[" + (spec->host == "::" ? std::string("::1") : spec->host) + "]:" + std::to_string(spec->port) +
               "/metrics";
    return "http://" + (spec->host == "0.0.0.0" ? std::string("127.0.0.1") : spec->host) + ":" +
           std::to_string(spec->port) + "/metrics";
}

}  // namespace

int run_status(int argc, char** argv) {
    std::string url, config_path = kDefaultConfigPath;
    bool config_given = false;
    double interval = 5;
    static const option long_options[] = {{"metrics", required_argument, nullptr, 'm'},
                                          {"interval", required_argument, nullptr, 'i'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {nullptr, 0, nullptr, 0}};
    opterr = 0;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "c:h", long_options, nullptr)) != -1;) {
        switch (c) {
            case 'm': url = optarg; break;
            case 'c':
                config_path = optarg;
                config_given = true;
                break;
            case 'i': {
                char* end = nullptr;
                interval = std::strtod(optarg, &end);
                if (end == optarg || *end != '\0' || interval < 0 || interval > 3600) {
                    std::fprintf(stderr, "connector-milter status: --interval takes 0 to 3600 seconds\n");
                    return 2;
                }
                break;
            }
            case 'h': status_usage(stdout); return 0;
            default:
                status_usage(stderr);
                return 2;
        }
    }
    if (optind < argc) {
        status_usage(stderr);
        return 2;
    }
    if (url.empty()) {
        std::string error;
        url = url_from_config(config_path, config_given, &error);
        if (url.empty()) {
            std::fprintf(stderr, "connector-milter status: %s\n", error.c_str());
            return 1;
        }
    }
    auto read = [&](Samples* out) {
        std::string error;
        const auto body = metrics::http_get(url, std::chrono::seconds(5), &error);
        if (!body) {
            std::fprintf(stderr, "connector-milter status: %s: %s (is [metrics] listen set?)\n", url.c_str(),
                         error.c_str());
            return false;
        }
        *out = metrics::parse_exposition(*body);
        return true;
    };
    Samples first, second;
    if (!read(&first)) return 1;
    std::string when = "since start";
    const Samples* before = nullptr;
    if (interval > 0) {
        std::this_thread::sleep_for(std::chrono::duration<double>(interval));
        if (!read(&second)) return 1;
        before = &first;
        char buf[64];
        std::snprintf(buf, sizeof buf, "in the last %g s", interval);
        when = buf;
    } else {
        second = std::move(first);
    }
    std::fputs(summary(Reading(before, second), url, when).c_str(), stdout);
    return 0;
}

}  // namespace daemon_main
