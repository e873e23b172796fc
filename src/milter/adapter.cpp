#include "milter/adapter.hpp"

#include <arpa/inet.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "log/log.hpp"
#include "milter/counters.hpp"
#include "milter/fault_injection.hpp"
#include "milter/libmilter_socket.hpp"
#include "milter/reply_gate.hpp"
#include "milter/session_facts.hpp"
#include "policy/replies.hpp"
#include "session/session.hpp"

namespace milter {

Registry& Registry::instance() {
    static Registry registry;
    return registry;
}

void Registry::set_runtime(std::shared_ptr<const session::Runtime> runtime) {
    std::lock_guard lock(mutex_);
    runtime_ = std::move(runtime);
}

std::shared_ptr<const session::Runtime> Registry::runtime() const {
    std::lock_guard lock(mutex_);
    return runtime_;
}

void Registry::start_draining() {
    {
        std::lock_guard lock(drain_mutex_);
        draining_ = true;
    }
    drain_started_.notify_all();
}

bool Registry::wait_unless_draining(std::chrono::milliseconds delay) {
    std::unique_lock lock(drain_mutex_);
    return !drain_started_.wait_for(lock, delay, [this] { return draining_.load(); });
}

void Registry::note_over_budget(ConnectionTable::Admission what) {
    count_engine_tempfail(what == ConnectionTable::Admission::Close ? EngineTempfail::DescriptorsClosed
                                                                     : EngineTempfail::Descriptors);
    std::lock_guard lock(over_budget_mutex_);
    (what == ConnectionTable::Admission::Close ? closed_ : refused_) += 1;
    const auto now = std::chrono::steady_clock::now();
    if (over_budget_logged_ != std::chrono::steady_clock::time_point{} &&
        now - over_budget_logged_ < std::chrono::seconds(10))
        return;
    const auto budget = connections_.budget();
    daemon_log::warning("descriptor budget reached: " + std::to_string(connections_.size()) +
                        " milter connections open (sessions budget " + std::to_string(budget.sessions) +
                        ", connections budget " + std::to_string(budget.connections) + "); since the last such line " +
                        std::to_string(refused_) + " new sessions refused with 421 4.3.2, " +
                        std::to_string(closed_) + " connections closed at negotiation");
    refused_ = closed_ = 0;
    over_budget_logged_ = now;
}

void Registry::shut_idle_connections() {
    const auto rt = runtime();
    if (!rt) return;
    const auto idle = rt->config->milter.idle_timeout;
    const auto n = connections_.shut_idle(idle, std::chrono::steady_clock::now(),
                                          [](int fd) { ::shutdown(fd, SHUT_RDWR); });
    if (n > 0)
        daemon_log::info("closing " + std::to_string(n) + " milter connection" + (n == 1 ? "" : "s") +
                         " on which the MTA sent nothing for idle_timeout (" + std::to_string(idle.count()) + " s)");
}

void Registry::start_idle_reaper() {
    std::thread([this] {
        for (;;) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
            shut_idle_connections();
        }
    }).detach();
}

namespace {

// The per-connection object behind smfi_getpriv. Debian's libmilter runs a
// worker pool, so consecutive callbacks of one connection may run on
// different threads: all state lives here, never in thread-locals.
struct Connection {
    // SMFIP_HDR_LEADSPC in effect: header values arrive with their leading
    // space and the MTA adds none to the headers we insert.
    bool leading_space = false;
    // The MTA offered the quarantine action (SMFIF_QUARANTINE).
    bool quarantine = false;
    // The stages negotiated without a reply (SMFIP_NR_HDR, SMFIP_NR_EOH,
    // SMFIP_NR_BODY)
    // and a refusal reached at one of them, held for the next stage that
    // may answer.
    ReplyGate gate;
    std::unique_ptr<session::Session> session;
    // Its standing under the descriptor budget when it was opened.
    ConnectionTable::Admission admission = ConnectionTable::Admission::Serve;

