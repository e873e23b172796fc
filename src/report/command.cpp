#include "report/command.hpp"

#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "daemon/cluster.hpp"
#include "daemon/config_loader.hpp"
#include "report/aggregate.hpp"
#include "report/destinations.hpp"
#include "report/feedback_xml.hpp"
#include "report/period.hpp"
#include "report/report_mail.hpp"
#include "report/split.hpp"
#include "session/runtime.hpp"
#include "state/redis_report_store.hpp"
#include "state/report_store.hpp"
#include "util/ascii.hpp"

namespace report {

namespace {

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: connector-milter report [-c FILE] [--period YYYY-MM-DD | --since TIME --until TIME]\n"
                 "                               [--dry-run] [--out DIR]\n"
                 "  -c FILE        configuration (default %s)\n"
                 "  --period DAY   the UTC day YYYY-MM-DD (default: yesterday)\n"
                 "  --since TIME, --until TIME  a period: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or epoch seconds\n"
                 "  --dry-run      build and check every report, say what would be sent, send nothing\n"
                 "  --out DIR      write the reports (.xml.gz) to DIR instead of mailing them\n",
                 daemon_main::kDefaultConfigPath);
}

struct Options {
    std::string config_path = daemon_main::kDefaultConfigPath;
    bool config_given = false;
    std::string period, since, until, out_dir;
    bool dry_run = false;
};

struct Part {
    std::string report_id, filename, xml, gz;
    std::size_t records = 0;
    std::uint64_t messages = 0;
};

class Reporter {
public:
    Reporter(const config::DmarcReportSettings& settings, dns::Resolver& resolver, Period period, Options options)
        : s_(settings), resolver_(resolver), period_(period), opt_(std::move(options)) {}

    void domain(DomainReport&& report);
    int status() const { return failures_ ? 1 : 0; }
    std::size_t reports() const { return reports_; }

private:
    // The report (or its parts) such that every part's attachment is at most
    // `limit` bytes; empty when even one record alone is larger.
    std::vector<Part> build(const DomainReport& report, std::uint64_t limit);
    Part make_part(const DomainReport& report, const Rows& rows, std::size_t index, std::size_t count);
    void deliver(const DomainReport& report, const Destination& to, const std::vector<Part>& parts);

    const config::DmarcReportSettings& s_;
    dns::Resolver& resolver_;
    Period period_;
    Options opt_;
    int failures_ = 0;
    std::size_t reports_ = 0;
    std::set<std::string> written_;
};

Part Reporter::make_part(const DomainReport& report, const Rows& rows, std::size_t index, std::size_t count) {
    Part part;
    const std::string unique = count > 1 ? std::to_string(index + 1) : std::string();
    // RFC 9990 section 3.2.1.1 "Definition of Report-ID": unique among
    // reports to one domain, and the same when a report is sent again.
    part.report_id = std::to_string(period_.begin) + "-" + std::to_string(period_.until - 1) + "." +
                     report.policy_domain + (count > 1 ? ".part" + unique : "") + "@" + s_.submitter;
    ReportMetadata meta{s_.org_name, s_.contact, s_.extra_contact_info, part.report_id,
                        period_.begin, period_.until - 1, std::string("connector-milter ") + PACKAGE_VERSION};
    part.xml = feedback_xml(meta, report, rows);
    part.gz = gzip(part.xml);
    part.filename = report_filename(s_.submitter, report.policy_domain, period_.begin, period_.until - 1, unique);
    part.records = rows.size();
    for (const auto& r : rows) part.messages += r.second;
    return part;
}

std::vector<Part> Reporter::build(const DomainReport& report, std::uint64_t limit) {
    Rows all;
    all.reserve(report.rows.size());
    for (const auto& [key, count] : report.rows) all.emplace_back(&key, count);
    return split_to_fit<Part>(
        all, [&](const Rows& rows, std::size_t index, std::size_t count) { return make_part(report, rows, index, count); },
        [&](const Part& part) { return !part.gz.empty() && part.gz.size() <= limit; });
}

