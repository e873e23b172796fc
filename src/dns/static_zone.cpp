// The static zone: RFC 1035 section 5 master-file lines, one record per
// line, answered like an authoritative server for exactly these names.
#include "dns/static_zone.hpp"

#include "dns/counters.hpp"
#include "util/ascii.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <variant>

namespace dns {
namespace {

// Limits, each from the RFC that sets it.
constexpr std::size_t kMaxNameLength = 253;    // RFC 1035 section 2.3.4 (255 octets on the wire)
constexpr std::size_t kMaxLabelLength = 63;    // RFC 1035 section 2.3.4
constexpr std::size_t kMaxStringLength = 255;  // RFC 1035 section 3.3 <character-string>
constexpr std::size_t kMaxRdataLength = 65535; // RFC 1035 section 3.2.1 RDLENGTH
constexpr std::uint32_t kMaxTtl = 2147483647;  // RFC 2181 section 8
constexpr std::uint32_t kDefaultTtl = 3600;
// A zone file is configuration, not a data set: refuse anything absurd
// before reading it into memory.
constexpr std::uintmax_t kMaxFileSize = 64u * 1024 * 1024;
// CNAME chains longer than this are treated as loops (RFC 1034 section
// 3.6.2 asks resolvers to detect loops; BIND and Unbound stop near here).
constexpr int kMaxCnameHops = 16;


bool same_record(const Record& a, const Record& b) {
    return a.type == b.type && a.address == b.address && a.strings == b.strings &&
           a.target == b.target && a.preference == b.preference;
}

struct Token {
    std::string_view raw;  // quoted: the text between the quotes, escapes not yet decoded
    bool quoted = false;
};

std::string describe_byte(unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string s = "0x";
    s += hex[c >> 4];
    s += hex[c & 0xf];
    return s;
}

using TokensOrError = std::variant<std::vector<Token>, std::string>;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

// Splits one line into tokens. `;` starts a comment outside quotes
// (RFC 1035 section 5.1); a backslash escapes the next character, so `\"`
// does not end a quoted string.
TokensOrError tokenize(std::string_view line) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    while (i < line.size()) {
        const char c = line[i];
        if (is_blank(c)) { ++i; continue; }
        if (c == ';') break;
        if (is_control(static_cast<unsigned char>(c)))
            return "control character " + describe_byte(static_cast<unsigned char>(c)) +
                   " (write it as \\DDD inside a quoted string)";
        if (c == '(' || c == ')')
            return std::string("parentheses (records spanning several lines) are not supported");
        if (c == '"') {
            const std::size_t start = ++i;
            bool closed = false;
            while (i < line.size()) {
                const char d = line[i];
                if (is_control(static_cast<unsigned char>(d)))
                    return "control character " + describe_byte(static_cast<unsigned char>(d)) +
                           " inside a quoted string (write it as \\DDD)";
                if (d == '\\') {
                    if (i + 1 < line.size() && is_control(static_cast<unsigned char>(line[i + 1])))
                        return "control character " + describe_byte(static_cast<unsigned char>(line[i + 1])) +
                               " after a backslash (write it as \\DDD)";
                    i += 2;
                    continue;
                }
                if (d == '"') { closed = true; break; }
                ++i;
            }
            if (!closed) return std::string("unterminated quoted string");
            tokens.push_back({line.substr(start, i - start), true});
            ++i;  // the closing quote
            if (i < line.size() && !is_blank(line[i]) && line[i] != ';')
                return std::string("text right after a closing quote (separate strings with a blank)");
            continue;
        }
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i]) && line[i] != ';') {
            const char d = line[i];
            if (is_control(static_cast<unsigned char>(d)))
                return "control character " + describe_byte(static_cast<unsigned char>(d));
            if (d == '"') return std::string("quote inside an unquoted word");
            if (d == '(' || d == ')')
                return std::string("parentheses (records spanning several lines) are not supported");
            if (d == '\\') {
                if (i + 1 < line.size() && is_control(static_cast<unsigned char>(line[i + 1])))
                    return "control character " + describe_byte(static_cast<unsigned char>(line[i + 1])) +
                           " after a backslash";
                i += 2;
                continue;
            }
            ++i;
        }
        if (i > line.size()) return std::string("backslash at the end of the line");
        tokens.push_back({line.substr(start, i - start), false});
    }
    return tokens;
}

using TextOrError = std::variant<std::string, std::string>;  // index 0: value, 1: error
TextOrError ok_text(std::string s) { return TextOrError(std::in_place_index<0>, std::move(s)); }
TextOrError bad_text(std::string s) { return TextOrError(std::in_place_index<1>, std::move(s)); }