    void negotiated(unsigned long protocol, unsigned long actions) {
        leading_space = (protocol & SMFIP_HDR_LEADSPC) != 0;
        quarantine = (actions & SMFIF_QUARANTINE) != 0;
        gate.set_no_reply((protocol & SMFIP_NR_HDR) != 0, (protocol & SMFIP_NR_EOH) != 0,
                          (protocol & SMFIP_NR_BODY) != 0);
    }
};

// The protocol flags (SMFIP_*) the last negotiation agreed. A milter
// connection the MTA reuses after QUIT_NC is not negotiated again, and
// libmilter has called xxfi_close (which frees our Connection) in between;
// it keeps the flags negotiated before, which this remembers. One MTA per
// daemon is the normal set-up; and libmilter offers SMFIP_NR_HDR,
// SMFIP_NR_EOH and SMFIP_NR_BODY to every filter whatever the MTA supports (it answers
// "continue" itself to an MTA that does not know them), so the "no reply"
// flags we ask for are agreed on every connection alike.
std::atomic<unsigned long> g_last_protocol{0};
// The same for the actions (SMFIF_*) agreed.
std::atomic<unsigned long> g_last_actions{0};

Connection* ensure_connection(SMFICTX* ctx) {
    auto* c = static_cast<Connection*>(smfi_getpriv(ctx));
    if (!c) {
        c = new Connection;
        c->negotiated(g_last_protocol.load(), g_last_actions.load());
        smfi_setpriv(ctx, c);
        c->admission = Registry::instance().connections().open(c, libmilter_socket(ctx),
                                                               std::chrono::steady_clock::now());
    }
    return c;
}

// The connection's session; null before connect (a protocol error by the MTA).
session::Session* session_of(SMFICTX* ctx) {
    auto* c = static_cast<Connection*>(smfi_getpriv(ctx));
    return c ? c->session.get() : nullptr;
}

std::string macro(SMFICTX* ctx, const char* name) {
    const char* value = smfi_getsymval(ctx, const_cast<char*>(name));
    return value ? std::string(value) : std::string();
}

MacroLookup macros_of(SMFICTX* ctx) {
    return [ctx](const char* name) -> std::optional<std::string> {
        const char* value = smfi_getsymval(ctx, const_cast<char*>(name));
        return value ? std::optional<std::string>(value) : std::nullopt;
    };
}

session::SecurityFacts security_facts(SMFICTX* ctx) { return milter::security_facts(macros_of(ctx)); }

void note_queue_id(SMFICTX* ctx, session::Session* s) { s->set_queue_id(macro(ctx, "i")); }

// Sets the reply the MTA gives; false when `reply` breaks the MTAs' rules
// (policy::check_reply: Postfix would drop the milter for the session) and
// the internal-error reply went out instead.  Every reply is checked at
// config load or built by Reply::with_detail, so that is a bug, logged as one.
bool set_reply(SMFICTX* ctx, const policy::Reply& reply) {
    bool as_given = true;
    const policy::Reply* chosen = &usable_reply(reply, &as_given);
    std::string code = chosen->code, xcode = chosen->xcode, text = policy::percent_escaped(chosen->text);
    if (smfi_setreply(ctx, code.data(), xcode.data(), text.data()) != MI_SUCCESS)
        daemon_log::error("libmilter refused the reply " + chosen->to_string());
    return as_given;
}

sfsistat apply(SMFICTX* ctx, const session::Outcome& outcome) {
    const auto& v = outcome.verdict;
    if (v.ok()) return SMFIS_CONTINUE;
    if (outcome.tarpit) Registry::instance().wait_unless_draining(outcome.tarpit_delay);
    if (!set_reply(ctx, v.reply)) return SMFIS_TEMPFAIL;
    return v.action == policy::Verdict::Action::Reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

std::string queue_id_or_noqueue(SMFICTX* ctx) {
    std::string id = macro(ctx, "i");
    return id.empty() ? std::string("NOQUEUE") : id;
}

// Answers `outcome` at `stage` as the negotiation allows: nothing at a stage
// agreed without a reply (SMFIP_NOREPLY; libmilter would drop any other
// answer there and log it at LOG_ERR), where a refusal is held; a held
// refusal at the next stage that may answer (see ReplyGate).
sfsistat answer(SMFICTX* ctx, Stage stage, session::Outcome outcome) {
    auto* c = ensure_connection(ctx);
    std::optional<Stage> held_from;
    auto now = c->gate.answer(stage, std::move(outcome), &held_from);
    if (!now) return SMFIS_NOREPLY;
    if (held_from) {
        daemon_log::info(queue_id_or_noqueue(ctx) + ": stage=" + std::string(stage_name(stage)) +
                         " giving the refusal reached at " + std::string(stage_name(*held_from)) + " (" +
                         now->verdict.reply.to_string() + "), where no reply was negotiated");
    }
    return apply(ctx, *now);
}

// The session decides at `stage` (`decide` returns its Outcome) unless a
// refusal is already held for the next stage that may answer: then the
// events in between need no work.
template <typename F>
sfsistat decide_and_answer(SMFICTX* ctx, Stage stage, F&& decide) {
    if (ensure_connection(ctx)->gate.holding()) return answer(ctx, stage, {});
    return answer(ctx, stage, decide());
}

// An event before connect, or after a connection the MTA reuses without
// connect: a protocol error by the MTA.
sfsistat no_session(SMFICTX* ctx, Stage stage) {
    return answer(ctx, stage, temporary_failure("no session: event before connect"));
}

// While an event is handled its connection is not idle; it is again from
// the moment the event is answered.
class EventScope {
public:
    explicit EventScope(SMFICTX* ctx) : ctx_(ctx) {
        if (auto* c = smfi_getpriv(ctx)) Registry::instance().connections().begin_event(c);
    }
    ~EventScope() {
        // The connection may have been created during the event (connect).
        if (auto* c = smfi_getpriv(ctx_)) Registry::instance().connections().end_event(c, std::chrono::steady_clock::now());
    }
    EventScope(const EventScope&) = delete;
    EventScope& operator=(const EventScope&) = delete;

private:
    SMFICTX* ctx_;
};

// No exception may cross into libmilter: log it and answer a tempfail.
template <typename F>
sfsistat guarded(SMFICTX* ctx, Stage stage, F&& body) {
    const std::string label(stage_name(stage));
    EventScope event(ctx);
    try {
        inject_fault(stage);  // empty outside the test build (fault_injection.hpp)
        return body();
    } catch (const std::exception& e) {
        daemon_log::error(label + ": internal error: " + e.what());
    } catch (...) {
        daemon_log::error(label + ": internal error");
    }
    try {
        return answer(ctx, stage, temporary_failure("internal error"));
    } catch (...) {
        return SMFIS_TEMPFAIL;
    }
}

std::optional<policy::IpAddress> address_of(const sockaddr* sa) {
    if (!sa) return std::nullopt;
    char text[INET6_ADDRSTRLEN] = {};
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
    } else {
        return std::nullopt;
    }
    return policy::IpAddress::parse(text);
}

// The connect event as the MTA sent it, for telling local submissions
// apart (policy::recognise_local_submission). libmilter passes no hostaddr
// for SMFIA_UNKNOWN and a sockaddr_un for SMFIA_UNIX.
policy::ConnectEvidence connect_evidence(const sockaddr* sa) {
    policy::ConnectEvidence e;
    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        e.family = policy::ConnectEvidence::Family::Inet;
        e.address = address_of(sa);
        e.port = ntohs(sa->sa_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(sa)->sin_port
                                                : reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
    } else if (sa && sa->sa_family == AF_UNIX) {
        e.family = policy::ConnectEvidence::Family::Unix;
    }
    return e;  // connect_facts() adds the macros
}

std::vector<std::string> arguments(char** argv) {
    std::vector<std::string> args;
    for (; argv && *argv; ++argv) args.emplace_back(*argv);
    return args;
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) {
    return guarded(ctx, Stage::Connect, [&] {
        if (Registry::instance().draining()) {
            // Shutting down: the MTA tells its client to come back later.
            count_engine_tempfail(EngineTempfail::Draining);
            set_reply(ctx, policy::shutting_down_reply());
            return SMFIS_TEMPFAIL;
        }
        auto* c = ensure_connection(ctx);
        if (c->admission != ConnectionTable::Admission::Serve) {
            // Over the descriptor budget: the MTA tells its client to come
            // back later, before the daemon runs out of descriptors.
            Registry::instance().note_over_budget(ConnectionTable::Admission::Refuse);
            set_reply(ctx, policy::default_reply(policy::ReplyId::TooManyConnections));
            return SMFIS_TEMPFAIL;
        }
        if (!c->session) Registry::instance().session_opened();
        c->session = std::make_unique<session::Session>(
            Registry::instance().runtime(), Registry::instance().shared(),
            [](std::string_view line) { daemon_log::decision(line); });
        c->session->set_header_leading_space(c->leading_space);
        c->session->set_quarantine_available(c->quarantine);
        const auto facts = connect_facts(macros_of(ctx), address_of(hostaddr), hostname ? hostname : "",
                                         connect_evidence(hostaddr));
        auto outcome = c->session->on_connect(facts);
        warn_if_no_binding(facts, *c->session);
        return apply(ctx, outcome);
    });
}

sfsistat on_helo(SMFICTX* ctx, char* helo) {
    return guarded(ctx, Stage::Helo, [&] {
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::Helo);
        return apply(ctx, c->on_helo(helo ? helo : "", security_facts(ctx)));
    });
}