void Reporter::domain(DomainReport&& report) {
    std::vector<std::string> problems;
    const auto uris = parse_rua(report.rua, &problems);
    for (const auto& p : problems) std::printf("%s: rua %s (ignored)\n", report.policy_domain.c_str(), p.c_str());
    std::vector<Destination> targets;
    std::set<std::string> seen;
    for (const auto& uri : uris) {
        // Reports to ourselves would come back as mail that gets reported on.
        if (suppressed(uri, s_.suppress) || util::ascii_iequals(uri.address, s_.from)) {
            std::printf("%s: %s is on the suppression list: not sent\n", report.policy_domain.c_str(),
                        uri.address.c_str());
            continue;
        }
        const auto verified = verify_destination(uri, report.policy_domain, report.organizational_domain, resolver_);
        if (verified.verification == Verification::Refused || verified.verification == Verification::TempError) {
            std::printf("%s: %s not used: %s\n", report.policy_domain.c_str(), uri.address.c_str(),
                        verified.note.c_str());
            if (verified.verification == Verification::TempError) ++failures_;
            continue;
        }
        if (!verified.note.empty()) std::printf("%s: %s\n", report.policy_domain.c_str(), verified.note.c_str());
        for (const auto& d : verified.destinations) {
            if (suppressed(d, s_.suppress) || util::ascii_iequals(d.address, s_.from)) continue;
            if (seen.insert(util::ascii_lower(d.address)).second) targets.push_back(d);
        }
    }
    if (targets.empty()) {
        std::printf("%s: %llu messages, no destination to send a report to\n", report.policy_domain.c_str(),
                    static_cast<unsigned long long>(report.messages));
        return;
    }
    std::map<std::uint64_t, std::vector<Part>> by_limit;
    for (const auto& to : targets) {
        const std::uint64_t limit = to.max_size ? std::min(*to.max_size, s_.max_report_size) : s_.max_report_size;
        auto it = by_limit.find(limit);
        if (it == by_limit.end()) it = by_limit.emplace(limit, build(report, limit)).first;
        if (it->second.empty()) {
            // RFC 7489 section 6.2: a report larger than the limit is not
            // sent; here even a single record's report would not fit.
            std::printf("%s: report for %s skipped: a single record exceeds the size limit of %llu bytes\n",
                        report.policy_domain.c_str(), to.address.c_str(), static_cast<unsigned long long>(limit));
            continue;
        }
        deliver(report, to, it->second);
    }
}

void Reporter::deliver(const DomainReport& report, const Destination& to, const std::vector<Part>& parts) {
    for (const auto& part : parts) {
        ++reports_;
        const std::string what = report.policy_domain + ": " + part.filename + " (" + std::to_string(part.records) +
                                 " records, " + std::to_string(part.messages) + " messages, " +
                                 std::to_string(part.gz.size()) + " bytes) ";
        if (opt_.dry_run) {
            std::printf("%swould go to %s\n", what.c_str(), to.address.c_str());
            continue;
        }
        if (!opt_.out_dir.empty()) {
            const std::string path = opt_.out_dir + "/" + part.filename;
            if (written_.insert(path).second) {
                std::ofstream f(path, std::ios::binary | std::ios::trunc);
                f.write(part.gz.data(), static_cast<std::streamsize>(part.gz.size()));
                if (!f) {
                    std::fprintf(stderr, "cannot write %s\n", path.c_str());
                    ++failures_;
                    continue;
                }
            }
            std::printf("%swritten to %s (for %s)\n", what.c_str(), path.c_str(), to.address.c_str());
            continue;
        }
        MailParts mail;
        mail.from = s_.from;
        mail.to = to.address;
        mail.subject = report_subject(report.policy_domain, s_.submitter, part.report_id);
        mail.message_id = part.report_id;
        mail.date = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
        mail.text = "DMARC aggregate report from " + s_.org_name + " (" + s_.submitter + ") for " +
                    report.policy_domain + ", " + utc_date(period_.begin) + " 00:00 UTC to " +
                    utc_date(period_.until - 1) + " 23:59:59 UTC: " + std::to_string(part.messages) +
                    " messages in " + std::to_string(part.records) + " records.\nContact: " + s_.contact + "\n";
        mail.filename = part.filename;
        mail.attachment = part.gz;
        std::string command = s_.sender_command;
        // Our own reports are recognised by their envelope sender (the
        // daemon does not record them): sendmail gets it with -f.
        const std::string program = command.substr(0, command.find(' '));
        const std::string base = program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
        if (base == "sendmail" && command.find(" -f") == std::string::npos) command += " -f " + s_.from;
        std::string error;
        if (pipe_to_command(command, mime_message(mail), &error)) {
            std::printf("%ssent to %s\n", what.c_str(), to.address.c_str());
        } else {
            std::fprintf(stderr, "%snot sent to %s: %s\n", what.c_str(), to.address.c_str(), error.c_str());
            ++failures_;
        }
    }
}

}  // namespace

