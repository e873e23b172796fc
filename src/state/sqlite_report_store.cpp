// The SQLite report store: one table of evaluations, WAL journal so that
// the report command reads while the daemon writes (https://sqlite.org/wal.html).
#include <sqlite3.h>

#include <memory>
#include <string>

#include "state/report_store.hpp"

namespace state {

namespace {

struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS dmarc_evaluation ("
    " id INTEGER PRIMARY KEY,"
    " time INTEGER NOT NULL, reporter TEXT NOT NULL, policy_domain TEXT NOT NULL,"
    " organizational_domain TEXT NOT NULL, rua TEXT NOT NULL, source_ip TEXT NOT NULL,"
    " header_from TEXT NOT NULL, envelope_from TEXT NOT NULL, helo TEXT NOT NULL, envelope_to TEXT NOT NULL,"
    " spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL, dkim TEXT NOT NULL,"
    " p TEXT NOT NULL, sp TEXT NOT NULL, np TEXT NOT NULL, fo TEXT NOT NULL, testing TEXT NOT NULL,"
    " adkim TEXT NOT NULL, aspf TEXT NOT NULL, psd TEXT NOT NULL, discovery TEXT NOT NULL,"
    " dmarc_result TEXT NOT NULL, dkim_aligned INTEGER NOT NULL, spf_aligned INTEGER NOT NULL,"
    " disposition TEXT NOT NULL, reason_type TEXT NOT NULL, reason_comment TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dmarc_evaluation_domain_time ON dmarc_evaluation(policy_domain, time);"
    "CREATE INDEX IF NOT EXISTS dmarc_evaluation_time ON dmarc_evaluation(time);";

constexpr const char* kColumns =
    "time, reporter, policy_domain, organizational_domain, rua, source_ip, header_from, envelope_from, helo,"
    " envelope_to, spf_domain, spf_scope, spf_result, dkim, p, sp, np, fo, testing, adkim, aspf, psd, discovery,"
    " dmarc_result, dkim_aligned, spf_aligned, disposition, reason_type, reason_comment";
constexpr int kColumnCount = 29;

// DKIM results as one column: "domain TAB selector TAB result" per line.
// Tabs and line ends cannot occur in a d= or s= that parsed; any control
// byte of a malformed one becomes '?'.
std::string clean(const std::string& s) {
    std::string out = s;
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

std::string encode_dkim(const std::vector<DkimOutcome>& dkim) {
    std::string out;
    for (const auto& d : dkim) {
        if (!out.empty()) out += '\n';
        out += clean(d.domain) + '\t' + clean(d.selector) + '\t' + clean(d.result);
    }
    return out;
}

std::vector<DkimOutcome> decode_dkim(std::string_view text) {
    std::vector<DkimOutcome> out;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        const auto t1 = line.find('\t');
        const auto t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
        if (t2 == std::string_view::npos) continue;
        out.push_back({std::string(line.substr(0, t1)), std::string(line.substr(t1 + 1, t2 - t1 - 1)),
                       std::string(line.substr(t2 + 1))});
    }
    return out;
}

std::string text_column(sqlite3_stmt* s, int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i)))
             : std::string();
}

char char_column(sqlite3_stmt* s, int i, char fallback) {
    const std::string v = text_column(s, i);
    return v.size() == 1 ? v[0] : fallback;
}

class SqliteStore final : public ReportStore {
public:
    explicit SqliteStore(Db db) : db_(std::move(db)) {}

    bool append(const std::vector<DmarcEvaluation>& batch, std::string* error) override {
        if (batch.empty()) return true;
        if (!insert_) {
            std::string sql = std::string("INSERT INTO dmarc_evaluation (") + kColumns + ") VALUES (?";
            for (int i = 1; i < kColumnCount; ++i) sql += ",?";
            sql += ")";
            if (!prepare(sql, &insert_, error)) return false;
        }
        if (!exec("BEGIN IMMEDIATE", error)) return false;
        for (const auto& e : batch) {
            sqlite3_stmt* s = insert_.get();
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            int i = 0;
            auto text = [&](const std::string& v) { sqlite3_bind_text(s, ++i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); };
            auto ch = [&](char c) { text(std::string(1, c)); };
            sqlite3_bind_int64(s, ++i, e.time);
            text(e.reporter);
            text(e.policy_domain);
            text(e.organizational_domain);
            text(e.rua);
            text(e.source_ip);
            text(e.header_from);
            text(e.envelope_from);
            text(e.helo);
            text(e.envelope_to);
            text(e.spf_domain);
            text(e.spf_scope);
            text(e.spf_result);
            text(encode_dkim(e.dkim));
            text(e.p);
            text(e.sp);
            text(e.np);
            text(e.fo);
            ch(e.testing);
            ch(e.adkim);
            ch(e.aspf);
            ch(e.psd);
            text(e.discovery);
            text(e.dmarc_result);
            sqlite3_bind_int(s, ++i, e.dkim_aligned ? 1 : 0);
            sqlite3_bind_int(s, ++i, e.spf_aligned ? 1 : 0);
            text(e.disposition);
            text(e.reason_type);
            text(e.reason_comment);
            if (sqlite3_step(s) != SQLITE_DONE) {
                if (error) *error = sqlite3_errmsg(db_.get());
                sqlite3_reset(s);
                exec("ROLLBACK", nullptr);
                return false;
            }
        }
        if (!exec("COMMIT", error)) {
            exec("ROLLBACK", nullptr);
            return false;
        }
        return true;
    }

