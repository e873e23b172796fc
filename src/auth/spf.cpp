// SPF with libspf2 over our DNS resolver.
//
// libspf2 asks DNS through a stack of SPF_dns_server_t layers. We give it one
// layer of our own: `lookup` asks dns::Resolver (so the cache, timeouts, the
// per-message budget and the static zone all apply), `get_spf` fetches,
// screens and normalises the SPF record, `get_exp` fetches and expands the
// explanation. That closes libspf2 1.2.10's gaps:
//   - the obsolete SPF RR type 99 is never asked (RFC 7208 section 3.1);
//   - a failing record lookup is temperror (RFC 7208 section 4.4);
//   - the record text is checked against the RFC 7208 grammar before libspf2
//     compiles it: malformed macros (CVE-2023-42118 lives in 1.2.10's macro
//     compiler), over-long macro terms, unknown mechanisms, bad domain-specs
//     and prefix lengths, duplicate redirect/exp and non-ASCII text give
//     permerror without the record reaching the parser;
//   - constructs libspf2 gets wrong are rewritten into equivalents it gets
//     right (unknown modifiers, redirect next to "all", /0 prefixes);
//   - the void-lookup limit and the 10-term limit are counted over the whole
//     check, includes and redirects too (RFC 7208 section 4.6.4);
//   - only the first 10 PTR names are used, and a DNS error on one of them
//     skips it (RFC 7208 section 5.5);
//   - explanations keep their spaces and expand the macros after them, and
//     the default explanation names no dead web site (RFC 7208 section 6.2);
//   - loopback clients are evaluated like any other (libspf2 passes them).
#include "auth/spf.hpp"
#include "dns/prefetch.hpp"
#include "util/ascii.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

extern "C" {
#include <spf2/spf.h>
}

namespace auth {
namespace {

// RFC 7208 section 4.6.4: "SPF implementations SHOULD limit 'void lookups'
// to two ... Exceeding the limit produces a 'permerror' result."
constexpr int kMaxVoidLookups = 2;
// RFC 7208 section 4.6.4: at most 10 terms that query DNS per check, and
// only the first 10 PTR names are looked at.
constexpr int kMaxDnsTerms = 10;
constexpr int kMaxPtrNames = 10;
// RFC 7208 section 4.6.4: an "mx" mechanism whose name has more than 10 MX
// records is permerror.
constexpr int kMaxMxNames = 10;

// libspf2 cannot express a zero prefix length on "a"/"mx" (it stores 0 as
// "no prefix"). Such a term means "matches when any address of the family
// exists", so the screen rewrites it to exists:<name><suffix>, and the DNS
// layer answers a lookup of <name><suffix> by asking the real questions.
// ".invalid" (RFC 6761) never exists in the DNS, so no real name is shadowed.
constexpr std::string_view kAnyAaaaSuffix = ".any-aaaa.cmilter-spf.invalid";
constexpr std::string_view kAnyMxASuffix = ".any-mx-a.cmilter-spf.invalid";
constexpr std::string_view kAnyMxAaaaSuffix = ".any-mx-aaaa.cmilter-spf.invalid";

// Our own default explanation (RFC 7208 section 6.2: used when the domain
// gives none). libspf2's default points at www.openspf.org, which is gone.
// %_ is a space; %{c} is the readable client address (exp text only).
constexpr const char* kDefaultExplanation =
    "%{o}%_does%_not%_designate%_%{c}%_as%_a%_permitted%_sender%_(SPF)";

// Terms with macros longer than this are refused (permerror) before
// libspf2's macro compiler sees them: its compiled form needs up to ~2.4
// bytes per character in a 511-byte buffer, and running that buffer low is
// the integer underflow of CVE-2023-42118. No sane record comes near it.
constexpr std::size_t kMaxMacroTermLength = 200;
// Any term longer than this is refused: a domain-spec is at most 253
// characters (RFC 7208 section 4.8 / RFC 1035) plus the mechanism name.
constexpr std::size_t kMaxTermLength = 300;

// ---------------------------------------------------------------------------
// Per-check context for the DNS layer.
//
// libspf2 hands its DNS layer no per-request pointer: `lookup` only sees the
// SPF_dns_server_t, which all threads share. A check runs synchronously on
// the calling thread from query_mailfrom() to its return, so a
// thread_local pointer set for exactly that span (CheckScope) carries the
// message's budget and the check's counters to the layer. It is never left
// set between callbacks, so the milter worker-pool rule (no per-connection
// state in thread-locals) holds.
// ---------------------------------------------------------------------------
struct CheckContext {
    dns::Budget* budget = nullptr;
    SPF_request_t* request = nullptr;  // for expanding explanations
    bool client_is_v4 = true;
    // RFC 7208 section 4.6.4 counters.
    int void_lookups = 0;
    int dns_terms = 0;       // terms that caused DNS queries, over all includes
    int records_fetched = 0; // get_spf calls (the first is the top level)
    bool limit_exceeded = false;
    // Names from the last MX / PTR answer: their address lookups belong to
    // that mechanism (not new terms), and for PTR an error on them means
    // "skip that name" (RFC 7208 section 5.5).
    std::set<std::string> mx_targets;
    std::set<std::string> ptr_targets;
    std::string problem;  // what our layer knows that libspf2 does not
};

thread_local CheckContext* t_check = nullptr;

class CheckScope {
public:
    explicit CheckScope(CheckContext& ctx) : previous_(t_check) { t_check = &ctx; }
    ~CheckScope() { t_check = previous_; }
    CheckScope(const CheckScope&) = delete;
    CheckScope& operator=(const CheckScope&) = delete;

private:
    CheckContext* previous_;
};

void note_problem(CheckContext& ctx, std::string text) {
    if (ctx.problem.empty()) ctx.problem = std::move(text);
}

// ---------------------------------------------------------------------------
// Small text helpers
// ---------------------------------------------------------------------------

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

std::string without_controls(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) out.push_back(c);
    }
    return out;
}

// The name to ask the resolver: no root dot, lower case, and (RFC 7208
// section 7.3) when a macro expansion made it longer than 253 characters,
// leading labels removed until it fits.
std::string query_name(const char* domain) {
    std::string name = util::ascii_lower(domain ? domain : "");
    if (!name.empty() && name.back() == '.') name.pop_back();
    while (name.size() > 253) {
        const auto dot = name.find('.');
        if (dot == std::string::npos) break;
        name.erase(0, dot + 1);
    }
    return name;
}

