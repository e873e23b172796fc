// The no-open-relay property (issue 7), tested on random configurations and
// random sessions: a recipient any of whose routing domains is outside the
// accepted domains is accepted only when the chosen connector grants
// Ms-Exch-SMTP-Accept-Any-Recipient to the session's principal.
//
// The configurations are generated as TOML text and loaded with
// config::load_string, the sessions run through session::Session, and the
// expected relay right is computed here from the generated values with
// Exchange's rules, without calling the policy code. A sample of the cases
// is also run through `connector-milter explain` ($DAEMON), whose RCPT
// verdicts must agree with the session's.
//
// A third property covers forged headers: Authentication-Results claiming
// our authserv-id (or a sibling's) in any case, folding, quoting or position
// are removed, and no value copied from the client or the message (HELO,
// envelope, login, DKIM tags) can split or add a header in ours.
//
// Environment: RELAY_PROPERTY_SEED reproduces a run (the seed is printed),
// RELAY_PROPERTY_CASES sets the number of sessions (default 5000),
// RELAY_PROPERTY_EXPLAIN_CASES the explain sample (default 100),
// RELAY_PROPERTY_FORGERY_CASES the forged-header messages (default 5000),
// RELAY_PROPERTY_REDIS_CASES the sessions counted in Redis (default 1000).
//
// A fourth property: connection and rate limits, counted in a real
// redis-server ([cluster], issue 16), never change a relay decision; they
// only refuse whole sessions or messages.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "auth/authres.hpp"
#include "config/config.hpp"
#include "dns/static_zone.hpp"
#include "session/session.hpp"
#include "dns/make_resolver.hpp"
#include "milterclient/daemon_process.hpp"
#include "milterclient/redis_server.hpp"
#include "state/redis_limit_store.hpp"

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    return std::strtoull(v, nullptr, 10);
}

// ---------------------------------------------------------------- the model
// Everything below describes a configuration the way its text states it.

// A remote IP range from a fixed pool whose members either contain one
// another or are disjoint, with containment computed here on numbers.
struct RangeSpec {
    std::string text;
    bool v6 = false;
    std::uint32_t lo = 0, hi = 0;  // IPv4
    std::string v6_prefix;         // IPv6: the client's text must start with it ("" = ::/0)
};

constexpr std::uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d) { return a << 24 | b << 16 | c << 8 | d; }

const std::vector<RangeSpec>& range_pool() {
    static const std::vector<RangeSpec> pool = {
        {"0.0.0.0/0", false, 0, 0xffffffffu, ""},
        {"0.0.0.0-255.255.255.255", false, 0, 0xffffffffu, ""},
        {"10.0.0.0/8", false, ip4(10, 0, 0, 0), ip4(10, 255, 255, 255), ""},
        {"10.0.0.0/24", false, ip4(10, 0, 0, 0), ip4(10, 0, 0, 255), ""},
        {"10.0.0.64-10.0.0.127", false, ip4(10, 0, 0, 64), ip4(10, 0, 0, 127), ""},
        {"10.0.0.80", false, ip4(10, 0, 0, 80), ip4(10, 0, 0, 80), ""},
        {"10.0.0.80/32", false, ip4(10, 0, 0, 80), ip4(10, 0, 0, 80), ""},
        {"192.0.2.0/24", false, ip4(192, 0, 2, 0), ip4(192, 0, 2, 255), ""},
        {"192.0.2.7", false, ip4(192, 0, 2, 7), ip4(192, 0, 2, 7), ""},
        {"::/0", true, 0, 0, ""},
        {"2001:db8::/32", true, 0, 0, "2001:db8:"},
    };
    return pool;
}

struct ClientSpec {
    std::string text;
    bool v4 = true;  // IPv4, or IPv4-mapped IPv6 (which matches IPv4 ranges)
    std::uint32_t value = 0;
};

const std::vector<ClientSpec>& client_pool() {
    static const std::vector<ClientSpec> pool = {
        {"10.0.0.80", true, ip4(10, 0, 0, 80)},    {"10.0.0.81", true, ip4(10, 0, 0, 81)},
        {"10.0.0.100", true, ip4(10, 0, 0, 100)},  {"10.1.2.3", true, ip4(10, 1, 2, 3)},
        {"192.0.2.7", true, ip4(192, 0, 2, 7)},    {"192.0.2.99", true, ip4(192, 0, 2, 99)},
        {"203.0.113.5", true, ip4(203, 0, 113, 5)}, {"::ffff:10.0.0.80", true, ip4(10, 0, 0, 80)},
        {"2001:db8::7", false, 0},                  {"2a00:1450::1", false, 0},
    };
    return pool;
}

bool range_contains(const RangeSpec& r, const ClientSpec& c) {
    if (!r.v6) return c.v4 && c.value >= r.lo && c.value <= r.hi;
    if (c.v4) return false;
    return c.text.rfind(r.v6_prefix, 0) == 0;
}

struct LocalSpec {
    std::string explain_arg;  // "10.0.0.50:25" or "name:MSA"
    std::string address;      // "" when the MTA did not send it
    int port = 0;             // 0 when the MTA did not send it
    std::string daemon_name;
};

const std::vector<LocalSpec>& local_pool() {
    static const std::vector<LocalSpec> pool = {
        {"10.0.0.50:25", "10.0.0.50", 25, ""},   {"10.0.0.50:587", "10.0.0.50", 587, ""},
        {"192.0.2.10:25", "192.0.2.10", 25, ""}, {"[2001:db8::25]:25", "2001:db8::25", 25, ""},
        {"name:MSA", "", 0, "MSA"},
    };
    return pool;
}

// What MTAs with trimmed macro lists send (issue 12): {daemon_port} without
// {daemon_addr}, or the address without the port. `explain` cannot play
// these, so only the session properties use them.
const std::vector<LocalSpec>& partial_local_pool() {
    static const std::vector<LocalSpec> pool = {
        {"", "", 25, ""}, {"", "", 587, ""}, {"", "10.0.0.50", 0, ""}, {"", "2001:db8::25", 0, ""},
    };
    return pool;
}

