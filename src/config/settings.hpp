// Settings of the verdict modules, parsed by config/ and read by each module.
// Defaults live here and are documented in connector-milter.conf(5).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/dkim_sign_options.hpp"
#include "auth/options.hpp"
#include "dns/options.hpp"
#include "log/record.hpp"

namespace config {

// What a quarantine verdict becomes when the MTA cannot quarantine (it did
// not offer SMFIF_QUARANTINE, or the request failed).
enum class QuarantineFallback : std::uint8_t { TempFail, Reject, Header };

// The milter protocol engine (read at start only; a reload keeps the
// running one): our own event-driven implementation, or libmilter.
enum class MilterEngine : std::uint8_t { Native, Libmilter };

struct MilterSettings {
    MilterEngine engine = MilterEngine::Native;
    // Native engine (read at start only): threads that run session work (a
    // stage waiting on DNS holds one), and batches of MTA commands that may
    // wait for a thread; beyond that the MTA gets 451 4.3.2.
    std::uint32_t workers = 32;
    std::uint32_t work_queue_limit = 1024;
    // Native engine (read at start only): event loops, each serving its
    // share of the connections; 0: one per CPU but one, at least one.
    std::uint32_t event_loops = 0;
    std::string socket = "inet:8894@127.0.0.1";
    std::optional<unsigned> socket_mode;   // unix sockets: e.g. 0660
    std::string socket_group;              // unix sockets: group owner
    std::string authserv_id;               // empty: the host name
    // Other authserv-ids whose Authentication-Results headers are removed too
    // (e.g. the names of sibling MX hosts).
    std::vector<std::string> strip_authserv_ids;
    bool auth_user_in_header = false;      // smtp.auth=USER in Authentication-Results
    std::chrono::seconds drain_timeout{30};  // SIGTERM: how long in-flight sessions may finish
    // How long the MTA waits for one milter reply: Postfix's
    // milter_command_timeout (default 30s), sendmail's T=R: (default 10s;
    // conf/sendmail.mc.snippet sets 30s). tarpit_interval stays at most half
    // of it, so that a tarpitted refusal reaches the MTA before it gives up
    // and applies its default action.
    std::chrono::milliseconds mta_command_timeout{30'000};
    std::string sender_login_map;           // file path, empty = none
    // When the MTA did not send the local address or port and a connector
    // with a specific binding would have served the client had it matched:
    // TempFail refuses the session with 421 4.3.2 (fail closed); Ignore
    // skips that connector, as before (a wider one may serve the client).
    enum class UnknownBinding : std::uint8_t { TempFail, Ignore };
    UnknownBinding unknown_binding = UnknownBinding::TempFail;
    // A milter connection on which the MTA sends nothing for this long is
    // closed (libmilter's own default is 7210 s). Longer than the MTA may
    // stay silent on a live session: Postfix sends no milter command while
    // its client sends DATA or idles up to smtpd_timeout (300 s).
    std::chrono::seconds idle_timeout{600};
    // Descriptors kept free of milter sessions, for the listener, DNS
    // sockets, reloads and logs (see daemon/descriptors.hpp).
    std::uint32_t descriptor_reserve = 64;
    // The MTA cannot quarantine: the message is deferred rather than
    // delivered unquarantined or refused for good (see conf(5)).
    QuarantineFallback quarantine_fallback = QuarantineFallback::TempFail;
    // The log lines' format: text (the default) or one JSON object per line
    // for log shippers (log/record.hpp). A reload switches it.
    daemon_log::Format log_format = daemon_log::Format::Text;
};

// [metrics]: the Prometheus endpoint (read at start only; a reload keeps
// the running one).
struct MetricsSettings {
    // "ADDRESS:PORT" (IPv4), "[ADDRESS]:PORT" (IPv6) or "unix:/path"
    // (config::parse_metrics_listen), served at /metrics; empty: no
    // endpoint (the default). The counters are kept either way.
    std::string listen;
};

// [cluster]: connection and rate limits shared with other hosts through
// Redis (src/state/). Absent: every counter stays in this process. Read at
// start only; a reload keeps the running connection to Redis.
struct ClusterSettings {
    bool enabled = false;             // the section is present
    // "redis://HOST:PORT/DB" (HOST may be [v6]; PORT 6379 and DB 0 by
    // default) or "unix:/path/to/redis.sock".
    std::string redis;
    std::string host;                 // from redis: TCP host, or
    std::uint16_t port = 6379;
    std::string unix_path;            // a unix socket
    std::uint32_t database = 0;
    std::string password;             // read from password_file; never logged
    std::string password_file;
    std::string key_prefix = "connector-milter:";
    // Each call to Redis (connecting included) gives up after this long:
    // well below the MTA's milter timeouts ([milter] mta_command_timeout).
    std::chrono::milliseconds timeout{250};
    // After a failure, the next connection attempt waits this long; calls
    // in between take the on_unavailable path at once.
    std::chrono::milliseconds reconnect_interval{1000};
    // Every open session is a lease in Redis that this host renews each
    // lease_renewal; a lease not renewed for lease_time (default twice the
    // renewal period) no longer counts: a host that dies stops counting.
    std::chrono::milliseconds lease_renewal{10'000};
    std::chrono::milliseconds lease_time{20'000};
    // Redis cannot be asked: Local counts on this host's own counters (and
    // says so in the log); TempFail refuses with 451 4.3.0.
    enum class OnUnavailable : std::uint8_t { Local, TempFail };
    OnUnavailable on_unavailable = OnUnavailable::Local;
};

// [dns]: the resolver's own options type.
using DnsSettings = dns::Options;

enum class Action : std::uint8_t { Accept, Reject, TempFail, Quarantine, Header };


struct SpfSettings {
    bool enabled = true;
    bool check_helo = true;
    Action fail_action = Action::Reject;          // 550 5.7.23 with the explanation
    Action softfail_action = Action::Accept;
    Action temperror_action = Action::TempFail;   // 451 4.7.24
    Action permerror_action = Action::Accept;
    bool received_spf_header = false;
    // How long the native engine holds MAIL's reply for the SPF records
    // asked as the MAIL came in. Records in by then: the verdict is given
    // at MAIL. Not yet: MAIL is answered, and the verdict is given at the
    // first RCPT after they are in, else at end of message, whose DKIM and
    // DMARC questions are then on their way at the same time.
    std::chrono::milliseconds mail_wait{10};
};

// [dkim]: the verifier's options, and whether it runs.
struct DkimSettings : auth::DkimOptions {
    bool enabled = true;
};

// [dkim_signing]: keys (parsed at load), the signing table and how to sign.
using DkimSigningSettings = auth::DkimSignOptions;
// [arc]: whether ARC chains (RFC 8617) are verified. ARC runs with DKIM
// (it verifies DKIM-style signatures): where the connector or the session's
// rights leave DKIM out, ARC is left out too. min_rsa_bits is [dkim]'s.
struct ArcSettings : auth::ArcOptions {
    bool enabled = true;
    // Sealers (ARC-Seal d=, lower case) whose ARC-Authentication-Results
    // are believed: a DMARC fail whose chain passes and whose trusted
    // sealer saw dmarc=pass for the same author domain is delivered with
    // disposition none (reason local_policy, RFC 9990).
    std::vector<std::string> trusted_arc_sealers;
};

using DmarcDiscovery = auth::DmarcDiscovery;

// [dmarc.reports]: recording of DMARC evaluations and the aggregate
// reports (RFC 9990) `connector-milter report` builds from them.
struct DmarcReportSettings {
    bool enabled = false;  // true when the section is present, unless enabled = false
    // Where evaluations are kept: the SQLite database, or the Redis of
    // [cluster] (several MX hosts, one report; state/redis_report_store.hpp).
    enum class Store : std::uint8_t { Sqlite, Redis };
    Store store = Store::Sqlite;
    std::string database = "/var/lib/connector-milter/dmarc.sqlite";
    std::uint32_t retention_days = 31;    // evaluations older than this are removed
    std::uint32_t queue_limit = 10000;    // evaluations waiting for the writer thread
    std::string org_name;                 // report_metadata/org_name; default: submitter
    std::string contact;                  // report_metadata/email; default: postmaster@submitter
    std::string extra_contact_info;       // report_metadata/extra_contact_info; "" = none
    std::string submitter;                // the receiver domain (Subject, filename, Report-ID); default: host name
    std::string from;                     // From: and envelope sender of reports; default: contact
    std::string sender_command = "/usr/sbin/sendmail -t";  // gets the report mail on stdin
    std::vector<std::string> suppress;    // destinations (address or domain) never sent a report
    std::uint64_t max_report_size = 10ull * 1024 * 1024;  // compressed attachment bytes per mail; larger: split
};

// [dmarc]: the evaluator's options, whether it runs, and what its verdicts
// lead to.
struct DmarcSettings : auth::DmarcOptions {
    DmarcReportSettings reports;
    bool enabled = true;
    Action reject_action = Action::Reject;   // what p=reject leads to: Reject, Quarantine, Header (report only), Accept
    Action quarantine_action = Action::Quarantine;  // what p=quarantine leads to
    bool defer_on_temperror = true;          // 451 4.7.5 when the fail is only due to a temperror
    Action bad_from_action = Action::Reject; // no/multiple/unparsable From: 550 5.7.1
};

}  // namespace config
