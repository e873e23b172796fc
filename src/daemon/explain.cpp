// `connector-milter explain`: a what-if for one session, on the same code
// path as the daemon (session::Session), printed for the administrator.
#include <getopt.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "daemon/cluster.hpp"
#include "daemon/config_loader.hpp"
#include "daemon/daemon.hpp"
#include "dns/make_resolver.hpp"
#include "session/session.hpp"

namespace daemon_main {

namespace {

void explain_usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: connector-milter explain [-c FILE] --local ADDR:PORT|name:NAME --client IP\n"
                 "       connector-milter explain [-c FILE] --local local  (a local submission)\n"
                 "           [--auth USER] [--tls] [--helo NAME] [--from ADDR] [--rcpt ADDR]...\n"
                 "           [--header-from ADDR] [--size OCTETS] [--offline]\n"
                 "       --offline: names outside [dns] static_zone are NXDOMAIN (no network)\n");
}

bool parse_local(const std::string& text, policy::LocalEndpoint& local) {
    if (text.rfind("name:", 0) == 0) {
        local.daemon_name = text.substr(5);
        return !local.daemon_name.empty();
    }
    auto binding = policy::Binding::parse(text);
    if (!binding || binding->kind() == policy::Binding::Kind::DaemonName) return false;
    local.address = binding->address();
    local.port = binding->port();
    return true;
}

const char* action_word(const policy::Verdict& v) {
    return v.ok() ? "continue" : v.action == policy::Verdict::Action::Reject ? "reject" : "tempfail";
}

// Prints one stage; returns false when the stage refused.
bool print_stage(const std::string& stage, const session::Outcome& o) {
    const auto& v = o.verdict;
    std::printf("%-28s %s", stage.c_str(), action_word(v));
    if (!v.ok()) std::printf(": %s", v.reply.to_string().c_str());
    std::printf("\n");
    if (!v.reason.empty()) std::printf("%-28s   (%s)\n", "", v.reason.c_str());
    if (o.tarpit) std::printf("%-28s   (the daemon delays this refusal by %lld ms: tarpit)\n", "",
                              static_cast<long long>(o.tarpit_delay.count()));
    return v.ok();
}

// One line per message check: whether a message of this session gets it,
// and what keeps it from running when it does not.
void print_checks(const session::Session& s) {
    const policy::CheckPlan plan = s.check_plan();
    bool first = true;
    for (policy::MessageCheck c : policy::kMessageChecks) {
        const std::string name(policy::message_check_name(c));
        std::string line = name + ": ";
        switch (plan.skip(c)) {
            case policy::CheckSkip::Runs: line += "runs"; break;
            case policy::CheckSkip::LocalSubmission: line += "not run (local submission)"; break;
            case policy::CheckSkip::BypassAntiSpam: line += "not run (the session has Ms-Exch-Bypass-Anti-Spam)"; break;
            case policy::CheckSkip::NotOnConnector:
                line += "not run (not in checks of connector \"" + s.connector()->name + "\")";
                break;
            case policy::CheckSkip::DisabledGlobally: line += "not run ([" + name + "] enabled = false)"; break;
        }
        std::printf("%-28s %s\n", first ? "checks" : "", line.c_str());
        first = false;
    }
}

// Connection filtering: what the IP lists said and every block list
// provider's question and answer (the answers are read now; RCPT then
// reuses them, as in the daemon).
void print_connection_filtering(session::Session& s) {
    if (s.connection_filter_note().empty()) return;
    std::printf("%-28s %s\n", "connection filtering", s.connection_filter_note().c_str());
    bool first = true;
    for (const auto& r : s.block_list_results()) {
        std::string line = r.describe();
        if (r.outcome == auth::BlockListOutcome::Failed)
            line += r.provider->on_failure == policy::BlockListFailure::TempFail ? ", dns_failure = tempfail"
                                                                                 : ", ignored for this session";
        std::printf("%-28s %s\n", first ? "block lists" : "", line.c_str());
        first = false;
    }
}