// Decodes one escape at text[i] == '\\' (RFC 1035 section 5.1: `\X` is X
// itself, `\DDD` is the octet with decimal value DDD). Advances i.
std::optional<unsigned char> decode_escape(std::string_view text, std::size_t& i, std::string& error) {
    if (i + 1 >= text.size()) { error = "backslash at the end of a word"; return std::nullopt; }
    const char first = text[i + 1];
    if (first >= '0' && first <= '9') {
        if (i + 3 >= text.size() || !(text[i + 2] >= '0' && text[i + 2] <= '9') ||
            !(text[i + 3] >= '0' && text[i + 3] <= '9')) {
            error = "bad escape: \\DDD needs exactly three decimal digits";
            return std::nullopt;
        }
        const int value = (first - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (value > 255) {
            error = "bad escape \\" + std::string(text.substr(i + 1, 3)) + ": above 255";
            return std::nullopt;
        }
        i += 4;
        return static_cast<unsigned char>(value);
    }
    i += 2;
    return static_cast<unsigned char>(first);
}

TextOrError decode_string(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size();) {
        if (raw[i] != '\\') { out += raw[i++]; continue; }
        std::string error;
        const auto byte = decode_escape(raw, i, error);
        if (!byte) return bad_text(error);
        out += static_cast<char>(*byte);
    }
    return ok_text(std::move(out));
}