// RFC 7208 section 4.3: a <domain> that is not a multi-label FQDN (or has
// an empty or over-long label, or is a domain literal) gives "none" without
// any DNS query.
bool is_checkable_domain(std::string_view d) {
    if (!d.empty() && d.back() == '.') d.remove_suffix(1);
    if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
    std::size_t start = 0;
    while (true) {
        const auto dot = d.find('.', start);
        const std::size_t end = dot == std::string_view::npos ? d.size() : dot;
        const auto label = d.substr(start, end - start);
        if (label.empty() || label.size() > 63) return false;
        for (const char c : label) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u == 0x7f || c == '[' || c == ']' || c == '@') return false;
        }
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// ---------------------------------------------------------------------------
// Record screening and normalisation (before libspf2's compiler)
// ---------------------------------------------------------------------------

bool is_macro_letter(char c) {
    switch (util::ascii_lower(c)) {
    case 's': case 'l': case 'o': case 'd': case 'i': case 'p': case 'h':
    case 'c': case 'r': case 't': case 'v':
        return true;
    default:
        return false;
    }
}

bool is_macro_delimiter(char c) {
    switch (c) {
    case '.': case '-': case '+': case ',': case '/': case '_': case '=':
        return true;
    default:
        return false;
    }
}

struct MacroScan {
    std::string problem;        // "" when the macro-string is well formed
    int expands = 0;            // "%{...}" count
    bool ends_with_expand = false;
    bool uses_exp_only_letter = false;  // c, r or t
};

// RFC 7208 section 7.1 macro-string (macro-literal is %x21-24 / %x26-7E;
// spaces are the caller's business).
MacroScan scan_macro_string(std::string_view s) {
    MacroScan scan;
    for (std::size_t i = 0; i < s.size(); ++i) {
        scan.ends_with_expand = false;
        if (s[i] != '%') continue;
        if (i + 1 >= s.size()) {
            scan.problem = "'%' at the end of a macro-string";
            return scan;
        }
        const char next = s[i + 1];
        if (next == '%' || next == '_' || next == '-') {
            ++i;
            scan.ends_with_expand = true;
            continue;
        }
        if (next != '{') {
            scan.problem = std::string("invalid macro escape '%") + next + "'";
            return scan;
        }
        std::size_t j = i + 2;
        if (j >= s.size() || !is_macro_letter(s[j])) {
            scan.problem = "invalid macro letter";
            return scan;
        }
        if (util::ascii_lower(s[j]) == 'c' || util::ascii_lower(s[j]) == 'r' || util::ascii_lower(s[j]) == 't') scan.uses_exp_only_letter = true;
        ++j;
        // transformers = *DIGIT [ "r" ]; the number must be nonzero (RFC
        // 7208 section 7.3) and we cap it at 255: libspf2 keeps it in one
        // byte, and the RFC only requires support up to 128.
        const std::size_t digits_start = j;
        while (j < s.size() && is_digit(s[j])) ++j;
        if (j > digits_start) {
            const auto digits = s.substr(digits_start, j - digits_start);
            if (digits.size() > 3 || std::stoi(std::string(digits)) == 0 || std::stoi(std::string(digits)) > 255) {
                scan.problem = "macro transformer number out of range";
                return scan;
            }
        }
        if (j < s.size() && util::ascii_lower(s[j]) == 'r') ++j;
        while (j < s.size() && is_macro_delimiter(s[j])) ++j;
        if (j >= s.size() || s[j] != '}') {
            scan.problem = "malformed macro-expand";
            return scan;
        }
        ++scan.expands;
        i = j;
        scan.ends_with_expand = true;
    }
    return scan;
}

// RFC 7208 section 7.1: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool is_toplabel(std::string_view l) {
    if (l.empty() || !is_alnum(l.front()) || !is_alnum(l.back())) return false;
    bool alpha = false, hyphen = false;
    for (const char c : l) {
        if (c == '-') hyphen = true;
        else if (is_alpha(c)) alpha = true;
        else if (!is_digit(c)) return false;
    }
    return alpha || hyphen;
}

// RFC 7208 section 7.1: domain-spec = macro-string domain-end;
// domain-end = ( "." toplabel [ "." ] ) / macro-expand
std::string domain_spec_problem(std::string_view spec, int& expands) {
    if (spec.empty()) return "empty domain-spec";
    const MacroScan scan = scan_macro_string(spec);
    if (!scan.problem.empty()) return scan.problem;
    // RFC 7208 section 7.1: c, r and t are allowed only in exp text.
    if (scan.uses_exp_only_letter) return "macro letter c, r or t outside explanation text";
    for (const char c : spec)
        if (c == ' ') return "space in domain-spec";
    expands += scan.expands;
    if (scan.ends_with_expand) return "";
    std::string_view d = spec;
    if (d.back() == '.') d.remove_suffix(1);
    const auto dot = d.rfind('.');
    if (dot == std::string_view::npos || !is_toplabel(d.substr(dot + 1)))
        return "domain-spec does not end in a valid top label";
    return "";
}

// RFC 7208 section 4.6.1: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
bool is_modifier_name(std::string_view n) {
    if (n.empty() || !is_alpha(n.front())) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6: 0*2DIGIT, <= 128.
std::optional<int> cidr_length(std::string_view digits, int max) {
    if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit)) return std::nullopt;
    if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
    const int n = std::stoi(std::string(digits));
    if (n > max) return std::nullopt;
    return n;
}

// Splits a trailing dual-cidr-length off `rest` (RFC 7208 section 5.6).
struct DualCidr {
    std::optional<int> v4, v6;
    std::string_view before;
    bool ok = true;
};

DualCidr split_dual_cidr(std::string_view rest) {
    DualCidr out;
    const auto trailing_number = [](std::string_view s) {
        std::size_t i = s.size();
        while (i > 0 && is_digit(s[i - 1])) --i;
        return i;
    };
    std::size_t i = trailing_number(rest);
    if (i < rest.size() && i >= 2 && rest[i - 1] == '/' && rest[i - 2] == '/') {
        out.v6 = cidr_length(rest.substr(i), 128);
        if (!out.v6) out.ok = false;
        rest = rest.substr(0, i - 2);
        i = trailing_number(rest);
    }
    if (i < rest.size() && i >= 1 && rest[i - 1] == '/') {
        out.v4 = cidr_length(rest.substr(i), 32);
        if (!out.v4) out.ok = false;
        rest = rest.substr(0, i - 1);
    }
    out.before = rest;
    return out;
}