bool binding_matches(const std::string& binding, const LocalSpec& local) {
    if (binding.rfind("name:", 0) == 0) return local.daemon_name == binding.substr(5);
    const auto colon = binding.rfind(':');
    const std::string host = binding.substr(0, colon);
    const int port = std::stoi(binding.substr(colon + 1));
    // When the MTA reports neither {daemon_addr} nor {daemon_port}, a
    // wildcard binding matches only if it is bound to port 25 (an unknown
    // port counts as the MX port); specific addresses never match
    // (policy::Binding::matches).
    if (local.address.empty() && local.port == 0) return (host == "0.0.0.0" || host == "[::]") && port == 25;
    // Only one of them: a specific address cannot be judged and never
    // matches; a wildcard compares the port it has (25 when unknown) and
    // the family of the address it has.
    if (local.address.empty() || local.port == 0) {
        if (host != "0.0.0.0" && host != "[::]") return false;
        if (port != (local.port == 0 ? 25 : local.port)) return false;
        if (local.address.empty()) return true;
        return (host == "[::]") == (local.address.find(':') != std::string::npos);
    }
    if (port != local.port) return false;
    const bool local_v6 = local.address.find(':') != std::string::npos;
    if (host == "0.0.0.0") return !local_v6;
    if (host == "[::]") return local_v6;
    return host == local.address || host == "[" + local.address + "]";
}

const std::vector<std::string> kBindings = {"0.0.0.0:25", "[::]:25", "10.0.0.50:25", "0.0.0.0:587",
                                            "10.0.0.50:587", "name:MSA"};
const std::vector<std::string> kGroups = {"AnonymousUsers", "ExchangeUsers", "ExchangeServers", "Partners"};
const std::vector<std::string> kMechanisms = {"Tls", "BasicAuth", "BasicAuthRequireTLS", "Integrated",
                                              "ExchangeServer"};
const std::vector<std::string> kPrincipals = {"AnonymousUsers", "AuthenticatedUsers", "ExchangeUsers",
                                              "ExchangeServers", "ExternallySecuredServers", "Partners",
                                              "user:alice", "user:Bob"};
const std::vector<std::string> kRights = {
    "Ms-Exch-SMTP-Accept-Any-Recipient", "ms-exch-smtp-accept-any-recipient", "SMTP-Accept-Any-Recipient",
    "Ms-Exch-SMTP-Submit", "Ms-Exch-SMTP-Accept-Any-Sender", "Ms-Exch-SMTP-Accept-Authoritative-Domain-Sender",
    "Ms-Exch-Bypass-Anti-Spam"};

bool is_accept_any_recipient(const std::string& right) {
    std::string r = lower(right);
    if (r.rfind("ms-exch-", 0) == 0) r = r.substr(8);
    return r == "smtp-accept-any-recipient";
}

struct DomainSpec {
    std::string domain;  // lower case
    bool wildcard = false;
    std::string type;
};

struct ConnectorSpec {
    std::string name;
    bool enabled = true;
    std::vector<std::string> bindings;
    std::vector<const RangeSpec*> ranges;
    std::set<std::string> groups;
    std::set<std::string> mechanisms;
    std::map<std::string, std::vector<std::string>> grants, denies;
    bool require_tls = false;
};

struct ConfigSpec {
    std::vector<DomainSpec> domains;
    std::vector<ConnectorSpec> connectors;
    std::string text;
};

bool domain_accepted(std::string d, const std::vector<DomainSpec>& domains) {
    d = lower(d);
    if (!d.empty() && d.back() == '.') d.pop_back();
    if (d.empty() || d.front() == '[') return false;  // address literals are never accepted domains
    for (const auto& a : domains) {
        if (d == a.domain) return true;
        if (a.wildcard && d.size() > a.domain.size() + 1 && d.ends_with("." + a.domain)) return true;
    }
    return false;
}

struct Identity {
    std::string auth_user;
    bool tls = false;
};

// The principal(s) of a session and whether the connector grants them
// Ms-Exch-SMTP-Accept-Any-Recipient, by Exchange's rules:
// - ExternalAuthoritative: an externally secured server with the
//   ExchangeServers group's rights (which include Accept-Any-Recipient);
// - a login counts when the connector offers BasicAuth/Integrated (with
//   BasicAuthRequireTLS only over TLS): AuthenticatedUsers and user:LOGIN,
//   with the ExchangeUsers group's rights (Accept-Any-Recipient) when the
//   connector lists that group;
// - otherwise AnonymousUsers, whose group rights lack Accept-Any-Recipient;
// then Add-ADPermission grants add the right and denies remove it, a deny
// always winning.
bool expected_accept_any_recipient(const ConnectorSpec& c, const Identity& id, std::string* principal) {
    std::set<std::string> principals;  // normalised principal names
    bool aar = false;
    if (c.mechanisms.count("ExternalAuthoritative")) {
        principals = {"externallysecuredservers"};
        aar = true;
    } else {
        const bool offers = c.mechanisms.count("BasicAuth") || c.mechanisms.count("BasicAuthRequireTLS") ||
                            c.mechanisms.count("Integrated");
        const bool needs_tls = c.mechanisms.count("BasicAuthRequireTLS") > 0;
        if (!id.auth_user.empty() && offers && (!needs_tls || id.tls)) {
            principals = {"authenticatedusers", "user:" + lower(id.auth_user)};
            aar = c.groups.count("ExchangeUsers") > 0;
        } else {
            principals = {"anonymoususers"};
        }
    }
    auto key = [](const std::string& p) {
        std::string k = lower(p);
        if (k == "exchangeusers") k = "authenticatedusers";
        return k;
    };
    for (const auto& [p, rights] : c.grants)
        if (principals.count(key(p)))
            for (const auto& r : rights) aar = aar || is_accept_any_recipient(r);
    for (const auto& [p, rights] : c.denies)
        if (principals.count(key(p)))
            for (const auto& r : rights)
                if (is_accept_any_recipient(r)) aar = false;
    if (principal) {
        principal->clear();
        for (const auto& p : principals) *principal += (principal->empty() ? "" : ",") + p;
    }
    return aar;
}

// ---------------------------------------------------------------- generation

struct Gen {
    std::mt19937_64 rng;
    explicit Gen(std::uint64_t seed) : rng(seed) {}
    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng); }
    template <class T> const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

const std::vector<std::string> kDomainPool = {"d0.example", "d1.example", "corp.test", "sub.d0.example",
                                              "mail.corp.test", "xn--bcher-kva.example"};

std::string quoted_list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
    return out + "]";
}