    bool scan(std::int64_t since, std::int64_t until, const std::function<void(const DmarcEvaluation&)>& visit,
              std::string* error) override {
        // Ordered by domain: the index on (policy_domain, time) gives that
        // order without a sort of the whole period.
        const std::string sql = std::string("SELECT ") + kColumns +
                                " FROM dmarc_evaluation WHERE time >= ?1 AND time < ?2 ORDER BY policy_domain";
        Stmt stmt;
        if (!prepare(sql, &stmt, error)) return false;
        sqlite3_stmt* s = stmt.get();
        sqlite3_bind_int64(s, 1, since);
        sqlite3_bind_int64(s, 2, until);
        DmarcEvaluation e;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            int i = 0;
            e.time = sqlite3_column_int64(s, i++);
            e.reporter = text_column(s, i++);
            e.policy_domain = text_column(s, i++);
            e.organizational_domain = text_column(s, i++);
            e.rua = text_column(s, i++);
            e.source_ip = text_column(s, i++);
            e.header_from = text_column(s, i++);
            e.envelope_from = text_column(s, i++);
            e.helo = text_column(s, i++);
            e.envelope_to = text_column(s, i++);
            e.spf_domain = text_column(s, i++);
            e.spf_scope = text_column(s, i++);
            e.spf_result = text_column(s, i++);
            e.dkim = decode_dkim(text_column(s, i++));
            e.p = text_column(s, i++);
            e.sp = text_column(s, i++);
            e.np = text_column(s, i++);
            e.fo = text_column(s, i++);
            e.testing = char_column(s, i++, 'n');
            e.adkim = char_column(s, i++, 'r');
            e.aspf = char_column(s, i++, 'r');
            e.psd = char_column(s, i++, 'u');
            e.discovery = text_column(s, i++);
            e.dmarc_result = text_column(s, i++);
            e.dkim_aligned = sqlite3_column_int(s, i++) != 0;
            e.spf_aligned = sqlite3_column_int(s, i++) != 0;
            e.disposition = text_column(s, i++);
            e.reason_type = text_column(s, i++);
            e.reason_comment = text_column(s, i++);
            visit(e);
        }
        if (rc != SQLITE_DONE) {
            if (error) *error = sqlite3_errmsg(db_.get());
            return false;
        }
        return true;
    }

    bool prune(std::int64_t before, std::uint64_t* removed, std::string* error) override {
        Stmt stmt;
        if (!prepare("DELETE FROM dmarc_evaluation WHERE time < ?1", &stmt, error)) return false;
        sqlite3_bind_int64(stmt.get(), 1, before);
        if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
            if (error) *error = sqlite3_errmsg(db_.get());
            return false;
        }
        if (removed) *removed = static_cast<std::uint64_t>(sqlite3_changes64(db_.get()));
        return true;
    }

    bool exec(const char* sql, std::string* error) {
        char* message = nullptr;
        if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) == SQLITE_OK) return true;
        if (error) *error = message ? message : sqlite3_errmsg(db_.get());
        sqlite3_free(message);
        return false;
    }

private:
    bool prepare(const std::string& sql, Stmt* out, std::string* error) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK) {
            if (error) *error = sqlite3_errmsg(db_.get());
            return false;
        }
        out->reset(s);
        return true;
    }

    Db db_;
    Stmt insert_;
};

}  // namespace

std::unique_ptr<ReportStore> open_sqlite_store(const std::string& path, std::string* error, int busy_timeout_ms) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                   nullptr);
    Db db(raw);
    if (rc != SQLITE_OK) {
        if (error) *error = path + ": " + (raw ? sqlite3_errmsg(raw) : "cannot open");
        return nullptr;
    }
    sqlite3_busy_timeout(db.get(), busy_timeout_ms);
    auto store = std::make_unique<SqliteStore>(std::move(db));
    std::string why;
    // WAL: readers (the report command) never block the daemon's writes.
    // synchronous=NORMAL is durable across application crashes in WAL mode;
    // a power loss may lose the last transactions, which for statistics is
    // the right trade against an fsync per batch.
    if (!store->exec("PRAGMA journal_mode=WAL", &why) || !store->exec("PRAGMA synchronous=NORMAL", &why) ||
        !store->exec(kSchema, &why)) {
        if (error) *error = path + ": " + why;
        return nullptr;
    }
    return store;
}

}  // namespace state
