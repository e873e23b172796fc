// libunbound behind dns::Resolver: see unbound_resolver.hpp for the thread
// and deadline design.
#include "dns/unbound_resolver.hpp"

#include "dns/counters.hpp"
#include "util/ascii.hpp"
#include "util/waiting.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>

namespace dns {
namespace {

constexpr int kClassIn = 1;
// Longest time an answer stays in our cache, whatever its TTL says, so
// that a record changed by its owner is seen within a day.
constexpr int kMaxCacheTtl = 86400;


// The only thread that calls ub_process is the pump; it records here whose
// pump it is so that libunbound's C callback can reach the resolver without
// a pointer that could dangle.
thread_local UnboundResolver* tl_pump_owner = nullptr;

void check(int rc, const std::string& what) {
    if (rc != 0) throw std::runtime_error(what + ": " + ub_strerror(rc));
}

// RFC 1035 section 3.1 wire name inside rdata. libunbound stores rdata
// names of the types we read decompressed, so a compression pointer here
// is malformed data.
bool read_name(const unsigned char* p, std::size_t len, std::size_t& pos, std::string& out) {
    out.clear();
    std::size_t wire_length = 0;
    for (;;) {
        if (pos >= len) return false;
        const unsigned label = p[pos++];
        wire_length += label + 1;
        if (wire_length > 255) return false;  // RFC 1035 section 2.3.4
        if (label == 0) return true;
        if (label > 63) return false;         // pointer or extended label type
        if (label > len - pos) return false;
        if (!out.empty()) out += '.';
        for (std::size_t i = 0; i < label; ++i) {
            const char c = static_cast<char>(p[pos + i]);
            // Our text form of names cannot carry a dot inside a label.
            if (c == '.') return false;
            out += util::ascii_lower(c);
        }
        pos += label;
    }
}

Answer failed(Status status, std::string canonical) {
    Answer a;
    a.status = status;
    a.canonical_name = std::move(canonical);
    return a;
}

}  // namespace

bool parse_rdata(Type type, const unsigned char* data, std::size_t len, Record& out) {
    out = Record{};
    out.type = type;
    if (len > 0 && data == nullptr) return false;
    std::size_t pos = 0;
    switch (type) {
    case Type::A:
        if (len != 4) return false;
        std::copy(data, data + 4, out.address.begin());
        return true;
    case Type::AAAA:
        if (len != 16) return false;
        std::copy(data, data + 16, out.address.begin());
        return true;
    case Type::TXT:
    case Type::SPF:
        // RFC 1035 section 3.3.14: one or more <character-string>s, each a
        // length octet and that many octets, filling the rdata exactly.
        while (pos < len) {
            const std::size_t n = data[pos++];
            if (n > len - pos) return false;
            out.strings.emplace_back(reinterpret_cast<const char*>(data + pos), n);
            pos += n;
        }
        return true;
    case Type::MX:
        if (len < 3) return false;
        out.preference = static_cast<std::uint16_t>((data[0] << 8) | data[1]);
        pos = 2;
        return read_name(data, len, pos, out.target) && pos == len;
    case Type::CNAME:
    case Type::PTR:
    case Type::NS:
        return read_name(data, len, pos, out.target) && pos == len && !out.target.empty();
    }
    return false;
}

std::string escape_query_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return {};
    std::string out;
    out.reserve(name.size() + 8);
    std::size_t label = 0;
    for (const char c : name) {
        if (c == '.') {
            if (label == 0) return {};
            out += '.';
            label = 0;
            continue;
        }
        if (++label > 63) return {};
        const unsigned char u = static_cast<unsigned char>(util::ascii_lower(c));
        if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_') {
            out += static_cast<char>(u);
        } else {
            // RFC 1035 section 5.1 \DDD: libunbound's text parser then
            // sees no character with a meaning of its own.
            out += '\\';
            out += static_cast<char>('0' + u / 100);
            out += static_cast<char>('0' + (u / 10) % 10);
            out += static_cast<char>('0' + u % 10);
        }
    }
    if (label == 0) return {};
    out += '.';
    return out;
}

UpstreamSockets upstream_sockets(std::uint64_t open_files_limit) {
    // A sixteenth of the limit for questions in flight, a tenth of that for
    // TCP: the daemon's descriptor budget (descriptor_reserve) sets the
    // difference to libunbound's defaults aside (daemon.cpp).
    UpstreamSockets s;
    s.udp = static_cast<unsigned>(std::clamp<std::uint64_t>(open_files_limit / 16, 16, 256));
    s.tcp = static_cast<unsigned>(std::clamp<std::uint64_t>(open_files_limit / 160, 2, 16));
    return s;
}