ConfigSpec generate_config(Gen& g) {
    ConfigSpec spec;
    std::set<std::string> used;
    const std::size_t ndomains = 1 + g.below(4);
    for (std::size_t i = 0; i < ndomains; ++i) {
        DomainSpec d;
        d.domain = g.pick(kDomainPool);
        if (used.count(d.domain)) continue;
        used.insert(d.domain);
        d.wildcard = g.chance(0.4);
        static const std::vector<std::string> kTypes = {"authoritative", "internal_relay", "external_relay"};
        d.type = g.pick(kTypes);
        spec.domains.push_back(d);
    }
    const std::size_t nconnectors = 1 + g.below(4);
    for (std::size_t i = 0; i < nconnectors; ++i) {
        ConnectorSpec c;
        c.name = "C" + std::to_string(i);
        c.enabled = !g.chance(0.1);
        for (const auto& b : kBindings)
            if (g.chance(0.45)) c.bindings.push_back(b);
        if (c.bindings.empty()) c.bindings.push_back(g.pick(kBindings));
        // Often one connector for everyone, so that most sessions find one.
        if (i == 0 && g.chance(0.7)) {
            c.ranges = {&range_pool()[g.chance(0.5) ? 0 : 1], &range_pool()[9]};
            c.bindings = {"0.0.0.0:25", "[::]:25", "0.0.0.0:587"};
            if (g.chance(0.5)) c.bindings.push_back("name:MSA");
        }
        const std::size_t nranges = c.ranges.empty() ? 1 + g.below(2) : 0;
        for (std::size_t r = 0; r < nranges; ++r) {
            const RangeSpec* range = &g.pick(range_pool());
            if (std::find(c.ranges.begin(), c.ranges.end(), range) == c.ranges.end()) c.ranges.push_back(range);
        }
        for (const auto& grp : kGroups)
            if (g.chance(0.55)) c.groups.insert(grp);
        if (g.chance(0.15) && c.groups.count("ExchangeServers")) {
            c.mechanisms.insert("ExternalAuthoritative");
        } else {
            for (const auto& m : kMechanisms)
                if (g.chance(0.5)) c.mechanisms.insert(m);
        }
        for (auto* table : {&c.grants, &c.denies}) {
            const double p = table == &c.grants ? 0.6 : 0.4;
            const std::size_t n = g.chance(p) ? 1 + g.below(3) : 0;
            for (std::size_t k = 0; k < n; ++k) {
                auto& rights = (*table)[g.pick(kPrincipals)];
                const std::size_t nr = 1 + g.below(2);
                for (std::size_t r = 0; r < nr; ++r) rights.push_back(g.pick(kRights));
            }
        }
        c.require_tls = g.chance(0.05);
        spec.connectors.push_back(std::move(c));
    }

    std::ostringstream t;
    t << "[milter]\nauthserv_id = \"mx.property.test\"\n\n"
      << "[dns]\noffline = true\n\n[spf]\nenabled = false\n\n[dkim]\nenabled = false\n\n"
      << "[dmarc]\nenabled = false\n\n";
    for (const auto& d : spec.domains)
        t << "[[accepted_domain]]\ndomain = \"" << (d.wildcard ? "*." : "") << d.domain << "\"\ntype = \""
          << d.type << "\"\n\n";
    for (const auto& c : spec.connectors) {
        std::vector<std::string> ranges, groups(c.groups.begin(), c.groups.end()),
            mechs(c.mechanisms.begin(), c.mechanisms.end());
        for (const auto* r : c.ranges) ranges.push_back(r->text);
        t << "[[connector]]\nname = \"" << c.name << "\"\n";
        if (!c.enabled) t << "enabled = false\n";
        t << "bindings = " << quoted_list(c.bindings) << "\n"
          << "remote_ip_ranges = " << quoted_list(ranges) << "\n"
          << "permission_groups = " << quoted_list(groups) << "\n"
          << "auth_mechanisms = " << quoted_list(mechs) << "\n"
          << "tarpit_interval = 0\n";
        if (c.require_tls) t << "require_tls = true\n";
        for (const auto& [table, name] : {std::pair{&c.grants, "grant"}, std::pair{&c.denies, "deny"}}) {
            if (table->empty()) continue;
            t << "[connector." << name << "]\n";
            for (const auto& [principal, rights] : *table) t << "\"" << principal << "\" = " << quoted_list(rights) << "\n";
        }
        t << "\n";
    }
    spec.text = t.str();
    return spec;
}

// A recipient as written (without angle brackets) and every domain the MTA
// could route it to, known by construction.
struct Recipient {
    std::string address;
    std::vector<std::string> routing;
    std::string form;  // for the statistics and messages
};

const std::vector<std::string> kOtherDomains = {"outside.example", "d0.example.evil.test", "evild0.example",
                                                "corp.test.example.net", "example"};

