// Fuzz target: whole SMTP sessions. The input is decoded into a sequence
// of milter events (connect, helo, mail, rcpt, header, eoh, body, eom,
// abort, close) in any order with fuzzed contents, fed to session::Session
// built from a fixed offline config. Checked on every event:
// - nothing crashes (ASan/UBSan watch memory and UB);
// - a recipient with a routing domain outside the accepted domains is
//   accepted only when the chosen connector grants
//   Ms-Exch-SMTP-Accept-Any-Recipient to the session's principal, computed
//   here from the config text below, not by the code under test;
// - connectors are chosen only where their ranges and bindings apply;
// - at end of message every Authentication-Results header that claims our
//   authserv-id (or a sibling's) is deleted, and no header we insert
//   contains a line break that is not a fold.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authres.hpp"
#include "config/config.hpp"
#include "dns/static_zone.hpp"
#include "fuzz_common.hpp"
#include "session/session.hpp"

namespace {

// The policy under test. Each connector's relay right, as this text states
// it, is restated in relay_allowed() below.
constexpr std::string_view kConfig = R"toml(
[milter]
authserv_id = "mx.example.com"
strip_authserv_ids = ["mx2.example.com"]

[dns]
offline = true

[[accepted_domain]]
domain = "example.com"
type = "authoritative"

[[accepted_domain]]
domain = "*.contoso.net"
type = "internal_relay"

[[accepted_domain]]
domain = "relay.example"
type = "external_relay"

[[certificate_map]]
subject = "CN=partner"
group = "Partners"

[[connector]]
name = "Default Frontend"
bindings = ["0.0.0.0:25", "[::]:25"]
remote_ip_ranges = ["0.0.0.0-255.255.255.255", "::/0"]
permission_groups = ["AnonymousUsers", "ExchangeUsers", "ExchangeServers"]
auth_mechanisms = ["Tls", "BasicAuth"]
max_message_size = 4000
max_recipients_per_message = 5
[connector.deny]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender"]

[[connector]]
name = "Anonymous Relay"
bindings = ["10.0.0.50:25"]
remote_ip_ranges = ["10.0.0.80"]
permission_groups = ["AnonymousUsers"]
auth_mechanisms = ["Tls"]
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Client Frontend"
bindings = ["0.0.0.0:587", "[::]:587", "name:MSA"]
remote_ip_ranges = ["0.0.0.0/0", "::/0"]
permission_groups = ["ExchangeUsers"]
auth_mechanisms = ["Tls", "BasicAuth", "BasicAuthRequireTLS"]
message_rate_limit = 3
message_rate_source = "User"

[[connector]]
name = "Application Server"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["10.38.96.15"]
permission_groups = ["ExchangeServers"]
auth_mechanisms = ["ExternalAuthoritative"]

[[connector]]
name = "User Relay"
bindings = ["0.0.0.0:2525"]
remote_ip_ranges = ["192.0.2.0/24"]
permission_groups = ["AnonymousUsers"]
auth_mechanisms = ["BasicAuth"]
max_inbound_connection_per_source = 2
[connector.grant]
"user:alice" = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Partner"
bindings = ["0.0.0.0:2525"]
remote_ip_ranges = ["198.51.100.0/24"]
permission_groups = ["Partners"]
auth_mechanisms = ["Tls"]
[connector.grant]
Partners = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Denied"
bindings = ["0.0.0.0:2526"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["ExchangeUsers", "ExchangeServers"]
auth_mechanisms = ["BasicAuth"]
[connector.deny]
AuthenticatedUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]

[[connector]]
name = "Disabled"
enabled = false
bindings = ["0.0.0.0:2527"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers"]
[connector.grant]
AnonymousUsers = ["Ms-Exch-SMTP-Accept-Any-Recipient"]
)toml";

constexpr std::string_view kZone = R"zone(
example.com.            IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com.     IN TXT "v=DMARC1; p=reject"
outside.example.        IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"
_dmarc.outside.example. IN TXT "v=DMARC1; p=quarantine; sp=none"
sel._domainkey.outside.example. IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
slow.example.           IN TIMEOUT
broken.example.         IN SERVFAIL
loop.example.           IN TXT "v=spf1 include:loop.example -all"
)zone";