void UnboundResolver::CtxDeleter::operator()(ub_ctx* ctx) const { ub_ctx_delete(ctx); }
void UnboundResolver::ResultDeleter::operator()(ub_result* r) const { ub_resolve_free(r); }

UnboundResolver::UnboundResolver(const UnboundOptions& options)
    : ctx_(ub_ctx_create()), timeout_(options.timeout), cache_capacity_(options.cache_entries) {
    if (!ctx_) throw std::runtime_error("libunbound: cannot create a context");
    if (timeout_ <= std::chrono::milliseconds::zero() || timeout_ > std::chrono::hours(1))
        throw std::runtime_error("dns timeout must be between 1 ms and 1 hour (it should stay well below the MTA's milter timeout)");
    ub_ctx* ctx = ctx_.get();
    // Threads, not a forked helper process: see the header.
    check(ub_ctx_async(ctx, 1), "libunbound: threaded mode");
    // Local resolvers (127.0.0.53 of systemd-resolved, a local unbound or
    // dnsmasq) are the usual forwarders; libunbound's default refuses to
    // send queries to loopback addresses.
    check(ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"), "libunbound: do-not-query-localhost");
    // libunbound answers the reverse zones of private and documentation
    // address space NXDOMAIN itself (RFC 6303 default local zones). A
    // forwarding stub must not: the site's own resolvers may well hold
    // PTR records for its 10.x or 192.168.x hosts, and tests use the
    // RFC 5737 documentation networks.
    check(ub_ctx_set_option(ctx, "unblock-lan-zones:", "yes"), "libunbound: unblock-lan-zones");
    rlimit files{};
    const UpstreamSockets sockets =
        upstream_sockets(getrlimit(RLIMIT_NOFILE, &files) == 0 ? static_cast<std::uint64_t>(files.rlim_cur) : 0);
    check(ub_ctx_set_option(ctx, "outgoing-range:", std::to_string(sockets.udp).c_str()), "libunbound: outgoing-range");
    check(ub_ctx_set_option(ctx, "outgoing-num-tcp:", std::to_string(sockets.tcp).c_str()),
          "libunbound: outgoing-num-tcp");
    for (const char* zone : {"2.0.192.in-addr.arpa. nodefault", "100.51.198.in-addr.arpa. nodefault",
                             "113.0.203.in-addr.arpa. nodefault", "8.b.d.0.1.0.0.2.ip6.arpa. nodefault"})
        check(ub_ctx_set_option(ctx, "local-zone:", zone), std::string("libunbound: local-zone ") + zone);
    if (options.nameservers.empty()) {
        const int rc = ub_ctx_resolvconf(ctx, options.resolv_conf.c_str());
        if (rc != 0)
            throw std::runtime_error("cannot use the nameservers of " + options.resolv_conf + ": " +
                                     ub_strerror(rc) + (rc == UB_READFILE ? std::string(" (") + std::strerror(errno) + ")" : ""));
        // A missing hosts file is normal in minimal containers; glibc
        // treats it as empty too.
        if (!options.hosts_file.empty() && access(options.hosts_file.c_str(), F_OK) == 0) {
            const int hrc = ub_ctx_hosts(ctx, options.hosts_file.c_str());
            if (hrc != 0) throw std::runtime_error("cannot read " + options.hosts_file + ": " + ub_strerror(hrc));
        }
    } else {
        for (const auto& ns : options.nameservers) {
            const int rc = ub_ctx_set_fwd(ctx, ns.c_str());
            if (rc != 0)
                throw std::runtime_error("bad nameserver \"" + ns + "\" (an IPv4 or IPv6 address, optionally @port): " +
                                         ub_strerror(rc));
        }
    }
    if (!options.trust_anchor_file.empty()) {
        if (access(options.trust_anchor_file.c_str(), R_OK) != 0)
            throw std::runtime_error("cannot read trust anchor file " + options.trust_anchor_file + ": " +
                                     std::strerror(errno));
        check(ub_ctx_add_ta_file(ctx, options.trust_anchor_file.c_str()),
              "trust anchor file " + options.trust_anchor_file);
    }
    // Finalize the configuration now, so that a setting libunbound only
    // checks when it starts (e.g. trust anchor content) fails here rather
    // than turning every later query into ServFail. ub_ctx_zone_remove is
    // documented to finalize; the zone named cannot exist (RFC 6761 .invalid).
    check(ub_ctx_zone_remove(ctx, "connector-milter.invalid"), "libunbound: configuration");

    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

UnboundResolver::~UnboundResolver() {
    stopping_.store(true);
    if (pump_thread_.joinable()) {
        const std::uint64_t one = 1;
        // Nothing useful can be done if the write fails; the pump also
        // wakes on its poll timeout and sees stopping_.
        [[maybe_unused]] const auto n = write(wake_fd_, &one, sizeof one);
        pump_thread_.join();
    }
    // Outstanding queries are killed without callbacks (unbound.h).
    ctx_.reset();
    if (wake_fd_ >= 0) close(wake_fd_);
}

void UnboundResolver::start_pump() {
    std::call_once(pump_started_, [this] { pump_thread_ = std::thread([this] { pump(); }); });
}

void UnboundResolver::pump() {
    tl_pump_owner = this;
    const int ub = ub_fd(ctx_.get());
    while (!stopping_.load()) {
        pollfd fds[2] = {{ub, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        const int n = poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
        }
        if (n <= 0) continue;
        if (fds[1].revents) break;
        if (fds[0].revents & POLLIN) {
            if (ub_process(ctx_.get()) != 0)  // broken pipe to the worker: do not spin
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
        } else if (fds[0].revents) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
}

void UnboundResolver::on_result(void* token, int err, ub_result* result) noexcept {
    ResultPtr owned(result);
    UnboundResolver* self = tl_pump_owner;
    if (self == nullptr) return;
    try {
        self->deliver(static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(token)), err, std::move(owned));
    } catch (...) {
        // Nothing may escape into libunbound; the waiter times out.
    }
}

void UnboundResolver::deliver(std::uint64_t token, int err, ResultPtr result) {
    std::lock_guard lock(pending_mutex_);
    const auto it = pending_.find(token);
    if (it == pending_.end()) return;  // the waiter gave up; `result` is freed
    it->second->err = err;
    it->second->result = std::move(result);
    it->second->done = true;
    it->second->cv.notify_one();
    pending_.erase(it);
}

bool UnboundResolver::cache_lookup(const std::string& key, Answer& out) {
    if (cache_capacity_ == 0) return false;
    std::lock_guard lock(cache_mutex_);
    const auto it = cache_.find(key);
    if (it == cache_.end()) return false;
    if (it->second.expires <= std::chrono::steady_clock::now()) {
        cache_.erase(it);
        return false;
    }
    out = it->second.answer;
    return true;
}

void UnboundResolver::cache_store(const std::string& key, const Answer& answer, int ttl) {
    if (cache_capacity_ == 0 || ttl <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= cache_capacity_) {
        std::erase_if(cache_, [&](const auto& kv) { return kv.second.expires <= now; });
        // Still full: start over rather than track recency; libunbound's
        // own cache still holds the records.
        if (cache_.size() >= cache_capacity_) cache_.clear();
    }
    cache_[key] = CacheEntry{answer, now + std::chrono::seconds(std::min(ttl, kMaxCacheTtl))};
}

// One question handed to libunbound and not yet read: wait() blocks until
// the answer or the deadline fixed when it was asked.
class UnboundResolver::Question final : public PendingAnswer {
public:
    Question(UnboundResolver& owner, std::string qname, std::string key, Type type,
             Budget::Clock::time_point deadline)
        : owner_(owner), qname_(std::move(qname)), key_(std::move(key)), type_(type), deadline_(deadline) {}
    ~Question() override {
        if (!answered_) abandon();
    }
    Question(const Question&) = delete;
    Question& operator=(const Question&) = delete;

    // False when libunbound refused the question (the answer is then ServFail).
    bool submit(const std::string& presentation);
    const Answer& wait() override;
    bool ready() const override;

private:
    void abandon();
    Answer read(const ub_result* r) const;

    UnboundResolver& owner_;
    std::string qname_;
    std::string key_;
    Type type_;
    Budget::Clock::time_point deadline_;
    std::shared_ptr<Pending> pending_ = std::make_shared<Pending>();
    std::uint64_t token_ = 0;
    int async_id_ = 0;
    bool answered_ = false;
    Answer answer_;
};

bool UnboundResolver::Question::submit(const std::string& presentation) {
    owner_.start_pump();
    {
        std::lock_guard lock(owner_.pending_mutex_);
        token_ = owner_.next_token_++;
        owner_.pending_.emplace(token_, pending_);
    }
    owner_.upstream_queries_.fetch_add(1, std::memory_order_relaxed);
    counters::upstream_query();
    const int rc = ub_resolve_async(owner_.ctx_.get(), presentation.c_str(), static_cast<int>(type_), kClassIn,
                                    reinterpret_cast<void*>(static_cast<std::uintptr_t>(token_)), &on_result,
                                    &async_id_);
    if (rc == 0) return true;
    {
        std::lock_guard lock(owner_.pending_mutex_);
        owner_.pending_.erase(token_);
    }
    answered_ = true;
    answer_ = failed(Status::ServFail, qname_);
    counters::upstream_answer(answer_.status);
    return false;
}

// The waiter gives up: the answer, should it still come, is discarded.
void UnboundResolver::Question::abandon() {
    bool outstanding = false;
    {
        std::lock_guard lock(owner_.pending_mutex_);
        outstanding = owner_.pending_.erase(token_) > 0;
    }
    if (outstanding) ub_cancel(owner_.ctx_.get(), async_id_);  // fails harmlessly if it is being delivered
}

bool UnboundResolver::Question::ready() const {
    if (answered_ || Budget::Clock::now() >= deadline_) return true;
    std::lock_guard lock(owner_.pending_mutex_);
    return pending_->done;
}

const Answer& UnboundResolver::Question::wait() {
    if (answered_) return answer_;
    // Not answered yet: this thread waits (a worker pool lets another job
    // run meanwhile).
    std::optional<util::WaitingRegion> waiting;
    if (!ready()) waiting.emplace();
    answered_ = true;
    {
        std::unique_lock lock(owner_.pending_mutex_);
        if (!pending_->cv.wait_until(lock, deadline_, [&] { return pending_->done; })) {
            lock.unlock();
            abandon();
            answer_ = failed(Status::Timeout, qname_);
            counters::upstream_answer(answer_.status);
            return answer_;
        }
    }
    const ub_result* r = pending_->result.get();
    if (pending_->err != 0 || r == nullptr) {
        answer_ = failed(Status::ServFail, qname_);
        counters::upstream_answer(answer_.status);
        return answer_;
    }
    answer_ = read(r);
    counters::upstream_answer(answer_.status);
    if (answer_.status == Status::Ok || answer_.status == Status::NxDomain || answer_.status == Status::NoData)
        owner_.cache_store(key_, answer_, r->ttl);
    return answer_;
}

Answer UnboundResolver::Question::read(const ub_result* r) const {
    Answer a;
    a.canonical_name = qname_;
    if (r->canonname != nullptr) {
        const std::string canon = util::dns_name_key(r->canonname);
        if (!escape_query_name(canon).empty()) a.canonical_name = canon;
    }
    if (r->bogus) {
        a.status = Status::ServFail;  // DNSSEC validation failed (RFC 4035 section 5.5)
    } else if (r->havedata) {
        a.status = Status::Ok;
        for (int i = 0; r->data != nullptr && r->data[i] != nullptr; ++i) {
            Record rec;
            if (r->len == nullptr || r->len[i] < 0 ||
                !parse_rdata(type_, reinterpret_cast<const unsigned char*>(r->data[i]),
                             static_cast<std::size_t>(r->len[i]), rec)) {
                // A malformed record makes the whole answer unusable.
                return failed(Status::ServFail, qname_);
            }
            rec.ttl = r->ttl > 0 ? static_cast<std::uint32_t>(r->ttl) : 0;
            a.records.push_back(std::move(rec));
        }
        if (a.records.empty()) a.status = Status::NoData;
    } else if (r->nxdomain) {
        a.status = Status::NxDomain;  // RCODE 3 (RFC 1035 section 4.1.1)
    } else if (r->rcode == 0) {
        a.status = Status::NoData;    // NOERROR without records (RFC 2308 section 2.2)
    } else {
        a.status = Status::ServFail;  // SERVFAIL, REFUSED, FORMERR...
    }
    return a;
}

std::unique_ptr<PendingAnswer> UnboundResolver::start(std::string_view name, Type type, Budget& budget) {
    const std::string qname = util::dns_name_key(name);
    // RFC 7208 section 3.1: the SPF RR type is never asked.
    if (type == Type::SPF) return ready_answer(failed(Status::NoData, qname));
    const std::string presentation = escape_query_name(qname);
    // A name that cannot be encoded cannot exist (RFC 1035 section 2.3.4).
    if (presentation.empty()) return ready_answer(failed(Status::NxDomain, qname));

    std::string key = qname + '/' + std::to_string(static_cast<unsigned>(type));
    Answer cached;
    if (cache_lookup(key, cached)) {
        cache_hits_.fetch_add(1, std::memory_order_relaxed);
        counters::cache_hit();
        return ready_answer(std::move(cached));
    }
    const auto now = Budget::Clock::now();
    if (!budget.charge(now)) {
        counters::budget_exhausted();
        return ready_answer(failed(Status::BudgetExhausted, qname));
    }
    const auto deadline = std::min(now + timeout_, budget.deadline());
    auto question = std::make_unique<Question>(*this, qname, std::move(key), type, deadline);
    question->submit(presentation);
    return question;
}

Answer UnboundResolver::query(std::string_view name, Type type, Budget& budget) {
    return start(name, type, budget)->wait();
}

}  // namespace dns