struct Screened {
    std::string problem;  // non-empty: permerror
    std::string record;   // what libspf2 gets
};

// Checks the whole record against RFC 7208 section 4.6.1 / 5 / 6 / 7.1 and
// rewrites it into text libspf2 1.2.10 evaluates as the RFC says:
//  - unknown modifiers are dropped (RFC 7208 section 6: they MUST be
//    ignored; libspf2 refuses names with '.', '-', '_');
//  - redirect= is dropped when an "all" mechanism is present (section 6.1);
//  - a zero prefix length, which libspf2 cannot represent (it stores 0 as
//    "no prefix" and refuses /0), is rewritten to an equivalent for the
//    client's address family: ip4:x/0 -> ip4:0.0.0.0/1 ip4:128.0.0.0/1,
//    ip6:x/0 likewise, a:d/0 for an IPv4 client -> exists:d (the same A
//    query), and the other a/mx cases -> exists:d<kAny...Suffix>, answered
//    by the DNS layer; the prefix for the other family is dropped (it
//    cannot matter).
Screened screen_record(std::string_view record, bool client_is_v4) {
    Screened out;
    const auto fail = [&](std::string why) {
        out.problem = std::move(why);
        out.record.clear();
        return out;
    };
    for (const char c : record) {
        const auto u = static_cast<unsigned char>(c);
        // RFC 7208 section 3.1/4.6.1: US-ASCII, terms separated by SP only.
        if (u != ' ' && (u < 0x21 || u > 0x7e)) return fail("record contains a non-ASCII or control character");
    }
    if (!util::ascii_istarts_with(record, "v=spf1") || (record.size() > 6 && record[6] != ' '))
        return fail("not an SPF version 1 record");

    std::vector<std::string_view> terms;
    for (std::size_t pos = 6; pos < record.size();) {
        if (record[pos] == ' ') {
            ++pos;
            continue;
        }
        const auto end = std::min(record.find(' ', pos), record.size());
        terms.push_back(record.substr(pos, end - pos));
        pos = end;
    }

    const auto modifier_split = [](std::string_view term) -> std::optional<std::size_t> {
        const auto eq = term.find('=');
        if (eq != std::string_view::npos && is_modifier_name(term.substr(0, eq))) return eq;
        return std::nullopt;
    };
    const auto mechanism_name = [](std::string_view term) {
        if (!term.empty() && (term[0] == '+' || term[0] == '-' || term[0] == '~' || term[0] == '?'))
            term.remove_prefix(1);
        return term.substr(0, std::min(term.find_first_of(":/"), term.size()));
    };
    bool has_all = false;
    for (const auto term : terms)
        if (!modifier_split(term) && util::ascii_iequals(mechanism_name(term), "all")) has_all = true;

    out.record = "v=spf1";
    bool have_redirect = false, have_exp = false;
    for (const auto term : terms) {
        if (term.size() > kMaxTermLength)
            return fail("term longer than " + std::to_string(kMaxTermLength) + " characters");
        int expands = 0;
        std::string emitted;
        if (const auto eq = modifier_split(term)) {
            const auto name = term.substr(0, *eq);
            const auto value = term.substr(*eq + 1);
            if (util::ascii_iequals(name, "redirect") || util::ascii_iequals(name, "exp")) {
                // RFC 7208 section 6: each at most once; the value is a
                // domain-spec.
                bool& seen = util::ascii_iequals(name, "redirect") ? have_redirect : have_exp;
                if (seen) return fail("more than one " + util::ascii_lower(name) + "= modifier");
                seen = true;
                if (auto p = domain_spec_problem(value, expands); !p.empty())
                    return fail(p + " in '" + std::string(term) + "'");
                if (!(util::ascii_iequals(name, "redirect") && has_all)) emitted = util::ascii_lower(name) + "=" + std::string(value);
            } else {
                const MacroScan scan = scan_macro_string(value);
                if (!scan.problem.empty()) return fail(scan.problem + " in '" + std::string(term) + "'");
            }
        } else {
            std::string_view mech = term;
            std::string qualifier;
            if (!mech.empty() && (mech[0] == '+' || mech[0] == '-' || mech[0] == '~' || mech[0] == '?')) {
                qualifier = std::string(1, mech[0]);
                mech.remove_prefix(1);
            }
            const auto name = mechanism_name(term);
            const auto rest = mech.substr(name.size());
            const std::string lname = util::ascii_lower(name);
            const auto spec_after_colon = [&](std::string_view r, bool required) -> std::string {
                if (r.empty()) return required ? "missing domain-spec" : "";
                if (r[0] != ':') return "unexpected text after the mechanism name";
                return domain_spec_problem(r.substr(1), expands);
            };
            std::string problem;
            emitted = std::string(term);
            if (lname == "all") {
                if (!rest.empty()) problem = "'all' takes no argument";
            } else if (lname == "include" || lname == "exists") {
                problem = spec_after_colon(rest, true);
            } else if (lname == "ptr") {
                problem = spec_after_colon(rest, false);
            } else if (lname == "a" || lname == "mx") {
                const DualCidr cidr = split_dual_cidr(rest);
                if (!cidr.ok) problem = "invalid prefix length";
                else problem = spec_after_colon(cidr.before, false);
                if (problem.empty()) {
                    // Only the prefix of the client's family matters.
                    const std::optional<int> prefix = client_is_v4 ? cidr.v4 : cidr.v6;
                    const std::string target =
                        cidr.before.empty() ? std::string("%{d}") : std::string(cidr.before.substr(1));
                    if (prefix == 0) {
                        std::string_view suffix;
                        if (lname == "a") suffix = client_is_v4 ? std::string_view() : kAnyAaaaSuffix;
                        else suffix = client_is_v4 ? kAnyMxASuffix : kAnyMxAaaaSuffix;
                        emitted = qualifier + "exists:" + target + std::string(suffix);
                    } else {
                        emitted = qualifier + lname + std::string(cidr.before) +
                                  (prefix ? (client_is_v4 ? "/" : "//") + std::to_string(*prefix) : "");
                    }
                }
            } else if (lname == "ip4" || lname == "ip6") {
                const bool v4 = lname == "ip4";
                if (rest.size() < 2 || rest[0] != ':') {
                    problem = "missing address";
                } else {
                    std::string_view net = rest.substr(1);
                    std::optional<int> prefix;
                    if (const auto slash = net.rfind('/'); slash != std::string_view::npos) {
                        prefix = cidr_length(net.substr(slash + 1), v4 ? 32 : 128);
                        if (!prefix) problem = "invalid prefix length";
                        net = net.substr(0, slash);
                    }
                    unsigned char buf[sizeof(in6_addr)];
                    if (problem.empty() && inet_pton(v4 ? AF_INET : AF_INET6, std::string(net).c_str(), buf) != 1)
                        problem = std::string("invalid ") + (v4 ? "IPv4" : "IPv6") + " address";
                    if (problem.empty() && prefix == 0)
                        emitted = v4 ? qualifier + "ip4:0.0.0.0/1 " + qualifier + "ip4:128.0.0.0/1"
                                     : qualifier + "ip6:::/1 " + qualifier + "ip6:8000::/1";
                }
            } else {
                problem = "unknown mechanism '" + std::string(name) + "'";
            }
            if (!problem.empty()) return fail(problem + " in '" + std::string(term) + "'");
        }
        if (expands > 0 && term.size() > kMaxMacroTermLength)
            return fail("term with macros longer than " + std::to_string(kMaxMacroTermLength) + " characters");
        if (!emitted.empty()) out.record += " " + emitted;
    }
    return out;
}

}  // namespace