sfsistat on_mail(SMFICTX* ctx, char** argv) {
    return guarded(ctx, Stage::Mail, [&] {
        ensure_connection(ctx)->gate.forget_message();
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::Mail);
        note_queue_id(ctx, c);
        return apply(ctx, c->on_mail(arguments(argv), security_facts(ctx),
                                             std::chrono::steady_clock::now()));
    });
}

sfsistat on_rcpt(SMFICTX* ctx, char** argv) {
    return guarded(ctx, Stage::Rcpt, [&] {
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::Rcpt);
        note_queue_id(ctx, c);
        return apply(ctx, c->on_rcpt(arguments(argv)));
    });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) {
    return guarded(ctx, Stage::Header, [&] {
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::Header);
        return decide_and_answer(ctx, Stage::Header,
                                 [&] { return c->on_header(name ? name : "", value ? value : ""); });
    });
}

sfsistat on_eoh(SMFICTX* ctx) {
    return guarded(ctx, Stage::EndOfHeaders, [&] {
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::EndOfHeaders);
        note_queue_id(ctx, c);
        return decide_and_answer(ctx, Stage::EndOfHeaders, [&] { return c->on_end_of_headers(); });
    });
}

sfsistat on_body(SMFICTX* ctx, unsigned char* data, size_t len) {
    // libmilter also hands us body data that comes with the end of message
    // (SMFIC_BODYEOB) through this callback, and then calls on_eom only when
    // it returned SMFIS_CONTINUE: an SMFIS_NOREPLY there would leave the MTA
    // without an answer. Postfix and sendmail send SMFIC_BODYEOB empty.
    return guarded(ctx, Stage::Body, [&] {
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::Body);
        return decide_and_answer(ctx, Stage::Body, [&] {
            return c->on_body(std::string_view(reinterpret_cast<const char*>(data), len));
        });
    });
}