std::shared_ptr<const session::Runtime> build() {
    auto loaded = config::load_string(kConfig, "fuzz_session.conf");
    if (!loaded.config) {
        for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
        fuzz::violation("the fixed fuzz config does not load");
    }
    std::vector<dns::ZoneError> errors;
    auto zone = std::make_shared<dns::StaticZone>(dns::StaticZone::parse(kZone, "fuzz_session.zone", errors));
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    if (!errors.empty()) fuzz::violation("the fixed fuzz zone does not load");
    auto built = session::build_runtime(loaded.config, std::make_shared<dns::StaticResolver>(zone));
    if (!built.runtime) {
        for (const auto& e : built.errors) std::fprintf(stderr, "%s\n", e.c_str());
        fuzz::violation("the fuzz runtime does not build");
    }
    return built.runtime;
}

const std::vector<fuzz::DomainRule> kRules = {
    {"example.com", false}, {"contoso.net", true}, {"relay.example", false}};

// What the client looks like, kept by the target so that the oracle does
// not depend on IpAddress.
struct Client {
    bool present = true;
    std::uint32_t v4 = 0;  // when the address is IPv4 or IPv4-mapped IPv6
    bool has_v4 = false;
    std::string text;
};

std::string dotted(std::uint32_t v) {
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." + std::to_string((v >> 8) & 255) +
           "." + std::to_string(v & 255);
}

constexpr std::uint32_t ip4(int a, int b, int c, int d) {
    return (std::uint32_t(a) << 24) | (std::uint32_t(b) << 16) | (std::uint32_t(c) << 8) | std::uint32_t(d);
}

Client make_client(FuzzedDataProvider& in) {
    Client c;
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
        case 0: c.v4 = ip4(10, 0, 0, 80); break;
        case 1: c.v4 = ip4(10, 0, 0, 81); break;
        case 2: c.v4 = ip4(10, 38, 96, 15); break;
        case 3: c.v4 = ip4(192, 0, 2, in.ConsumeIntegral<std::uint8_t>()); break;
        case 4: c.v4 = ip4(198, 51, 100, in.ConsumeIntegral<std::uint8_t>()); break;
        case 5: c.v4 = in.ConsumeIntegral<std::uint32_t>(); break;
        case 6: {
            c.v4 = in.ConsumeBool() ? ip4(10, 0, 0, 80) : in.ConsumeIntegral<std::uint32_t>();
            c.has_v4 = true;
            c.text = "::ffff:" + dotted(c.v4);
            return c;
        }
        case 7: {
            std::string t;
            for (int i = 0; i < 8; ++i) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "%x", in.ConsumeIntegral<std::uint16_t>());
                t += (i ? ":" : "") + std::string(buf);
            }
            // Leave the IPv4-mapped case to case 6, where the oracle knows it.
            if (t.rfind("0:0:0:0:0:ffff:", 0) == 0) t[0] = '1';
            c.text = t;
            return c;
        }
        case 8: c.text = "2001:db8::7"; return c;
        default: c.present = false; return c;
    }
    c.has_v4 = true;
    c.text = dotted(c.v4);
    return c;
}

struct Local {
    std::string address;  // "" when the MTA did not send it
    int port = -1;
    std::string daemon_name;
};

Local make_local(FuzzedDataProvider& in) {
    static const char* const kAddresses[] = {"10.0.0.50", "192.0.2.10", "::1", "2001:db8::25", ""};
    static const int kPorts[] = {25, 587, 2525, 2526, 2527, 465, -1};
    static const char* const kNames[] = {"", "", "", "MSA", "ORIGINATING", "msa"};
    Local l;
    l.address = kAddresses[in.ConsumeIntegralInRange<std::size_t>(0, 4)];
    l.port = kPorts[in.ConsumeIntegralInRange<std::size_t>(0, 6)];
    l.daemon_name = kNames[in.ConsumeIntegralInRange<std::size_t>(0, 5)];
    if (l.daemon_name.empty() && in.ConsumeBool()) l.daemon_name = in.ConsumeRandomLengthString(16);
    return l;
}

// May the chosen connector relay for this principal? Restated from kConfig.
bool relay_allowed(const std::string& connector, const session::SecurityFacts& sec) {
    const auto& id = sec.identity;
    if (connector == "Default Frontend" || connector == "Client Frontend") return !id.auth_user.empty();
    if (connector == "Anonymous Relay" || connector == "Application Server") return true;
    if (connector == "User Relay") return fuzz::lower(id.auth_user) == "alice";
    if (connector == "Partner") return id.certificate.trusted && fuzz::lower(id.certificate.subject_cn) == "partner";
    return false;  // "Denied", and anything unexpected
}