std::string spf_record_screen_problem(std::string_view record) { return screen_record(record, true).problem; }

namespace {

// RFC 7208 section 6.2: explain-string = *( macro-string / SP ). libspf2's
// macro compiler ends a string at the first space (it prints "%" for the
// spaces and leaves the macros after them unexpanded), so spaces become the
// "%_" macro, which expands to a space, before it compiles the text.
std::optional<std::string> explanation_template(std::string_view text) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return std::nullopt;
    }
    const MacroScan scan = scan_macro_string(text);
    if (!scan.problem.empty()) return std::nullopt;
    std::string out;
    for (const char c : text) {
        if (c == ' ') out += "%_";
        else out.push_back(c);
    }
    if (scan.expands > 0 && out.size() > kMaxMacroTermLength) return std::nullopt;
    return out;
}

// ---------------------------------------------------------------------------
// The DNS layer
// ---------------------------------------------------------------------------

std::optional<dns::Type> dns_type(ns_type t) {
    switch (t) {
    case ns_t_a: return dns::Type::A;
    case ns_t_aaaa: return dns::Type::AAAA;
    case ns_t_mx: return dns::Type::MX;
    case ns_t_ptr: return dns::Type::PTR;
    case ns_t_txt: return dns::Type::TXT;
    default: return std::nullopt;
    }
}

SPF_dns_rr_t* empty_rr(SPF_dns_server_t* server, const char* domain, ns_type type, SPF_dns_stat_t herrno) {
    return SPF_dns_rr_new_init(server, domain, type, 0, herrno);
}

bool add_bytes(SPF_dns_rr_t* rr, const void* data, std::size_t len) {
    const int idx = rr->num_rr;
    if (SPF_dns_rr_buf_realloc(rr, idx, len) != SPF_E_SUCCESS) return false;
    std::memcpy(rr->rr[idx], data, len);
    rr->num_rr = idx + 1;
    return true;
}

bool add_string(SPF_dns_rr_t* rr, const std::string& s) {
    // libspf2 reads names and TXT as C strings: stop at any NUL.
    const std::string c_string = s.substr(0, s.find('\0'));
    return add_bytes(rr, c_string.c_str(), c_string.size() + 1);
}

// One more term that queries DNS (RFC 7208 section 4.6.4: at most 10 per
// check, includes and redirects counted across the whole evaluation; libspf2
// counts per record only). False when that exceeds the limit.
bool count_dns_term(CheckContext& ctx) {
    ctx.mx_targets.clear();
    ctx.ptr_targets.clear();
    if (++ctx.dns_terms <= kMaxDnsTerms) return true;
    ctx.limit_exceeded = true;
    note_problem(ctx, "more than " + std::to_string(kMaxDnsTerms) + " DNS-querying terms (RFC 7208 section 4.6.4)");
    return false;
}

// Counts a void answer (RFC 7208 section 4.6.4); false when that exceeds
// the limit.
bool count_void(CheckContext& ctx) {
    if (++ctx.void_lookups <= kMaxVoidLookups) return true;
    ctx.limit_exceeded = true;
    note_problem(ctx, "more than " + std::to_string(kMaxVoidLookups) + " void DNS lookups (RFC 7208 section 4.6.4)");
    return false;
}

bool is_void_answer(const dns::Answer& a) {
    return a.status == dns::Status::NxDomain || a.status == dns::Status::NoData ||
           (a.status == dns::Status::Ok && a.records.empty());
}

// The "exists" lookup a zero-prefix a/mx term was rewritten to (see
// kAnyAaaaSuffix): matches (one synthetic A record) when `name` has an
// AAAA record, or when any of its MX hosts has an address of the family.
SPF_dns_rr_t* any_address(SPF_dns_server_t* server, const char* domain, ns_type type, dns::Resolver& resolver,
                          CheckContext& ctx, const std::string& name, std::string_view suffix) {
    const auto temporary = [&](const dns::Answer& a, const std::string& asked) {
        note_problem(ctx, std::string(dns::status_name(a.status)) + " for " + asked);
        return empty_rr(server, domain, type, TRY_AGAIN);
    };
    const auto match = [&]() {
        SPF_dns_rr_t* rr = empty_rr(server, domain, type, NETDB_SUCCESS);
        const in_addr loopback{htonl(INADDR_LOOPBACK)};
        if (rr && !add_bytes(rr, &loopback, sizeof loopback)) {
            SPF_dns_rr_free(rr);
            return empty_rr(server, domain, type, TRY_AGAIN);
        }
        return rr;
    };
    const auto no_match = [&](const dns::Answer& a) {
        if (!count_void(ctx)) return empty_rr(server, domain, type, TRY_AGAIN);
        return empty_rr(server, domain, type, a.status == dns::Status::NxDomain ? HOST_NOT_FOUND : NO_DATA);
    };
    if (suffix == kAnyAaaaSuffix) {
        const dns::Answer a = resolver.query(name, dns::Type::AAAA, *ctx.budget);
        if (dns::is_temporary(a.status)) return temporary(a, name + " AAAA");
        return is_void_answer(a) ? no_match(a) : match();
    }
    const dns::Answer mx = resolver.query(name, dns::Type::MX, *ctx.budget);
    if (dns::is_temporary(mx.status)) return temporary(mx, name + " MX");
    if (is_void_answer(mx)) return no_match(mx);
    if (mx.records.size() > static_cast<std::size_t>(kMaxMxNames)) {
        ctx.limit_exceeded = true;
        note_problem(ctx, name + " has more than " + std::to_string(kMaxMxNames) + " MX records (RFC 7208 section 4.6.4)");
        return empty_rr(server, domain, type, TRY_AGAIN);
    }
    const dns::Type family = suffix == kAnyMxASuffix ? dns::Type::A : dns::Type::AAAA;
    for (const dns::Record& r : mx.records) {
        const dns::Answer addr = resolver.query(r.target, family, *ctx.budget);
        if (dns::is_temporary(addr.status)) return temporary(addr, r.target);
        if (!is_void_answer(addr)) return match();
        if (!count_void(ctx)) return empty_rr(server, domain, type, TRY_AGAIN);
    }
    return empty_rr(server, domain, type, NO_DATA);
}

SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type type) {
    // RFC 7208 section 3.1: type SPF (99) is obsolete; answered "no data"
    // here, without asking anyone.
    if (type == ns_t_spf) return empty_rr(server, domain, type, NO_DATA);
    const auto our_type = dns_type(type);
    if (!our_type) return empty_rr(server, domain, type, NO_DATA);

    auto* resolver = static_cast<dns::Resolver*>(server->hook);
    CheckContext* ctx = t_check;
    if (!resolver || !ctx || !ctx->budget) return empty_rr(server, domain, type, TRY_AGAIN);
    // Once a limit is exceeded the check is decided (permerror); failing
    // every further lookup temporarily ends libspf2's evaluation at once
    // without spending more of the budget.
    if (ctx->limit_exceeded) return empty_rr(server, domain, type, TRY_AGAIN);

    const std::string name = query_name(domain);
    bool from_ptr = false;
    switch (*our_type) {
    case dns::Type::A:
    case dns::Type::AAAA:
        from_ptr = ctx->ptr_targets.count(name) > 0;
        // Address lookups of MX or PTR targets belong to their mechanism.
        if (!from_ptr && !ctx->mx_targets.count(name) && !count_dns_term(*ctx))
            return empty_rr(server, domain, type, TRY_AGAIN);
        break;
    case dns::Type::MX:
    case dns::Type::PTR:
        if (!count_dns_term(*ctx)) return empty_rr(server, domain, type, TRY_AGAIN);
        break;
    default:
        // TXT through this hook: nothing in libspf2 asks for it once get_spf
        // and get_exp are ours; not a term.
        break;
    }

    if (*our_type == dns::Type::A) {
        for (const auto suffix : {kAnyAaaaSuffix, kAnyMxASuffix, kAnyMxAaaaSuffix}) {
            if (name.size() > suffix.size() && name.ends_with(suffix))
                return any_address(server, domain, type, *resolver, *ctx, name.substr(0, name.size() - suffix.size()),
                                   suffix);
        }
    }

    const dns::Answer answer = resolver->query(name, *our_type, *ctx->budget);
    // RFC 7208 section 4.6.4: at most two void lookups (names skipped under
    // section 5.5 and explanation fetches aside).
    if (is_void_answer(answer) && !from_ptr && *our_type != dns::Type::TXT && !count_void(*ctx))
        return empty_rr(server, domain, type, TRY_AGAIN);

    switch (answer.status) {
    case dns::Status::NxDomain:
        return empty_rr(server, domain, type, HOST_NOT_FOUND);
    case dns::Status::NoData:
        return empty_rr(server, domain, type, NO_DATA);
    case dns::Status::ServFail:
    case dns::Status::Timeout:
    case dns::Status::BudgetExhausted:
        // RFC 7208 section 5.5: "If a DNS error occurs while doing an A RR
        // lookup, then that domain name is skipped and the search continues."
        if (from_ptr && answer.status != dns::Status::BudgetExhausted) return empty_rr(server, domain, type, NO_DATA);
        note_problem(*ctx, std::string(dns::status_name(answer.status)) + " for " + name + " " +
                               std::string(dns::type_name(*our_type)));
        return empty_rr(server, domain, type, TRY_AGAIN);
    case dns::Status::Ok:
        break;
    }

    SPF_dns_rr_t* rr = empty_rr(server, domain, type, NETDB_SUCCESS);
    if (!rr) return nullptr;
    int ptr_names = 0;
    for (const dns::Record& rec : answer.records) {
        if (rec.type != *our_type) continue;
        bool ok = true;
        switch (rec.type) {
        case dns::Type::A: ok = add_bytes(rr, rec.address.data(), sizeof(in_addr)); break;
        case dns::Type::AAAA: ok = add_bytes(rr, rec.address.data(), sizeof(in6_addr)); break;
        case dns::Type::MX:
            ctx->mx_targets.insert(util::ascii_lower(rec.target));
            ok = add_string(rr, rec.target);
            break;
        case dns::Type::PTR:
            // RFC 7208 section 4.6.4: only the first 10 PTR names are
            // looked at; the rest are ignored (libspf2 would permerror).
            if (++ptr_names > kMaxPtrNames) continue;
            ctx->ptr_targets.insert(util::ascii_lower(rec.target));
            ok = add_string(rr, rec.target);
            break;
        case dns::Type::TXT: ok = add_string(rr, rec.txt()); break;
        default: break;
        }
        if (!ok) {
            SPF_dns_rr_free(rr);
            return empty_rr(server, domain, type, TRY_AGAIN);
        }
    }
    if (rr->num_rr == 0) rr->herrno = NO_DATA;
    return rr;
}

SPF_errcode_t fail_record(SPF_response_t* response, SPF_result_t result, SPF_errcode_t code, const std::string& text) {
    response->result = result;
    response->reason = SPF_REASON_FAILURE;
    return SPF_response_add_error(response, code, "%s", text.c_str());
}

