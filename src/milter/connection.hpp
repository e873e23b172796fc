// One milter connection of the native engine, as a state machine: packets
// in, reply bytes out, session events in between. No I/O and no threads
// here (the event loop reads and writes, the worker pool runs handle());
// one call at a time per connection, so it needs no lock.
//
// It drives session::Session exactly as the libmilter adapter does
// (adapter.cpp): the same macros per stage, the same ReplyGate for the
// stages negotiated without a reply, the same fail-closed answer to an
// internal error, the same header edits in the same order.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "milter/command.hpp"
#include "milter/connection_table.hpp"
#include "milter/macro_store.hpp"
#include "milter/packet.hpp"
#include "milter/reply_gate.hpp"
#include "milter/session_facts.hpp"
#include "session/session.hpp"

namespace milter {

// The bytes to send for a batch of commands.
struct Output {
    std::string now;
    // A tarpitted refusal (session::Outcome::tarpit): it and every reply
    // after it go out after `delay`, which the event loop times (and cuts
    // short when the drain starts).
    std::string after_delay;
    std::chrono::milliseconds delay{0};
    bool close = false;  // QUIT or a protocol error: close once written
    std::string close_reason;  // a protocol error, for the log; empty on QUIT
};

class MilterConnection {
public:
    MilterConnection() = default;
    ~MilterConnection();
    MilterConnection(const MilterConnection&) = delete;
    MilterConnection& operator=(const MilterConnection&) = delete;

    // Handles `packets` in order, appending the replies to `out`. Stops at
    // QUIT or at a malformed packet (out.close).
    void handle(const wire::Batch& packets, Output& out);
    // The worker pool is saturated: answers `packets` without session work,
    // a tempfail wherever the MTA waits for a reply, for the rest of this
    // SMTP session, so that no message is accepted unchecked.
    void shed(const wire::Batch& packets, Output& out);
    // The connection ends (MTA closed it, QUIT, or the daemon stops).
    void close_session();
    // Whether handling `p` may wait (DNS): only a RCPT whose session reads
    // block list answers or gives an SPF verdict left for later there
    // (session::Session::rcpt_may_wait).
    bool rcpt_may_wait() const { return session_ && session_->rcpt_may_wait(); }
    // The same for MAIL (session::Session::mail_may_wait): a shared rate limit.
    bool mail_may_wait() const { return session_ && session_->mail_may_wait(); }
    // The same for the start and end of a session (CONNECT, QUIT, the end
    // of the connection): connection counts kept in Redis ([cluster]).
    static bool connection_may_wait();
    // Whether handling the first `count` packets of `batch` would wait for
    // DNS answers asked ahead that are still on their way: a MAIL (its SPF
    // records, which the first call for that MAIL asks:
    // session::Session::ask_ahead_for_mail; for at most
    // [spf] mail_wait, after which the session gives its SPF verdict later)
    // or an end of message (session::Session::dns_answers_ready). Never
    // waits; the event loop calls it before running those packets, and
    // again until false.
    bool waits_for_dns(const wire::Batch& batch, std::size_t count);
    // Its standing under the descriptor budget when it was accepted.
    void set_admission(ConnectionTable::Admission admission) { admission_ = admission; }

private:
    void dispatch(const Command& c, Output& out);
    void dispatch_shed(const Command& c, Output& out);
    void negotiate(const Command& c, Output& out);
    void send_reply(Output& out, char code, std::string_view data = {});
    void apply(Output& out, const session::Outcome& outcome);
    void answer(Output& out, Stage stage, session::Outcome outcome);
    template <typename F>
    void guarded(Output& out, Stage stage, F&& body);
    void on_connect(const Command& c, Output& out);
    void on_end_of_message(Output& out);
    void ask_ahead_for_mail(const wire::Batch& batch, std::size_t mail);
    MacroLookup macros_at(char stage) const;
    std::string queue_id_or_noqueue(char stage) const;

    bool negotiated_ = false;
    std::uint32_t actions_ = 0;
    std::uint32_t protocol_ = 0;
    // SMFIP_HDR_LEADSPC in effect, for this connection only (libmilter keeps
    // it process-wide): header values arrive with their leading space and
    // the MTA adds none to the headers we insert.
    bool leading_space_ = false;
    bool shedding_ = false;
    // The command handle() parses each packet into, kept for its vectors'
    // room; its views are those of the packet being handled.
    Command parsed_;
    bool mail_asked_ahead_ = false;  // waits_for_dns asked the pending MAIL's questions
    std::chrono::steady_clock::time_point mail_asked_at_;  // when it did
    ConnectionTable::Admission admission_ = ConnectionTable::Admission::Serve;
    ReplyGate gate_;
    MacroStore macros_;
    std::unique_ptr<session::Session> session_;
};

}  // namespace milter