// An absolute domain name, trailing dot optional, case folded to lower.
// `allow_root`: "." (the root, e.g. a null MX target, RFC 7505) is allowed
// and returned as "".
TextOrError parse_name(const Token& token, bool allow_root) {
    if (token.quoted) return bad_text("a domain name must not be quoted");
    const std::string_view raw = token.raw;
    if (raw == ".") {
        if (allow_root) return ok_text("");
        return bad_text("the root name \".\" is not allowed here");
    }
    if (raw == "@") return bad_text("\"@\" and relative names are not supported: write the full name");
    std::string name;
    std::size_t label_length = 0;
    bool last_was_dot = false;
    for (std::size_t i = 0; i < raw.size();) {
        const unsigned char c = static_cast<unsigned char>(raw[i]);
        if (c == '.') {
            if (label_length == 0)
                return bad_text("empty label in name \"" + std::string(raw.substr(0, 100)) + "\"");
            name += '.';
            label_length = 0;
            last_was_dot = true;
            ++i;
            continue;
        }
        unsigned char byte = c;
        if (c == '\\') {
            std::string error;
            const auto decoded = decode_escape(raw, i, error);
            if (!decoded) return bad_text(error);
            byte = *decoded;
            // The text form of names that every caller uses cannot carry
            // a dot inside a label.
            if (byte == '.') return bad_text("an escaped dot inside a label is not supported");
        } else {
            if (c >= 0x80)
                return bad_text("non-ASCII byte in a name (write IDNs in their A-label form, RFC 5891)");
            ++i;
        }
        name += util::ascii_lower(static_cast<char>(byte));
        last_was_dot = false;
        if (++label_length > kMaxLabelLength)
            return bad_text("label longer than 63 octets (RFC 1035 section 2.3.4)");
        if (name.size() > kMaxNameLength + 1)
            return bad_text("name longer than 253 octets (RFC 1035 section 2.3.4)");
    }
    if (last_was_dot) name.pop_back();
    if (name.empty()) return bad_text("empty name");
    if (name.size() > kMaxNameLength) return bad_text("name longer than 253 octets (RFC 1035 section 2.3.4)");
    // A label "*" would be a wildcard (RFC 4592); this zone has none, and
    // taking it literally would surprise whoever wrote it.
    if (name == "*" || name.starts_with("*.")) return bad_text("wildcard names are not supported");
    return ok_text(std::move(name));
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses a decimal number no larger than `max`.
std::optional<std::uint32_t> parse_number(std::string_view s, std::uint32_t max) {
    if (!all_digits(s) || s.size() > 10) return std::nullopt;
    std::uint64_t v = 0;
    for (const char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > max) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

enum class LineType { A, AAAA, TXT, SPF, MX, PTR, CNAME, NS, Timeout, ServFail };

std::optional<LineType> parse_type(std::string_view word) {
    static constexpr std::pair<std::string_view, LineType> names[] = {
        {"A", LineType::A},       {"AAAA", LineType::AAAA},   {"TXT", LineType::TXT},
        {"SPF", LineType::SPF},   {"MX", LineType::MX},       {"PTR", LineType::PTR},
        {"CNAME", LineType::CNAME}, {"NS", LineType::NS},     {"TIMEOUT", LineType::Timeout},
        {"SERVFAIL", LineType::ServFail},
    };
    for (const auto& [n, t] : names)
        if (util::ascii_iequals(word, n)) return t;
    return std::nullopt;
}

bool is_class_word(std::string_view w) {
    return util::ascii_iequals(w, "IN") || util::ascii_iequals(w, "CH") || util::ascii_iequals(w, "HS") || util::ascii_iequals(w, "CS") ||
           util::ascii_iequals(w, "ANY");
}

std::string shorten(std::string_view s) {
    constexpr std::size_t max = 60;
    if (s.size() <= max) return std::string(s);
    return std::string(s.substr(0, max)) + "...";
}

// What one line yields: a record, a failure pseudo-record, or an error.
struct ParsedLine {
    std::string name;
    std::optional<Record> record;
    std::optional<Status> failure;
};
using LineOrError = std::variant<ParsedLine, std::string>;

LineOrError parse_line(std::string_view line) {
    auto tokenized = tokenize(line);
    if (auto* error = std::get_if<std::string>(&tokenized)) return *error;
    const auto& tokens = std::get<std::vector<Token>>(tokenized);
    if (tokens.empty()) return ParsedLine{};  // blank or comment

    const Token& owner = tokens[0];
    if (!owner.quoted && owner.raw.starts_with('$'))
        return std::string("directives ($ORIGIN, $TTL, $INCLUDE) are not supported");
    // RFC 1035 lets a line that starts with a blank inherit the previous
    // owner; here every line names its owner, so say so rather than take
    // "IN" or "A" for a name.
    if (is_blank(line[0]) && !owner.quoted && (is_class_word(owner.raw) || parse_type(owner.raw)))
        return std::string("missing owner name (every line must start with its name)");

    ParsedLine out;
    auto name = parse_name(owner, false);
    if (name.index() == 1) return std::get<1>(name);
    out.name = std::move(std::get<0>(name));

    std::size_t i = 1;
    std::optional<std::uint32_t> ttl;
    bool have_class = false;
    // RFC 1035 section 5.1: TTL and class are optional, in either order.
    while (i < tokens.size() && !tokens[i].quoted) {
        const std::string_view w = tokens[i].raw;
        if (all_digits(w)) {
            if (ttl) return std::string("two TTLs");
            ttl = parse_number(w, kMaxTtl);
            if (!ttl) return "TTL " + shorten(w) + " out of range (RFC 2181 section 8: 0 to 2147483647)";
            ++i;
        } else if (is_class_word(w)) {
            if (!util::ascii_iequals(w, "IN")) return "class " + std::string(w) + " is not supported (only IN)";
            if (have_class) return std::string("two classes");
            have_class = true;
            ++i;
        } else {
            break;
        }
    }
    if (i >= tokens.size()) return std::string("missing record type");
    if (tokens[i].quoted) return std::string("missing record type before the quoted text");
    const auto type = parse_type(tokens[i].raw);
    if (!type)
        return "unknown record type \"" + shorten(tokens[i].raw) +
               "\" (supported: A AAAA TXT SPF MX PTR CNAME NS TIMEOUT SERVFAIL)";
    const std::string type_word(tokens[i].raw);
    ++i;
    const std::vector<Token> data(tokens.begin() + static_cast<std::ptrdiff_t>(i), tokens.end());

    auto want = [&](std::size_t n) -> std::optional<std::string> {
        if (data.size() == n) return std::nullopt;
        return type_word + " takes " + std::to_string(n) + (n == 1 ? " value" : " values") + ", found " +
               std::to_string(data.size());
    };

    Record r;
    r.ttl = ttl.value_or(kDefaultTtl);
    switch (*type) {
    case LineType::Timeout:
    case LineType::ServFail:
        if (auto e = want(0)) return *e;
        out.failure = *type == LineType::Timeout ? Status::Timeout : Status::ServFail;
        return out;
    case LineType::A:
    case LineType::AAAA: {
        if (auto e = want(1)) return *e;
        const bool v4 = *type == LineType::A;
        r.type = v4 ? Type::A : Type::AAAA;
        const std::string text(data[0].raw);
        if (data[0].quoted || inet_pton(v4 ? AF_INET : AF_INET6, text.c_str(), r.address.data()) != 1)
            return std::string(v4 ? "bad IPv4 address \"" : "bad IPv6 address \"") + shorten(text) + "\"";
        break;
    }
    case LineType::MX: {
        if (auto e = want(2)) return *e;
        r.type = Type::MX;
        const auto pref = data[0].quoted ? std::nullopt : parse_number(data[0].raw, 65535);
        if (!pref) return "bad MX preference \"" + shorten(data[0].raw) + "\" (0 to 65535)";
        r.preference = static_cast<std::uint16_t>(*pref);
        auto target = parse_name(data[1], true);  // "." is a null MX (RFC 7505)
        if (target.index() == 1) return "MX target: " + std::get<1>(target);
        r.target = std::move(std::get<0>(target));
        break;
    }
    case LineType::PTR:
    case LineType::CNAME:
    case LineType::NS: {
        if (auto e = want(1)) return *e;
        r.type = *type == LineType::PTR ? Type::PTR : *type == LineType::CNAME ? Type::CNAME : Type::NS;
        auto target = parse_name(data[0], false);
        if (target.index() == 1) return type_word + " target: " + std::get<1>(target);
        r.target = std::move(std::get<0>(target));
        break;
    }
    case LineType::TXT:
    case LineType::SPF: {
        r.type = *type == LineType::TXT ? Type::TXT : Type::SPF;
        if (data.empty()) return type_word + " needs at least one string";
        // Several unquoted words would each become a string and be joined
        // without blanks ("v=spf1 -all" -> "v=spf1-all"); demand quotes.
        if (data.size() > 1 && std::any_of(data.begin(), data.end(), [](const Token& t) { return !t.quoted; }))
            return type_word + " text with several words must be quoted";
        std::size_t rdlength = 0;
        for (const Token& t : data) {
            auto s = decode_string(t.raw);
            if (s.index() == 1) return std::get<1>(s);
            std::string& text = std::get<0>(s);
            if (text.size() > kMaxStringLength)
                return "string of " + std::to_string(text.size()) +
                       " octets; at most 255 per string (RFC 1035 section 3.3), split it into several quoted strings";
            rdlength += text.size() + 1;
            if (rdlength > kMaxRdataLength) return type_word + " data longer than 65535 octets";
            r.strings.push_back(std::move(text));
        }
        break;
    }
    }
    out.record = std::move(r);
    return out;
}

}  // namespace

std::string ZoneError::to_string() const {
    if (line <= 0) return file + ": " + message;
    return file + ":" + std::to_string(line) + ": " + message;
}

StaticZone StaticZone::parse(std::string_view text, std::string_view file_name,
                             std::vector<ZoneError>& errors) {
    StaticZone zone;
    int line_number = 0;
    auto fail = [&](std::string message) {
        errors.push_back(ZoneError{std::string(file_name), line_number, std::move(message)});
    };
    while (!text.empty()) {
        ++line_number;
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files

        auto parsed = parse_line(line);
        if (auto* error = std::get_if<std::string>(&parsed)) { fail(std::move(*error)); continue; }
        auto& p = std::get<ParsedLine>(parsed);
        if (p.name.empty()) continue;  // blank or comment

        // RFC 1034 section 3.6.2 and RFC 2181 section 10.1: a name with a
        // CNAME has no other data; conflicts would make answers depend on
        // the order of lines.
        const auto it = zone.nodes_.find(p.name);
        if (it != zone.nodes_.end()) {
            const Node& node = it->second;
            const bool has_cname = std::any_of(node.records.begin(), node.records.end(),
                                               [](const Record& r) { return r.type == Type::CNAME; });
            const bool has_other = std::any_of(node.records.begin(), node.records.end(),
                                               [](const Record& r) { return r.type != Type::CNAME; });
            if (p.record && p.record->type == Type::CNAME) {
                if (has_cname) {
                    const bool same = std::any_of(node.records.begin(), node.records.end(),
                                                  [&](const Record& r) { return same_record(r, *p.record); });
                    if (!same) { fail("second CNAME for " + shorten(p.name)); continue; }
                } else if (has_other) {
                    fail("CNAME for " + shorten(p.name) + " which has other records (RFC 1034 section 3.6.2)");
                    continue;
                }
            } else if (p.record && has_cname) {
                fail(std::string(type_name(p.record->type)) + " record for " + shorten(p.name) +
                     " which has a CNAME (RFC 1034 section 3.6.2)");
                continue;
            }
            if (p.failure && node.failure && *node.failure != *p.failure) {
                fail("both TIMEOUT and SERVFAIL for " + shorten(p.name));
                continue;
            }
        }
        if (p.record) zone.add(p.name, std::move(*p.record));
        if (p.failure) zone.add_failure(p.name, *p.failure);
    }
    return zone;
}

StaticZone StaticZone::load(const std::string& path, std::vector<ZoneError>& errors) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errors.push_back(ZoneError{path, 0, std::string("cannot open: ") + std::strerror(errno)});
        return StaticZone{};
    }
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    in.seekg(0, std::ios::beg);
    if (size < 0) {
        errors.push_back(ZoneError{path, 0, "cannot read (not a regular file?)"});
        return StaticZone{};
    }
    if (static_cast<std::uintmax_t>(size) > kMaxFileSize) {
        errors.push_back(ZoneError{path, 0, "larger than 64 MiB; not a plausible static zone"});
        return StaticZone{};
    }
    std::string text(static_cast<std::size_t>(size), '\0');
    if (!in.read(text.data(), size) && !in.eof()) {
        errors.push_back(ZoneError{path, 0, std::string("read error: ") + std::strerror(errno)});
        return StaticZone{};
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    return parse(text, path, errors);
}