// RFC 7208 sections 4.4 and 4.5: fetch the TXT RRset of cur_dom, select the
// "v=spf1" record, screen and normalise it, compile it.
SPF_errcode_t get_spf(SPF_server_t* spf_server, SPF_request_t* request, SPF_response_t* response,
                      SPF_record_t** recordp) {
    *recordp = nullptr;
    auto* resolver = static_cast<dns::Resolver*>(spf_server->resolver->hook);
    CheckContext* ctx = t_check;
    const std::string name = query_name(request->cur_dom);
    if (!resolver || !ctx || !ctx->budget)
        return fail_record(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR, "SPF check without DNS context");
    if (ctx->limit_exceeded)
        return fail_record(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR, "processing limit exceeded");
    // include: and redirect= are DNS-querying terms (the first fetch is the
    // check itself).
    if (ctx->records_fetched++ > 0 && !count_dns_term(*ctx))
        return fail_record(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR, "processing limit exceeded");

    // dns::ask: the HELO name's record asked while MAIL FROM's is checked.
    const dns::Answer answer = dns::ask(*resolver, name, dns::Type::TXT, *ctx->budget);
    switch (answer.status) {
    case dns::Status::NxDomain:
        return fail_record(response, SPF_RESULT_NONE, SPF_E_NOT_SPF, "domain " + name + " does not exist");
    case dns::Status::NoData:
        return fail_record(response, SPF_RESULT_NONE, SPF_E_NOT_SPF, "no TXT records for " + name);
    case dns::Status::ServFail:
    case dns::Status::Timeout:
    case dns::Status::BudgetExhausted: {
        // RFC 7208 section 4.4: a DNS error for the record is temperror
        // (libspf2 1.2.10 reports "invalid" here).
        std::string what = std::string(dns::status_name(answer.status)) + " for " + name + " TXT";
        note_problem(*ctx, what);
        return fail_record(response, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR, what);
    }
    case dns::Status::Ok:
        break;
    }

    // RFC 7208 section 4.5: records that begin with "v=spf1" followed by
    // a space or the end; exactly one may exist.
    std::vector<std::string> spf_records;
    for (const dns::Record& rec : answer.records) {
        if (rec.type != dns::Type::TXT) continue;
        std::string text = rec.txt();
        if (util::ascii_istarts_with(text, "v=spf1") && (text.size() == 6 || text[6] == ' ')) spf_records.push_back(std::move(text));
    }
    if (spf_records.empty())
        return fail_record(response, SPF_RESULT_NONE, SPF_E_NOT_SPF, "no SPF record for " + name);
    if (spf_records.size() > 1)
        return fail_record(response, SPF_RESULT_PERMERROR, SPF_E_MULTIPLE_RECORDS, "more than one SPF record for " + name);

    const Screened screened = screen_record(spf_records.front(), ctx->client_is_v4);
    if (!screened.problem.empty()) {
        note_problem(*ctx, "SPF record of " + name + ": " + screened.problem);
        return fail_record(response, SPF_RESULT_PERMERROR, SPF_E_SYNTAX, screened.problem);
    }

    const SPF_errcode_t err = SPF_record_compile(spf_server, response, recordp, screened.record.c_str());
    if (err != SPF_E_SUCCESS) {
        if (*recordp) {
            SPF_record_free(*recordp);
            *recordp = nullptr;
        }
        note_problem(*ctx, "SPF record of " + name + ": " + SPF_strerror(err));
        // Never SPF_E_DNS_ERROR here: an include must turn this into
        // permerror, not temperror.
        return fail_record(response, SPF_RESULT_PERMERROR, err == SPF_E_DNS_ERROR ? SPF_E_SYNTAX : err,
                           "invalid SPF record for " + name);
    }
    return SPF_E_SUCCESS;
}

SPF_data_t* macro_data(SPF_macro_t* macro) {
    // spf_record.h: "data: (SPF_data_t[] = char[macro_len]) follows" the
    // SPF_macro_t header.
    return reinterpret_cast<SPF_data_t*>(reinterpret_cast<char*>(macro) + sizeof(SPF_macro_t));
}

struct MacroFree {
    void operator()(SPF_macro_t* m) const { SPF_macro_free(m); }
};
struct ResponseFree {
    void operator()(SPF_response_t* r) const { SPF_response_free(r); }
};

SPF_errcode_t expand_into(SPF_server_t* server, SPF_request_t* request, SPF_macro_t* macro, char** bufp,
                          size_t* buflenp) {
    std::unique_ptr<SPF_response_t, ResponseFree> scratch(SPF_response_new(request));
    if (!scratch) return SPF_E_NO_MEMORY;
    return SPF_record_expand_data(server, request, scratch.get(), macro_data(macro), macro->macro_len, bufp, buflenp);
}

// RFC 7208 section 7.3: an upper-case macro letter URL-escapes its value;
// RFC 3986 section 2.1 asks for upper-case hex digits, libspf2 writes lower.
void uppercase_escapes(char* text) {
    for (char* p = text; p && *p; ++p) {
        if (p[0] == '%' && std::isxdigit(static_cast<unsigned char>(p[1])) &&
            std::isxdigit(static_cast<unsigned char>(p[2]))) {
            p[1] = static_cast<char>(std::toupper(static_cast<unsigned char>(p[1])));
            p[2] = static_cast<char>(std::toupper(static_cast<unsigned char>(p[2])));
            p += 2;
        }
    }
}

// RFC 7208 section 6.2: the exp= explanation. Fetched and checked here; a
// missing, ambiguous or malformed one gives our default explanation.
SPF_errcode_t get_exp(SPF_server_t* server, const char* domain, char** bufp, size_t* buflenp) {
    const std::string name = query_name(domain);  // copy: `domain` is *bufp
    CheckContext* ctx = t_check;
    auto* resolver = static_cast<dns::Resolver*>(server->resolver->hook);
    SPF_macro_t* chosen = server->explanation;
    std::unique_ptr<SPF_macro_t, MacroFree> compiled;
    bool upper = false;
    if (ctx && ctx->request && resolver && ctx->budget && !ctx->limit_exceeded) {
        const dns::Answer answer = resolver->query(name, dns::Type::TXT, *ctx->budget);
        if (answer.status == dns::Status::Ok && answer.records.size() == 1) {
            const std::string text = answer.records.front().txt();
            if (const auto tmpl = explanation_template(text)) {
                std::unique_ptr<SPF_response_t, ResponseFree> scratch(SPF_response_new(ctx->request));
                SPF_macro_t* raw = nullptr;
                if (scratch && SPF_record_compile_macro(server, scratch.get(), &raw, tmpl->c_str()) == SPF_E_SUCCESS &&
                    raw) {
                    compiled.reset(raw);
                    chosen = raw;
                    for (std::size_t i = 0; i + 2 < tmpl->size(); ++i)
                        if ((*tmpl)[i] == '%' && (*tmpl)[i + 1] == '{' && std::isupper(static_cast<unsigned char>((*tmpl)[i + 2])))
                            upper = true;
                } else if (raw) {
                    SPF_macro_free(raw);
                }
            }
        }
    }
    if (!ctx || !ctx->request || !chosen) return SPF_E_NOT_CONFIG;
    const SPF_errcode_t err = expand_into(server, ctx->request, chosen, bufp, buflenp);
    if (err == SPF_E_SUCCESS && upper) uppercase_escapes(*bufp);
    return err;
}

