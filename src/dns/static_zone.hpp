// A static zone: records from an RFC 1035 master-file-like text, served
// without any network. The way tests feed DNS, and a way for administrators
// to override answers.
#pragma once
#include <atomic>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace dns {

struct ZoneError {
    std::string file;
    int line = 0;
    std::string message;
    std::string to_string() const;  // "file:line: message"
};

class StaticZone {
public:
    // Parses the text; appends one error per bad line (and keeps the good
    // ones). Lines: `name [ttl] [IN] TYPE data` where TYPE is A, AAAA, TXT,
    // MX, PTR, CNAME, NS, or the pseudo-types TIMEOUT and SERVFAIL.
    // Also accepted: type SPF (stored so that the name exists, never
    // answered), `\DDD` and `\X` escapes in names and strings (RFC 1035
    // section 5.1), TTL and IN in either order. Not supported (each an
    // error): $ directives, `@`, parentheses, wildcards, classes other
    // than IN, strings over 255 octets, CNAME beside other data.
    static StaticZone parse(std::string_view text, std::string_view file_name,
                            std::vector<ZoneError>& errors);
    static StaticZone load(const std::string& path, std::vector<ZoneError>& errors);

    void add(std::string_view name, Record record);
    void add_failure(std::string_view name, Status failure);  // Timeout or ServFail

    bool has_name(std::string_view name) const;
    // Answers as a DNS server for this zone would: NXDOMAIN for a name it
    // does not hold, NODATA for a held name without the type, CNAMEs
    // followed (loop-safe). A name with a TIMEOUT/SERVFAIL pseudo-record
    // fails that way for every type it holds no record of.
    Answer answer(std::string_view name, Type type) const;

private:
    struct Node {
        std::vector<Record> records;
        std::optional<Status> failure;
    };
    void note_ancestors(const std::string& name);
    std::map<std::string, Node, std::less<>> nodes_;
    // Proper ancestors of held names: empty non-terminals, which exist
    // (RFC 8020) and so answer NODATA rather than NXDOMAIN.
    std::set<std::string, std::less<>> ancestors_;
};

// Serves only from a static zone (offline tests): charges the budget per
// query like a real resolver so that budget behaviour can be tested.
class StaticResolver final : public Resolver {
public:
    explicit StaticResolver(std::shared_ptr<const StaticZone> zone);
    Answer query(std::string_view name, Type type, Budget& budget) override;
    std::uint64_t queries() const;  // how many were asked (for tests)
    // (Counted like UnboundResolver::upstream_queries(): queries that
    // charged the budget. Type SPF and budget-refused queries are not.)
private:
    std::shared_ptr<const StaticZone> zone_;
    std::atomic<std::uint64_t> queries_{0};
};

}  // namespace dns
