// The policy used when there is no configuration file, written as TOML and
// loaded through load_string() so that it is validated exactly like a file
// an administrator writes (one code path), and so that `connector-milter -d`
// can print it as a starting point.
#include <memory>
#include <string>

#include "config/config.hpp"

namespace config {
namespace {

// A TOML basic string (TOML 1.0 section "String").
std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c == 0x7f) {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xf];
        } else {
            out += ch;
        }
    }
    out += '"';
    return out;
}

// Comment lines for the log lines of discovery (no line breaks can leak out
// of a comment: they are replaced).
std::string comment(std::string_view text) {
    std::string out = "#   ";
    for (const char ch : text) out += (ch == '\n' || ch == '\r') ? ' ' : ch;
    out += '\n';
    return out;
}

}  // namespace

std::string embedded_default_text(const Discovery& discovery) {
    std::string t;
    t += "# connector-milter embedded default policy (used when no configuration file exists).\n"
         "# It is modelled on the default receive connectors of Exchange 2016/2019:\n"
         "# anonymous servers may deliver to our accepted domains only (no relay),\n"
         "# authenticated users may relay. See connector-milter.conf(5).\n"
         "#\n"
         "# Accepted domains were discovered from the MTA's own configuration:\n";
    for (const std::string& line : discovery.log_lines) t += comment(line);
    if (discovery.log_lines.empty()) t += "#   (nothing was reported)\n";
    t += "\n";

    if (discovery.domains.empty()) {
        t += "# No accepted domain was found: every recipient counts as a relay recipient,\n"
             "# so anonymous clients can deliver nothing. Add [[accepted_domain]] tables.\n\n";
    }
    for (const std::string& domain : discovery.domains) {
        t += "[[accepted_domain]]\n";
        t += "domain = " + quoted(domain) + "\n";
        t += "type = \"authoritative\"\n\n";
    }

    t += "# Exchange's \"Default Frontend\" connector: port 25 from anywhere.\n"
         "[[connector]]\n"
         "name = \"Default Frontend\"\n"
         "# A connection whose port the MTA does not pass counts as port 25, so\n"
         "# this connector also serves MTAs that send no {daemon_port}.\n"
         "bindings = [\"0.0.0.0:25\", \"[::]:25\"]\n"
         "remote_ip_ranges = [\"0.0.0.0-255.255.255.255\", \"::/0\"]\n"
         "permission_groups = [\"AnonymousUsers\", \"ExchangeUsers\", \"ExchangeServers\"]\n"
         "# Whether SMTP AUTH needs TLS is the MTA's decision (Postfix\n"
         "# smtpd_tls_auth_only, sendmail AuthOptions=p); a login it accepted counts.\n"
         "auth_mechanisms = [\"Tls\", \"Integrated\", \"BasicAuth\", \"ExchangeServer\"]\n"
         "max_message_size = \"36MB\"\n"
         "\n"
         "# Exchange gives AnonymousUsers Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender,\n"
         "# which lets anyone on the internet send as one of our own (authoritative)\n"
         "# domains over port 25. Denying it means only authenticated users (and\n"
         "# dedicated relay connectors, which may keep it) can use our domains as sender.\n"
         "[connector.deny]\n"
         "AnonymousUsers = [\"Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender\"]\n"
         "\n"
         "# Exchange lets an authenticated user send only as its own address (Send-As).\n"
         "# Postfix and sendmail, without smtpd_sender_login_maps, let any authenticated\n"
         "# user choose the sender, and their logins are often plain names (\"alice\")\n"
         "# rather than addresses; this default keeps that behaviour. For Exchange's\n"
         "# Send-As rule, remove this grant and write a [milter] sender_login_map.\n"
         "[connector.grant]\n"
         "AuthenticatedUsers = [\"Ms-Exch-SMTP-Accept-Any-Sender\", \"Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender\"]\n"
         "\n"
         "# Exchange's \"Client Frontend\" connector: authenticated submission (RFC 6409).\n"
         "[[connector]]\n"
         "name = \"Client Frontend\"\n"
         "# 587 by address; name:MSA is sendmail's DAEMON_OPTIONS(`Port=submission, Name=MSA');\n"
         "# name:ORIGINATING is what Postfix's stock master.cf sets for its submission\n"
         "# service (-o milter_macro_daemon_name=ORIGINATING).\n"
         "bindings = [\"0.0.0.0:587\", \"[::]:587\", \"name:MSA\", \"name:ORIGINATING\"]\n"
         "remote_ip_ranges = [\"0.0.0.0-255.255.255.255\", \"::/0\"]\n"
         "permission_groups = [\"ExchangeUsers\"]\n"
         "# Whether SMTP AUTH needs TLS is the MTA's decision, as on port 25.\n"
         "auth_mechanisms = [\"Tls\", \"Integrated\", \"BasicAuth\"]\n"
         "# require_tls = false, as in Exchange: sessions without a login have no\n"
         "# rights here (no AnonymousUsers), and the MTA decides whether a login\n"
         "# needs TLS; requiring it here would only refuse local programs that\n"
         "# submit over loopback.\n"
         "require_tls = false\n"
         "max_message_size = \"36MB\"\n"
         "# The same sender rule for authenticated users as on port 25 (see there).\n"
         "[connector.grant]\n"
         "AuthenticatedUsers = [\"Ms-Exch-SMTP-Accept-Any-Sender\", \"Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender\"]\n";
    return t;
}

std::shared_ptr<const Config> embedded_default(const Discovery& discovery) {
    const LoadResult loaded = load_string(embedded_default_text(discovery), "(embedded default)", "/");
    if (!loaded.config) return nullptr;  // cannot happen unless the text above is broken; tests load it
    auto config = std::make_shared<Config>(*loaded.config);
    for (const std::string& line : discovery.log_lines) config->notes.push_back("discovery: " + line);
    return config;
}

}  // namespace config
