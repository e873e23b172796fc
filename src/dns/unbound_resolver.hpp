// The production resolver: libunbound, forwarding to the system's resolvers
// (or configured ones), with a small answer cache in front so that repeated
// questions are free for the per-message budget and so that the number of
// questions that left the process can be counted.
//
// Threads: one ub_ctx is shared by every thread. It runs in libunbound's
// threaded asynchronous mode (ub_ctx_async(ctx, 1)): libunbound's own
// background thread does the network work for all outstanding queries;
// callers submit with ub_resolve_async (safe from several threads) and wait
// on a condition variable until the answer arrives or the deadline passes.
// A single "pump" thread owned by this object is the only caller of
// ub_process, so libunbound's callbacks run there and nowhere else. The
// blocking ub_resolve is not used: it has no deadline of its own and could
// hold a libmilter worker far past the MTA's milter timeout.
//
// Time: each query waits at most min(per-query timeout, budget deadline);
// then it is cancelled (ub_cancel) and answered Timeout. libunbound may
// still finish it in the background; that result is discarded.
//
// Truncated UDP answers are retried over TCP by libunbound itself (its
// standard behaviour, RFC 7766); nothing here needs to do it.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "dns/resolver.hpp"

struct ub_ctx;
struct ub_result;

namespace dns {

struct UnboundOptions {
    std::chrono::milliseconds timeout{3000};  // per query
    // "192.0.2.53", "2001:db8::53" or "127.0.0.1@5353" (port after @).
    // Empty: the nameservers of resolv_conf, plus hosts_file.
    std::vector<std::string> nameservers;
    std::string resolv_conf = "/etc/resolv.conf";
    std::string hosts_file = "/etc/hosts";
    // DNSSEC trust anchor file (DS/DNSKEY lines, e.g. Debian's
    // /usr/share/dns/root.key); empty: no validation. Forwarders must then
    // pass DNSSEC records, or every answer becomes ServFail (bogus).
    std::string trust_anchor_file;
    // Entries in the answer cache in front of libunbound (0: none).
    std::size_t cache_entries = 10000;
};

// How many sockets to the name servers libunbound may hold at once: UDP
// ports for questions in flight and TCP connections for truncated answers.
// libunbound's library defaults (16 and 2) held a busy daemon with a cold
// cache to 16 questions in flight, one name server round trip per 16
// (issue 14's cold-cache run); more are taken where the open files limit
// (RLIMIT_NOFILE) has room for them, at most 256 and 16.
struct UpstreamSockets {
    unsigned udp = 16;
    unsigned tcp = 2;
    unsigned total() const { return udp + tcp; }
};
UpstreamSockets upstream_sockets(std::uint64_t open_files_limit);
// What libunbound takes by itself, which descriptor_reserve always covered.
inline constexpr unsigned kLibunboundDefaultSockets = 18;

class UnboundResolver final : public Resolver {
public:
    // Throws std::runtime_error with a clear message when libunbound
    // refuses the settings (bad nameserver address, unreadable resolv.conf
    // or trust anchor file).
    explicit UnboundResolver(const UnboundOptions& options);
    ~UnboundResolver() override;
    UnboundResolver(const UnboundResolver&) = delete;
    UnboundResolver& operator=(const UnboundResolver&) = delete;

    // Answers from the answer cache are free; every other query charges
    // the budget once before it is handed to libunbound.
    Answer query(std::string_view name, Type type, Budget& budget) override;
    // The same, without waiting: the question goes to libunbound now.
    std::unique_ptr<PendingAnswer> start(std::string_view name, Type type, Budget& budget) override;

    // Queries handed to libunbound (misses of the answer cache). libunbound
    // keeps its own cache too (e.g. CNAME targets), so this is an upper
    // bound of the questions that left the process. For benchmarks.
    std::uint64_t upstream_queries() const { return upstream_queries_.load(std::memory_order_relaxed); }
    std::uint64_t cache_hits() const { return cache_hits_.load(std::memory_order_relaxed); }

private:
    class Question;
    struct CtxDeleter { void operator()(ub_ctx* ctx) const; };
    struct ResultDeleter { void operator()(ub_result* r) const; };
    using ResultPtr = std::unique_ptr<ub_result, ResultDeleter>;

    struct Pending {
        std::condition_variable cv;
        bool done = false;
        int err = 0;
        ResultPtr result;
    };
    struct CacheEntry {
        Answer answer;
        std::chrono::steady_clock::time_point expires;
    };

    static void on_result(void* token, int err, ub_result* result) noexcept;
    void deliver(std::uint64_t token, int err, ResultPtr result);
    void start_pump();
    void pump();
    bool cache_lookup(const std::string& key, Answer& out);
    void cache_store(const std::string& key, const Answer& answer, int ttl);

    std::unique_ptr<ub_ctx, CtxDeleter> ctx_;
    std::chrono::milliseconds timeout_;
    std::size_t cache_capacity_;

    std::mutex pending_mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<Pending>> pending_;
    std::uint64_t next_token_ = 1;

    std::mutex cache_mutex_;
    std::unordered_map<std::string, CacheEntry> cache_;

    std::once_flag pump_started_;
    std::thread pump_thread_;
    int wake_fd_ = -1;  // eventfd: tells the pump to stop
    std::atomic<bool> stopping_{false};

    std::atomic<std::uint64_t> upstream_queries_{0};
    std::atomic<std::uint64_t> cache_hits_{0};
};

// Wire-format helpers, exposed for tests: parse one rdata item of `type`
// into `out`; false when it is malformed (never reads past `len`).
bool parse_rdata(Type type, const unsigned char* data, std::size_t len, Record& out);
// Presentation form of a text name for libunbound: every byte other than
// letters, digits, '-' and '_' escaped as \DDD; empty when the name cannot
// exist in the DNS (empty label, label over 63 or name over 253 octets).
std::string escape_query_name(std::string_view name);

}  // namespace dns
