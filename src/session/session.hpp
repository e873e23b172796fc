// One SMTP connection and its messages, as events in and verdicts out.
// No libmilter types: the milter adapter and the `explain` command drive the
// same code, and tests drive it directly.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dnsbl.hpp"
#include "config/config.hpp"
#include "policy/checks.hpp"
#include "policy/limits.hpp"
#include "policy/local_submission.hpp"
#include "policy/message_checks.hpp"
#include "session/runtime.hpp"

namespace session {

class ConnectorCounters;

// A change to the message's header the MTA must make at end of message.
struct HeaderEdit {
    enum class Kind : std::uint8_t { Insert, Delete };
    Kind kind = Kind::Insert;
    std::string name;
    std::string value;  // Insert
    int index = 0;      // Insert: position (0 = top); Delete: 1-based among headers of that name
};

struct Outcome {
    policy::Verdict verdict;
    bool tarpit = false;  // delay the refusal (unauthenticated session, tarpit_interval > 0)
    std::chrono::milliseconds tarpit_delay{0};
    std::vector<HeaderEdit> header_edits;  // end of message only
    std::string quarantine_reason;         // non-empty: quarantine the message
    // What [milter] quarantine_fallback = reject answers instead: the reply
    // of the check that asked for the quarantine.
    policy::Reply quarantine_refusal;
    policy::ReasonClass quarantine_class = policy::ReasonClass::None;  // that check's, for the counters
};

// The parts of the MTA's macros each stage needs, already read out.
struct ConnectFacts {
    std::optional<policy::IpAddress> client;  // null: not an IP connection (local pipe)
    std::string client_name;                  // reverse name or "[ip]"
    policy::LocalEndpoint local;
    std::string mta_name;                     // macro j
    // The connect event as the MTA sent it: tells a local submission
    // (policy::recognise_local_submission) from a network client.
    policy::ConnectEvidence evidence;
};

struct SecurityFacts {
    policy::ClientIdentity identity;  // auth and TLS, as known at this stage
};

using LogFn = std::function<void(std::string_view)>;

class Session {
public:
    Session(std::shared_ptr<const Runtime> runtime, std::shared_ptr<Shared> shared, LogFn log);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Outcome on_connect(const ConnectFacts& facts);
    Outcome on_helo(std::string_view helo, const SecurityFacts& security);
    // args[0] is the path, the rest ESMTP parameters ("SIZE=1000").
    Outcome on_mail(const std::vector<std::string>& args, const SecurityFacts& security,
                    std::chrono::steady_clock::time_point now);
    Outcome on_rcpt(const std::vector<std::string>& args);
    // Whether on_rcpt may wait: connection filtering reads the block list
    // answers it asked at connect there, and an SPF verdict on_mail left
    // for later may be given there. When it may not, the native engine
    // answers RCPT on its event loop (milter/engine.cpp); anything else that
    // makes on_rcpt wait must make this true as well.
    bool rcpt_may_wait() const;
    // Whether on_mail may wait for something besides the DNS answers asked
    // ahead for it: a message rate limit kept in a shared store (Redis).
    // When it may not, the native engine runs MAIL on its event loop.
    bool mail_may_wait() const;
    // Whether the DNS answers asked ahead for the current message (at MAIL
    // and end of headers) are all in: until then on_end_of_message would
    // wait for them, and the native engine keeps it off its workers (so
    // that a slow name server holds sessions, not threads). Never waits.
    bool dns_answers_ready();
    // MAIL FROM's SPF check, asked ahead (issue 14): before on_mail runs,
    // the native engine hands the MAIL here on its event loop, which starts
    // the DNS questions the check begins with (the MAIL FROM identity's SPF
    // record, and the HELO name's) and nothing else: no limit store, no
    // counters, no log. on_mail with the same path then reads their answers;
    // until mail_answers_ready() the engine keeps the MAIL off its workers.
    // Never waits; any later call replaces what an earlier one asked.
    void ask_ahead_for_mail(const std::vector<std::string>& args, const SecurityFacts& security);
    bool mail_answers_ready();
    // Whether on_mail may leave the SPF verdict for later when the records
    // asked ahead are not all in yet (the native engine, which holds the
    // MAIL for them at most [spf] mail_wait): MAIL is then answered, and the
    // verdict is given by the first on_rcpt that finds them in (RCPT then
    // may wait: includes are asked in turn), else by on_end_of_message,
    // whose answers then include them. Off: on_mail waits for them.
    void defer_spf_when_unanswered(bool on) { spf_deferrable_ = on; }
    // The native engine runs on_header, on_end_of_headers, on_abort, and
    // on_rcpt unless rcpt_may_wait(), on its event-loop thread
    // (milter/engine.cpp, runs_on_loop): they must never wait (no DNS, no
    // sleep); what may wait belongs in the other stages, which run on the
    // worker pool.
    Outcome on_header(std::string_view name, std::string_view value);
    Outcome on_end_of_headers();
    Outcome on_body(std::string_view chunk);
    Outcome on_end_of_message();
    void on_abort();  // the message is abandoned; the connection goes on
    void on_close();

    void set_queue_id(std::string_view id);
    // SMFIP_HDR_LEADSPC: header values carry their leading space, and the
    // values of headers we insert must carry one too.
    void set_header_leading_space(bool on) { header_leading_space_ = on; }
    // Whether the MTA offered the quarantine action (SMFIF_QUARANTINE); when
    // it did not, a quarantine verdict becomes [milter] quarantine_fallback.
    void set_quarantine_available(bool on) { quarantine_available_ = on; }
    // The MTA refused the quarantine request of `outcome` (an end of message
    // outcome): the same fallback, logged.
    Outcome quarantine_failed(Outcome outcome);