// The same configuration with [dns] offline = true.
std::shared_ptr<const session::Runtime> offline_runtime(const session::Runtime& runtime, std::vector<std::string>& errors) {
    auto cfg = std::make_shared<config::Config>(*runtime.config);
    cfg->dns.offline = true;
    std::vector<dns::ZoneError> zone_errors;
    auto resolver = dns::make_resolver(cfg->dns, zone_errors);
    for (const auto& e : zone_errors) errors.push_back(e.to_string());
    auto build = session::build_runtime(cfg, std::move(resolver));
    for (auto& e : build.errors) errors.push_back(e);
    return build.runtime;
}

}  // namespace

int run_explain(int argc, char** argv) {
    std::string config_path = kDefaultConfigPath, local_text, client_text, auth, helo = "client.invalid", from,
                header_from, size;
    std::vector<std::string> rcpts;
    bool tls = false, helo_given = false, offline = false;
    bool config_given = false;
    static const option long_options[] = {
        {"config", required_argument, nullptr, 'c'}, {"local", required_argument, nullptr, 'l'},
        {"client", required_argument, nullptr, 'C'}, {"auth", required_argument, nullptr, 'a'},
        {"tls", no_argument, nullptr, 't'},          {"helo", required_argument, nullptr, 'H'},
        {"from", required_argument, nullptr, 'f'},   {"rcpt", required_argument, nullptr, 'r'},
        {"header-from", required_argument, nullptr, 'F'}, {"size", required_argument, nullptr, 's'},
        {"offline", no_argument, nullptr, 'o'},
        {"help", no_argument, nullptr, 'h'},         {nullptr, 0, nullptr, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", long_options, nullptr)) != -1) {
        switch (c) {
            case 'c':
                config_path = optarg;
                config_given = true;
                break;
            case 'l': local_text = optarg; break;
            case 'C': client_text = optarg; break;
            case 'a': auth = optarg; break;
            case 't': tls = true; break;
            case 'H': helo = optarg; helo_given = true; break;
            case 'f': from = optarg; break;
            case 'r': rcpts.emplace_back(optarg); break;
            case 'F': header_from = optarg; break;
            case 's': size = optarg; break;
            case 'o': offline = true; break;
            case 'h': explain_usage(stdout); return 0;
            default: explain_usage(stderr); return 2;
        }
    }
    session::ConnectFacts facts;
    const bool local_submission = local_text == "local";
    if (local_submission) {
        // What Postfix's cleanup(8) sends for mail from the sendmail
        // command (non_smtpd_milters): client 127.0.0.1 port 0, its
        // {daemon_addr} the same address, {daemon_port} 0.
        if (client_text.empty()) client_text = "127.0.0.1";
        facts.evidence.family = policy::ConnectEvidence::Family::Inet;
        facts.evidence.address = policy::IpAddress::parse(client_text);
        facts.evidence.client_addr = facts.evidence.daemon_addr = client_text;
        facts.evidence.client_port = facts.evidence.daemon_port = "0";
        if (!helo_given) helo = "localhost";  // what cleanup(8) says for the client
    } else if (local_text.empty() || !parse_local(local_text, facts.local)) {
        std::fprintf(stderr, "explain: --local needs ADDR:PORT ([v6]:PORT), name:NAME or local\n");
        return 2;
    }
    facts.client = policy::IpAddress::parse(client_text);
    if (!facts.client) {
        std::fprintf(stderr, "explain: --client needs an IP address\n");
        return 2;
    }
    auto loaded = load(config_path, config_given ? MissingFile::IsAnError : MissingFile::MeansEmbeddedDefault);
    if (!loaded.runtime) {
        for (auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
        return 2;
    }
    if (offline) {
        loaded.runtime = offline_runtime(*loaded.runtime, loaded.errors);
        if (!loaded.runtime) {
            for (auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
            return 2;
        }
    }
    std::printf("configuration: %s\n", loaded.embedded ? "(embedded default)" : config_path.c_str());
    for (auto& w : loaded.warnings) std::printf("  warning: %s\n", w.c_str());
    for (auto& n : loaded.notes) std::printf("  note: %s\n", n.c_str());
    if (local_submission)
        std::printf("connection:    local submission (Postfix's stand-in client %s, port 0)\n\n",
                    facts.client->to_string().c_str());
    else
        std::printf("connection:    local %s, client %s\n\n", local_text.c_str(), facts.client->to_string().c_str());

    std::vector<std::string> log_lines;
    // With [cluster], the farm's current counts, read from Redis without
    // counting this imaginary session.
    auto shared = std::make_shared<session::Shared>();
    const auto& cluster = loaded.runtime->config->cluster;
    if (cluster.enabled) {
        std::string why;
        const auto password = read_cluster_password(cluster, &why);
        if (!password) std::printf("  warning: %s: limits shown against this process's own (empty) counters\n", why.c_str());
        else shared->limits = make_cluster_store(cluster, *password, true);
    }
    session::Session s(loaded.runtime, shared,
                       [&](std::string_view line) { log_lines.emplace_back(line); });
    auto connect = s.on_connect(facts);

    std::printf("connectors:\n");
    for (const auto& cand : s.selection().candidates) {
        std::printf("  %-24s %s\n", ("\"" + cand.connector->name + "\"").c_str(), cand.verdict.c_str());
    }
    std::printf("\n");
    bool all_ok = print_stage("CONNECT", connect);
    if (!connect.verdict.ok()) return 1;
    std::printf("%-28s %s\n", "connector", ("\"" + s.connector()->name + "\" (" + s.connector()->origin + ")").c_str());
    std::printf("%-28s %s\n", "connection limits", s.connection_limits().c_str());

    session::SecurityFacts security;
    security.identity.tls = tls;
    security.identity.auth_user = auth;
    if (!auth.empty()) security.identity.auth_type = "PLAIN";
    all_ok = print_stage("HELO " + helo, s.on_helo(helo, security)) && all_ok;
    std::printf("%-28s %s\n", "principal", s.rights().describe().c_str());
    std::printf("%-28s %s\n", "rights", s.rights().rights.to_string().c_str());
    if (!s.rights().note.empty()) std::printf("%-28s %s\n", "", s.rights().note.c_str());
    if (s.local_submission() != policy::LocalSubmission::No)
        std::printf("%-28s %s\n", "checks", "SPF, DKIM and DMARC are not run for a local submission");
    else
        print_checks(s);
    print_connection_filtering(s);
    {
        // DKIM signing (issue 15): the address the signing table is asked
        // about is From: unless sign_by = "mail_from".
        const bool by_envelope =
            s.runtime().config->dkim_signing.identity == auth::DkimSignIdentity::EnvelopeFrom;
        const std::string address = by_envelope || header_from.empty() ? from : header_from;
        const std::string plan = s.signing_plan(address);
        if (!plan.empty()) std::printf("%-28s %s\n", "dkim signing", plan.c_str());
    }
    if (from.empty() && rcpts.empty()) return all_ok ? 0 : 1;

    std::vector<std::string> mail_args{"<" + from + ">"};
    if (!size.empty()) mail_args.push_back("SIZE=" + size);
    auto mail = s.on_mail(mail_args, security, std::chrono::steady_clock::now());
    all_ok = print_stage("MAIL FROM:<" + from + ">", mail) && all_ok;
    if (!s.rate_limit().empty()) std::printf("%-28s %s\n", "message rate limit", s.rate_limit().c_str());
    if (!mail.verdict.ok()) return 1;
    bool any_rcpt = false;
    for (const auto& r : rcpts) {
        bool ok = print_stage("RCPT TO:<" + r + ">", s.on_rcpt({"<" + r + ">"}));
        any_rcpt = any_rcpt || ok;
        all_ok = ok && all_ok;
    }
    if (!header_from.empty() && any_rcpt) {
        s.on_header("From", " <" + header_from + ">");
        all_ok = print_stage("From: <" + header_from + ">", s.on_end_of_headers()) && all_ok;
    }
    return all_ok ? 0 : 1;
}

}  // namespace daemon_main