Recipient generate_recipient(Gen& g, const ConfigSpec& spec) {
    // A domain of ours, a subdomain of one, or someone else's.
    auto ours = [&]() -> std::string {
        if (spec.domains.empty()) return "d0.example";
        const auto& d = g.pick(spec.domains);
        return d.domain;
    };
    const std::string other = g.pick(kOtherDomains);
    switch (g.below(16)) {
        case 0: case 1: { const auto d = ours(); return {"user@" + d, {d}, "accepted"}; }
        case 2: { const auto d = "sub." + ours(); return {"user@" + d, {d}, "subdomain"}; }
        case 3: { const auto d = "a.b." + ours(); return {"user@" + d, {d}, "deep subdomain"}; }
        case 4: case 5: return {"user@" + other, {other}, "other"};
        case 6: { const auto d = ours(); return {"user%" + other + "@" + d, {d, other}, "percent hack"}; }
        case 7: { const auto d = ours(); return {other + "!user@" + d, {d, other}, "bang path"}; }
        case 8: { const auto d = ours(); return {"@" + d + ":user@" + other, {other, d}, "source route"}; }
        case 9: { const auto d = ours(); return {"\"user@" + other + "\"@" + d, {d, other}, "quoted @"}; }
        case 10: { const auto d = ours(); return {"\"user%" + other + "\"@" + d, {d, other}, "quoted %"}; }
        case 11: return {"user@[192.0.2.1]", {"[192.0.2.1]"}, "address literal"};
        case 12: { const auto d = ours(); return {"user@" + d + ".", {d}, "trailing dot"}; }
        case 13: {
            std::string d = ours();
            for (auto& ch : d)
                if (g.chance(0.5) && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
            return {"User@" + d, {lower(d)}, "mixed case"};
        }
        case 14: { const auto d = ours() + "." + other; return {"user@" + d, {d}, "suffix trick"}; }
        default: return {"postmaster", {}, "unqualified"};
    }
}

struct SessionCase {
    const LocalSpec* local = nullptr;
    const ClientSpec* client = nullptr;
    Identity identity;
    std::string sender;  // without brackets; "" = null sender
    std::vector<Recipient> recipients;
};

SessionCase generate_session(Gen& g, const ConfigSpec& spec, bool partial_locals = false) {
    SessionCase s;
    s.local = partial_locals && g.chance(0.2) ? &g.pick(partial_local_pool()) : &g.pick(local_pool());
    s.client = &g.pick(client_pool());
    static const std::vector<std::string> kUsers = {"", "", "", "alice", "ALICE", "bob", "carol@d0.example"};
    s.identity.auth_user = g.pick(kUsers);
    s.identity.tls = g.chance(0.5);
    static const std::vector<std::string> kSenders = {"", "sender@outside.example", "someone@d1.example",
                                                      "alice@d0.example"};
    s.sender = g.pick(kSenders);
    const std::size_t n = 1 + g.below(5);
    for (std::size_t i = 0; i < n; ++i) s.recipients.push_back(generate_recipient(g, spec));
    return s;
}

// ---------------------------------------------------------------- running

struct RcptResult {
    bool accepted = false;
    std::string reply;  // "550 5.7.54 ..." when refused
};

struct SessionResult {
    bool mail_ok = false;
    std::string connector;  // "" when none was chosen
    std::string rights;
    std::vector<RcptResult> rcpts;
};

SessionResult run_session(const std::shared_ptr<const session::Runtime>& runtime, const SessionCase& c) {
    SessionResult r;
    session::Session s(runtime, std::make_shared<session::Shared>(), [](std::string_view) {});
    session::ConnectFacts facts;
    facts.client = policy::IpAddress::parse(c.client->text);
    if (!c.local->address.empty()) facts.local.address = policy::IpAddress::parse(c.local->address);
    if (c.local->port != 0) facts.local.port = static_cast<std::uint16_t>(c.local->port);
    facts.local.daemon_name = c.local->daemon_name;
    s.on_connect(facts);
    if (s.connector()) r.connector = s.connector()->name;
    session::SecurityFacts sec;
    sec.identity.auth_user = c.identity.auth_user;
    if (!c.identity.auth_user.empty()) sec.identity.auth_type = "PLAIN";
    sec.identity.tls = c.identity.tls;
    s.on_helo("client.example", sec);
    r.mail_ok = s.on_mail({"<" + c.sender + ">"}, sec, std::chrono::steady_clock::now()).verdict.ok();
    r.rights = s.rights().describe() + " " + s.rights().rights.to_string();
    for (const auto& rcpt : c.recipients) {
        const auto o = s.on_rcpt({"<" + rcpt.address + ">"});
        r.rcpts.push_back({o.verdict.ok(), o.verdict.ok() ? "" : o.verdict.reply.to_string()});
    }
    s.on_close();
    return r;
}

std::string describe(const ConfigSpec& spec, const SessionCase& c) {
    std::ostringstream o;
    o << "local " << c.local->explain_arg << ", client " << c.client->text << ", auth '" << c.identity.auth_user
      << "'" << (c.identity.tls ? ", tls" : "") << ", from <" << c.sender << ">\n--- config ---\n"
      << spec.text << "--- end ---";
    return o.str();
}

struct Stats {
    std::size_t sessions = 0, configs = 0, config_retries = 0, recipients = 0;
    std::size_t foreign_refused = 0, foreign_relayed = 0, local_accepted = 0, no_connector = 0, mail_refused = 0;
    std::map<std::string, std::size_t> relayed_by_form;
};

// One seed per run, shared by both tests, printed so that a failure can
// be replayed.
std::uint64_t run_seed() {
    static const std::uint64_t seed = env_number(
        "RELAY_PROPERTY_SEED",
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()));
    return seed;
}

std::shared_ptr<const session::Runtime> load_runtime(const ConfigSpec& spec, std::vector<std::string>* errors) {
    auto loaded = config::load_string(spec.text, "relay-property.conf");
    for (const auto& e : loaded.errors) errors->push_back(e.to_string());
    if (!loaded.config) return nullptr;
    std::vector<dns::ZoneError> zone_errors;
    auto resolver = dns::make_resolver(loaded.config->dns, zone_errors);
    for (const auto& e : zone_errors) errors->push_back(e.to_string());
    auto built = session::build_runtime(loaded.config, std::move(resolver));
    for (const auto& e : built.errors) errors->push_back(e);
    return built.runtime;
}

// Generates a configuration that loads. Exchange refuses connectors that
// share a binding with equal or partially overlapping ranges; the generator
// produces some of those, which are regenerated (any other error fails).
ConfigSpec loadable_config(Gen& g, Stats& stats, std::shared_ptr<const session::Runtime>* runtime) {
    for (int attempt = 0;; ++attempt) {
        ConfigSpec spec = generate_config(g);
        std::vector<std::string> errors;
        *runtime = load_runtime(spec, &errors);
        if (*runtime) return spec;
        ++stats.config_retries;
        bool conflict_only = !errors.empty();
        for (const auto& e : errors) conflict_only = conflict_only && e.find("both bind") != std::string::npos;
        if (!conflict_only || attempt > 50) {
            ADD_FAILURE() << "generated config does not load:\n" << (errors.empty() ? "" : errors.front())
                          << "\n" << spec.text;
            return spec;
        }
    }
}