sfsistat on_eom(SMFICTX* ctx) {
    return guarded(ctx, Stage::EndOfMessage, [&] {
        auto* c = session_of(ctx);
        if (!c) return no_session(ctx, Stage::EndOfMessage);
        note_queue_id(ctx, c);
        // A refusal reached at a stage without a reply is the answer.
        if (ensure_connection(ctx)->gate.holding()) return answer(ctx, Stage::EndOfMessage, {});
        auto outcome = c->on_end_of_message();
        const bool leading_space = static_cast<Connection*>(smfi_getpriv(ctx))->leading_space;
        if (!outcome.verdict.ok()) return apply(ctx, outcome);
        // The quarantine first: if the MTA refuses it, the fallback may be a
        // refusal, and then no header edit is needed.
        if (!outcome.quarantine_reason.empty()) {
            std::string reason = outcome.quarantine_reason;
            if (smfi_quarantine(ctx, reason.data()) != MI_SUCCESS) {
                outcome = c->quarantine_failed(std::move(outcome));
                if (!outcome.verdict.ok()) return apply(ctx, outcome);
            }
        }
        // Deletions first and from the highest index down, so that earlier
        // indexes stay valid; then insertions.
        for (const auto& edit : outcome.header_edits) {
            if (edit.kind != session::HeaderEdit::Kind::Delete) continue;
            std::string name = edit.name;
            if (smfi_chgheader(ctx, name.data(), edit.index, nullptr) != MI_SUCCESS)
                throw std::runtime_error("smfi_chgheader failed for " + name);
        }
        for (const auto& edit : outcome.header_edits) {
            if (edit.kind != session::HeaderEdit::Kind::Insert) continue;
            std::string name = edit.name;
            std::string value = leading_space ? " " + edit.value : edit.value;
            if (smfi_insheader(ctx, edit.index, name.data(), value.data()) != MI_SUCCESS)
                throw std::runtime_error("smfi_insheader failed for " + name);
        }
        return SMFIS_CONTINUE;
    });
}

