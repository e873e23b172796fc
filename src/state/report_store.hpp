// Where DMARC evaluations are kept until `connector-milter report` turns
// them into aggregate reports. SQLite by default (sqlite_report_store.cpp),
// or Redis, which several MX hosts share (redis_report_store.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "state/dmarc_evaluation.hpp"

namespace state {

class ReportStore {
public:
    virtual ~ReportStore() = default;
    // Stores the batch in one transaction; false (and *error) when nothing
    // was stored.
    virtual bool append(const std::vector<DmarcEvaluation>& batch, std::string* error) = 0;
    // Calls `visit` for every evaluation with since <= time < until, all
    // evaluations of one policy domain one after the other (so that a
    // report is built one domain at a time, in bounded memory).
    virtual bool scan(std::int64_t since, std::int64_t until,
                      const std::function<void(const DmarcEvaluation&)>& visit, std::string* error) = 0;
    // Removes evaluations with time < before.
    virtual bool prune(std::int64_t before, std::uint64_t* removed, std::string* error) = 0;
    // As scan(), with identical evaluations that a store keeps as one and a
    // count (Redis) visited once with that count; by default each alone.
    using CountedVisit = std::function<void(const DmarcEvaluation&, std::uint64_t count)>;
    virtual bool scan_counted(std::int64_t since, std::int64_t until, const CountedVisit& visit, std::string* error) {
        return scan(since, until, [&](const DmarcEvaluation& e) { visit(e, 1); }, error);
    }
    // Whether the recorder should open the store afresh after a failed
    // write (a stuck database file), or keep it (a client that reconnects
    // by itself).
    virtual bool reopen_after_error() const { return true; }
};

// Opens (creating it and its table when missing) the SQLite database at
// `path` in WAL mode. `busy_timeout`: how long a write waits for a lock
// held by another process (the report command, another daemon) before it
// fails. Null and *error when it cannot be opened.
std::unique_ptr<ReportStore> open_sqlite_store(const std::string& path, std::string* error,
                                               int busy_timeout_ms = 1000);

}  // namespace state