TEST(RelayProperty, RecipientOutsideAcceptedDomainsIsAcceptedOnlyWithAcceptAnyRecipient) {
    const std::uint64_t seed = run_seed();
    const std::uint64_t cases = env_number("RELAY_PROPERTY_CASES", 5000);
    std::cout << "relay property: seed " << seed << " (reproduce with RELAY_PROPERTY_SEED=" << seed << "), "
              << cases << " sessions" << std::endl;
    RecordProperty("seed", std::to_string(seed));
    Gen g(seed);
    Stats stats;
    int reported = 0;
    std::shared_ptr<const session::Runtime> runtime;
    ConfigSpec spec;
    for (std::uint64_t i = 0; i < cases && reported < 10; ++i) {
        if (i % 5 == 0) {  // five sessions per configuration
            spec = loadable_config(g, stats, &runtime);
            ++stats.configs;
            if (!runtime) return;
        }
        const SessionCase c = generate_session(g, spec, true);
        const SessionResult r = run_session(runtime, c);
        ++stats.sessions;
        if (r.connector.empty()) ++stats.no_connector;
        if (!r.connector.empty() && !r.mail_ok) ++stats.mail_refused;

        const ConnectorSpec* chosen = nullptr;
        for (const auto& cs : spec.connectors)
            if (cs.name == r.connector) chosen = &cs;
        if (!r.connector.empty()) {
            // The chosen connector must be enabled and apply to this connection.
            ASSERT_TRUE(chosen) << "unknown connector " << r.connector;
            bool binds = false, contains = false;
            for (const auto& b : chosen->bindings) binds = binds || binding_matches(b, *c.local);
            for (const auto* range : chosen->ranges) contains = contains || range_contains(*range, *c.client);
            EXPECT_TRUE(chosen->enabled && binds && contains)
                << "case " << i << ": connector " << r.connector << " chosen although it "
                << (!chosen->enabled ? "is disabled" : !binds ? "has no matching binding" : "has no matching range")
                << "\n" << describe(spec, c);
        }
        std::string principal;
        const bool aar = chosen && expected_accept_any_recipient(*chosen, c.identity, &principal);
        for (std::size_t k = 0; k < c.recipients.size(); ++k) {
            const auto& rcpt = c.recipients[k];
            const auto& got = r.rcpts[k];
            ++stats.recipients;
            bool foreign = false;
            for (const auto& d : rcpt.routing) foreign = foreign || !domain_accepted(d, spec.domains);
            if (got.accepted && foreign) {
                ++stats.foreign_relayed;
                ++stats.relayed_by_form[rcpt.form];
            }
            if (!got.accepted && foreign) ++stats.foreign_refused;
            if (got.accepted && !foreign) ++stats.local_accepted;
            if (got.accepted && foreign && !aar) {
                ++reported;
                ADD_FAILURE() << "case " << i << ": OPEN RELAY: <" << rcpt.address << "> (" << rcpt.form
                              << ") accepted on " << r.connector << " for principal " << principal
                              << " without Accept-Any-Recipient; session rights: " << r.rights << "\n"
                              << describe(spec, c);
            }
            // The converse, so that a policy refusing everything cannot pass:
            // with the right, or to our own domains, no relay refusal.
            if (r.mail_ok && !got.accepted && got.reply.find("5.7.54") != std::string::npos && (aar || !foreign)) {
                ++reported;
                ADD_FAILURE() << "case " << i << ": <" << rcpt.address << "> (" << rcpt.form << ") refused with "
                              << got.reply << " on " << r.connector << " although "
                              << (foreign ? "principal " + principal + " has Accept-Any-Recipient"
                                          : std::string("all its routing domains are accepted"))
                              << "; session rights: " << r.rights << "\n" << describe(spec, c);
            }
        }
    }
    std::cout << "relay property: " << stats.sessions << " sessions on " << stats.configs << " configs ("
              << stats.config_retries << " regenerated for range conflicts), " << stats.recipients
              << " recipients: " << stats.local_accepted << " accepted to accepted domains, "
              << stats.foreign_relayed << " relayed with the right, " << stats.foreign_refused
              << " foreign refused; " << stats.no_connector << " sessions without connector, "
              << stats.mail_refused << " with MAIL refused" << std::endl;
    for (const auto& [form, n] : stats.relayed_by_form) std::cout << "  relayed " << form << ": " << n << "\n";
    // The generator must reach both sides of the property.
    EXPECT_GT(stats.foreign_relayed, 0u);
    EXPECT_GT(stats.foreign_refused, 0u);
    EXPECT_GT(stats.local_accepted, 0u);
}

// ---------------------------------------------------------------- explain

struct Command {
    int status = -1;
    std::string out;
};

Command run(const std::vector<std::string>& argv) {
    Command result;
    int pipefd[2];
    if (pipe(pipefd) != 0) return result;
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(pipefd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) result.out.append(buf, static_cast<std::size_t>(n));
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// The "RCPT TO:<addr>   continue|reject: reply" lines of explain's output,
// in order.
std::vector<RcptResult> explain_rcpts(const std::string& out) {
    std::vector<RcptResult> rcpts;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("RCPT TO:<", 0) != 0) continue;
        const auto close = line.find('>', 9);
        const auto rest = line.find_first_not_of(' ', close + 1);
        if (close == std::string::npos || rest == std::string::npos) continue;
        const std::string verdict = line.substr(rest);
        RcptResult r;
        r.accepted = verdict.rfind("continue", 0) == 0;
        if (!r.accepted && verdict.find(": ") != std::string::npos) r.reply = verdict.substr(verdict.find(": ") + 2);
        rcpts.push_back(r);
    }
    return rcpts;
}

