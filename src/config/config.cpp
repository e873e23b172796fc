// Loads connector-milter.conf (TOML, parsed by toml++) into one immutable,
// validated config::Config.
//
// Habits that matter to administrators:
// - every error names the file and the line of the offending value, and all
//   errors are reported at once, not only the first;
// - unknown tables and keys are errors, so a typo ("remote_ip_range") cannot
//   silently widen or weaken the policy;
// - values of the wrong type are errors, never coerced.
#include "config/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "config/dkim_signing.hpp"
#include "config/host_name.hpp"
#include "config/socket_spec.hpp"
#include "policy/ip_address.hpp"
#include "policy/ip_range.hpp"
#include "policy/replies.hpp"
#include "policy/rights.hpp"
#include "util/ascii.hpp"

namespace config {

std::string ConfigError::to_string() const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
    out += message;
    return out;
}

namespace {

// The single list of names the parser accepts (see accepted_keys()).
const std::vector<ConfigKey> kAcceptedKeys = {
    {"", "milter"},
    {"", "accepted_domain"},
    {"", "connector"},
    {"", "certificate_map"},
    {"", "dns"},
    {"", "spf"},
    {"", "dkim"},
    {"", "dmarc"},
    {"", "block_list_provider"},
    {"", "ip_allow"},
    {"", "ip_block"},
    {"", "connection_filtering"},
    {"", "metrics"},
    {"", "arc"},
    {"", "cluster"},

    {"milter", "socket"},
    {"milter", "socket_mode"},
    {"milter", "socket_group"},
    {"milter", "authserv_id"},
    {"milter", "strip_authserv_ids"},
    {"milter", "auth_user_in_header"},
    {"milter", "drain_timeout"},
    {"milter", "mta_command_timeout"},
    {"milter", "unknown_binding"},
    {"milter", "sender_login_map"},
    {"milter", "idle_timeout"},
    {"milter", "descriptor_reserve"},
    {"milter", "quarantine_fallback"},
    {"milter", "log_format"},
    {"milter", "engine"},
    {"milter", "workers"},
    {"milter", "work_queue_limit"},
    {"milter", "event_loops"},

    {"accepted_domain", "domain"},
    {"accepted_domain", "type"},

    {"connector", "name"},
    {"connector", "enabled"},
    {"connector", "bindings"},
    {"connector", "remote_ip_ranges"},
    {"connector", "remote_ip_ranges_file"},
    {"connector", "trusted_forwarders"},
    {"connector", "permission_groups"},
    {"connector", "auth_mechanisms"},
    {"connector", "require_tls"},
    {"connector", "require_ehlo_domain"},
    {"connector", "max_message_size"},
    {"connector", "max_header_size"},
    {"connector", "max_recipients_per_message"},
    {"connector", "max_inbound_connection_per_source"},
    {"connector", "max_inbound_connection_percentage_per_source"},
    {"connector", "max_inbound_connection"},
    {"connector", "message_rate_limit"},
    {"connector", "message_rate_source"},
    {"connector", "tarpit_interval"},
    {"connector", "checks"},
    {"connector", "connection_filtering"},
    {"connector", "block_list_providers"},
    {"connector", "dkim_sign"},
    {"connector", "grant"},
    {"connector", "deny"},
    {"connector", "replies"},

    {"certificate_map", "subject"},
    {"certificate_map", "subject_cn"},
    {"certificate_map", "issuer"},
    {"certificate_map", "issuer_cn"},
    {"certificate_map", "group"},

    {"dns", "timeout"},
    {"dns", "nameservers"},
    {"dns", "static_zone"},
    {"dns", "offline"},
    {"dns", "trust_anchor_file"},
    {"dns", "message_query_budget"},
    {"dns", "message_time_budget"},

    {"spf", "enabled"},
    {"spf", "check_helo"},
    {"spf", "fail_action"},
    {"spf", "softfail_action"},
    {"spf", "temperror_action"},
    {"spf", "permerror_action"},
    {"spf", "received_spf_header"},
    {"spf", "mail_wait"},

    {"dkim", "enabled"},
    {"dkim", "max_signatures"},
    {"dkim", "min_rsa_bits"},
    {"dkim", "verifier"},

    {"", "dkim_signing"},
    {"dkim_signing", "key_table"},
    {"dkim_signing", "signing_table"},
    {"dkim_signing", "opendkim_conf"},
    {"dkim_signing", "multiple_signatures"},
    {"dkim_signing", "canonicalization"},
    {"dkim_signing", "sign_headers"},
    {"dkim_signing", "oversign_headers"},
    {"dkim_signing", "expire"},
    {"dkim_signing", "sign_by"},
    {"dkim_signing", "failure_action"},
    {"dkim_signing", "local_submissions"},
    {"dkim_signing", "key"},
    {"dkim_signing", "rule"},
    {"dkim_signing.key", "name"},
    {"dkim_signing.key", "domain"},
    {"dkim_signing.key", "selector"},
    {"dkim_signing.key", "private_key"},
    {"dkim_signing.rule", "pattern"},
    {"dkim_signing.rule", "keys"},
    {"dkim_signing.rule", "identity"},
    {"arc", "enabled"},
    {"arc", "trusted_arc_sealers"},

    {"dmarc", "enabled"},
    {"dmarc", "discovery"},
    {"dmarc", "public_suffix_list"},
    {"dmarc", "reject_action"},
    {"dmarc", "quarantine_action"},
    {"dmarc", "defer_on_temperror"},
    {"dmarc", "bad_from_action"},
    {"dmarc", "reports"},

    {"block_list_provider", "name"},
    {"block_list_provider", "lookup_domain"},
    {"block_list_provider", "any_match"},
    {"block_list_provider", "ip_addresses_match"},
    {"block_list_provider", "bitmask_match"},
    {"block_list_provider", "priority"},
    {"block_list_provider", "enabled"},
    {"block_list_provider", "rejection_response"},
    {"block_list_provider", "dns_failure"},

    {"ip_allow", "range"},
    {"ip_allow", "expires"},
    {"ip_allow", "comment"},
    {"ip_block", "range"},
    {"ip_block", "expires"},
    {"ip_block", "comment"},

    {"connection_filtering", "exempt_recipients"},
    {"connection_filtering", "ip_allow_file"},
    {"connection_filtering", "ip_block_file"},
    {"connection_filtering", "ip_block_response"},
    {"connection_filtering", "tempfail_response"},
    {"metrics", "listen"},

    {"dmarc.reports", "enabled"},
    {"dmarc.reports", "database"},
    {"dmarc.reports", "store"},
    {"dmarc.reports", "retention_days"},
    {"dmarc.reports", "queue_limit"},
    {"dmarc.reports", "org_name"},
    {"dmarc.reports", "contact"},
    {"dmarc.reports", "extra_contact_info"},
    {"dmarc.reports", "submitter"},
    {"dmarc.reports", "from"},
    {"dmarc.reports", "sender_command"},
    {"dmarc.reports", "suppress"},
    {"dmarc.reports", "max_report_size"},
    {"cluster", "redis"},
    {"cluster", "password_file"},
    {"cluster", "key_prefix"},
    {"cluster", "timeout"},
    {"cluster", "reconnect_interval"},
    {"cluster", "lease_renewal"},
    {"cluster", "lease_time"},
    {"cluster", "on_unavailable"},
};

using std::chrono::milliseconds;

int line_of(const toml::source_region& region) {
    return static_cast<int>(std::min<toml::source_index>(region.begin.line,
                                                         std::numeric_limits<int>::max()));
}
int line_of(const toml::node& node) { return line_of(node.source()); }

std::string_view type_phrase(toml::node_type t) {
    switch (t) {
        case toml::node_type::table: return "a table";
        case toml::node_type::array: return "an array";
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a floating-point number";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::date: return "a date";
        case toml::node_type::time: return "a time";
        case toml::node_type::date_time: return "a date-time";
        default: return "nothing";
    }
}

// "<value>: <reason>" when the policy type explained itself (its sentences
// quote the value already), else "\"<value>\": <fallback>".
std::string explain(std::string_view value, const std::string& why, std::string_view fallback) {
    if (!why.empty()) return why;
    return "\"" + std::string(value) + "\": " + std::string(fallback);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// Leading decimal digits of `s` as a number; the rest (after optional
// blanks) in *unit. nullopt when there are no digits or the number overflows.
std::optional<std::uint64_t> split_number(std::string_view s, std::string_view* unit) {
    s = trim(s);
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr == s.data()) return std::nullopt;
    *unit = trim(std::string_view(ptr, static_cast<std::size_t>(s.data() + s.size() - ptr)));
    return value;
}

bool checked_multiply(std::uint64_t a, std::uint64_t b, std::uint64_t* out) {
    if (b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b) return false;
    *out = a * b;
    return true;
}

constexpr std::string_view kDurationHint =
    "a duration: integer seconds, or a string such as \"500ms\", \"5s\", \"2m\", \"1h\"";
constexpr std::string_view kSizeHint =
    "a size: integer bytes, or a string such as \"512KB\", \"36MB\", \"10MiB\", \"1GB\" "
    "(KB, MB, GB are 1024-based as in Exchange; KiB, MiB, GiB too)";

// "500ms", "5s", "2m", "1h", "30" (seconds).
std::optional<milliseconds> parse_duration_text(std::string_view text) {
    std::string_view unit;
    const auto number = split_number(text, &unit);
    if (!number) return std::nullopt;
    const std::string u = util::ascii_lower(unit);
    std::uint64_t factor = 0;
    if (u.empty() || u == "s" || u == "sec" || u == "seconds") factor = 1000;
    else if (u == "ms") factor = 1;
    else if (u == "m" || u == "min" || u == "minutes") factor = 60'000;
    else if (u == "h" || u == "hours") factor = 3'600'000;
    else return std::nullopt;
    std::uint64_t ms = 0;
    // Cap far below what std::chrono::milliseconds can hold.
    if (!checked_multiply(*number, factor, &ms) || ms > 365ull * 24 * 3'600'000) return std::nullopt;
    return milliseconds(static_cast<milliseconds::rep>(ms));
}

std::optional<std::uint64_t> parse_size_text(std::string_view text) {
    std::string_view unit;
    const auto number = split_number(text, &unit);
    if (!number) return std::nullopt;
    const std::string u = util::ascii_lower(unit);
    std::uint64_t factor = 0;
    if (u.empty() || u == "b") factor = 1;
    else if (u == "kb" || u == "kib" || u == "k") factor = 1024;
    else if (u == "mb" || u == "mib" || u == "m") factor = 1024ull * 1024;
    else if (u == "gb" || u == "gib" || u == "g") factor = 1024ull * 1024 * 1024;
    else return std::nullopt;
    std::uint64_t bytes = 0;
    if (!checked_multiply(*number, factor, &bytes)) return std::nullopt;
    return bytes;
}

std::optional<Action> parse_action(std::string_view text) {
    const std::string t = util::ascii_lower(text);
    if (t == "accept") return Action::Accept;
    if (t == "reject") return Action::Reject;
    if (t == "tempfail") return Action::TempFail;
    if (t == "quarantine") return Action::Quarantine;
    if (t == "header") return Action::Header;
    return std::nullopt;
}

// RFC 8601 section 2.2: the authserv-id is a "value" (RFC 2045 token or
// quoted-string). We write it unquoted, so it must be a token. Ids are
// compared without a trailing dot (a root-terminated host name), so "." alone
// would compare as nothing and never match a forged header: refused.
bool valid_authserv_id(std::string_view id) {
    if (id.empty() || id == ".") return false;
    for (const unsigned char c : id) {
        if (c <= 0x20 || c >= 0x7f) return false;
        if (std::string_view("()<>@,;:\\\"[]?=").find(static_cast<char>(c)) != std::string_view::npos)
            return false;
    }
    return true;
}

class Loader {
public:
    Loader(std::string file, std::string base_dir)
        : file_(std::move(file)), base_dir_(std::move(base_dir)) {
        config_.source = file_;
    }