int run_report(int argc, char** argv) {
    Options opt;
    static const option long_options[] = {{"period", required_argument, nullptr, 'p'},
                                          {"since", required_argument, nullptr, 's'},
                                          {"until", required_argument, nullptr, 'u'},
                                          {"dry-run", no_argument, nullptr, 'n'},
                                          {"out", required_argument, nullptr, 'o'},
                                          {"help", no_argument, nullptr, 'h'},
                                          {nullptr, 0, nullptr, 0}};
    optind = 1;
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", long_options, nullptr)) != -1) {
        switch (c) {
            case 'c':
                opt.config_path = optarg;
                opt.config_given = true;
                break;
            case 'p': opt.period = optarg; break;
            case 's': opt.since = optarg; break;
            case 'u': opt.until = optarg; break;
            case 'n': opt.dry_run = true; break;
            case 'o': opt.out_dir = optarg; break;
            case 'h': usage(stdout); return 0;
            default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        std::fprintf(stderr, "connector-milter report: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    Period period;
    if (!opt.period.empty()) {
        if (!opt.since.empty() || !opt.until.empty()) {
            std::fprintf(stderr, "connector-milter report: --period and --since/--until exclude each other\n");
            return 2;
        }
        const auto p = day_period(opt.period);
        if (!p) {
            std::fprintf(stderr, "connector-milter report: --period %s: not a date YYYY-MM-DD\n", opt.period.c_str());
            return 2;
        }
        period = *p;
    } else if (!opt.since.empty() || !opt.until.empty()) {
        const auto since = parse_time(opt.since), until = parse_time(opt.until);
        if (!since || !until || *until <= *since) {
            std::fprintf(stderr, "connector-milter report: --since and --until need two times, the first earlier\n");
            return 2;
        }
        period = {*since, *until};
    } else {
        period = previous_day(
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                .count());
    }
    if (!opt.out_dir.empty()) {
        struct stat st {};
        if (stat(opt.out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
            std::fprintf(stderr, "connector-milter report: --out %s: not a folder\n", opt.out_dir.c_str());
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);  // a sender command that exits early is an error, not our end
    auto loaded = daemon_main::load(opt.config_path, opt.config_given ? daemon_main::MissingFile::IsAnError
                                                                       : daemon_main::MissingFile::MeansEmbeddedDefault);
    if (!loaded.runtime) {
        for (auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
        return 1;
    }
    const auto& config = *loaded.runtime->config;
    if (!config.dmarc.reports.enabled || !config.dmarc.enabled) {
        // Not an error: the packaged daily timer runs whether or not the
        // administrator turned reports on.
        std::fprintf(stderr, "connector-milter report: [dmarc.reports] is not enabled in %s: nothing to report\n",
                     loaded.embedded ? "the embedded default policy" : opt.config_path.c_str());
        return 0;
    }
    std::string error;
    std::unique_ptr<state::ReportStore> store;
    std::string where = config.dmarc.reports.database;
    if (config.dmarc.reports.store == config::DmarcReportSettings::Store::Redis) {
        const auto password = daemon_main::read_cluster_password(config.cluster, &error);
        if (!password) {
            std::fprintf(stderr, "connector-milter report: %s\n", error.c_str());
            return 1;
        }
        where = "redis at " + config.cluster.redis;
        store = std::make_unique<state::RedisReportStore>(
            config.cluster, *password, config.dmarc.reports.retention_days,
            [](daemon_log::Level, std::string_view line) {
                std::fprintf(stderr, "connector-milter report: %.*s\n", static_cast<int>(line.size()), line.data());
            });
    } else {
        store = state::open_sqlite_store(config.dmarc.reports.database, &error, 30'000);
    }
    if (!store) {
        std::fprintf(stderr, "connector-milter report: %s\n", error.c_str());
        return 1;
    }
    Reporter reporter(config.dmarc.reports, *loaded.runtime->resolver, period, opt);
    Aggregator aggregator([&](DomainReport&& r) { reporter.domain(std::move(r)); });
    std::uint64_t evaluations = 0;
    const bool ok = store->scan_counted(period.begin, period.until, [&](const state::DmarcEvaluation& e,
                                                                        std::uint64_t count) {
        evaluations += count;
        aggregator.add(e, count);
    }, &error);
    if (!ok) {
        std::fprintf(stderr, "connector-milter report: reading %s: %s\n", where.c_str(), error.c_str());
        return 1;
    }
    aggregator.finish();
    std::printf("%s to %s: %llu evaluations, %zu reports%s\n", utc_date(period.begin).c_str(),
                utc_date(period.until - 1).c_str(), static_cast<unsigned long long>(evaluations), reporter.reports(),
                opt.dry_run ? " (dry run: nothing sent)" : "");
    return reporter.status();
}

}  // namespace report