TEST(RelayProperty, ExplainAgreesWithTheSessionOnEveryRecipient) {
    const char* daemon = std::getenv("DAEMON");
    ASSERT_TRUE(daemon && *daemon) << "DAEMON must name the built connector-milter binary "
                                      "(make check sets it; by hand: DAEMON=/path/to/connector-milter)";
    ASSERT_EQ(access(daemon, X_OK), 0) << "DAEMON=" << daemon << " is not an executable file";
    const std::uint64_t seed = run_seed() ^ 0x5eedu;
    const std::uint64_t cases = env_number("RELAY_PROPERTY_EXPLAIN_CASES", 100);
    std::cout << "explain agreement: seed " << seed << " (RELAY_PROPERTY_SEED=" << (seed ^ 0x5eedu) << "), "
              << cases << " sessions" << std::endl;
    char dir[] = "/tmp/relay-property-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    const std::string conf = std::string(dir) + "/relay.conf";
    Gen g(seed);
    Stats stats;
    std::size_t compared = 0;
    int reported = 0;
    for (std::uint64_t i = 0; i < cases && reported < 5; ++i) {
        std::shared_ptr<const session::Runtime> runtime;
        const ConfigSpec spec = loadable_config(g, stats, &runtime);
        ASSERT_TRUE(runtime);
        const SessionCase c = generate_session(g, spec);
        const SessionResult r = run_session(runtime, c);
        std::ofstream(conf) << spec.text;
        std::vector<std::string> argv = {daemon, "explain", "-c", conf, "--local", c.local->explain_arg,
                                         "--client", c.client->text, "--helo", "client.example",
                                         "--from", c.sender};
        if (!c.identity.auth_user.empty()) argv.insert(argv.end(), {"--auth", c.identity.auth_user});
        if (c.identity.tls) argv.push_back("--tls");
        for (const auto& rcpt : c.recipients) argv.insert(argv.end(), {"--rcpt", rcpt.address});
        const Command cmd = run(argv);
        ASSERT_TRUE(cmd.status == 0 || cmd.status == 1) << "explain exited " << cmd.status << "\n" << cmd.out;
        const auto lines = explain_rcpts(cmd.out);
        if (r.connector.empty() || !r.mail_ok) {
            // explain stops before RCPT when CONNECT or MAIL is refused.
            EXPECT_TRUE(lines.empty()) << "case " << i << ": session refused before RCPT, explain went on\n"
                                       << cmd.out << describe(spec, c);
            continue;
        }
        if (lines.size() != r.rcpts.size()) {
            ++reported;
            ADD_FAILURE() << "case " << i << ": explain printed " << lines.size() << " RCPT lines, the session ran "
                          << r.rcpts.size() << "\n" << cmd.out << describe(spec, c);
            continue;
        }
        for (std::size_t k = 0; k < lines.size(); ++k) {
            ++compared;
            if (lines[k].accepted != r.rcpts[k].accepted || lines[k].reply != r.rcpts[k].reply) {
                ++reported;
                ADD_FAILURE() << "case " << i << ": <" << c.recipients[k].address << ">: explain says '"
                              << (lines[k].accepted ? "continue" : lines[k].reply) << "', the session '"
                              << (r.rcpts[k].accepted ? "continue" : r.rcpts[k].reply) << "'\n"
                              << cmd.out << describe(spec, c);
            }
        }
    }
    std::remove(conf.c_str());
    rmdir(dir);
    std::cout << "explain agreement: " << compared << " recipient verdicts compared" << std::endl;
    EXPECT_GT(compared, 0u);
}

// ---------------------------------------------------------------- forged headers

constexpr std::string_view kForgeryConfig = R"toml(
[milter]
authserv_id = "mx.example.com"
strip_authserv_ids = ["mx2.example.com"]
auth_user_in_header = true

[dns]
offline = true

[spf]
fail_action = "accept"
softfail_action = "accept"
temperror_action = "accept"
permerror_action = "accept"

[dmarc]
reject_action = "accept"
quarantine_action = "accept"
defer_on_temperror = false
bad_from_action = "accept"

[[accepted_domain]]
domain = "example.com"
type = "authoritative"

[[connector]]
name = "Default Frontend"
bindings = ["0.0.0.0:25"]
remote_ip_ranges = ["0.0.0.0/0"]
permission_groups = ["AnonymousUsers", "ExchangeUsers"]
auth_mechanisms = ["Tls", "BasicAuth"]
tarpit_interval = 0
)toml";

constexpr std::string_view kForgeryZone = R"zone(
example.org.             IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.org.      IN TXT "v=DMARC1; p=reject"
sel._domainkey.example.org. IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"
)zone";

// An Authentication-Results value and whether it claims one of our ids.
struct AuthResHeader {
    std::string value;
    bool forged = false;
};

AuthResHeader generate_authres(Gen& g) {
    static const std::vector<std::pair<std::string, bool>> kIds = {
        {"mx.example.com", true},      {"MX.EXAMPLE.COM", true},         {"Mx.Example.Com.", true},
        {"\"mx.example.com\"", true},  {"mx2.example.com", true},        {"MX2.example.COM.", true},
        {"mx.example.com.evil", false}, {"example.com", false},          {"mx.example.co", false},
        {"other.example.net", false},  {"\"mx.example.com.x\"", false},
    };
    static const std::vector<std::string> kBefore = {"", " ", "\t", " (comment) ", "\r\n\t", " (a (nested) one)\r\n "};
    static const std::vector<std::string> kAfter = {
        "; spf=pass smtp.mailfrom=example.org", ";\r\n\tdkim=pass header.d=example.com", "; none",
        " 1; dmarc=pass header.from=example.com", ";spf=pass", "; dkim=pass (good) header.b=\"abc/def+=\""};
    const auto& id = g.pick(kIds);
    return {g.pick(kBefore) + id.first + g.pick(kAfter), id.second};
}

// A value we wrote may break a line only as folding white space.
std::string header_break_problem(const std::string& value) {
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        if (c == '\0') return "NUL";
        if (c == '\r' && (i + 1 >= value.size() || value[i + 1] != '\n')) return "bare CR";
        if (c == '\n' && (i + 1 >= value.size() || (value[i + 1] != ' ' && value[i + 1] != '\t')))
            return "line break not followed by white space";
    }
    return {};
}