// Is it plausible that this connector was chosen for this connection?
void check_selection(const std::string& name, const Client& client, const Local& local) {
    auto client_is = [&](std::uint32_t v) { return client.has_v4 && client.v4 == v; };
    if (name == "Disabled") fuzz::violation("a disabled connector was chosen");
    if (name == "Anonymous Relay" && !(client_is(ip4(10, 0, 0, 80)) && local.port == 25))
        fuzz::violation("Anonymous Relay chosen for client " + client.text + " local " + local.address + ":" +
                        std::to_string(local.port));
    if (name == "Application Server" && !client_is(ip4(10, 38, 96, 15)))
        fuzz::violation("Application Server chosen for client " + client.text);
    if (name == "User Relay" && !(client.has_v4 && (client.v4 >> 8) == (ip4(192, 0, 2, 0) >> 8)))
        fuzz::violation("User Relay chosen for client " + client.text);
    if (name == "Partner" && !(client.has_v4 && (client.v4 >> 8) == (ip4(198, 51, 100, 0) >> 8)))
        fuzz::violation("Partner chosen for client " + client.text);
}

session::SecurityFacts make_security(FuzzedDataProvider& in) {
    session::SecurityFacts f;
    static const char* const kUsers[] = {"", "", "alice", "ALICE", "bob@example.com", "mallory"};
    const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, 6);
    f.identity.auth_user = pick < 6 ? kUsers[pick] : in.ConsumeRandomLengthString(24);
    if (!f.identity.auth_user.empty()) f.identity.auth_type = "PLAIN";
    f.identity.tls = in.ConsumeBool();
    // The certificate macros as Postfix (no {verify}) or sendmail sends them.
    policy::CertificateMacros macros;
    if (in.ConsumeBool()) macros.verify = in.ConsumeBool() ? "OK" : in.ConsumeRandomLengthString(8);
    if (in.ConsumeBool()) macros.cert_subject = in.ConsumeBool() ? "partner" : in.ConsumeRandomLengthString(20);
    if (in.ConsumeBool()) macros.cn_subject = in.ConsumeBool() ? "PARTNER" : in.ConsumeRandomLengthString(20);
    if (in.ConsumeBool()) macros.cert_issuer = in.ConsumeRandomLengthString(20);
    f.identity.certificate = policy::ClientCertificate::from_macros(macros);
    return f;
}

std::string make_address(FuzzedDataProvider& in) {
    static const char* const kForms[] = {
        "<user@example.com>", "<user@EXAMPLE.COM.>", "<user@sub.contoso.net>", "<user@contoso.net>",
        "<user@relay.example>", "<victim@outside.example>", "<user%outside.example@example.com>",
        "<outside.example!user@example.com>", "<@example.com:user@outside.example>",
        "<\"user@outside.example\"@example.com>", "<user@[192.0.2.1]>", "<user@sub.example.com>",
        "<postmaster>", "<>", "user@example.com", "<user@xn--bcher-kva.example>", "<user@example.com.outside.example>",
    };
    const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, sizeof kForms / sizeof *kForms + 2);
    if (pick < sizeof kForms / sizeof *kForms) return kForms[pick];
    return in.ConsumeRandomLengthString(300);
}

std::vector<std::string> make_args(FuzzedDataProvider& in) {
    std::vector<std::string> args{make_address(in)};
    const auto extra = in.ConsumeIntegralInRange<int>(0, 2);
    for (int i = 0; i < extra; ++i)
        args.push_back(in.ConsumeBool() ? "SIZE=" + std::to_string(in.ConsumeIntegral<std::uint32_t>())
                                        : in.ConsumeRandomLengthString(20));
    return args;
}

