// The whole configuration as one immutable, validated value. Sessions hold a
// std::shared_ptr<const Config>; reload builds a new one and swaps it.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"
#include "policy/accepted_domains.hpp"
#include "policy/connection_filter.hpp"
#include "policy/connector_map.hpp"
#include "policy/sender_login_map.hpp"
#include "policy/session_rights.hpp"

namespace config {

struct Config {
    std::string source;  // the file it came from, or "(embedded default)"
    MilterSettings milter;
    policy::AcceptedDomains accepted_domains;
    policy::ConnectorMap connectors;
    policy::SenderLoginMap sender_logins;
    std::vector<policy::CertificateMapping> certificate_map;
    DnsSettings dns;
    SpfSettings spf;
    DkimSettings dkim;
    ArcSettings arc;
    DmarcSettings dmarc;
    // [[block_list_provider]], [[ip_allow]], [[ip_block]], [connection_filtering]
    policy::ConnectionFilter connection_filter;
    MetricsSettings metrics;
    DkimSigningSettings dkim_signing;
    ClusterSettings cluster;
    // What loading found out that the administrator should see in the log
    // (accepted domains discovered from the MTA, ignored settings).
    std::vector<std::string> notes;
    // What is probably a mistake although the config loads (no accepted
    // domain, a host without a name): logged at LOG_WARNING.
    std::vector<std::string> warnings;
    // Every connector's remote_ip_ranges_file: who may relay is decided by
    // them, so the daemon checks their permissions like the config's own.
    std::vector<std::string> ranges_files;
    // [connection_filtering] ip_allow_file and ip_block_file: they decide
    // who is refused or never checked, so they are checked the same way.
    std::vector<std::string> ip_list_files;
};

struct ConfigError {
    std::string file;
    int line = 0;      // 0 when unknown
    std::string message;
    std::string to_string() const;  // "file:line: message"
};

// One table or key the parser accepts: table "" is the top level, "connector"
// holds the keys of each [[connector]] ("grant", "deny" and "replies" are its
// sub-tables, whose keys are principals and reply keys). The parser rejects
// every other name, and the unit tests check that connector-milter.conf(5)
// documents each of these, so the list cannot drift from the parser.
struct ConfigKey {
    std::string_view table;
    std::string_view key;
};
const std::vector<ConfigKey>& accepted_keys();

struct LoadResult {
    std::shared_ptr<const Config> config;  // null when errors is not empty
    std::vector<ConfigError> errors;
};

// Parses and validates a TOML file. Files it names (remote_ip_ranges_file,
// sender_login_map, static_zone) are read relative to the file's folder
// when not absolute.
LoadResult load_file(const std::string& path);
// Same from text; `source_name` is used in messages.
LoadResult load_string(std::string_view text, std::string_view source_name,
                       std::string_view base_dir = ".");

// Where the embedded default looks for the MTA's own domains.
struct DiscoveryPaths {
    std::string postconf = "postconf";                       // command, run with -h
    std::string sendmail_local_host_names = "/etc/mail/local-host-names";
    std::string sendmail_relay_domains = "/etc/mail/relay-domains";
    // postconf is killed when it has not finished by then.
    std::chrono::milliseconds postconf_timeout{5000};
    // Empty: the system's fully qualified host name (tests set one).
    std::string host_name;
};

struct Discovery {
    std::vector<std::string> domains;
    std::vector<std::string> log_lines;  // what was found where, or why nothing was
};
// Postfix: postconf -h mydestination relay_domains virtual_mailbox_domains
// (expanding $myhostname etc. as postconf -x does); sendmail: the two files;
// else the host's domain.
Discovery discover_mta_domains(const DiscoveryPaths& paths = {});

// The policy used when no config file exists, modelled on Exchange's default
// connectors: "Default Frontend" (anonymous delivery to accepted domains, no
// relay, authenticated users relay; Accept-Authoritative-Domain-Sender denied
// to anonymous users) on 0.0.0.0:25 / [::]:25 and "Client Frontend" on 587 and
// name:MSA (authenticated submission only).
std::shared_ptr<const Config> embedded_default(const Discovery& discovery);
// The embedded default as TOML text (what `connector-milter -d` prints).
std::string embedded_default_text(const Discovery& discovery);

}  // namespace config