TEST(RelayProperty, ForgedAuthenticationResultsAreRemovedAndOursCannotBeSplit) {
    const std::uint64_t seed = run_seed() ^ 0xf0f0u;
    const std::uint64_t cases = env_number("RELAY_PROPERTY_FORGERY_CASES", 5000);
    std::cout << "forged headers: RELAY_PROPERTY_SEED=" << run_seed() << ", " << cases << " messages" << std::endl;
    auto loaded = config::load_string(kForgeryConfig, "forgery.conf");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
    ASSERT_TRUE(loaded.config);
    std::vector<dns::ZoneError> zone_errors;
    auto zone = std::make_shared<dns::StaticZone>(dns::StaticZone::parse(kForgeryZone, "forgery.zone", zone_errors));
    ASSERT_TRUE(zone_errors.empty()) << zone_errors.front().to_string();
    auto built = session::build_runtime(loaded.config, std::make_shared<dns::StaticResolver>(zone));
    ASSERT_TRUE(built.runtime);

    // What a client or a message controls and we may copy into our header.
    static const std::vector<std::string> kHelos = {
        "client.example.org", "evil.example\r\nX-Injected: helo", "a;b.example", "\"quoted\".example",
        "host.example (comment)", "[192.0.2.7]", "x\ny.example"};
    static const std::vector<std::string> kSenders = {
        "<user@example.org>", "<\"a;b\\\"c\"@example.org>", "<>", "<user@example.org\r\nX-Injected: mail>",
        "<user@[192.0.2.1]>", "<user@EXAMPLE.ORG.>"};
    static const std::vector<std::string> kLogins = {"", "alice", "alice\r\nX-Injected: auth",
                                                     "bob;spf=pass", "\"carol\"@example.com", "d (e) f"};
    static const std::vector<std::string> kFroms = {" <user@example.org>", " a@example.org, b@example.net",
                                                    " \"x;y\" <x@example.org>", " user@example.org\r\n\tX-Injected: from"};
    static const std::vector<std::string> kSignatures = {
        " v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AAAA",
        " v=1; a=rsa-sha256; d=exa\"mple.org; s=se;l; h=from; bh=x; b=y",
        " v=1; a=rsa-sha256; d=example.org; s=sel\r\n\tX-Injected: dkim; h=from; bh=x; b=y",
        " v=1; d=example.org; s=(sel); b=\"quoted\""};

    Gen g(seed);
    std::size_t forged_total = 0, kept_total = 0, inserted = 0;
    int reported = 0;
    for (std::uint64_t i = 0; i < cases && reported < 10; ++i) {
        session::Session s(built.runtime, std::make_shared<session::Shared>(), [](std::string_view) {});
        session::ConnectFacts facts;
        facts.client = policy::IpAddress::parse(g.chance(0.5) ? "192.0.2.7" : "203.0.113.9");
        facts.local.address = policy::IpAddress::parse("192.0.2.10");
        facts.local.port = 25;
        ASSERT_TRUE(s.on_connect(facts).verdict.ok());
        session::SecurityFacts sec;
        sec.identity.auth_user = g.pick(kLogins);
        if (!sec.identity.auth_user.empty()) sec.identity.auth_type = "PLAIN";
        sec.identity.tls = g.chance(0.5);
        const std::string helo = g.pick(kHelos), sender = g.pick(kSenders);
        s.on_helo(helo, sec);
        if (!s.on_mail({sender}, sec, std::chrono::steady_clock::now()).verdict.ok()) continue;
        if (!s.on_rcpt({"<user@example.com>"}).verdict.ok()) continue;

        std::vector<AuthResHeader> authres;
        std::string headers_text;
        const std::size_t n = 1 + g.below(6);
        for (std::size_t k = 0; k < n; ++k) {
            switch (g.below(4)) {
                case 0: case 1: {
                    authres.push_back(generate_authres(g));
                    static const std::vector<std::string> kNames = {"Authentication-Results",
                                                                    "authentication-results",
                                                                    "AUTHENTICATION-RESULTS"};
                    const std::string name = g.pick(kNames);
                    s.on_header(name, authres.back().value);
                    headers_text += name + ":" + authres.back().value + "\n";
                    break;
                }
                case 2: {
                    const std::string v = g.pick(kFroms);
                    s.on_header("From", v);
                    headers_text += "From:" + v + "\n";
                    break;
                }
                default: {
                    const std::string v = g.pick(kSignatures);
                    s.on_header("DKIM-Signature", v);
                    headers_text += "DKIM-Signature:" + v + "\n";
                    break;
                }
            }
        }
        if (!s.on_end_of_headers().verdict.ok()) continue;
        s.on_body("Hello.\r\n");
        const auto o = s.on_end_of_message();
        if (!o.verdict.ok()) continue;

        std::set<int> deleted;
        for (const auto& e : o.header_edits) {
            if (e.kind == session::HeaderEdit::Kind::Delete) {
                EXPECT_EQ(lower(e.name), "authentication-results");
                deleted.insert(e.index);
                continue;
            }
            ++inserted;
            const std::string problem = header_break_problem(e.value);
            if (!problem.empty()) {
                ++reported;
                ADD_FAILURE() << "case " << i << ": inserted " << e.name << " has a " << problem << ": [" << e.value
                              << "]\nHELO [" << helo << "] MAIL " << sender << " login [" << sec.identity.auth_user
                              << "]\n" << headers_text;
            }
            if (lower(e.name) == "authentication-results") {
                std::string error;
                const auto parsed = auth::parse_authentication_results(e.value, &error);
                if (!parsed || lower(parsed->authserv_id) != "mx.example.com") {
                    ++reported;
                    ADD_FAILURE() << "case " << i << ": our Authentication-Results does not parse as ours (" << error
                                  << "): [" << e.value << "]\nHELO [" << helo << "] MAIL " << sender << " login ["
                                  << sec.identity.auth_user << "]\n" << headers_text;
                }
            }
        }
        for (std::size_t k = 0; k < authres.size(); ++k) {
            const bool removed = deleted.count(static_cast<int>(k + 1)) > 0;
            (authres[k].forged ? forged_total : kept_total) += 1;
            if (removed != authres[k].forged) {
                ++reported;
                ADD_FAILURE() << "case " << i << ": Authentication-Results #" << k + 1 << " ["
                              << authres[k].value << "] " << (authres[k].forged ? "claims our id but was kept"
                                                                                : "is not ours but was removed")
                              << "\n" << headers_text;
            }
        }
    }
    std::cout << "forged headers: " << forged_total << " forged removed, " << kept_total
              << " foreign kept, " << inserted << " headers inserted" << std::endl;
    EXPECT_GT(forged_total, 0u);
    EXPECT_GT(kept_total, 0u);
    EXPECT_GT(inserted, 0u);
}

// ---------------------------------------------------------------- shared limits

// The generated connectors with random connection and rate limits.
std::string with_limits(std::string text, Gen& g) {
    const std::string anchor = "tarpit_interval = 0\n";
    for (auto at = text.find(anchor); at != std::string::npos; at = text.find(anchor, at)) {
        std::ostringstream limits;
        limits << anchor << "max_inbound_connection_per_source = " << 1 + g.below(3)
               << "\nmax_inbound_connection = \"unlimited\"\nmessage_rate_limit = " << 1 + g.below(4) << "\n";
        text.replace(at, anchor.size(), limits.str());
        at += limits.str().size();
    }
    return text;
}