// RFC 8601 authserv-id as the administrator would read it: after white
// space, line folds and comments, a token or a quoted-string. Independent
// of auth::authserv_id_of.
std::string leading_authserv_id(std::string_view v) {
    std::size_t i = 0;
    int depth = 0;
    while (i < v.size()) {
        const char c = v[i];
        if (depth > 0) {
            if (c == '\\') ++i;
            else if (c == '(') ++depth;
            else if (c == ')') --depth;
            ++i;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else if (c == '(') {
            ++depth;
            ++i;
        } else {
            break;
        }
    }
    std::string id;
    if (i < v.size() && v[i] == '"') {
        for (++i; i < v.size() && v[i] != '"'; ++i) {
            if (v[i] == '\\' && i + 1 < v.size()) ++i;
            id += v[i];
        }
        if (i >= v.size()) return {};  // unterminated: not a quoted authserv-id
    } else {
        while (i < v.size() && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '\r' && v[i] != '\n' &&
               v[i] != '(' && v[i] != '"')
            id += v[i++];
    }
    id = fuzz::lower(id);
    if (!id.empty() && id.back() == '.') id.pop_back();
    return id;
}

bool iequals(std::string_view a, std::string_view b) { return fuzz::lower(a) == fuzz::lower(b); }

void check_header_value(const std::string& name, const std::string& value) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\0') fuzz::violation("NUL in inserted " + name);
        if (c == '\r' && (i + 1 >= value.size() || value[i + 1] != '\n'))
            fuzz::violation("bare CR in inserted " + name + ": " + fuzz::printable(value));
        if (c == '\n' && (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t')))
            fuzz::violation("line break that is not a fold in inserted " + name + ": " + fuzz::printable(value));
    }
}

struct Driver {
    std::shared_ptr<const session::Runtime> runtime;
    std::shared_ptr<session::Shared> shared = std::make_shared<session::Shared>();
    std::unique_ptr<session::Session> session;
    Client client;
    Local local;
    session::SecurityFacts security;  // the last ones the session resolved rights from
    std::vector<std::string> authres_values;  // this message's A-R headers in order
    bool message_open = false;
    bool quarantine_available = true;  // the MTA offered SMFIF_QUARANTINE
    std::chrono::steady_clock::time_point clock = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

    void open(FuzzedDataProvider& in) {
        close();
        client = make_client(in);
        local = make_local(in);
        session = std::make_unique<session::Session>(runtime, shared, [](std::string_view) {});
        session->set_header_leading_space(in.ConsumeBool());
        quarantine_available = in.ConsumeBool();
        session->set_quarantine_available(quarantine_available);
        session::ConnectFacts facts;
        if (client.present) {
            facts.client = policy::IpAddress::parse(client.text);
            if (!facts.client) fuzz::violation("the target built an unparsable address: " + client.text);
        }
        facts.client_name = in.ConsumeRandomLengthString(40);
        if (!local.address.empty()) facts.local.address = policy::IpAddress::parse(local.address);
        if (local.port >= 0) facts.local.port = static_cast<std::uint16_t>(local.port);
        facts.local.daemon_name = local.daemon_name;
        facts.mta_name = "mx.example.com";
        security = {};
        message_open = false;
        authres_values.clear();
        const auto o = session->on_connect(facts);
        if (session->connector()) check_selection(session->connector()->name, client, local);
        if (!client.present && session->connector()) fuzz::violation("connector chosen without a client IP");
        (void)o;
    }

    void close() {
        if (session) session->on_close();
        session.reset();
    }

    void step(FuzzedDataProvider& in) {
        if (!session) {
            open(in);
            return;
        }
        switch (in.ConsumeIntegralInRange<int>(0, 11)) {
            case 0: open(in); break;
            case 1: {
                security = make_security(in);
                (void)session->on_helo(in.ConsumeRandomLengthString(64), security);
                break;
            }
            case 2: {
                security = make_security(in);
                clock += std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 90));
                const auto o = session->on_mail(make_args(in), security, clock);
                message_open = o.verdict.ok();
                authres_values.clear();
                break;
            }
            case 3: case 4: {
                const auto args = make_args(in);
                const auto o = session->on_rcpt(args);
                if (o.verdict.ok()) check_accepted_recipient(args.front());
                break;
            }
            case 5: case 6: {
                static const char* const kNames[] = {"Authentication-Results", "authentication-results",
                                                     "AUTHENTICATION-RESULTS", "From", "from", "Subject",
                                                     "DKIM-Signature", "Received"};
                const auto pick = in.ConsumeIntegralInRange<std::size_t>(0, 8);
                const std::string name = pick < 8 ? kNames[pick] : in.ConsumeRandomLengthString(30);
                std::string value;
                if (iequals(name, "Authentication-Results") && in.ConsumeBool()) {
                    static const char* const kIds[] = {" mx.example.com; spf=pass", " MX.Example.Com.; none",
                                                       " (forged)\r\n\tmx.example.com; dkim=pass",
                                                       " \"mx.example.com\"; spf=pass", " mx2.example.com; none",
                                                       " other.example; spf=fail", " mx.example.com"};
                    value = kIds[in.ConsumeIntegralInRange<std::size_t>(0, 6)];
                } else if (iequals(name, "From") && in.ConsumeBool()) {
                    // Authors whose DMARC policy applies (outside.example:
                    // p=quarantine, example.com: p=reject) or none can.
                    static const char* const kFrom[] = {" a@outside.example", " Eve <eve@outside.example>",
                                                        " boss@example.com", " undisclosed-recipients:;"};
                    value = kFrom[in.ConsumeIntegralInRange<std::size_t>(0, 3)];
                } else {
                    value = in.ConsumeRandomLengthString(200);
                }
                (void)session->on_header(name, value);
                if (message_open && iequals(name, "Authentication-Results")) authres_values.push_back(value);
                break;
            }
            case 7: (void)session->on_end_of_headers(); break;
            case 8: (void)session->on_body(in.ConsumeRandomLengthString(2000)); break;
            case 9: {
                const auto o = session->on_end_of_message();
                if (message_open) check_end_of_message(o);
                check_quarantine(o, in);
                message_open = false;
                authres_values.clear();
                break;
            }
            case 10: session->on_abort(); message_open = false; authres_values.clear(); break;
            default: session->set_queue_id(in.ConsumeRandomLengthString(12)); break;
        }
    }

    void check_accepted_recipient(const std::string& arg) {
        if (!session->connector()) fuzz::violation("recipient accepted without a connector");
        const auto parsed = policy::parse_smtp_path(arg);
        if (!parsed.path) fuzz::violation("recipient accepted although it does not parse: " + fuzz::printable(arg));
        bool foreign = false;
        for (const auto& d : parsed.path->routing_domains)
            if (!fuzz::domain_accepted(d, kRules)) foreign = true;
        if (!foreign) return;
        const std::string& name = session->connector()->name;
        if (!relay_allowed(name, security))
            fuzz::violation("relay to " + fuzz::printable(arg) + " accepted on \"" + name + "\" for auth user '" +
                            fuzz::printable(security.identity.auth_user) + "' (" + session->rights().describe() +
                            ")");
    }

    // Issue 12 item 6: a quarantine is asked only of an MTA that offered it,
    // and a refused request is never delivered as if quarantined (the fuzz
    // config keeps quarantine_fallback at its default, tempfail).
    void check_quarantine(const session::Outcome& o, FuzzedDataProvider& in) {
        if (o.quarantine_reason.empty()) return;
        if (!o.verdict.ok()) fuzz::violation("a refusal that also asks for a quarantine");
        if (!quarantine_available)
            fuzz::violation("quarantine asked of an MTA that did not offer it: " + o.quarantine_reason);
        if (!in.ConsumeBool()) return;
        const auto after = session->quarantine_failed(o);
        if (after.verdict.ok() || !after.quarantine_reason.empty())
            fuzz::violation("a refused quarantine request did not fall back to tempfail: " + o.quarantine_reason);
    }

    void check_end_of_message(const session::Outcome& o) {
        if (!o.verdict.ok()) return;
        std::vector<int> deleted;
        for (const auto& e : o.header_edits) {
            if (e.kind == session::HeaderEdit::Kind::Insert) {
                check_header_value(e.name, e.value);
                if (iequals(e.name, "Authentication-Results") && leading_authserv_id(e.value) != "mx.example.com")
                    fuzz::violation("our A-R header carries another authserv-id: " + fuzz::printable(e.value));
            } else if (iequals(e.name, "Authentication-Results")) {
                if (e.index < 1 || e.index > static_cast<int>(authres_values.size()))
                    fuzz::violation("delete of A-R #" + std::to_string(e.index) + " of " +
                                    std::to_string(authres_values.size()));
                deleted.push_back(e.index);
            }
        }
        for (std::size_t i = 0; i < authres_values.size(); ++i) {
            const std::string id = leading_authserv_id(authres_values[i]);
            if (id != "mx.example.com" && id != "mx2.example.com") continue;
            bool found = false;
            for (int d : deleted) found = found || d == static_cast<int>(i + 1);
            if (!found)
                fuzz::violation("forged A-R #" + std::to_string(i + 1) + " kept: " +
                                fuzz::printable(authres_values[i]));
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto runtime = build();
    FuzzedDataProvider in(data, size);
    Driver d;
    d.runtime = runtime;
    for (int events = 0; events < 64 && in.remaining_bytes() > 0; ++events) d.step(in);
    d.close();
    return 0;
}