    LoadResult run(std::string_view text);

private:
    // ---- errors --------------------------------------------------------
    void error(int line, std::string message) {
        errors_.push_back(ConfigError{file_, line, std::move(message)});
    }
    void error(const toml::node& node, std::string message) {
        error(line_of(node), std::move(message));
    }
    void error_in(const std::string& file, int line, std::string message) {
        errors_.push_back(ConfigError{file, line, std::move(message)});
    }
    void wrong_type(const toml::node& node, std::string_view where, std::string_view expected) {
        error(node, std::string(where) + ": expected " + std::string(expected) + ", got " +
                        std::string(type_phrase(node.type())));
    }

    // ---- generic readers ----------------------------------------------
    void check_keys(const toml::table& table, std::string_view section, std::string_view where);
    std::optional<std::string> get_string(const toml::table& t, std::string_view key,
                                          std::string_view where);
    std::optional<bool> get_bool(const toml::table& t, std::string_view key, std::string_view where);
    // Integer in [min, max]; "unlimited" gives a nullopt inner value when allowed.
    std::optional<std::optional<std::uint64_t>> get_count(const toml::table& t, std::string_view key,
                                                           std::string_view where, std::uint64_t min,
                                                           std::uint64_t max, bool allow_unlimited);
    std::optional<milliseconds> get_duration(const toml::table& t, std::string_view key,
                                             std::string_view where, milliseconds min,
                                             milliseconds max);
    std::optional<std::optional<std::uint64_t>> get_size(const toml::table& t, std::string_view key,
                                                         std::string_view where,
                                                         bool allow_unlimited);
    std::optional<Action> get_action(const toml::table& t, std::string_view key,
                                     std::string_view where);
    // Array of strings, each with its node (for the line).
    std::optional<std::vector<std::pair<std::string, const toml::node*>>> get_string_array(
        const toml::table& t, std::string_view key, std::string_view where);
    // A file path, resolved against the config file's folder; when it must
    // exist and cannot be read, an error at the key's line.
    std::optional<std::string> get_path(const toml::table& t, std::string_view key,
                                        std::string_view where, bool must_be_readable);
    std::string resolve(std::string_view path) const;
    // Reads a whole file into lines; false when it cannot be opened.
    static bool read_lines(const std::string& path, std::vector<std::string>* lines);

    // ---- sections ------------------------------------------------------
    void load_milter(const toml::node& node);
    void load_accepted_domains(const toml::node& node);
    void load_connectors(const toml::node& node);
    std::optional<policy::Connector> load_connector(const toml::table& t);
    void load_permissions(const toml::node& node, std::string_view where,
                          std::vector<std::pair<policy::Principal, policy::Rights>>* out);
    void load_replies(const toml::node& node, policy::ReplyTable* out);
    void load_certificate_map(const toml::node& node);
    void load_dns(const toml::node& node);
    void load_spf(const toml::node& node);
    void load_dkim(const toml::node& node);
    void load_arc(const toml::node& node);
    void load_dmarc(const toml::node& node);
    // Connection filtering: [[block_list_provider]], [[ip_allow]], [[ip_block]].
    void load_block_list_providers(const toml::node& node);
    void load_ip_list(const toml::node& node, std::string_view name, policy::IpList* out);
    void load_ip_list_file(const toml::table& t, std::string_view key, policy::IpList* out);
    void load_connection_filtering(const toml::node& node);
    std::optional<policy::Reply> get_reply_template(const toml::table& t, std::string_view key,
                                                    std::string_view where, std::string_view provider,
                                                    const policy::Reply& fallback);
    void check_connector_filtering(const toml::table& t, policy::Connector& c);
    void load_metrics(const toml::node& node);
    void load_dkim_signing(const toml::node& node);
    void load_opendkim_conf(const toml::node& where, const std::string& path);
    std::optional<std::string> read_table(const toml::node& where, std::string_view what, const std::string& path);
    void read_key_table(const toml::node& where, std::string spec);
    void read_signing_table(const toml::node& where, std::string spec);
    void load_dmarc_reports(const toml::node& node);
    void load_cluster(const toml::node& node);
    const toml::table* as_section(const toml::node& node, std::string_view name);
    const toml::array* as_table_array(const toml::node& node, std::string_view name);

    std::string file_;
    std::string base_dir_;
    Config config_;
    std::vector<ConfigError> errors_;
    std::vector<policy::Connector> connectors_;
    std::vector<int> connector_lines_;
};

void Loader::check_keys(const toml::table& table, std::string_view section, std::string_view where) {
    for (auto&& [key, value] : table) {
        // A named copy: clang before 16 cannot capture a structured binding.
        const std::string_view name = key.str();
        const bool known = std::any_of(kAcceptedKeys.begin(), kAcceptedKeys.end(), [&](const ConfigKey& k) {
            return k.table == section && k.key == name;
        });
        if (known) continue;
        std::string message = where.empty() ? "unknown table or key '" + std::string(key.str()) + "'"
                                            : "unknown key '" + std::string(key.str()) + "' in " +
                                                  std::string(where);
        error(line_of(key.source()), std::move(message));
    }
}

std::optional<std::string> Loader::get_string(const toml::table& t, std::string_view key,
                                              std::string_view where) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* s = node->as_string()) return s->get();
    wrong_type(*node, std::string(where) + "." + std::string(key), "a string");
    return std::nullopt;
}

std::optional<bool> Loader::get_bool(const toml::table& t, std::string_view key, std::string_view where) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* b = node->as_boolean()) return b->get();
    wrong_type(*node, std::string(where) + "." + std::string(key), "true or false");
    return std::nullopt;
}

std::optional<std::optional<std::uint64_t>> Loader::get_count(const toml::table& t, std::string_view key,
                                                               std::string_view where, std::uint64_t min,
                                                               std::uint64_t max, bool allow_unlimited) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    const std::string name = std::string(where) + "." + std::string(key);
    const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                              (allow_unlimited ? " or \"unlimited\"" : "");
    if (const auto* s = node->as_string()) {
        if (allow_unlimited && util::ascii_lower(s->get()) == "unlimited") return std::optional<std::uint64_t>{};
        error(*node, name + ": expected " + range + ", got \"" + s->get() + "\"");
        return std::nullopt;
    }
    const auto* i = node->as_integer();
    if (i == nullptr) {
        wrong_type(*node, name, range);
        return std::nullopt;
    }
    const std::int64_t v = i->get();
    if (v < 0 || static_cast<std::uint64_t>(v) < min || static_cast<std::uint64_t>(v) > max) {
        error(*node, name + ": " + std::to_string(v) + " is out of range: expected " + range);
        return std::nullopt;
    }
    return std::optional<std::uint64_t>(static_cast<std::uint64_t>(v));
}

std::optional<milliseconds> Loader::get_duration(const toml::table& t, std::string_view key,
                                                 std::string_view where, milliseconds min,
                                                 milliseconds max) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    const std::string name = std::string(where) + "." + std::string(key);
    std::optional<milliseconds> value;
    if (const auto* i = node->as_integer()) {
        if (i->get() >= 0 && i->get() <= 365ll * 24 * 3600) value = milliseconds(i->get() * 1000);
    } else if (const auto* s = node->as_string()) {
        value = parse_duration_text(s->get());
    } else {
        wrong_type(*node, name, kDurationHint);
        return std::nullopt;
    }
    if (!value) {
        std::ostringstream shown;
        if (const auto* s = node->as_string()) shown << '"' << s->get() << '"';
        else shown << node->as_integer()->get();
        error(*node, name + ": " + shown.str() + " is not " + std::string(kDurationHint));
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        error(*node, name + ": must be between " + std::to_string(min.count()) + "ms and " +
                         std::to_string(max.count()) + "ms");
        return std::nullopt;
    }
    return value;
}

std::optional<std::optional<std::uint64_t>> Loader::get_size(const toml::table& t, std::string_view key,
                                                             std::string_view where,
                                                             bool allow_unlimited) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    const std::string name = std::string(where) + "." + std::string(key);
    if (const auto* i = node->as_integer()) {
        if (i->get() < 0) {
            error(*node, name + ": a size cannot be negative");
            return std::nullopt;
        }
        return std::optional<std::uint64_t>(static_cast<std::uint64_t>(i->get()));
    }
    if (const auto* s = node->as_string()) {
        if (allow_unlimited && util::ascii_lower(s->get()) == "unlimited") return std::optional<std::uint64_t>{};
        if (const auto bytes = parse_size_text(s->get())) return std::optional<std::uint64_t>(*bytes);
        error(*node, name + ": \"" + s->get() + "\" is not " + std::string(kSizeHint) +
                         (allow_unlimited ? " or \"unlimited\"" : ""));
        return std::nullopt;
    }
    wrong_type(*node, name, kSizeHint);
    return std::nullopt;
}

std::optional<Action> Loader::get_action(const toml::table& t, std::string_view key,
                                         std::string_view where) {
    const auto text = get_string(t, key, where);
    if (!text) return std::nullopt;
    if (const auto action = parse_action(*text)) return action;
    error(*t.get(key), std::string(where) + "." + std::string(key) + ": unknown action \"" + *text +
                           "\": use accept, reject, tempfail, quarantine or header");
    return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, const toml::node*>>> Loader::get_string_array(
    const toml::table& t, std::string_view key, std::string_view where) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return std::nullopt;
    const std::string name = std::string(where) + "." + std::string(key);
    const auto* array = node->as_array();
    if (array == nullptr) {
        wrong_type(*node, name, "an array of strings");
        return std::nullopt;
    }
    std::vector<std::pair<std::string, const toml::node*>> out;
    bool ok = true;
    for (const toml::node& element : *array) {
        if (const auto* s = element.as_string()) {
            out.emplace_back(s->get(), &element);
        } else {
            wrong_type(element, name, "a string in the array");
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return out;
}

std::string Loader::resolve(std::string_view path) const {
    const std::filesystem::path p{std::string(path)};
    if (p.is_absolute() || base_dir_.empty()) return p.string();
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
}

bool Loader::read_lines(const std::string& path, std::vector<std::string>* lines) {
    std::ifstream in(path);
    if (!in) return false;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines->push_back(line);
    }
    return !in.bad();
}

std::optional<std::string> Loader::get_path(const toml::table& t, std::string_view key,
                                            std::string_view where, bool must_be_readable) {
    const auto text = get_string(t, key, where);
    if (!text) return std::nullopt;
    const toml::node& node = *t.get(key);
    if (text->empty()) {
        error(node, std::string(where) + "." + std::string(key) + ": empty file name");
        return std::nullopt;
    }
    const std::string path = resolve(*text);
    if (must_be_readable) {
        std::ifstream probe(path);
        std::error_code ec;
        if (!probe || std::filesystem::is_directory(path, ec)) {
            error(node, std::string(where) + "." + std::string(key) + ": cannot read " + path);
            return std::nullopt;
        }
    }
    return path;
}

const toml::table* Loader::as_section(const toml::node& node, std::string_view name) {
    if (const auto* t = node.as_table()) return t;
    error(node, std::string(name) + " must be a table ([" + std::string(name) + "]), not " +
                    std::string(type_phrase(node.type())));
    return nullptr;
}

const toml::array* Loader::as_table_array(const toml::node& node, std::string_view name) {
    const auto* array = node.as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
        error(node, std::string(name) + " must be written as [[" + std::string(name) +
                        "]] (an array of tables)");
        return nullptr;
    }
    return array;
}

// ---- [milter] ---------------------------------------------------------