void StaticZone::add(std::string_view name, Record record) {
    const std::string key = util::dns_name_key(name);
    if (key.empty()) return;
    if (!record.target.empty()) record.target = util::dns_name_key(record.target);
    Node& node = nodes_[key];
    // An RRset is a set (RFC 2181 section 5): identical records count once.
    for (const Record& r : node.records)
        if (same_record(r, record)) return;
    node.records.push_back(std::move(record));
    note_ancestors(key);
}

void StaticZone::add_failure(std::string_view name, Status failure) {
    const std::string key = util::dns_name_key(name);
    if (key.empty()) return;
    nodes_[key].failure = failure;
    note_ancestors(key);
}

void StaticZone::note_ancestors(const std::string& name) {
    for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1))
        ancestors_.emplace(name.substr(dot + 1));
}

bool StaticZone::has_name(std::string_view name) const {
    return nodes_.find(util::dns_name_key(name)) != nodes_.end();
}

Answer StaticZone::answer(std::string_view qname, Type type) const {
    Answer a;
    std::string name = util::dns_name_key(qname);
    a.canonical_name = name;
    // RFC 7208 section 3.1: the SPF RR type is obsolete; never answered.
    if (type == Type::SPF) {
        a.status = Status::NoData;
        return a;
    }
    for (int hop = 0; hop <= kMaxCnameHops; ++hop) {
        const auto it = nodes_.find(name);
        if (it == nodes_.end()) {
            // RFC 8020: an empty non-terminal (an ancestor of a held name)
            // exists, so it is NODATA; anything else does not exist.
            a.status = ancestors_.count(name) ? Status::NoData : Status::NxDomain;
            return a;
        }
        const Node& node = it->second;
        const Record* cname = nullptr;
        for (const Record& r : node.records) {
            if (r.type == type) a.records.push_back(r);
            if (r.type == Type::CNAME) cname = &r;
        }
        if (!a.records.empty()) {
            a.status = Status::Ok;
            return a;
        }
        // RFC 1034 section 3.6.2: a CNAME answers every other type by
        // restarting the query at its target.
        if (cname && type != Type::CNAME) {
            name = cname->target;
            a.canonical_name = name;
            continue;
        }
        // The openspf suite's zonedata semantics: a TIMEOUT/SERVFAIL name
        // fails for every type it holds no record of.
        a.status = node.failure.value_or(Status::NoData);
        return a;
    }
    a.status = Status::ServFail;  // CNAME loop or chain too long
    return a;
}

StaticResolver::StaticResolver(std::shared_ptr<const StaticZone> zone) : zone_(std::move(zone)) {}

Answer StaticResolver::query(std::string_view name, Type type, Budget& budget) {
    // Type SPF never leaves the process (RFC 7208 section 3.1): free.
    if (type == Type::SPF) {
        Answer a;
        a.status = Status::NoData;
        a.canonical_name = util::dns_name_key(name);
        return a;
    }
    if (!budget.charge()) {
        counters::budget_exhausted();
        Answer a;
        a.status = Status::BudgetExhausted;
        a.canonical_name = util::dns_name_key(name);
        return a;
    }
    queries_.fetch_add(1, std::memory_order_relaxed);
    if (!zone_) {
        Answer a;
        a.status = Status::NxDomain;
        a.canonical_name = util::dns_name_key(name);
        return a;
    }
    return zone_->answer(name, type);
}

std::uint64_t StaticResolver::queries() const { return queries_.load(std::memory_order_relaxed); }

}  // namespace dns