struct LimitedSession {
    std::unique_ptr<session::Session> session;
    bool admitted = false;  // connect and MAIL went through
    bool limited = false;   // refused by a connection or rate limit
    bool counted_in_redis = false;
    std::vector<RcptResult> rcpts;
};

// run_session's steps on `shared`'s store; the session stays open (its
// connection keeps counting) until the caller drops it.
LimitedSession run_limited(const std::shared_ptr<const session::Runtime>& runtime,
                           const std::shared_ptr<session::Shared>& shared, const SessionCase& c) {
    LimitedSession r;
    r.session = std::make_unique<session::Session>(runtime, shared, [](std::string_view) {});
    auto& s = *r.session;
    session::ConnectFacts facts;
    facts.client = policy::IpAddress::parse(c.client->text);
    if (!c.local->address.empty()) facts.local.address = policy::IpAddress::parse(c.local->address);
    if (c.local->port != 0) facts.local.port = static_cast<std::uint16_t>(c.local->port);
    facts.local.daemon_name = c.local->daemon_name;
    const auto connected = s.on_connect(facts);
    r.counted_in_redis = s.connection_limits().find("(redis)") != std::string::npos;
    session::SecurityFacts sec;
    sec.identity.auth_user = c.identity.auth_user;
    if (!c.identity.auth_user.empty()) sec.identity.auth_type = "PLAIN";
    sec.identity.tls = c.identity.tls;
    s.on_helo("client.example", sec);
    const auto mail = s.on_mail({"<" + c.sender + ">"}, sec, std::chrono::steady_clock::now());
    const auto reply_of = [](const auto& o) { return o.verdict.ok() ? std::string() : o.verdict.reply.to_string(); };
    r.limited = reply_of(connected).find(" 4.3.2 ") != std::string::npos ||
                reply_of(mail).find(" 4.4.2 ") != std::string::npos;
    r.admitted = connected.verdict.ok() && mail.verdict.ok();
    for (const auto& rcpt : c.recipients) {
        const auto o = s.on_rcpt({"<" + rcpt.address + ">"});
        r.rcpts.push_back({o.verdict.ok(), reply_of(o)});
    }
    return r;
}

TEST(RelayProperty, LimitsCountedInRedisNeverChangeRelayDecisions) {
    const std::uint64_t seed = run_seed();
    const std::uint64_t cases = env_number("RELAY_PROPERTY_REDIS_CASES", 1000);
    std::cout << "relay property with redis: seed " << seed << ", " << cases << " sessions" << std::endl;
    milterclient::TempDir dir;
    milterclient::RedisServer redis(milterclient::free_tcp_port(), (dir.path() / "redis").string(),
                                    (dir.path() / "redis.log").string());
    std::string why;
    ASSERT_TRUE(redis.start(&why)) << why;

    config::ClusterSettings cluster;
    cluster.enabled = true;
    cluster.host = "127.0.0.1";
    cluster.port = redis.port();
    cluster.key_prefix = "relay-property:";
    cluster.timeout = std::chrono::milliseconds(2000);  // room for the sanitizer builds
    // tempfail: a Redis failure shows as a refused session, never as a
    // decision of this process's counters passing for Redis's.
    cluster.on_unavailable = config::ClusterSettings::OnUnavailable::TempFail;
    auto shared = std::make_shared<session::Shared>();
    shared->limits = std::make_shared<state::RedisLimitStore>(cluster, "", nullptr);

    Gen g(seed ^ 0x5eed);
    Stats stats;
    std::size_t limited = 0, admitted_in_redis = 0, relayed = 0, compared = 0;
    int reported = 0;
    std::shared_ptr<const session::Runtime> plain, with_redis;
    ConfigSpec spec;
    std::deque<LimitedSession> open;  // sessions still counted
    for (std::uint64_t i = 0; i < cases && reported < 10; ++i) {
        if (i % 5 == 0) {
            open.clear();
            const auto flushed = redis.cli({"FLUSHDB"});
            ASSERT_TRUE(flushed.exited && flushed.exit_code == 0) << flushed.output;
            spec = loadable_config(g, stats, &plain);
            if (!plain) return;
            ConfigSpec limited_spec = spec;
            limited_spec.text = with_limits(spec.text, g);
            std::vector<std::string> errors;
            with_redis = load_runtime(limited_spec, &errors);
            ASSERT_TRUE(with_redis) << (errors.empty() ? "" : errors.front()) << "\n" << limited_spec.text;
        }
        const SessionCase c = generate_session(g, spec, true);
        const SessionResult base = run_session(plain, c);
        LimitedSession r = run_limited(with_redis, shared, c);
        limited += r.limited ? 1 : 0;
        admitted_in_redis += r.admitted && r.counted_in_redis ? 1 : 0;
        for (std::size_t k = 0; k < c.recipients.size(); ++k) {
            const auto& got = r.rcpts[k];
            const auto& want = base.rcpts[k];
            relayed += got.accepted ? 1 : 0;
            // Limits never grant: what is accepted with them is accepted
            // without them.
            if (got.accepted && !want.accepted) {
                ++reported;
                ADD_FAILURE() << "case " << i << ": <" << c.recipients[k].address
                              << "> accepted with limits in redis but refused without: " << want.reply << "\n"
                              << describe(spec, c);
            }
            // A session that the limits let through decides every
            // recipient as it would without them.
            if (r.admitted) {
                ++compared;
                if (got.accepted != want.accepted || got.reply != want.reply) {
                    ++reported;
                    ADD_FAILURE() << "case " << i << ": <" << c.recipients[k].address << "> "
                                  << (got.accepted ? "accepted" : got.reply) << " with limits in redis, "
                                  << (want.accepted ? "accepted" : want.reply) << " without\n"
                                  << describe(spec, c);
                }
            }
        }
        open.push_back(std::move(r));
        if (open.size() > 6) open.pop_front();
    }
    open.clear();
    std::cout << "relay property with redis: " << limited << " sessions refused by a limit, " << admitted_in_redis
              << " admitted on redis counts, " << compared << " recipients compared, " << relayed
              << " accepted" << std::endl;
    // Both sides reached: limits refused some sessions, Redis admitted
    // others whose recipients were compared.
    EXPECT_GT(limited, 0u);
    EXPECT_GT(admitted_in_redis, 0u);
    EXPECT_GT(compared, 0u);
    EXPECT_GT(relayed, 0u);
}

}  // namespace