// The C entry points: no exception may cross into libspf2.
extern "C" SPF_dns_rr_t* layer_lookup(SPF_dns_server_t* server, const char* domain, ns_type type,
                                      int /*should_cache*/) {
    try {
        return lookup(server, domain, type);
    } catch (...) {
        if (t_check) note_problem(*t_check, "internal error in the DNS layer");
        return SPF_dns_rr_new_init(server, domain, type, 0, TRY_AGAIN);
    }
}

extern "C" SPF_errcode_t layer_get_spf(SPF_server_t* spf_server, SPF_request_t* request,
                                       SPF_response_t* response, SPF_record_t** recordp) {
    try {
        return get_spf(spf_server, request, response, recordp);
    } catch (...) {
        response->result = SPF_RESULT_TEMPERROR;
        response->reason = SPF_REASON_FAILURE;
        return SPF_E_DNS_ERROR;
    }
}

extern "C" SPF_errcode_t layer_get_exp(SPF_server_t* server, const char* domain, char** bufp, size_t* buflenp) {
    try {
        return get_exp(server, domain, bufp, buflenp);
    } catch (...) {
        return SPF_E_INTERNAL_ERROR;
    }
}

struct ServerFree {
    void operator()(SPF_server_t* s) const { SPF_server_free(s); }
};
struct RequestFree {
    void operator()(SPF_request_t* r) const { SPF_request_free(r); }
};

SpfResult from_libspf2(SPF_result_t r) {
    switch (r) {
    case SPF_RESULT_NEUTRAL: return SpfResult::Neutral;
    case SPF_RESULT_PASS: return SpfResult::Pass;
    case SPF_RESULT_FAIL: return SpfResult::Fail;
    case SPF_RESULT_SOFTFAIL: return SpfResult::SoftFail;
    case SPF_RESULT_NONE: return SpfResult::None;
    case SPF_RESULT_PERMERROR: return SpfResult::PermError;
    case SPF_RESULT_TEMPERROR: return SpfResult::TempError;
    // "invalid" means libspf2 could not finish (e.g. out of memory): a
    // temporary failure on our side, not a verdict about the sender.
    case SPF_RESULT_INVALID: return SpfResult::TempError;
    }
    return SpfResult::TempError;
}

// SPF_request_query_mailfrom() without its "localhost always passes" rule
// (RFC 7208 has no such exception: a loopback client is checked like any
// other). The steps are libspf2's own: current domain = MAIL FROM domain,
// fetch the record (our get_spf), interpret it.
SPF_response_t* query_mailfrom(SPF_server_t* server, SPF_request_t* request) {
    SPF_response_t* response = SPF_response_new(request);
    if (!response) return nullptr;
    request->cur_dom = request->env_from_dp;
    SPF_record_t* record = nullptr;
    const SPF_errcode_t err = SPF_server_get_record(server, request, response, &record);
    if (err != SPF_E_SUCCESS) {
        if (record) SPF_record_free(record);
        // get_spf set the result; SPF_i_done fills in libspf2's texts.
        SPF_i_done(response, response->result, response->reason, err);
        return response;
    }
    response->spf_record_exp = record;
    SPF_record_interpret(record, request, response, 0);
    SPF_record_free(record);
    return response;
}