void Loader::load_milter(const toml::node& node) {
    const toml::table* t = as_section(node, "milter");
    if (t == nullptr) return;
    check_keys(*t, "milter", "[milter]");
    MilterSettings& m = config_.milter;

    if (const auto socket = get_string(*t, "socket", "milter")) {
        std::string why;
        if (parse_socket_spec(*socket, &why)) m.socket = *socket;
        else error(*t->get("socket"), "milter.socket: \"" + *socket + "\": " + why);
    }
    if (const toml::node* mode = t->get("socket_mode")) {
        std::optional<unsigned> value;
        if (const auto* s = mode->as_string()) {
            unsigned v = 0;
            const std::string& text = s->get();
            const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 8);
            if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size() && v <= 07777)
                value = v;
        } else if (const auto* i = mode->as_integer()) {
            // Only a TOML octal literal (0o660): a decimal 660 is almost
            // certainly meant as octal and would give a wrong mode.
            if ((i->flags() & toml::value_flags::format_as_octal) != toml::value_flags::none &&
                i->get() >= 0 && i->get() <= 07777)
                value = static_cast<unsigned>(i->get());
        }
        if (value) m.socket_mode = value;
        else error(*mode, "milter.socket_mode: expected an octal mode as a string, e.g. \"0660\"");
    }
    if (const auto group = get_string(*t, "socket_group", "milter")) m.socket_group = *group;
    if (const auto engine = get_string(*t, "engine", "milter")) {
        if (*engine == "native") m.engine = MilterEngine::Native;
        else if (*engine == "libmilter") m.engine = MilterEngine::Libmilter;
        else error(*t->get("engine"), "milter.engine: \"" + *engine + "\": expected \"native\" or \"libmilter\"");
    }
    if (const auto n = get_count(*t, "workers", "milter", 1, 1024, false)) m.workers = static_cast<std::uint32_t>(**n);
    if (const auto n = get_count(*t, "work_queue_limit", "milter", 1, 1'000'000, false))
        m.work_queue_limit = static_cast<std::uint32_t>(**n);
    if (const auto n = get_count(*t, "event_loops", "milter", 0, 256, false))
        m.event_loops = static_cast<std::uint32_t>(**n);
    if (const auto id = get_string(*t, "authserv_id", "milter")) {
        if (valid_authserv_id(*id)) m.authserv_id = util::ascii_lower(*id);
        else error(*t->get("authserv_id"),
                   "milter.authserv_id: \"" + *id + "\" is not a usable authserv-id (RFC 8601 section 2.5: a host name, no blanks or ';')");
    }
    if (const auto ids = get_string_array(*t, "strip_authserv_ids", "milter")) {
        for (const auto& [id, where] : *ids) {
            if (valid_authserv_id(id)) m.strip_authserv_ids.push_back(util::ascii_lower(id));
            else error(*where, "milter.strip_authserv_ids: \"" + id + "\" is not a usable authserv-id");
        }
    }
    if (const auto b = get_bool(*t, "auth_user_in_header", "milter")) m.auth_user_in_header = *b;
    if (const auto d = get_duration(*t, "drain_timeout", "milter", milliseconds(0), milliseconds(3'600'000))) {
        if (d->count() % 1000 != 0)
            error(*t->get("drain_timeout"), "milter.drain_timeout: must be a whole number of seconds");
        else
            m.drain_timeout = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
    if (const auto d = get_duration(*t, "mta_command_timeout", "milter", milliseconds(1000),
                                    milliseconds(3'600'000)))
        m.mta_command_timeout = *d;
    if (const auto v = get_string(*t, "unknown_binding", "milter")) {
        if (*v == "tempfail") m.unknown_binding = MilterSettings::UnknownBinding::TempFail;
        else if (*v == "ignore") m.unknown_binding = MilterSettings::UnknownBinding::Ignore;
        else error(*t->get("unknown_binding"), "milter.unknown_binding: \"" + *v + "\" is not \"tempfail\" or \"ignore\"");
    }
    if (const auto d = get_duration(*t, "idle_timeout", "milter", milliseconds(1000), milliseconds(7'200'000))) {
        if (d->count() % 1000 != 0) {
            error(*t->get("idle_timeout"), "milter.idle_timeout: must be a whole number of seconds");
        } else {
            m.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(*d);
            // RFC 5321 section 4.5.3.2.7: an SMTP server waits at least 5
            // minutes for the next command, and Postfix's smtpd_timeout is
            // 300 s; a shorter idle_timeout cuts such sessions (the MTA then
            // applies its milter default action).
            if (m.idle_timeout < std::chrono::seconds(300))
                config_.warnings.push_back(file_ + ":" + std::to_string(line_of(*t->get("idle_timeout"))) +
                                           ": milter.idle_timeout is below 300 s: a client that pauses as long as "
                                           "SMTP allows loses its session");
        }
    }
    if (const auto n = get_count(*t, "descriptor_reserve", "milter", 16, 100'000, false); n && *n)
        m.descriptor_reserve = static_cast<std::uint32_t>(**n);
    if (const auto text = get_string(*t, "quarantine_fallback", "milter")) {
        if (*text == "tempfail") m.quarantine_fallback = QuarantineFallback::TempFail;
        else if (*text == "reject") m.quarantine_fallback = QuarantineFallback::Reject;
        else if (*text == "header") m.quarantine_fallback = QuarantineFallback::Header;
        else error(*t->get("quarantine_fallback"), "milter.quarantine_fallback: unknown value \"" + *text +
                                                       "\": use tempfail, reject or header");
    }
    if (const auto text = get_string(*t, "log_format", "milter")) {
        if (*text == "text") m.log_format = daemon_log::Format::Text;
        else if (*text == "json") m.log_format = daemon_log::Format::Json;
        else error(*t->get("log_format"), "milter.log_format: unknown value \"" + *text + "\": use text or json");
    }
    if (const auto path = get_path(*t, "sender_login_map", "milter", true)) {
        m.sender_login_map = *path;
        std::vector<std::string> lines;
        if (!read_lines(*path, &lines)) {
            error(*t->get("sender_login_map"), "milter.sender_login_map: cannot read " + *path);
        } else {
            for (std::size_t i = 0; i < lines.size(); ++i) {
                std::string why;
                if (!config_.sender_logins.add_line(lines[i], &why))
                    error_in(*path, static_cast<int>(i + 1), why.empty() ? "malformed line" : why);
            }
        }
    }
}

// ---- [[accepted_domain]] -----------------------------------------------

void Loader::load_accepted_domains(const toml::node& node) {
    const toml::array* array = as_table_array(node, "accepted_domain");
    if (array == nullptr) return;
    for (const toml::node& element : *array) {
        const toml::table& t = *element.as_table();
        check_keys(t, "accepted_domain", "[[accepted_domain]]");
        policy::DomainType type = policy::DomainType::Authoritative;
        if (const auto text = get_string(t, "type", "accepted_domain")) {
            if (const auto parsed = policy::parse_domain_type(*text)) type = *parsed;
            else {
                error(*t.get("type"), "accepted_domain.type: unknown type \"" + *text +
                                          "\": use authoritative, internal_relay or external_relay");
                continue;
            }
        }
        const auto domain = get_string(t, "domain", "accepted_domain");
        if (!domain) {
            if (t.get("domain") == nullptr) error(t, "accepted_domain: 'domain' is required");
            continue;
        }
        std::string why;
        if (!config_.accepted_domains.add(*domain, type, &why))
            error(*t.get("domain"), "accepted_domain.domain: " + explain(*domain, why, "not a domain name"));
    }
}

// ---- [[connector]] --------------------------------------------------------

void Loader::load_permissions(const toml::node& node, std::string_view where,
                              std::vector<std::pair<policy::Principal, policy::Rights>>* out) {
    const toml::table* t = node.as_table();
    if (t == nullptr) {
        error(node, std::string(where) + " must be a table of principal = [rights]");
        return;
    }
    for (auto&& [key, value] : *t) {
        std::string why;
        const auto principal = policy::Principal::parse(key.str(), &why);
        if (!principal) {
            error(line_of(key.source()),
                  std::string(where) + ": " +
                      explain(key.str(), why,
                              "unknown principal: use AnonymousUsers, AuthenticatedUsers, ExchangeUsers, "
                              "ExchangeServers, ExternallySecuredServers, Partners or user:NAME"));
            continue;
        }
        const auto* rights_array = value.as_array();
        if (rights_array == nullptr) {
            wrong_type(value, std::string(where) + "." + std::string(key.str()), "an array of right names");
            continue;
        }
        policy::Rights rights;
        for (const toml::node& r : *rights_array) {
            const auto* name = r.as_string();
            if (name == nullptr) {
                wrong_type(r, std::string(where) + "." + std::string(key.str()), "a right name (string)");
                continue;
            }
            if (const auto right = policy::parse_right(name->get())) rights.add(*right);
            else error(r, std::string(where) + ": unknown extended right \"" + name->get() +
                              "\" (e.g. Ms-Exch-SMTP-Accept-Any-Recipient)");
        }
        out->emplace_back(*principal, rights);
    }
}

void Loader::load_replies(const toml::node& node, policy::ReplyTable* out) {
    const toml::table* t = node.as_table();
    if (t == nullptr) {
        error(node, "connector.replies must be a table of reply_key = \"code x.y.z text\"");
        return;
    }
    for (auto&& [key, value] : *t) {
        const auto id = policy::parse_reply_key(key.str());
        if (!id) {
            error(line_of(key.source()), "connector.replies: unknown reply key '" + std::string(key.str()) + "'");
            continue;
        }
        const auto* text = value.as_string();
        if (text == nullptr) {
            wrong_type(value, "connector.replies." + std::string(key.str()), "a string \"550 5.7.54 text\"");
            continue;
        }
        std::string why;
        auto reply = policy::Reply::parse(text->get(), &why);
        if (!reply) {
            error(value, "connector.replies." + std::string(key.str()) + ": " +
                             explain(text->get(), why, "not an SMTP reply"));
            continue;
        }
        out->set(*id, std::move(*reply));
    }
}

std::optional<policy::Connector> Loader::load_connector(const toml::table& t) {
    const std::size_t errors_before = errors_.size();
    check_keys(t, "connector", "[[connector]]");
    policy::Connector c;
    const int line = line_of(t);
    c.origin = file_ + ":" + std::to_string(line);

    if (const auto name = get_string(t, "name", "connector")) {
        if (trim(*name).empty()) error(*t.get("name"), "connector.name: must not be empty");
        c.name = *name;
    } else if (t.get("name") == nullptr) {
        error(line, "connector: 'name' is required");
    }
    const std::string label = c.name.empty() ? std::string("connector") : "connector '" + c.name + "'";
    const std::string where = "connector";
    if (const auto b = get_bool(t, "enabled", where)) c.enabled = *b;

    if (const auto bindings = get_string_array(t, "bindings", where)) {
        for (const auto& [text, node] : *bindings) {
            std::string why;
            if (auto b = policy::Binding::parse(text, &why)) c.bindings.push_back(*b);
            else error(*node, "connector.bindings: " + explain(text, why, "not a binding"));
        }
        if (bindings->empty()) error(*t.get("bindings"), "connector.bindings: at least one binding is required");
    } else if (t.get("bindings") == nullptr) {
        error(line, label + ": 'bindings' is required");
    }

    bool has_ranges_key = false;
    if (const auto ranges = get_string_array(t, "remote_ip_ranges", where)) {
        has_ranges_key = true;
        for (const auto& [text, node] : *ranges) {
            std::string why;
            if (auto r = policy::IpRange::parse(text, &why)) c.remote_ranges.push_back(*r);
            else error(*node, "connector.remote_ip_ranges: " + explain(text, why, "not an IP range"));
        }
        // Exchange requires at least one remote range; an empty list is a
        // mistake unless a ranges file (which may legitimately be empty) adds more.
        if (ranges->empty() && t.get("remote_ip_ranges_file") == nullptr)
            error(*t.get("remote_ip_ranges"), "connector.remote_ip_ranges: at least one range is required");
    } else if (t.get("remote_ip_ranges") != nullptr) {
        has_ranges_key = true;  // wrong type, already reported
    }
    if (t.get("remote_ip_ranges_file") != nullptr) has_ranges_key = true;
    if (const auto path = get_path(t, "remote_ip_ranges_file", where, true)) {
        config_.ranges_files.push_back(*path);
        std::vector<std::string> lines;
        if (!read_lines(*path, &lines)) {
            error(*t.get("remote_ip_ranges_file"), "connector.remote_ip_ranges_file: cannot read " + *path);
        } else {
            for (std::size_t i = 0; i < lines.size(); ++i) {
                std::string_view entry = lines[i];
                if (const auto hash = entry.find('#'); hash != std::string_view::npos) entry = entry.substr(0, hash);
                entry = trim(entry);
                if (entry.empty()) continue;
                std::string why;
                if (auto r = policy::IpRange::parse(entry, &why)) c.remote_ranges.push_back(*r);
                else error_in(*path, static_cast<int>(i + 1),
                              explain(entry, why, "not an IP range"));
            }
        }
    }
    // A connector bound only to "local" serves local submissions, which
    // have no network client to compare ranges with.
    const bool only_local = !c.bindings.empty() &&
                            std::all_of(c.bindings.begin(), c.bindings.end(), [](const policy::Binding& b) {
                                return b.kind() == policy::Binding::Kind::Local;
                            });
    if (only_local) {
        if (has_ranges_key)
            config_.notes.push_back(c.origin + ": connector '" + c.name +
                                    "' binds only local: its remote IP ranges are not used");
    } else if (!has_ranges_key) {
        error(line, label + ": 'remote_ip_ranges' or 'remote_ip_ranges_file' is required");
    } else if (c.remote_ranges.empty() && errors_.size() == errors_before) {
        config_.notes.push_back(c.origin + ": connector '" + c.name +
                                "' has no remote IP ranges: it matches no client");
    }

    if (const auto groups = get_string_array(t, "permission_groups", where)) {
        for (const auto& [text, node] : *groups) {
            if (const auto g = policy::parse_permission_group(text)) {
                if (std::find(c.permission_groups.begin(), c.permission_groups.end(), *g) == c.permission_groups.end())
                    c.permission_groups.push_back(*g);
            } else {
                error(*node, "connector.permission_groups: unknown group \"" + text +
                                 "\": use AnonymousUsers, ExchangeUsers (AuthenticatedUsers), ExchangeServers or Partners");
            }
        }
    }
    if (t.get("permission_groups") == nullptr || c.permission_groups.empty())
        config_.notes.push_back(c.origin + ": " + label +
                                " lists no permission_groups: sessions on it get only what [connector.grant] gives");
    if (const auto mechanisms = get_string_array(t, "auth_mechanisms", where)) {
        std::uint32_t mask = 0;
        for (const auto& [text, node] : *mechanisms) {
            if (const auto m = policy::parse_auth_mechanism(text)) mask |= static_cast<std::uint32_t>(*m);
            else error(*node, "connector.auth_mechanisms: unknown mechanism \"" + text +
                                  "\": use None, Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer or ExternalAuthoritative");
        }
        c.auth_mechanisms = mask == 0 ? static_cast<std::uint32_t>(policy::AuthMechanism::None) : mask;
        // Exchange: "ExternalAuthoritative ... requires ExchangeServers in
        // PermissionGroups" (the session gets that group's rights).
        if (c.has_mechanism(policy::AuthMechanism::ExternalAuthoritative) &&
            !c.has_group(policy::PermissionGroup::ExchangeServers)) {
            error(*t.get("auth_mechanisms"),
                  "connector.auth_mechanisms: ExternalAuthoritative requires ExchangeServers in permission_groups");
        }
    }
    if (const auto b = get_bool(t, "require_tls", where)) c.require_tls = *b;
    if (const auto b = get_bool(t, "dkim_sign", where)) c.dkim_sign = *b;
    if (const auto b = get_bool(t, "require_ehlo_domain", where)) c.require_ehlo_domain = *b;
    if (const auto size = get_size(t, "max_message_size", where, true)) c.max_message_size = *size;
    // Exchange's MaxHeaderSize range, 1 byte to 2 GB. Not "unlimited": it
    // bounds the memory one message's headers take here.
    if (const auto size = get_size(t, "max_header_size", where, false)) {
        constexpr std::uint64_t kMaxHeaderSizeLimit = 2147483647;
        if (**size < 1 || **size > kMaxHeaderSizeLimit)
            error(*t.get("max_header_size"), "connector.max_header_size: " + std::to_string(**size) +
                                                 " bytes is outside 1 byte to 2GB (2147483647 bytes)");
        else
            c.max_header_size = **size;
    }
    constexpr std::uint64_t kU32 = std::numeric_limits<std::uint32_t>::max();
    if (const auto n = get_count(t, "max_recipients_per_message", where, 1, kU32, false))
        c.max_recipients_per_message = static_cast<std::uint32_t>(**n);
    auto limit = [&](std::string_view key, std::optional<std::uint32_t>* out, std::uint64_t max) {
        if (const auto n = get_count(t, key, where, 1, max, true))
            *out = *n ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(**n)) : std::nullopt;
    };
    limit("max_inbound_connection_per_source", &c.max_inbound_connection_per_source, kU32);
    limit("max_inbound_connection_percentage_per_source", &c.max_inbound_connection_percentage_per_source, 100);
    limit("max_inbound_connection", &c.max_inbound_connection, kU32);
    limit("message_rate_limit", &c.message_rate_limit, kU32);
    if (const auto source = get_string(t, "message_rate_source", where)) {
        const std::string s = util::ascii_lower(*source);
        if (s == "ipaddress") c.message_rate_source = policy::RateSource::IpAddress;
        else if (s == "user") c.message_rate_source = policy::RateSource::User;
        else if (s == "all") c.message_rate_source = policy::RateSource::All;
        else error(*t.get("message_rate_source"),
                   "connector.message_rate_source: \"" + *source + "\": use IPAddress, User or All");
    }
    // Exchange allows 0 to 10 minutes. Here the refusal is the answer to a
    // milter command, which the MTA waits for only milter.mta_command_timeout
    // (read before the connectors): a longer tarpit would turn the refusal
    // into the MTA's default action. At most half of it, the rest being for
    // the work of that stage (DNS within [dns] message_time_budget).
    if (const auto d = get_duration(t, "tarpit_interval", where, milliseconds(0), milliseconds(600'000))) {
        const milliseconds max_tarpit = config_.milter.mta_command_timeout / 2;
        if (*d > max_tarpit) {
            error(*t.get("tarpit_interval"),
                  "connector.tarpit_interval: " + std::to_string(d->count()) + "ms is more than half of "
                  "milter.mta_command_timeout (" + std::to_string(config_.milter.mta_command_timeout.count()) +
                  "ms): at most " + std::to_string(max_tarpit.count()) + "ms, or the MTA gives up waiting for the "
                  "refusal; raise the MTA's timeout and mta_command_timeout together");
        } else {
            c.tarpit_interval = *d;
        }
    }
    if (const auto ranges = get_string_array(t, "trusted_forwarders", where)) {
        for (const auto& [text, node] : *ranges) {
            std::string why;
            if (auto r = policy::IpRange::parse(text, &why)) c.trusted_forwarders.push_back(*r);
            else error(*node, "connector.trusted_forwarders: " + explain(text, why, "not an IP range"));
        }
    }
    if (const auto checks = get_string_array(t, "checks", where)) {
        c.checks = policy::CheckSet();
        for (const auto& [text, node] : *checks) {
            if (const auto check = policy::parse_message_check(util::ascii_lower(text))) c.checks.add(*check);
            else error(*node, "connector.checks: unknown check \"" + text + "\": use spf, dkim or dmarc");
        }
        // RFC 9989 section 4.4: DMARC passes on an aligned SPF or DKIM pass;
        // with either left out it would fail mail that passes.
        if (c.checks.has(policy::MessageCheck::Dmarc) &&
            (!c.checks.has(policy::MessageCheck::Spf) || !c.checks.has(policy::MessageCheck::Dkim)))
            error(*t.get("checks"), "connector.checks: dmarc needs spf and dkim in the list as well");
    }
    check_connector_filtering(t, c);
    if (const toml::node* grant = t.get("grant")) load_permissions(*grant, "connector.grant", &c.grants);
    if (const toml::node* deny = t.get("deny")) load_permissions(*deny, "connector.deny", &c.denies);
    if (const toml::node* replies = t.get("replies")) load_replies(*replies, &c.replies);

    if (errors_.size() != errors_before) return std::nullopt;
    return c;
}

void Loader::load_connectors(const toml::node& node) {
    const toml::array* array = as_table_array(node, "connector");
    if (array == nullptr) return;
    for (const toml::node& element : *array) {
        const toml::table& t = *element.as_table();
        auto connector = load_connector(t);
        if (!connector) continue;
        const int line = line_of(t);
        // Names identify connectors in logs, `explain` and reply overrides.
        const auto same = std::find_if(connectors_.begin(), connectors_.end(), [&](const policy::Connector& c) {
            return util::ascii_lower(c.name) == util::ascii_lower(connector->name);
        });
        if (same != connectors_.end()) {
            error(*t.get("name"), "connector name '" + connector->name + "' is already used at " + same->origin);
            continue;
        }
        if (!connector->enabled)
            config_.notes.push_back(connector->origin + ": connector '" + connector->name + "' is disabled");
        // Exchange's "unique combination of bindings and remote IP ranges"
        // rule, checked pairwise so that each conflict is reported at the
        // later of the two connectors.
        for (const policy::Connector& earlier : connectors_) {
            for (std::string& message : policy::ConnectorMap::find_conflicts({earlier, *connector}))
                error(line, std::move(message));
        }
        connectors_.push_back(std::move(*connector));
        connector_lines_.push_back(line);
    }
}

// ---- [[certificate_map]] ------------------------------------------------

void Loader::load_certificate_map(const toml::node& node) {
    const toml::array* array = as_table_array(node, "certificate_map");
    if (array == nullptr) return;
    for (const toml::node& element : *array) {
        const toml::table& t = *element.as_table();
        check_keys(t, "certificate_map", "[[certificate_map]]");
        const std::string origin = file_ + ":" + std::to_string(line_of(t));
        policy::CertificateMapping mapping;
        bool ok = true;
        // One side of the entry: NAME_cn (a common name) or NAME (a
        // distinguished name, or "CN=..." as in earlier versions).
        const auto name = [&](std::string_view side, bool required) -> std::optional<policy::CertificateName> {
            const std::string cn_key = std::string(side) + "_cn";
            const toml::node* dn_node = t.get(side);
            const toml::node* cn_node = t.get(cn_key);
            if (dn_node != nullptr && cn_node != nullptr) {
                error(*cn_node, "certificate_map: give either '" + std::string(side) + "' or '" + cn_key + "'");
                ok = false;
                return std::nullopt;
            }
            if (cn_node != nullptr) {
                const auto cn = get_string(t, cn_key, "certificate_map");
                if (!cn) {
                    ok = false;
                } else if (cn->empty() || std::any_of(cn->begin(), cn->end(), [](unsigned char ch) {
                               return ch < 0x20 || ch == 0x7f;
                           })) {
                    // Postfix sends no name with control characters, and an
                    // empty one means no CN at all.
                    error(*cn_node, "certificate_map." + cn_key + ": must be a non-empty name without control characters");
                    ok = false;
                } else {
                    if (cn->size() > 3 && (cn->starts_with("CN=") || cn->starts_with("cn=")))
                        config_.warnings.push_back(origin + ": certificate_map." + cn_key + " \"" + *cn +
                                                "\" is compared with the common name itself: did you mean \"" +
                                                cn->substr(3) + "\"?");
                    return policy::CertificateName::common_name(*cn);
                }
                return std::nullopt;
            }
            if (dn_node != nullptr) {
                const auto dn = get_string(t, side, "certificate_map");
                std::string why;
                if (!dn) {
                    ok = false;
                } else if (auto parsed = policy::CertificateName::parse_dn(*dn, &why)) {
                    if (parsed->kind == policy::CertificateName::Kind::DistinguishedName) {
                        // Postfix reports only common names ({cert_subject} is
                        // the subject's CN): a whole DN can match on sendmail only.
                        const std::string cn = parsed->common_name_part();
                        config_.warnings.push_back(
                            origin + ": certificate_map." + std::string(side) + " \"" + *dn +
                            "\" is a whole distinguished name: only sendmail reports one, Postfix never matches it" +
                            (cn.empty() ? std::string("; it has no CN, so no common-name entry can replace it")
                                        : "; " + cn_key + " = \"" + cn + "\" matches on both"));
                    }
                    return parsed;
                } else {
                    error(*dn_node, "certificate_map." + std::string(side) + ": " + why);
                    ok = false;
                }
                return std::nullopt;
            }
            if (required) {
                error(t, "certificate_map: 'subject_cn' (or 'subject') is required");
                ok = false;
            }
            return std::nullopt;
        };
        if (auto subject = name("subject", true)) mapping.subject = std::move(*subject);
        mapping.issuer = name("issuer", false);
        if (const auto group = get_string(t, "group", "certificate_map")) {
            const auto g = policy::parse_permission_group(*group);
            if (g == policy::PermissionGroup::ExchangeServers || g == policy::PermissionGroup::Partners) {
                mapping.group = *g;
            } else {
                error(*t.get("group"), "certificate_map.group: \"" + *group + "\": use ExchangeServers or Partners");
                ok = false;
            }
        } else {
            if (t.get("group") == nullptr) error(t, "certificate_map: 'group' is required");
            ok = false;
        }
        if (!ok) continue;
        const bool listed = std::any_of(connectors_.begin(), connectors_.end(), [&](const policy::Connector& c) {
            return c.has_group(mapping.group);
        });
        if (!listed)
            config_.warnings.push_back(origin + ": certificate_map: no connector lists " +
                                    std::string(policy::permission_group_name(mapping.group)) +
                                    " in permission_groups: this entry gives no rights");
        config_.certificate_map.push_back(std::move(mapping));
    }
}

// ---- connection filtering -------------------------------------------------

// A reply template: "550 5.7.1 text" or only the text (then `fallback`'s
// codes). {provider} and {ip} are replaced when it is sent; every
// expansion must pass check_reply().
std::optional<policy::Reply> Loader::get_reply_template(const toml::table& t, std::string_view key,
                                                        std::string_view where, std::string_view provider,
                                                        const policy::Reply& fallback) {
    const auto text = get_string(t, key, where);
    if (!text) return std::nullopt;
    const toml::node& node = *t.get(key);
    const std::string name = std::string(where) + "." + std::string(key);
    policy::Reply reply = fallback;
    const bool has_code = text->size() > 4 && std::isdigit(static_cast<unsigned char>((*text)[0])) &&
                          std::isdigit(static_cast<unsigned char>((*text)[1])) &&
                          std::isdigit(static_cast<unsigned char>((*text)[2])) && (*text)[3] == ' ';
    if (has_code) {
        std::string_view rest = std::string_view(*text).substr(4);
        const auto space = rest.find(' ');
        reply.code = text->substr(0, 3);
        reply.xcode = std::string(rest.substr(0, space));
        reply.text = space == std::string_view::npos ? std::string() : std::string(rest.substr(space + 1));
    } else {
        reply.text = *text;
    }
    if (const std::string why = policy::check_reply_template(reply, provider); !why.empty()) {
        error(node, name + ": " + why);
        return std::nullopt;
    }
    return reply;
}

constexpr std::size_t kMaxProviderName = 64;

void Loader::load_block_list_providers(const toml::node& node) {
    const toml::array* array = as_table_array(node, "block_list_provider");
    if (array == nullptr) return;
    auto& providers = config_.connection_filter.providers;
    std::vector<bool> explicit_priority;
    for (const toml::node& element : *array) {
        const toml::table& t = *element.as_table();
        const std::size_t errors_before = errors_.size();
        check_keys(t, "block_list_provider", "[[block_list_provider]]");
        const std::string where = "block_list_provider";
        policy::BlockListProvider p;
        p.origin = file_ + ":" + std::to_string(line_of(t));
        if (const auto name = get_string(t, "name", where)) {
            // It goes into SMTP replies: short enough that every reply
            // template stays within the line limit.
            if (trim(*name).empty() || name->size() > kMaxProviderName ||
                std::any_of(name->begin(), name->end(), [](unsigned char ch) { return ch < 0x20 || ch > 0x7e; }))
                error(*t.get("name"), "block_list_provider.name: must be 1 to " + std::to_string(kMaxProviderName) +
                                          " octets of printable US-ASCII (it may appear in SMTP replies)");
            else if (config_.connection_filter.provider(*name) != nullptr)
                error(*t.get("name"), "block_list_provider.name: '" + *name + "' is already used at " +
                                          config_.connection_filter.provider(*name)->origin);
            p.name = *name;
        } else if (t.get("name") == nullptr) {
            error(t, "block_list_provider: 'name' is required");
        }
        if (const auto domain = get_string(t, "lookup_domain", where)) {
            const auto normal = policy::normalize_domain(*domain);
            // RFC 5782 section 2.4: an IPv6 query puts 64 octets of nibbles
            // before the zone, and a name has at most 253 (RFC 1035).
            if (!normal || normal->find('.') == std::string::npos || normal->size() > 253 - 64)
                error(*t.get("lookup_domain"), "block_list_provider.lookup_domain: \"" + *domain +
                                                   "\" is not a domain name of at most 189 octets "
                                                   "(e.g. \"zen.spamhaus.org\")");
            else
                p.lookup_domain = *normal;
        } else if (t.get("lookup_domain") == nullptr) {
            error(t, "block_list_provider: 'lookup_domain' is required");
        }
        int rules = 0;
        if (const auto any = get_bool(t, "any_match", where)) {
            if (*any) ++rules;
            else if (t.get("ip_addresses_match") == nullptr && t.get("bitmask_match") == nullptr)
                error(*t.get("any_match"), "block_list_provider.any_match = false needs ip_addresses_match "
                                           "or bitmask_match: otherwise no answer would count");
        }
        if (const auto list = get_string_array(t, "ip_addresses_match", where)) {
            ++rules;
            p.match.kind = policy::BlockListMatch::Kind::Addresses;
            for (const auto& [text, at] : *list) {
                const auto a = policy::IpAddress::parse(text);
                if (a && a->is_v4()) p.match.addresses.push_back(*a);
                else error(*at, "block_list_provider.ip_addresses_match: \"" + text + "\" is not an IPv4 address");
            }
            if (list->empty()) error(*t.get("ip_addresses_match"), "block_list_provider.ip_addresses_match: empty list");
        }
        if (const auto mask = get_string(t, "bitmask_match", where)) {
            ++rules;
            p.match.kind = policy::BlockListMatch::Kind::Bitmask;
            const auto a = policy::IpAddress::parse(*mask);
            if (a && a->is_v4() && (static_cast<std::uint32_t>(a->value()) & 0x00ffffffu) != 0)
                p.match.bitmask = static_cast<std::uint32_t>(a->value());
            else
                error(*t.get("bitmask_match"), "block_list_provider.bitmask_match: \"" + *mask +
                                                   "\" is not an IPv4 address with a bit set in its last three "
                                                   "octets (e.g. \"127.0.0.6\")");
        }
        if (rules > 1)
            error(t, "block_list_provider: give only one of any_match, ip_addresses_match and bitmask_match");
        bool has_priority = false;
        if (const auto n = get_count(t, "priority", where, 1, 1'000'000, false)) {
            p.priority = static_cast<std::uint32_t>(**n);
            has_priority = true;
            for (std::size_t i = 0; i < providers.size(); ++i)
                if (explicit_priority[i] && providers[i].priority == p.priority)
                    error(*t.get("priority"), "block_list_provider.priority: " + std::to_string(p.priority) +
                                                  " is already the priority of '" + providers[i].name + "'");
        }
        if (const auto b = get_bool(t, "enabled", where)) p.enabled = *b;
        if (const auto r = get_reply_template(t, "rejection_response", where, p.name,
                                              policy::BlockListProvider::default_block_list_rejection())) {
            if (!r->permanent())
                error(*t.get("rejection_response"), "block_list_provider.rejection_response: a listing is "
                                                    "refused for good: use a 5xx code (the failure action "
                                                    "covers temporary problems)");
            p.rejection = *r;
        }
        if (const auto f = get_string(t, "dns_failure", where)) {
            if (*f == "ignore") p.on_failure = policy::BlockListFailure::Ignore;
            else if (*f == "tempfail") p.on_failure = policy::BlockListFailure::TempFail;
            else error(*t.get("dns_failure"), "block_list_provider.dns_failure: \"" + *f +
                                                  "\": use ignore or tempfail");
        }
        if (errors_.size() != errors_before) continue;
        providers.push_back(std::move(p));
        explicit_priority.push_back(has_priority);
    }
    // Without a priority a provider comes after every provider with one,
    // in file order (Exchange numbers them in the order they are added).
    std::uint32_t last = 0;
    for (std::size_t i = 0; i < providers.size(); ++i)
        if (explicit_priority[i]) last = std::max(last, providers[i].priority);
    for (std::size_t i = 0; i < providers.size(); ++i)
        if (!explicit_priority[i]) providers[i].priority = ++last;
    std::stable_sort(providers.begin(), providers.end(),
                     [](const auto& a, const auto& b) { return a.priority < b.priority; });
}

void Loader::load_ip_list(const toml::node& node, std::string_view name, policy::IpList* out) {
    const toml::array* array = as_table_array(node, name);
    if (array == nullptr) return;
    const std::string where(name);
    for (const toml::node& element : *array) {
        const toml::table& t = *element.as_table();
        check_keys(t, name, "[[" + where + "]]");
        policy::IpListEntry entry;
        entry.origin = file_ + ":" + std::to_string(line_of(t));
        bool ok = true;
        if (const auto text = get_string(t, "range", where)) {
            std::string why;
            if (auto r = policy::IpRange::parse(*text, &why)) entry.range = *r;
            else {
                error(*t.get("range"), where + ".range: " + explain(*text, why, "not an IP range"));
                ok = false;
            }
        } else {
            if (t.get("range") == nullptr) error(t, where + ": 'range' is required");
            ok = false;
        }
        if (const toml::node* e = t.get("expires")) {
            using namespace std::chrono;
            if (const auto* dt = e->as_date_time()) {
                const auto& v = dt->get();
                const year_month_day ymd{year{v.date.year}, month{v.date.month}, day{v.date.day}};
                entry.expires = system_clock::time_point(sys_days(ymd)) + hours(v.time.hour) +
                                minutes(v.time.minute) + seconds(v.time.second) -
                                minutes(v.offset ? v.offset->minutes : 0);
            } else if (const auto* d = e->as_date()) {
                const auto& v = d->get();
                entry.expires = system_clock::time_point(sys_days(year_month_day{year{v.year}, month{v.month}, day{v.day}}));
            } else if (const auto* s = e->as_string()) {
                entry.expires = policy::parse_expiry(s->get());
                if (!entry.expires) {
                    error(*e, where + ".expires: \"" + s->get() + "\" is not a date (2027-01-31) or date and time "
                                                                   "(2027-01-31T12:00:00Z)");
                    ok = false;
                }
            } else {
                wrong_type(*e, where + ".expires", "a date or date-time (2027-01-31T12:00:00Z)");
                ok = false;
            }
        }
        (void)get_string(t, "comment", where);
        if (ok) out->add(std::move(entry));
    }
}

// One entry a line: RANGE [EXPIRY], '#' starts a comment.
void Loader::load_ip_list_file(const toml::table& t, std::string_view key, policy::IpList* out) {
    const auto path = get_path(t, key, "connection_filtering", true);
    if (!path) return;
    config_.ip_list_files.push_back(*path);
    std::vector<std::string> lines;
    if (!read_lines(*path, &lines)) {
        error(*t.get(key), "connection_filtering." + std::string(key) + ": cannot read " + *path);
        return;
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view entry = lines[i];
        if (const auto hash = entry.find('#'); hash != std::string_view::npos) entry = entry.substr(0, hash);
        entry = trim(entry);
        if (entry.empty()) continue;
        const int line = static_cast<int>(i + 1);
        const auto blank = entry.find_first_of(" \t");
        const std::string_view range_text = entry.substr(0, blank);
        policy::IpListEntry e;
        e.origin = *path + ":" + std::to_string(line);
        std::string why;
        const auto r = policy::IpRange::parse(range_text, &why);
        if (!r) {
            error_in(*path, line, explain(range_text, why, "not an IP range"));
            continue;
        }
        e.range = *r;
        if (blank != std::string_view::npos) {
            const std::string_view expiry = trim(entry.substr(blank));
            e.expires = policy::parse_expiry(expiry);
            if (!e.expires) {
                error_in(*path, line, "\"" + std::string(expiry) + "\" is not an expiry date (2027-01-31) or "
                                                                   "date and time (2027-01-31T12:00:00Z)");
                continue;
            }
        }
        out->add(std::move(e));
    }
}

void Loader::load_connection_filtering(const toml::node& node) {
    const toml::table* t = as_section(node, "connection_filtering");
    if (t == nullptr) return;
    check_keys(*t, "connection_filtering", "[connection_filtering]");
    auto& f = config_.connection_filter;
    if (const auto list = get_string_array(*t, "exempt_recipients", "connection_filtering")) {
        f.exempt_recipients.clear();
        for (const auto& [text, at] : *list) {
            const std::string lower = util::ascii_lower(trim(text));
            if (lower.empty() || lower.find_first_of(" \t<>") != std::string::npos ||
                lower.find('@') != lower.rfind('@') || lower.front() == '@' || lower.back() == '@')
                error(*at, "connection_filtering.exempt_recipients: \"" + text +
                               "\" is not a local part (postmaster) or an address (abuse@example.com)");
            else
                f.exempt_recipients.push_back(lower);
        }
    }
    if (t->get("ip_allow_file") != nullptr) load_ip_list_file(*t, "ip_allow_file", &f.allow);
    if (t->get("ip_block_file") != nullptr) load_ip_list_file(*t, "ip_block_file", &f.block);
    if (const auto r = get_reply_template(*t, "ip_block_response", "connection_filtering", "",
                                          policy::ConnectionFilter::default_ip_block_rejection()))
        f.ip_block_rejection = *r;
    // Checked with the longest provider name (the providers come first).
    std::string longest_name;
    for (const auto& p : f.providers)
        if (p.name.size() > longest_name.size()) longest_name = p.name;
    if (const auto r = get_reply_template(*t, "tempfail_response", "connection_filtering", longest_name,
                                          policy::ConnectionFilter::default_tempfail_reply())) {
        if (r->permanent())
            error(*t->get("tempfail_response"), "connection_filtering.tempfail_response: use a 4xx code");
        f.tempfail_reply = *r;
    }
}

void Loader::check_connector_filtering(const toml::table& t, policy::Connector& c) {
    if (const auto b = get_bool(t, "connection_filtering", "connector")) c.connection_filtering = *b;
    if (const auto names = get_string_array(t, "block_list_providers", "connector")) {
        // Naming providers turns connection filtering on.
        c.connection_filtering = true;
        for (const auto& [name, at] : *names) {
            const auto* p = config_.connection_filter.provider(name);
            if (p == nullptr) {
                error(*at, "connector.block_list_providers: no [[block_list_provider]] is named \"" + name + "\"");
                continue;
            }
            if (!p->enabled)
                config_.notes.push_back(c.origin + ": connector '" + c.name + "' names block list provider '" +
                                        p->name + "', which is disabled");
            c.block_list_providers.push_back(p->name);
        }
        if (const auto b = get_bool(t, "connection_filtering", "connector"); b && !*b)
            error(*t.get("connection_filtering"),
                  "connector.connection_filtering = false contradicts block_list_providers");
    }
}

// ---- [dns] [spf] [dkim] [dmarc] -------------------------------------------

void Loader::load_dns(const toml::node& node) {
    const toml::table* t = as_section(node, "dns");
    if (t == nullptr) return;
    check_keys(*t, "dns", "[dns]");
    DnsSettings& d = config_.dns;
    if (const auto v = get_duration(*t, "timeout", "dns", milliseconds(1), milliseconds(60'000))) d.timeout = *v;
    if (const auto servers = get_string_array(*t, "nameservers", "dns")) {
        for (const auto& [text, where] : *servers) {
            // libunbound's forwarders: "ADDRESS" or "ADDRESS@PORT".
            const auto at = text.find('@');
            const std::string_view address = std::string_view(text).substr(0, at);
            bool ok = policy::IpAddress::parse(address).has_value();
            if (ok && at != std::string::npos) {
                unsigned port = 0;
                const std::string_view p = std::string_view(text).substr(at + 1);
                const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
                ok = ec == std::errc() && ptr == p.data() + p.size() && port >= 1 && port <= 65535;
            }
            if (ok) d.nameservers.push_back(text);
            else error(*where, "dns.nameservers: \"" + text + "\" is not an IP address (optionally @PORT)");
        }
    }
    if (const auto path = get_path(*t, "static_zone", "dns", true)) d.static_zone = *path;
    if (const auto b = get_bool(*t, "offline", "dns")) d.offline = *b;
    if (const auto path = get_path(*t, "trust_anchor_file", "dns", true)) d.trust_anchor_file = *path;
    if (const auto n = get_count(*t, "message_query_budget", "dns", 1, 10'000, false))
        d.message_query_budget = static_cast<std::uint32_t>(**n);
    if (const auto v = get_duration(*t, "message_time_budget", "dns", milliseconds(1), milliseconds(600'000)))
        d.message_time_budget = *v;
    if (d.offline && d.static_zone.empty() && t->get("static_zone") == nullptr)
        config_.warnings.push_back(file_ + ": dns.offline without dns.static_zone: every name is NXDOMAIN");
}

void Loader::load_spf(const toml::node& node) {
    const toml::table* t = as_section(node, "spf");
    if (t == nullptr) return;
    check_keys(*t, "spf", "[spf]");
    SpfSettings& s = config_.spf;
    if (const auto b = get_bool(*t, "enabled", "spf")) s.enabled = *b;
    if (const auto b = get_bool(*t, "check_helo", "spf")) s.check_helo = *b;
    if (const auto a = get_action(*t, "fail_action", "spf")) s.fail_action = *a;
    if (const auto a = get_action(*t, "softfail_action", "spf")) s.softfail_action = *a;
    if (const auto a = get_action(*t, "temperror_action", "spf")) s.temperror_action = *a;
    if (const auto a = get_action(*t, "permerror_action", "spf")) s.permerror_action = *a;
    if (const auto b = get_bool(*t, "received_spf_header", "spf")) s.received_spf_header = *b;
    if (const auto d = get_duration(*t, "mail_wait", "spf", milliseconds(0), milliseconds(3'600'000))) s.mail_wait = *d;
}

void Loader::load_dkim(const toml::node& node) {
    const toml::table* t = as_section(node, "dkim");
    if (t == nullptr) return;
    check_keys(*t, "dkim", "[dkim]");
    DkimSettings& k = config_.dkim;
    if (const auto b = get_bool(*t, "enabled", "dkim")) k.enabled = *b;
    if (const auto n = get_count(*t, "max_signatures", "dkim", 1, 100, false))
        k.max_signatures = static_cast<std::uint32_t>(**n);
    // RFC 8301 section 3.2: verifiers must accept 1024 to 4096 bits; below
    // 1024 only for administrators who knowingly accept weak keys.
    if (const auto n = get_count(*t, "min_rsa_bits", "dkim", 512, 4096, false))
        k.min_rsa_bits = static_cast<std::uint32_t>(**n);
    if (const auto v = get_string(*t, "verifier", "dkim")) {
        if (*v == "native") k.verifier = auth::DkimVerifierKind::Native;
        else if (*v == "libopendkim") k.verifier = auth::DkimVerifierKind::LibOpenDkim;
        else error(*t->get("verifier"), "dkim.verifier: \"" + *v + "\": expected \"native\" or \"libopendkim\"");
    }
}

void Loader::load_arc(const toml::node& node) {
    const toml::table* t = as_section(node, "arc");
    if (t == nullptr) return;
    check_keys(*t, "arc", "[arc]");
    if (const auto b = get_bool(*t, "enabled", "arc")) config_.arc.enabled = *b;
    if (const auto sealers = get_string_array(*t, "trusted_arc_sealers", "arc")) {
        for (const auto& [text, item] : *sealers) {
            const std::string domain = util::dns_name_key(text);
            if (domain.empty() || domain.find_first_of(" \t;:@/") != std::string::npos)
                error(*item, "arc.trusted_arc_sealers: \"" + text + "\" is not a domain name");
            else config_.arc.trusted_arc_sealers.push_back(domain);
        }
    }
}

void Loader::load_dmarc(const toml::node& node) {
    const toml::table* t = as_section(node, "dmarc");
    if (t == nullptr) return;
    check_keys(*t, "dmarc", "[dmarc]");
    DmarcSettings& d = config_.dmarc;
    if (const auto b = get_bool(*t, "enabled", "dmarc")) d.enabled = *b;
    if (const auto text = get_string(*t, "discovery", "dmarc")) {
        const std::string v = util::ascii_lower(*text);
        if (v == "treewalk") d.discovery = DmarcDiscovery::TreeWalk;
        else if (v == "psl") d.discovery = DmarcDiscovery::PublicSuffixList;
        else error(*t->get("discovery"), "dmarc.discovery: \"" + *text + "\": use treewalk or psl");
    }
    if (const auto path = get_path(*t, "public_suffix_list", "dmarc", true)) d.public_suffix_list = *path;
    if (const auto a = get_action(*t, "reject_action", "dmarc")) d.reject_action = *a;
    if (const auto a = get_action(*t, "quarantine_action", "dmarc")) d.quarantine_action = *a;
    if (const auto b = get_bool(*t, "defer_on_temperror", "dmarc")) d.defer_on_temperror = *b;
    if (const auto a = get_action(*t, "bad_from_action", "dmarc")) d.bad_from_action = *a;
    if (const toml::node* n = t->get("reports")) load_dmarc_reports(*n);
}

// [dmarc.reports]: RFC 9990 aggregate reports. Only the database matters
// to the daemon; the rest is read by `connector-milter report`.
void Loader::load_dmarc_reports(const toml::node& node) {
    const toml::table* t = as_section(node, "dmarc.reports");
    if (t == nullptr) return;
    check_keys(*t, "dmarc.reports", "[dmarc.reports]");
    DmarcReportSettings& r = config_.dmarc.reports;
    r.enabled = true;
    if (const auto b = get_bool(*t, "enabled", "dmarc.reports")) r.enabled = *b;
    if (const auto path = get_path(*t, "database", "dmarc.reports", false)) r.database = *path;
    if (const auto text = get_string(*t, "store", "dmarc.reports")) {
        if (*text == "sqlite") r.store = DmarcReportSettings::Store::Sqlite;
        else if (*text == "redis") r.store = DmarcReportSettings::Store::Redis;
        else error(*t->get("store"), "dmarc.reports.store: \"" + *text + "\": use sqlite or redis");
    }
    if (const auto n = get_count(*t, "retention_days", "dmarc.reports", 1, 3650, false))
        r.retention_days = static_cast<std::uint32_t>(**n);
    if (const auto n = get_count(*t, "queue_limit", "dmarc.reports", 1, 1'000'000, false))
        r.queue_limit = static_cast<std::uint32_t>(**n);
    // Values that end up in mail header fields and the XML: one line each.
    auto one_line = [&](std::string_view key, std::string* out) {
        const auto v = get_string(*t, key, "dmarc.reports");
        if (!v) return;
        if (v->find_first_of("\r\n") != std::string::npos || v->empty())
            error(*t->get(key), "dmarc.reports." + std::string(key) + ": must be one non-empty line");
        else
            *out = *v;
    };
    one_line("org_name", &r.org_name);
    one_line("contact", &r.contact);
    one_line("extra_contact_info", &r.extra_contact_info);
    one_line("submitter", &r.submitter);
    one_line("from", &r.from);
    one_line("sender_command", &r.sender_command);
    for (const char* key : {"contact", "from"}) {
        const std::string& v = std::string_view(key) == "contact" ? r.contact : r.from;
        if (!v.empty() && (v.find('@') == std::string::npos || v.find_first_of(" <>\"") != std::string::npos))
            error(*t->get(key), "dmarc.reports." + std::string(key) + ": \"" + v + "\" is not a plain address (local@domain)");
    }
    if (const auto list = get_string_array(*t, "suppress", "dmarc.reports"))
        for (const auto& [text, where] : *list) r.suppress.push_back(util::ascii_lower(text));
    if (const auto size = get_size(*t, "max_report_size", "dmarc.reports", false)) r.max_report_size = **size;
    if (r.submitter.empty()) r.submitter = local_host_name();
    if (r.submitter.empty()) r.submitter = "localhost";
    if (r.org_name.empty()) r.org_name = r.submitter;
    if (r.contact.empty()) r.contact = "postmaster@" + r.submitter;
    if (r.from.empty()) r.from = r.contact;
}

// ---- [metrics] ---------------------------------------------------------

void Loader::load_metrics(const toml::node& node) {
    const toml::table* t = as_section(node, "metrics");
    if (t == nullptr) return;
    check_keys(*t, "metrics", "[metrics]");
    if (const auto listen = get_string(*t, "listen", "metrics")) {
        std::string why;
        if (parse_metrics_listen(*listen, &why)) config_.metrics.listen = *listen;
        else error(*t->get("listen"), "metrics.listen: \"" + *listen + "\": " + why);
    }
}

// ---- [dkim_signing] -------------------------------------------------------

// One of OpenDKIM's files, line ends normalised; an error at `where` when it
// cannot be read.
std::optional<std::string> Loader::read_table(const toml::node& where, std::string_view what,
                                              const std::string& path) {
    std::vector<std::string> lines;
    if (!read_lines(path, &lines)) {
        error(where, std::string(what) + ": cannot read " + path);
        return std::nullopt;
    }
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    return text;
}

// "file:PATH", "refile:PATH" or PATH (OpenDKIM's data set syntax; other data
// set types are not supported).
void Loader::read_key_table(const toml::node& where, std::string spec) {
    if (spec.starts_with("file:")) spec = spec.substr(5);
    if (spec.find(':') != std::string::npos && !spec.starts_with("/")) {
        error(where, "dkim_signing.key_table: \"" + spec + "\": only plain files are supported (file:PATH or PATH)");
        return;
    }
    const std::string path = resolve(spec);
    const auto text = read_table(where, "dkim_signing.key_table", path);
    if (!text) return;
    std::string base = std::filesystem::path(path).parent_path().string();
    for (const auto& p : parse_opendkim_key_table(*text, path, base.empty() ? "." : base, config_.dkim_signing.keys)) {
        if (p.warning) config_.warnings.push_back(path + ":" + std::to_string(p.line) + ": " + p.message);
        else error_in(path, p.line, p.message);
    }
}

void Loader::read_signing_table(const toml::node& where, std::string spec) {
    bool refile = false;
    if (spec.starts_with("refile:")) {
        refile = true;
        spec = spec.substr(7);
    } else if (spec.starts_with("file:")) {
        spec = spec.substr(5);
    }
    if (spec.find(':') != std::string::npos && !spec.starts_with("/")) {
        error(where, "dkim_signing.signing_table: \"" + spec + "\": only refile:PATH, file:PATH or PATH are supported");
        return;
    }
    const std::string path = resolve(spec);
    const auto text = read_table(where, "dkim_signing.signing_table", path);
    if (!text) return;
    for (const auto& p : parse_opendkim_signing_table(*text, path, refile, config_.dkim_signing.rules)) {
        if (p.warning) config_.warnings.push_back(path + ":" + std::to_string(p.line) + ": " + p.message);
        else error_in(path, p.line, p.message);
    }
}

// An opendkim.conf used as it is: its KeyTable and SigningTable (or
// Domain/Selector/KeyFile), Canonicalization, SignHeaders, OversignHeaders,
// MultipleSignatures and SignatureTTL. Settings of [dkim_signing] itself
// win over the file's.
void Loader::load_opendkim_conf(const toml::node& where, const std::string& path) {
    const auto text = read_table(where, "dkim_signing.opendkim_conf", path);
    if (!text) return;
    OpendkimConf conf;
    (void)parse_opendkim_conf(*text, conf);
    auth::DkimSignOptions& o = config_.dkim_signing;
    const std::string base_save = base_dir_;
    // Relative names in opendkim.conf are relative to its own folder.
    base_dir_ = std::filesystem::path(path).parent_path().string();
    if (base_dir_.empty()) base_dir_ = ".";
    if (!conf.key_table.empty()) read_key_table(where, conf.key_table);
    if (!conf.signing_table.empty()) read_signing_table(where, conf.signing_table);
    if (conf.key_table.empty() && !conf.key_file.empty() && !conf.domain.empty() && !conf.selector.empty()) {
        // Single-key mode: every address of Domain (a comma list) signs with KeyFile.
        auto load = load_signing_key_file(resolve(conf.key_file));
        if (!load.key) {
            error_in(path, 0, "KeyFile: " + load.error);
        } else {
            if (!load.warning.empty()) config_.warnings.push_back(path + ": KeyFile: " + load.warning);
            std::string domains = conf.domain;
            std::stringstream list(domains);
            std::string d;
            bool first = true;
            while (std::getline(list, d, ',')) {
                d = util::dns_name_key(trim(d));
                if (d.empty()) continue;
                auth::DkimSigningKey key = *load.key;
                key.name = "KeyFile:" + d;
                key.domain = d;
                key.selector = util::ascii_lower(conf.selector);
                key.origin = path;
                o.keys.push_back(key);
                o.rules.push_back({auth::DkimSigningRule::Kind::Exact, d, {key.name}, path + " Domain", {}});
                first = false;
            }
            if (first) error_in(path, 0, "Domain: no domain listed");
        }
    }
    base_dir_ = base_save;
    if (conf.canonicalization && !parse_canonicalization(*conf.canonicalization, o.header_canon, o.body_canon))
        error_in(path, 0, "Canonicalization: \"" + *conf.canonicalization + "\": use simple or relaxed, e.g. relaxed/relaxed");
    const auto header_list = [&](const std::string& names, std::vector<std::string>& out, std::string_view what) {
        out.clear();
        std::stringstream list(names);
        std::string h;
        while (std::getline(list, h, ',')) {
            h = util::ascii_lower(trim(h));
            if (h.empty()) continue;
            if (valid_sign_header_name(h)) out.push_back(h);
            else error_in(path, 0, std::string(what) + ": \"" + h + "\" is not a header field name");
        }
    };
    if (conf.sign_headers) header_list(*conf.sign_headers, o.sign_headers, "SignHeaders");
    if (conf.oversign_headers) header_list(*conf.oversign_headers, o.oversign_headers, "OversignHeaders");
    if (conf.multiple_signatures) o.multiple_signatures = *conf.multiple_signatures;
    if (conf.signature_ttl) {
        if (const auto d = parse_duration_text(*conf.signature_ttl))
            o.expire = std::chrono::duration_cast<std::chrono::seconds>(*d);
        else error_in(path, 0, "SignatureTTL: \"" + *conf.signature_ttl + "\" is not a number of seconds");
    }
    if (!conf.ignored.empty()) {
        std::string names;
        for (const auto& n : conf.ignored) names += (names.empty() ? "" : ", ") + n;
        config_.notes.push_back(path + ": not used by connector-milter (verification, sockets and users are "
                                "configured in connector-milter.conf): " + names);
    }
}

void Loader::load_dkim_signing(const toml::node& node) {
    const toml::table* t = as_section(node, "dkim_signing");
    if (t == nullptr) return;
    check_keys(*t, "dkim_signing", "[dkim_signing]");
    auth::DkimSignOptions& o = config_.dkim_signing;
    if (const auto path = get_path(*t, "opendkim_conf", "dkim_signing", true)) load_opendkim_conf(*t->get("opendkim_conf"), *path);
    if (const auto spec = get_string(*t, "key_table", "dkim_signing")) read_key_table(*t->get("key_table"), *spec);
    if (const auto spec = get_string(*t, "signing_table", "dkim_signing"))
        read_signing_table(*t->get("signing_table"), *spec);
    if (const toml::node* keys = t->get("key")) {
        if (const toml::array* array = as_table_array(*keys, "dkim_signing.key")) {
            for (const toml::node& element : *array) {
                const toml::table& k = *element.as_table();
                check_keys(k, "dkim_signing.key", "[[dkim_signing.key]]");
                const auto name = get_string(k, "name", "dkim_signing.key");
                const auto domain = get_string(k, "domain", "dkim_signing.key");
                const auto selector = get_string(k, "selector", "dkim_signing.key");
                const auto file = get_path(k, "private_key", "dkim_signing.key", false);
                if (!name || !domain || !selector || !file || name->empty() || domain->empty() || selector->empty()) {
                    error(k, "[[dkim_signing.key]] needs name, domain, selector and private_key");
                    continue;
                }
                auto load = load_signing_key_file(*file);
                if (!load.key) {
                    error(*k.get("private_key"), "dkim_signing.key \"" + *name + "\": " + load.error);
                    continue;
                }
                const std::string origin = file_ + ":" + std::to_string(line_of(k));
                if (!load.warning.empty()) config_.warnings.push_back(origin + ": key \"" + *name + "\": " + load.warning);
                if (const auto* other = o.find_key(*name)) {
                    error(k, "dkim_signing.key \"" + *name + "\" is already defined at " + other->origin);
                    continue;
                }
                load.key->name = *name;
                load.key->domain = *domain == "%" ? *domain : util::dns_name_key(*domain);
                load.key->selector = util::ascii_lower(*selector);
                load.key->origin = origin;
                o.keys.push_back(std::move(*load.key));
            }
        }
    }
    if (const toml::node* rules = t->get("rule")) {
        if (const toml::array* array = as_table_array(*rules, "dkim_signing.rule")) {
            for (const toml::node& element : *array) {
                const toml::table& r = *element.as_table();
                check_keys(r, "dkim_signing.rule", "[[dkim_signing.rule]]");
                const auto pattern = get_string(r, "pattern", "dkim_signing.rule");
                const auto keys = get_string_array(r, "keys", "dkim_signing.rule");
                if (!pattern || !keys || pattern->empty() || keys->empty()) {
                    error(r, "[[dkim_signing.rule]] needs a pattern and a non-empty keys list");
                    continue;
                }
                auth::DkimSigningRule rule;
                rule.kind = auth::DkimSigningRule::Kind::Pattern;
                rule.pattern = util::ascii_lower(*pattern);
                rule.origin = file_ + ":" + std::to_string(line_of(r));
                for (const auto& [key, where] : *keys) rule.keys.push_back(key);
                if (const auto identity = get_string(r, "identity", "dkim_signing.rule")) {
                    if (valid_signer_identity(*identity)) rule.identity = *identity;
                    else error(*r.get("identity"), "dkim_signing.rule identity \"" + *identity + "\": use [local]@domain");
                }
                o.rules.push_back(std::move(rule));
            }
        }
    }
    if (const auto b = get_bool(*t, "multiple_signatures", "dkim_signing")) o.multiple_signatures = *b;
    if (const auto c = get_string(*t, "canonicalization", "dkim_signing"))
        if (!parse_canonicalization(*c, o.header_canon, o.body_canon))
            error(*t->get("canonicalization"), "dkim_signing.canonicalization: \"" + *c +
                                                   "\": use simple or relaxed, e.g. \"relaxed/relaxed\"");
    const auto headers = [&](std::string_view key, std::vector<std::string>& out) {
        if (const auto list = get_string_array(*t, key, "dkim_signing")) {
            out.clear();
            for (const auto& [h, where] : *list) {
                if (valid_sign_header_name(h)) out.push_back(util::ascii_lower(h));
                else error(*where, "dkim_signing." + std::string(key) + ": \"" + h + "\" is not a header field name");
            }
        }
    };
    headers("sign_headers", o.sign_headers);
    headers("oversign_headers", o.oversign_headers);
    if (!o.sign_headers.empty() && std::find(o.sign_headers.begin(), o.sign_headers.end(), "from") == o.sign_headers.end())
        // RFC 6376 section 5.4: From MUST be signed.
        error(*t->get("sign_headers"), "dkim_signing.sign_headers: must list From (RFC 6376 section 5.4)");
    if (const auto d = get_duration(*t, "expire", "dkim_signing", milliseconds(0), milliseconds(365ll * 24 * 3600 * 1000)))
        o.expire = std::chrono::duration_cast<std::chrono::seconds>(*d);
    if (const auto by = get_string(*t, "sign_by", "dkim_signing")) {
        const std::string v = util::ascii_lower(*by);
        if (v == "from") o.identity = auth::DkimSignIdentity::HeaderFrom;
        else if (v == "mail_from") o.identity = auth::DkimSignIdentity::EnvelopeFrom;
        else error(*t->get("sign_by"), "dkim_signing.sign_by: \"" + *by + "\": use from or mail_from");
    }
    if (const auto a = get_string(*t, "failure_action", "dkim_signing")) {
        const std::string v = util::ascii_lower(*a);
        if (v == "tempfail") o.on_failure = auth::DkimSignFailure::TempFail;
        else if (v == "accept") o.on_failure = auth::DkimSignFailure::Accept;
        else error(*t->get("failure_action"), "dkim_signing.failure_action: \"" + *a + "\": use tempfail or accept");
    }
    if (const auto b = get_bool(*t, "local_submissions", "dkim_signing")) o.sign_local_submissions = *b;
    // Every rule must name keys that exist: a typo must not leave mail unsigned.
    for (const auto& rule : o.rules)
        for (const auto& k : rule.keys)
            if (k != "%" && o.find_key(k) == nullptr) {
                const auto colon = rule.origin.rfind(':');
                int line = 0;
                if (colon != std::string::npos) line = std::atoi(rule.origin.c_str() + colon + 1);
                error_in(rule.origin.substr(0, colon), line, "signing rule names key \"" + k + "\", which no key table defines");
            }
    // An i= outside d= is left out when signing (RFC 6376 section 3.5, as
    // OpenDKIM does); where both are fixed, say so now.
    for (const auto& rule : o.rules) {
        if (rule.identity.empty() || rule.identity.find('%') != std::string::npos) continue;
        for (const auto& k : rule.keys) {
            const auto* key = k == "%" ? nullptr : o.find_key(k);
            if (key != nullptr && key->domain != "%" && !auth::dkim_identity_fits(rule.identity, key->domain))
                config_.warnings.push_back(rule.origin + ": i=" + rule.identity + " is not in d=" + key->domain +
                                           " of key \"" + key->name + "\": signed without i=");
        }
    }
    if (!o.keys.empty() && o.rules.empty())
        error(*t, "[dkim_signing]: keys but no signing table (signing_table or [[dkim_signing.rule]])");
}

// ---- [cluster] ---------------------------------------------------------

namespace {

// "redis://HOST[:PORT][/DB]" (HOST may be "[v6]") or "unix:/PATH". False
// with `why` when the text is neither.
bool parse_redis_address(std::string_view text, ClusterSettings* c, std::string* why) {
    constexpr std::string_view kUnix = "unix:";
    constexpr std::string_view kRedis = "redis://";
    if (text.substr(0, kUnix.size()) == kUnix) {
        const std::string_view path = text.substr(kUnix.size());
        if (path.empty() || path.front() != '/') {
            *why = "a unix socket needs an absolute path (unix:/run/redis/redis.sock)";
            return false;
        }
        c->unix_path = std::string(path);
        return true;
    }
    if (text.substr(0, kRedis.size()) != kRedis) {
        *why = "use redis://HOST:PORT/DB or unix:/PATH";
        return false;
    }
    std::string_view rest = text.substr(kRedis.size());
    const auto slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
        const std::string_view db = rest.substr(slash + 1);
        std::uint32_t n = 0;
        const auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), n);
        if (db.empty() || ec != std::errc() || ptr != db.data() + db.size() || n > 100'000) {
            *why = "the database after '/' must be a number";
            return false;
        }
        c->database = n;
    }
    if (authority.find('@') != std::string_view::npos) {
        // A password in the URL would sit in a file many can read.
        *why = "no user or password in the address: use cluster.password_file";
        return false;
    }
    std::string_view host = authority;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            *why = "unterminated [IPv6 address]";
            return false;
        }
        host = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                *why = "expected :PORT after the [IPv6 address]";
                return false;
            }
            port = after.substr(1);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) {
        *why = "no host";
        return false;
    }
    if (!port.empty() || authority.find(':') != std::string_view::npos) {
        unsigned p = 0;
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
            *why = "the port must be a number from 1 to 65535";
            return false;
        }
        c->port = static_cast<std::uint16_t>(p);
    }
    c->host = std::string(host);
    return true;
}

}  // namespace

void Loader::load_cluster(const toml::node& node) {
    const toml::table* t = as_section(node, "cluster");
    if (t == nullptr) return;
    check_keys(*t, "cluster", "[cluster]");
    ClusterSettings& c = config_.cluster;
    c.enabled = true;
    if (const auto text = get_string(*t, "redis", "cluster")) {
        std::string why;
        if (parse_redis_address(*text, &c, &why)) c.redis = *text;
        else error(*t->get("redis"), "cluster.redis: \"" + *text + "\": " + why);
    } else if (t->get("redis") == nullptr) {
        error(node, "[cluster] needs redis = \"redis://HOST:PORT/DB\" or \"unix:/PATH\"");
    }
    // Read by the daemon at start, before it gives up root: the file may
    // be readable by root only, and a reload need not read it again.
    if (const auto path = get_path(*t, "password_file", "cluster", false)) c.password_file = *path;
    if (const auto prefix = get_string(*t, "key_prefix", "cluster")) {
        const bool printable = std::all_of(prefix->begin(), prefix->end(), [](char ch) {
            const auto u = static_cast<unsigned char>(ch);
            return u > 0x20 && u < 0x7f;
        });
        if (!printable || prefix->size() > 200)
            error(*t->get("key_prefix"), "cluster.key_prefix: up to 200 printable characters without blanks");
        else c.key_prefix = *prefix;
    }
    if (const auto v = get_duration(*t, "timeout", "cluster", milliseconds(1), milliseconds(5'000))) c.timeout = *v;
    if (const auto v = get_duration(*t, "reconnect_interval", "cluster", milliseconds(10), milliseconds(600'000)))
        c.reconnect_interval = *v;
    if (const auto v = get_duration(*t, "lease_renewal", "cluster", milliseconds(50), milliseconds(3'600'000)))
        c.lease_renewal = *v;
    if (const auto v = get_duration(*t, "lease_time", "cluster", milliseconds(100), milliseconds(7'200'000))) {
        c.lease_time = *v;
        if (c.lease_time <= c.lease_renewal)
            error(*t->get("lease_time"), "cluster.lease_time must be longer than cluster.lease_renewal (" +
                                             std::to_string(c.lease_renewal.count()) + "ms)");
    } else if (t->get("lease_time") == nullptr) {
        c.lease_time = c.lease_renewal * 2;
    }
    if (const auto text = get_string(*t, "on_unavailable", "cluster")) {
        const std::string v = util::ascii_lower(*text);
        if (v == "local") c.on_unavailable = ClusterSettings::OnUnavailable::Local;
        else if (v == "tempfail") c.on_unavailable = ClusterSettings::OnUnavailable::TempFail;
        else error(*t->get("on_unavailable"), "cluster.on_unavailable: \"" + *text + "\": use local or tempfail");
    }
}

LoadResult Loader::run(std::string_view text) {
    LoadResult result;
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(file_));
    } catch (const toml::parse_error& e) {
        error(line_of(e.source()), std::string(e.description()));
        result.errors = std::move(errors_);
        return result;
    }

    check_keys(root, "", "");
    if (const toml::node* n = root.get("milter")) load_milter(*n);
    if (const toml::node* n = root.get("accepted_domain")) load_accepted_domains(*n);
    if (const toml::node* n = root.get("dns")) load_dns(*n);
    if (const toml::node* n = root.get("spf")) load_spf(*n);
    if (const toml::node* n = root.get("dkim")) load_dkim(*n);
    if (const toml::node* n = root.get("arc")) load_arc(*n);
    // RFC 8301 applies to ARC keys as to DKIM keys: one minimum for both.
    config_.arc.min_rsa_bits = config_.dkim.min_rsa_bits;
    if (const toml::node* n = root.get("dmarc")) load_dmarc(*n);
    // Before the connectors, which name providers.
    if (const toml::node* n = root.get("block_list_provider")) load_block_list_providers(*n);
    if (const toml::node* n = root.get("connection_filtering")) load_connection_filtering(*n);
    if (const toml::node* n = root.get("ip_allow")) load_ip_list(*n, "ip_allow", &config_.connection_filter.allow);
    if (const toml::node* n = root.get("ip_block")) load_ip_list(*n, "ip_block", &config_.connection_filter.block);
    if (const toml::node* n = root.get("metrics")) load_metrics(*n);
    if (const toml::node* n = root.get("dkim_signing")) load_dkim_signing(*n);
    if (const toml::node* n = root.get("cluster")) load_cluster(*n);
    // [dmarc.reports] store = "redis" counts in [cluster]'s Redis.
    if (config_.dmarc.reports.store == DmarcReportSettings::Store::Redis && !config_.cluster.enabled) {
        const toml::node* store = root.at_path("dmarc.reports.store").node();
        if (store != nullptr) error(*store, "dmarc.reports.store = \"redis\" needs a [cluster] section (its Redis)");
    }
    const toml::node* connectors = root.get("connector");
    if (connectors != nullptr) load_connectors(*connectors);
    else error(0, "no [[connector]] is defined: at least one is required");
    for (std::size_t i = 0; i < connectors_.size(); ++i)
        if (connectors_[i].dkim_sign && !config_.dkim_signing.configured())
            error(connector_lines_[i], "connector \"" + connectors_[i].name +
                                           "\": dkim_sign = true needs [dkim_signing] keys and a signing table");
    // After the connectors: an entry whose group no connector lists is reported.
    if (const toml::node* n = root.get("certificate_map")) load_certificate_map(*n);

    if (config_.milter.authserv_id.empty()) {
        config_.milter.authserv_id = local_host_name();
        if (config_.milter.authserv_id.empty()) {
            config_.milter.authserv_id = "localhost";
            config_.warnings.push_back(file_ + ": the host has no name: authserv_id is \"localhost\"; set milter.authserv_id");
        }
    }
    if (config_.accepted_domains.empty())
        config_.warnings.push_back(file_ + ": no [[accepted_domain]]: every recipient is a relay recipient");

    if (!errors_.empty()) {
        // In file order: the configuration file's errors by line, then those
        // of the files it names.
        std::stable_sort(errors_.begin(), errors_.end(), [&](const ConfigError& a, const ConfigError& b) {
            const bool a_other = a.file != file_;
            const bool b_other = b.file != file_;
            if (a_other != b_other) return !a_other;
            if (a.file != b.file) return a.file < b.file;
            return a.line < b.line;
        });
        result.errors = std::move(errors_);
        return result;
    }
    config_.connectors = policy::ConnectorMap(std::move(connectors_));
    for (const std::string& choice : config_.connectors.address_dependent_choices())
        config_.warnings.push_back(file_ + ": " + choice + "; an MTA that does not send them gets " +
                                   (config_.milter.unknown_binding == MilterSettings::UnknownBinding::TempFail
                                        ? "421 4.3.2 for such clients (milter.unknown_binding = \"tempfail\")"
                                        : "the wider connector (milter.unknown_binding = \"ignore\")"));
    result.config = std::make_shared<const Config>(std::move(config_));
    return result;
}

}  // namespace

const std::vector<ConfigKey>& accepted_keys() { return kAcceptedKeys; }

LoadResult load_file(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        LoadResult result;
        result.errors.push_back(ConfigError{path, 0, "is a directory, not a configuration file"});
        return result;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult result;
        result.errors.push_back(ConfigError{path, 0, "cannot open the configuration file"});
        return result;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        LoadResult result;
        result.errors.push_back(ConfigError{path, 0, "cannot read the configuration file"});
        return result;
    }
    std::string base = std::filesystem::path(path).parent_path().string();
    if (base.empty()) base = ".";
    return load_string(text.str(), path, base);
}

LoadResult load_string(std::string_view text, std::string_view source_name, std::string_view base_dir) {
    try {
        Loader loader{std::string(source_name), std::string(base_dir)};
        return loader.run(text);
    } catch (const std::exception& e) {
        // Nothing here should throw but allocation; keep the caller's
        // promise of errors, not exceptions (reload runs in the daemon).
        LoadResult result;
        result.errors.push_back(ConfigError{std::string(source_name), 0, std::string("internal error: ") + e.what()});
        return result;
    }
}

}  // namespace config