// libmilter sends no answer to an abort, whatever this returns.
sfsistat on_abort(SMFICTX* ctx) {
    try {
        if (auto* conn = static_cast<Connection*>(smfi_getpriv(ctx))) {
            conn->gate.forget_message();
            if (conn->session) conn->session->on_abort();
        }
    } catch (const std::exception& e) {
        daemon_log::error(std::string("abort: internal error: ") + e.what());
    } catch (...) {
        daemon_log::error("abort: internal error");
    }
    return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* ctx) {
    auto* c = static_cast<Connection*>(smfi_getpriv(ctx));
    if (c) {
        smfi_setpriv(ctx, nullptr);
        // Before libmilter closes the socket (see ConnectionTable::shut_idle).
        Registry::instance().connections().close(c);
        if (c->session) {
            try {
                c->session->on_close();
            } catch (...) {
            }
            Registry::instance().session_closed();
        }
        delete c;
    }
    return SMFIS_CONTINUE;
}

// The macros each stage needs (smfi_setsymlist): only these are sent.
void request_macros(SMFICTX* ctx) {
    for (const auto& list : kRequestedMacros) smfi_setsymlist(ctx, list.stage, const_cast<char*>(list.names));
}

sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                      unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) {
    // Actions: add/insert and delete headers, quarantine; macro lists.
    const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
    *pf0 = f0 & actions;
    // Header values exactly as received (DKIM needs the leading space); no
    // reply for each header, the end of headers and each body chunk (the
    // decision comes at EOM, where a refusal reached earlier is given),
    // which saves a round trip per header and one per message; no unknown
    // commands, no DATA.
    const unsigned long wanted = SMFIP_HDR_LEADSPC | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |
                                 SMFIP_NOUNKNOWN | SMFIP_NODATA;
    *pf1 = f1 & wanted;
    *pf2 = 0;
    *pf3 = 0;
    if (f0 & SMFIF_SETSYMLIST) request_macros(ctx);
    g_last_protocol = *pf1;
    g_last_actions = *pf0;
    auto* c = ensure_connection(ctx);
    c->negotiated(*pf1, *pf0);
    if (c->admission == ConnectionTable::Admission::Close) {
        // Far over the descriptor budget: libmilter closes the connection at
        // once (a refusal at negotiation ends it); the MTA applies its milter
        // default action (Postfix milter_default_action, sendmail F=).
        Registry::instance().note_over_budget(ConnectionTable::Admission::Close);
        return SMFIS_REJECT;
    }
    return SMFIS_CONTINUE;
}

}  // namespace

smfiDesc& filter_description() {
    static smfiDesc desc = {
        const_cast<char*>("connector-milter"),
        SMFI_VERSION,
        SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
        on_connect,
        on_helo,
        on_mail,
        on_rcpt,
        on_header,
        on_eoh,
        on_body,
        on_eom,
        on_abort,
        on_close,
        nullptr,  // unknown
        nullptr,  // data
        on_negotiate,
    };
    return desc;
}

}  // namespace milter