// RFC 5322 dot-atom text for Received-SPF key=value pairs.
bool is_dot_atom_text(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (const char c : s) {
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-/=?^_`{|}~", c))) {
            return false;
        }
        prev = c;
    }
    return true;
}

std::string kv_value(std::string_view raw) {
    const std::string clean = without_controls(raw);
    if (is_dot_atom_text(clean)) return clean;
    std::string out = "\"";
    for (const char c : clean) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out + "\"";
}

std::string comment_body(std::string_view raw) {
    std::string out;
    for (const char c : without_controls(raw)) {
        if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

struct CheckInput {
    const policy::IpAddress* client;
    std::string helo;
    std::string mail_from;  // as given ("" = null sender)
    std::string sender;     // the <sender> of RFC 7208 section 4.1
    std::string domain;     // the <domain> checked
    std::string receiving_host;
    bool helo_identity;
};

std::string describe(SpfResult r, const CheckInput& in, const std::string& detail) {
    const std::string ip = in.client->to_string();
    switch (r) {
    case SpfResult::Pass:
        return "domain of " + in.sender + " designates " + ip + " as permitted sender";
    case SpfResult::Fail:
        return "domain of " + in.sender + " does not designate " + ip + " as permitted sender";
    case SpfResult::SoftFail:
        return "domain of transitioning " + in.sender + " does not designate " + ip + " as permitted sender";
    case SpfResult::Neutral:
        return ip + " is neither permitted nor denied by domain of " + in.sender;
    case SpfResult::None:
        return detail.empty() ? "domain of " + in.sender + " does not designate permitted sender hosts"
                              : detail;
    // The details name the domain they concern (it may be an included one).
    case SpfResult::TempError:
        return detail.empty() ? "temporary error checking " + in.domain : "temporary error: " + detail;
    case SpfResult::PermError:
        return detail.empty() ? "permanent error in the SPF record of " + in.domain : "permanent error: " + detail;
    }
    return "";
}

// RFC 7208 section 9.1.
std::string received_spf(SpfResult r, const CheckInput& in, const std::string& comment,
                         const std::string& problem) {
    std::string out(spf_result_name(r));
    out += " (" + comment_body(in.receiving_host.empty() ? comment : in.receiving_host + ": " + comment) + ")";
    out += " client-ip=" + kv_value(in.client->to_string()) + ";";
    if (!in.helo_identity) out += " envelope-from=" + kv_value(in.mail_from) + ";";
    out += " helo=" + kv_value(in.helo) + ";";
    if (!problem.empty() && (r == SpfResult::TempError || r == SpfResult::PermError))
        out += " problem=" + kv_value(problem) + ";";
    if (!in.receiving_host.empty()) out += " receiver=" + kv_value(in.receiving_host) + ";";
    out += std::string(" identity=") + (in.helo_identity ? "helo" : "mailfrom") + ";";
    return out;
}

}  // namespace

std::string_view spf_result_name(SpfResult r) {
    switch (r) {
    case SpfResult::None: return "none";
    case SpfResult::Neutral: return "neutral";
    case SpfResult::Pass: return "pass";
    case SpfResult::Fail: return "fail";
    case SpfResult::SoftFail: return "softfail";
    case SpfResult::TempError: return "temperror";
    case SpfResult::PermError: return "permerror";
    }
    return "none";
}

struct SpfChecker::Impl {
    std::shared_ptr<dns::Resolver> resolver;
    SPF_dns_server_t layer{};
    std::unique_ptr<SPF_server_t, ServerFree> server;

    SpfVerdict check(const CheckInput& in, dns::Budget& budget) const;
};

SpfChecker::SpfChecker(std::shared_ptr<dns::Resolver> resolver) : impl_(std::make_unique<Impl>()) {
    if (!resolver) throw std::invalid_argument("SpfChecker needs a resolver");
    impl_->resolver = std::move(resolver);
    SPF_dns_server_t& layer = impl_->layer;
    // destroy == nullptr: libspf2 must not free this layer; Impl owns it.
    layer.destroy = nullptr;
    layer.lookup = layer_lookup;
    layer.get_spf = layer_get_spf;
    layer.get_exp = layer_get_exp;
    layer.add_cache = nullptr;
    layer.layer_below = nullptr;
    layer.name = "connector-milter";
    layer.debug = 0;
    layer.hook = impl_->resolver.get();

    impl_->server.reset(SPF_server_new_dns(&layer, 0));
    if (!impl_->server) throw std::runtime_error("libspf2: cannot create an SPF server");
    SPF_server_set_sanitize(impl_->server.get(), 1);
    SPF_response_t* raw = nullptr;
    const SPF_errcode_t err = SPF_server_set_explanation(impl_->server.get(), kDefaultExplanation, &raw);
    std::unique_ptr<SPF_response_t, ResponseFree> errors(raw);
    if (err != SPF_E_SUCCESS)
        throw std::runtime_error(std::string("libspf2: default explanation rejected: ") + SPF_strerror(err));
}

SpfChecker::~SpfChecker() = default;

SpfVerdict SpfChecker::Impl::check(const CheckInput& in, dns::Budget& budget) const {
    SpfVerdict v;
    v.identity = in.domain;
    const auto finish = [&](SpfResult r, const std::string& detail, const std::string& problem) {
        v.result = r;
        v.comment = describe(r, in, detail);
        v.received_spf = received_spf(r, in, v.comment, problem);
        return v;
    };

    if (!is_checkable_domain(in.domain))
        return finish(SpfResult::None, "'" + without_controls(in.domain) + "' is not a checkable domain (RFC 7208 section 4.3)", "");

    std::unique_ptr<SPF_request_t, RequestFree> request(SPF_request_new(server.get()));
    if (!request) return finish(SpfResult::TempError, "out of memory", "out of memory");
    if (in.client->is_v4()) {
        in_addr a{};
        a.s_addr = htonl(static_cast<std::uint32_t>(in.client->value()));
        SPF_request_set_ipv4(request.get(), a);
    } else {
        in6_addr a{};
        const policy::uint128 value = in.client->value();
        for (int i = 0; i < 16; ++i) a.s6_addr[i] = static_cast<std::uint8_t>(value >> (8 * (15 - i)));
        SPF_request_set_ipv6(request.get(), a);
    }
    if (SPF_request_set_helo_dom(request.get(), in.helo.c_str()) != SPF_E_SUCCESS ||
        SPF_request_set_env_from(request.get(), in.sender.c_str()) != 0)
        return finish(SpfResult::TempError, "out of memory", "out of memory");

    CheckContext ctx;
    ctx.budget = &budget;
    ctx.request = request.get();
    ctx.client_is_v4 = in.client->is_v4();
    SPF_response_t* raw_response = nullptr;
    {
        const CheckScope scope(ctx);
        raw_response = query_mailfrom(server.get(), request.get());
    }
    std::unique_ptr<SPF_response_t, ResponseFree> response(raw_response);
    if (!response) return finish(SpfResult::TempError, "out of memory", "out of memory");

    SpfResult result = from_libspf2(SPF_response_result(response.get()));
    std::string detail = ctx.problem;
    if (ctx.limit_exceeded) {
        // RFC 7208 section 4.6.4: the limit decides, whatever libspf2 made of
        // the temporary failures we fed it after the limit was reached.
        result = SpfResult::PermError;
    }
    if (detail.empty() && (result == SpfResult::TempError || result == SpfResult::PermError))
        detail = SPF_strerror(SPF_response_errcode(response.get()));
    if (result == SpfResult::Fail) {
        if (const char* e = SPF_response_get_explanation(response.get())) v.explanation = without_controls(e);
    }
    return finish(result, result == SpfResult::None ? "" : detail, detail);
}

std::optional<std::string> spf_record_name(std::string_view domain) {
    const std::string d = without_controls(domain);  // as check_helo() reads it
    if (!is_checkable_domain(d)) return std::nullopt;
    return query_name(d.c_str());
}

SpfVerdict SpfChecker::check_mailfrom(const policy::IpAddress& client, std::string_view helo,
                                      std::string_view mail_from, std::string_view receiving_host,
                                      dns::Budget& budget) const {
    CheckInput in;
    in.client = &client;
    in.helo = without_controls(helo);
    in.mail_from = without_controls(mail_from);
    in.receiving_host = without_controls(receiving_host);
    in.helo_identity = false;
    if (in.mail_from.empty()) {
        // RFC 7208 section 2.4: null reverse-path -> postmaster@<HELO>.
        in.sender = "postmaster@" + in.helo;
        in.domain = in.helo;
    } else {
        const auto at = in.mail_from.rfind('@');
        // RFC 7208 section 4.3: no local-part -> "postmaster".
        in.domain = at == std::string::npos ? in.mail_from : in.mail_from.substr(at + 1);
        in.sender = (at == std::string::npos || at == 0) ? "postmaster@" + in.domain : in.mail_from;
    }
    return impl_->check(in, budget);
}

SpfVerdict SpfChecker::check_helo(const policy::IpAddress& client, std::string_view helo,
                                  std::string_view receiving_host, dns::Budget& budget) const {
    CheckInput in;
    in.client = &client;
    in.helo = without_controls(helo);
    in.receiving_host = without_controls(receiving_host);
    in.helo_identity = true;
    in.sender = "postmaster@" + in.helo;
    in.domain = in.helo;
    return impl_->check(in, budget);
}

}  // namespace auth