    // Octets of header text the current message holds here (the From:
    // headers kept for the sender check and DMARC; DKIM's copy is
    // libopendkim's), for tests and diagnostics.
    std::uint64_t header_octets_held() const;

    const policy::Connector* connector() const { return connector_; }
    const policy::SessionRights& rights() const { return rights_; }
    const policy::Selection& selection() const { return selection_; }
    // Not No: the session is a local submission (no network client).
    policy::LocalSubmission local_submission() const { return local_; }
    // Which of SPF, DKIM and DMARC a message sent now would get, and why not
    // (the connector's checks, the session's rights, the global switches).
    policy::CheckPlan check_plan() const;
    // DKIM signing for a message whose signing address (From:, or the
    // envelope sender with sign_by = "mail_from") is `address`: "would sign
    // as d=... s=... a=... + ..." or why not (message_sign.cpp). Empty
    // when no signing is configured.
    std::string signing_plan(std::string_view address) const;
    const Runtime& runtime() const { return *runtime_; }
    // Connection filtering as the session sees it (for `explain`): what
    // the IP lists said at connect, and the block list answers, waited for
    // if they have not been read yet. Empty when no lookup was started.
    std::string connection_filter_note() const { return filter_note_; }
    // (Inline: explain calls it, and the benchmark's null session, which
    // replaces session.cpp, links explain without this folder's objects.)
    std::vector<auth::BlockListResult> block_list_results() {
        return block_lists_ ? block_lists_->results() : std::vector<auth::BlockListResult>{};
    }
    // The connection limit checked at connect and the message rate limit
    // checked at the last MAIL: "LIMIT=N: C counted (STORE)".
    const std::string& connection_limits() const { return connection_limits_; }
    const std::string& rate_limit() const { return rate_limit_; }

private:
    struct Message;
    Outcome finish(policy::Verdict verdict, std::string_view stage);
    // Counts the answer at `stage` (session/counters.hpp).
    void count(std::string_view stage, const Outcome& outcome);
    // The session goes on after `stage`: counted, and the empty Outcome.
    Outcome continued(std::string_view stage);
    Outcome connect_local();
    // A refusal reached while the message comes in (HEADER, BODY): logged
    // once, the message's memory given back, the same answer at EOH and EOM.
    Outcome refuse_message(policy::Verdict verdict, std::string_view stage);
    void log_line(std::string_view stage, const policy::Verdict& verdict);
    void resolve_rights(const SecurityFacts& security);
    // The connection limits for a new session: nullopt when admitted.
    std::optional<Outcome> count_connection(std::string_view who);
    void reset_message();
    // `own_stage`: the check is a stage of its own (MAIL, RCPT), not part
    // of end of message, whose DNS answers are read after it.
    policy::Verdict check_spf(bool own_stage);
    // The verdict on_mail left for later, given now (RCPT: `own_stage`;
    // end of message); the message no longer waits for one once it returns.
    policy::Verdict decide_spf_left_for_later(bool own_stage);
    // Starts the SPF check's first questions for `m` (check_spf).
    void ask_spf_ahead(Message& m);
    std::uint32_t spf_reserve(const Message& m) const;
    // End of headers: asks the DKIM key records and the DMARC record the
    // end of message will read (message_auth.cpp).
    void start_message_lookups();
    Outcome authenticate_message();
    // DKIM signing (message_sign.cpp).
    void plan_signing();
    void start_signing();
    void sign_body(std::string_view chunk);
    Outcome sign_message(Outcome outcome);
    // `delivered`: what to log when the fallback delivers the message.
    Outcome without_quarantine(Outcome outcome, std::string_view why, std::string* delivered);
    // Connection filtering (connection_filtering.cpp): the IP lists are
    // read and the block list lookups start at connect; RCPT reads them.
    void start_connection_filtering();
    policy::Verdict check_connection_filtering(const policy::SmtpPath& recipient);

    std::shared_ptr<const Runtime> runtime_;
    std::shared_ptr<Shared> shared_;
    LogFn log_;
    ConnectFacts connect_;
    std::string helo_;
    policy::Selection selection_;
    const policy::Connector* connector_ = nullptr;
    policy::LocalSubmission local_ = policy::LocalSubmission::No;
    // The counters of the session's connector, from the runtime; those of
    // "(none)" until a connector takes the session. Null: not counted.
    const ConnectorCounters* counters_ = nullptr;
    state::ConnectionLease lease_;  // the counted connection
    // The limits checked, with store and count, for the log and `explain`.
    std::string connection_limits_;
    std::string rate_limit_;  // the current message's
    std::string connection_source_;
    policy::SessionRights rights_;
    bool tls_ = false;
    std::string queue_id_;
    bool header_leading_space_ = false;
    bool quarantine_available_ = true;
    bool spf_deferrable_ = false;
    std::unique_ptr<Message> message_;
    // The next message as ask_ahead_for_mail started it, for the MAIL whose
    // path is mail_ahead_path_; on_mail takes it over or drops it.
    std::unique_ptr<Message> mail_ahead_;
    std::string mail_ahead_path_;
    std::string summary_;  // the message's verdicts, for the EOM log line
    const policy::IpListEntry* ip_allowed_ = nullptr;  // [[ip_allow]] entry of the client
    const policy::IpListEntry* ip_blocked_ = nullptr;  // [[ip_block]] entry of the client
    std::string filter_note_;
    std::unique_ptr<auth::BlockListCheck> block_lists_;
    bool block_lists_logged_ = false;
};

}  // namespace session
