#include "session/session.hpp"
#include "session/session_message.hpp"
#include "session/auth_decisions.hpp"
#include "session/counters.hpp"

#include <charconv>

#include "auth/arc.hpp"
#include "auth/authres.hpp"
#include "auth/dkim.hpp"
#include "auth/dmarc.hpp"
#include "auth/dnsbl.hpp"
#include "auth/spf.hpp"
#include "dns/resolver.hpp"
#include "log/record.hpp"
#include "policy/address.hpp"
#include "util/plural.hpp"
#include "util/ascii.hpp"

namespace session {

namespace {

// RFC 1870: "SIZE=" esmtp-value. A malformed value is ignored here: the MTA
// has already validated the parameter syntax before calling the milter.
std::optional<std::uint64_t> size_parameter(const std::vector<std::string>& args) {
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a.size() > 5 && util::ascii_iequals(a.substr(0, 5), "SIZE=")) {
            std::uint64_t value = 0;
            auto digits = a.substr(5);
            auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
            if (ec == std::errc() && ptr == digits.data() + digits.size()) return value;
        }
    }
    return std::nullopt;
}

// The SPF budget (after what DKIM and DMARC keep) under which the HELO
// name's record is not asked ahead: room for both identities' records and
// ten DNS-querying terms each (RFC 7208 section 4.6.4) with one to spare.
// connector-milter.conf(5), [dns].
constexpr std::uint32_t kSpfLookAheadRoom = 24;

}  // namespace

Session::Session(std::shared_ptr<const Runtime> runtime, std::shared_ptr<Shared> shared, LogFn log)
    : runtime_(std::move(runtime)), shared_(std::move(shared)), log_(std::move(log)),
      counters_(runtime_ ? runtime_->counters(nullptr) : nullptr) {}

Session::~Session() { on_close(); }

void Session::set_queue_id(std::string_view id) {
    if (!id.empty()) queue_id_ = std::string(id);
}

// One decision line, in the format of the session's configuration
// (log/record.hpp; the fields are documented in connector-milter(8)).
void Session::log_line(std::string_view stage, const policy::Verdict& verdict) {
    if (!log_) return;
    using daemon_log::TextStyle;
    daemon_log::Record record;
    record.queue_id = queue_id_.empty() ? std::string("NOQUEUE") : queue_id_;
    record.fields.reserve(8);
    record.fields.push_back({"stage", std::string(stage), TextStyle::Bare});
    record.fields.push_back({"connector", connector_ ? connector_->name : std::string("(none)"), TextStyle::Quoted});
    record.fields.push_back({"client",
                             local_ != policy::LocalSubmission::No ? std::string("local submission")
                             : connect_.client                     ? connect_.client->to_string()
                                                                   : std::string("local"),
                             TextStyle::Bracketed});
    record.fields.push_back({"rights", rights_.describe(), TextStyle::Bare});
    if (verdict.ok()) {
        record.fields.push_back({"action", "continue", TextStyle::Bare});
    } else {
        record.fields.push_back(
            {"action", verdict.action == policy::Verdict::Action::Reject ? "reject" : "tempfail", TextStyle::Bare});
        record.fields.push_back({"reply", verdict.reply.to_string(), TextStyle::Quoted});
    }
    if (!verdict.reason.empty()) record.fields.push_back({"reason", verdict.reason, TextStyle::Quoted});
    log_(daemon_log::render(record, runtime_->config->milter.log_format));
}

void Session::count(std::string_view stage, const Outcome& outcome) {
    if (!counters_) return;
    const CountedStage at = counted_stage(stage);
    const auto& v = outcome.verdict;
    if (!v.ok()) {
        counters_->decision(at, v.action == policy::Verdict::Action::Reject ? CountedAction::Reject
                                                                              : CountedAction::TempFail,
                            v.reason_class);
        if (at == CountedStage::Connect) counters_->session_refused();
    } else if (!outcome.quarantine_reason.empty()) {
        counters_->decision(at, CountedAction::Quarantine, outcome.quarantine_class);
    } else {
        counters_->decision(at, CountedAction::Continue, policy::ReasonClass::None);
    }
}

Outcome Session::continued(std::string_view stage) {
    Outcome outcome;
    count(stage, outcome);
    return outcome;
}

Outcome Session::finish(policy::Verdict verdict, std::string_view stage) {
    Outcome outcome;
    if (!verdict.ok()) {
        log_line(stage, verdict);
        // Exchange's tarpit: refusals to unauthenticated sessions are slowed
        // down so that directory harvesting and relay probing are expensive.
        if (connector_ && !rights_.authenticated && !rights_.externally_secured &&
            connector_->tarpit_interval.count() > 0) {
            outcome.tarpit = true;
            outcome.tarpit_delay = connector_->tarpit_interval;
        }
    }
    outcome.verdict = std::move(verdict);
    count(stage, outcome);
    return outcome;
}

void Session::resolve_rights(const SecurityFacts& security) {
    if (!connector_) return;
    tls_ = security.identity.tls;
    rights_ = policy::resolve_session_rights(*connector_, security.identity,
                                             runtime_->config->certificate_map);
}

Outcome Session::on_connect(const ConnectFacts& facts) {
    const StageTimer timer(runtime_->metrics_now, CountedStage::Connect);
    connect_ = facts;
    const auto& cfg = *runtime_->config;
    local_ = policy::recognise_local_submission(facts.evidence);
    if (local_ != policy::LocalSubmission::No) return connect_local();
    if (!facts.client) {
        // A local connection (sendmail -bs, a pipe) has no client IP to match
        // remote ranges against: no connector applies.
        policy::Verdict v = policy::Verdict::refuse(policy::default_reply(policy::ReplyId::NoConnector),
                                                    "connection has no client IP address",
                                                    policy::ReasonClass::Connector);
        return finish(std::move(v), "CONNECT");
    }
    selection_ = cfg.connectors.select(facts.local, *facts.client);
    if (!selection_.undecidable.empty() &&
        cfg.milter.unknown_binding == config::MilterSettings::UnknownBinding::TempFail) {
        // Issue 12: never let a missing macro turn into a wider connector.
        selection_.chosen = nullptr;
        return finish(policy::Verdict::refuse(policy::default_reply(policy::ReplyId::NoConnector),
                                              "connector choice needs the local address and port: " +
                                                  selection_.undecidable + " (milter.unknown_binding)",
                                              policy::ReasonClass::Connector),
                      "CONNECT");
    }
    connector_ = selection_.chosen;
    if (connector_ && runtime_->counters(connector_)) counters_ = runtime_->counters(connector_);
    if (!connector_) {
        std::string why = "no enabled connector matches local ";
        why += facts.local.address ? facts.local.address->to_string() : std::string("?");
        why += ":";
        why += facts.local.port ? std::to_string(*facts.local.port) : std::string("?");
        if (!facts.local.daemon_name.empty()) why += " (" + facts.local.daemon_name + ")";
        why += " and client " + facts.client->to_string();
        return finish(policy::Verdict::refuse(policy::default_reply(policy::ReplyId::NoConnector),
                                              std::move(why), policy::ReasonClass::Connector),
                      "CONNECT");
    }
    rights_ = policy::resolve_session_rights(*connector_, {}, cfg.certificate_map);
    connection_source_ = facts.client->to_string();
    if (auto refused = count_connection(connection_source_)) return std::move(*refused);
    start_connection_filtering();
    if (counters_) counters_->session_opened();
    policy::Verdict accepted;
    accepted.reason = "connector chosen; " + connection_limits_;
    if (!filter_note_.empty()) accepted.reason += "; connection filtering: " + filter_note_;
    log_line("CONNECT", accepted);
    return continued("CONNECT");
}

std::optional<Outcome> Session::count_connection(std::string_view who) {
    const state::LimitCheck check = shared_->limits->open_connection(*connector_, connection_source_, &lease_);
    connection_limits_ = "connections: " + check.describe();
    switch (check.outcome) {
        case state::LimitCheck::Outcome::Admitted: return std::nullopt;
        case state::LimitCheck::Outcome::OverLimit:
            return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::TooManyConnections),
                                                  "connection limit of the connector reached for " +
                                                      std::string(who) + ": " + check.describe(),
                                                  policy::ReasonClass::Connections),
                          "CONNECT");
        case state::LimitCheck::Outcome::Unavailable: break;
    }
    // [cluster] on_unavailable = tempfail: nothing is admitted unchecked.
    return finish(policy::Verdict::refuse(policy::internal_error_reply(),
                                          "shared connection limits cannot be checked: " + check.error +
                                              " (cluster.on_unavailable = tempfail)",
                                          policy::ReasonClass::Cluster),
                  "CONNECT");
}

// A program on this machine handed the mail to the MTA: the connector bound
// to "local" (or the built-in one) applies, as to a session without login.
// Exchange's Pickup directory works the same way: whoever may write to it
// is not asked to pass the receive connectors.
Outcome Session::connect_local() {
    const auto& cfg = *runtime_->config;
    selection_ = cfg.connectors.select_local();
    connector_ = selection_.chosen;
    if (runtime_->counters(connector_)) counters_ = runtime_->counters(connector_);
    rights_ = policy::resolve_session_rights(*connector_, {}, cfg.certificate_map);
    connection_source_ = "local";
    if (auto refused = count_connection("local submissions")) return std::move(*refused);
    if (counters_) counters_->session_opened();
    policy::Verdict accepted;
    accepted.reason = "local submission: " + std::string(policy::describe(local_)) + "; connector chosen; " +
                      connection_limits_;
    log_line("CONNECT", accepted);
    return continued("CONNECT");
}

Outcome Session::on_helo(std::string_view helo, const SecurityFacts& security) {
    const StageTimer timer(runtime_->metrics_now, CountedStage::Helo);
    helo_ = std::string(helo);
    if (!connector_) return {};
    resolve_rights(security);
    return finish(policy::check_helo(*connector_, helo), "HELO");
}

Outcome Session::on_mail(const std::vector<std::string>& args, const SecurityFacts& security,
                         std::chrono::steady_clock::time_point now) {
    const StageTimer timer(runtime_->metrics_now, CountedStage::Mail);
    reset_message();
    rate_limit_.clear();
    // What ask_ahead_for_mail started for this MAIL, if it was this one.
    std::unique_ptr<Message> ahead = std::move(mail_ahead_);
    if (ahead && mail_ahead_path_ != (args.empty() ? std::string() : args[0])) ahead.reset();
    if (!connector_) {
        return finish(policy::Verdict::refuse(policy::default_reply(policy::ReplyId::NoConnector),
                                              "no connector", policy::ReasonClass::Connector),
                      "MAIL");
    }
    // SMTP AUTH and STARTTLS happen after connect: the principal is decided
    // again at every transaction.
    resolve_rights(security);
    const auto& cfg = *runtime_->config;
    auto parsed = policy::parse_smtp_path(args.empty() ? std::string_view() : std::string_view(args[0]));
    if (!parsed.path) {
        return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::InvalidAddress),
                                              "sender: " + parsed.error, policy::ReasonClass::Address),
                      "MAIL");
    }
    auto verdict = policy::check_mail(*connector_, rights_, tls_, *parsed.path, size_parameter(args),
                                      cfg.accepted_domains, cfg.sender_logins);
    if (!verdict.ok()) return finish(std::move(verdict), "MAIL");

    if (connector_->message_rate_limit) {
        std::string key;
        switch (connector_->message_rate_source) {
            case policy::RateSource::IpAddress: key = connection_source_; break;
            case policy::RateSource::User:
                key = rights_.authenticated ? "user:" + rights_.login : connection_source_;
                break;
            case policy::RateSource::All: key = "*"; break;
        }
        const state::LimitCheck check = shared_->limits->admit_message(*connector_, key, now);
        if (check.outcome == state::LimitCheck::Outcome::OverLimit) {
            return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::RateLimited),
                                                  "message rate limit reached for " + key + ": " + check.describe(),
                                                  policy::ReasonClass::Rate),
                          "MAIL");
        }
        if (check.outcome == state::LimitCheck::Outcome::Unavailable) {
            return finish(policy::Verdict::refuse(policy::internal_error_reply(),
                                                  "shared message rate limit cannot be checked for " + key + ": " +
                                                      check.error + " (cluster.on_unavailable = tempfail)",
                                                  policy::ReasonClass::Cluster),
                          "MAIL");
        }
        rate_limit_ = "rate of " + key + ": " + check.describe();
    }
    message_ = ahead ? std::move(ahead) : std::make_unique<Message>(cfg.dns);
    message_->sender = std::move(*parsed.path);
    message_->checks = check_plan();
    plan_signing();
    if (message_->checks.runs(policy::MessageCheck::Spf)) {
        if (spf_deferrable_ && runtime_->spf && connect_.client && !message_->prefetch.answered()) {
            // Its records are still on their way (defer_spf_when_unanswered).
            message_->spf_left_for_later = true;
            message_->prefetch.stage_over();
            return continued("MAIL");
        }
        auto spf = check_spf(true);
        if (!spf.ok()) {
            reset_message();
            return finish(std::move(spf), "MAIL");
        }
    }
    return continued("MAIL");
}

policy::CheckPlan Session::check_plan() const {
    const auto& cfg = *runtime_->config;
    policy::CheckSet enabled;
    if (cfg.spf.enabled && runtime_->spf) enabled.add(policy::MessageCheck::Spf);
    if (cfg.dkim.enabled && runtime_->dkim) enabled.add(policy::MessageCheck::Dkim);
    if (cfg.dmarc.enabled && runtime_->dmarc) enabled.add(policy::MessageCheck::Dmarc);
    // A local submission has no SMTP client whose address SPF could judge
    // (RFC 7208 section 2.4 checks the client that sent MAIL FROM; the
    // 127.0.0.1 the MTA shows is a stand-in), and the mail is the
    // machine's own: SPF, DKIM and DMARC are not run for it.
    return policy::plan_checks(connector_ ? connector_->checks : policy::CheckSet(),
                               rights_.rights.has(policy::Right::BypassAntiSpam), enabled,
                               local_ != policy::LocalSubmission::No);
}

void Session::ask_ahead_for_mail(const std::vector<std::string>& args, const SecurityFacts& security) {
    mail_ahead_.reset();
    mail_ahead_path_ = args.empty() ? std::string() : args[0];
    if (!connector_ || !connect_.client || !runtime_->spf) return;
    const auto& cfg = *runtime_->config;
    // The rights and the policy check as on_mail will decide them (SMTP
    // AUTH and STARTTLS come after connect), so that a MAIL refused on
    // policy asks nothing. The message rate limit (a limit store that may
    // be Redis) is on_mail's alone: a MAIL it refuses has asked its records.
    resolve_rights(security);
    auto parsed = policy::parse_smtp_path(mail_ahead_path_);
    if (!parsed.path) return;
    if (!policy::check_mail(*connector_, rights_, tls_, *parsed.path, size_parameter(args), cfg.accepted_domains,
                            cfg.sender_logins)
             .ok())
        return;
    auto m = std::make_unique<Message>(cfg.dns);
    m->sender = std::move(*parsed.path);
    m->checks = check_plan();
    if (!m->checks.runs(policy::MessageCheck::Spf)) return;
    ask_spf_ahead(*m);
    mail_ahead_ = std::move(m);
}

bool Session::mail_answers_ready() { return !mail_ahead_ || mail_ahead_->prefetch.ready(); }

// What DKIM (one key per verified signature), ARC and DMARC need later,
// less what of it they already asked (an SPF check left for later).
std::uint32_t Session::spf_reserve(const Message& m) const {
    const auto& cfg = *runtime_->config;
    const std::uint32_t later = (m.checks.runs(policy::MessageCheck::Dkim) ? cfg.dkim.max_signatures : 0) +
                                (m.checks.runs(policy::MessageCheck::Dkim) && runtime_->arc ? auth::kArcReservedQueries : 0) +
                                (m.checks.runs(policy::MessageCheck::Dmarc) ? auth::kDmarcMaxQueries : 0);
    return later > m.asked_for_later ? later - m.asked_for_later : 0;
}

// The records the SPF check begins with, all asked at once (dns::Prefetch),
// charged to SPF's share of the budget; a question already started (by
// ask_ahead_for_mail) is not asked again.
void Session::ask_spf_ahead(Message& m) {
    const auto& cfg = *runtime_->config;
    const std::uint32_t reserve = spf_reserve(m);
    const std::uint32_t unused = m.max_queries > m.queries_used ? m.max_queries - m.queries_used : 0;
    const std::uint32_t spf_room = unused > reserve ? unused - reserve : 0;
    if (spf_room == 0) return;  // the check itself will find no room
    m.with_budget(runtime_->now,
        [&] {
            // RFC 7208 section 4.3: the check's first question is the
            // identity's record: MAIL FROM's domain, or for the null sender
            // the HELO name (section 2.4). It is asked by the check anyway.
            const std::string_view identity = m.sender.null_path ? std::string_view(helo_) : std::string_view(m.sender.domain);
            if (const auto name = auth::spf_record_name(identity))
                m.prefetch.start(*runtime_->resolver, *name, dns::Type::TXT, m.budget, cfg.dns.timeout);
            // The HELO identity's record (section 2.3) beside it, so that its
            // answer comes in while MAIL FROM's record is being checked; only
            // with room in the budget for both checks' usual work
            // (kSpfLookAheadRoom), since it is charged first.
            if (cfg.spf.check_helo && !helo_.empty() && spf_room >= kSpfLookAheadRoom)
                if (const auto name = auth::spf_record_name(helo_))
                    m.prefetch.start(*runtime_->resolver, *name, dns::Type::TXT, m.budget, cfg.dns.timeout);
        },
        reserve);
}

// RFC 7208: the MAIL FROM identity (section 2.4; for the null sender the
// HELO identity stands in) and, when configured, the HELO identity (section
// 2.3). The configured actions decide what a result does at MAIL.
policy::Verdict Session::check_spf(bool own_stage) {
    const auto& cfg = *runtime_->config;
    if (!runtime_->spf || !connect_.client) return policy::Verdict::accept();
    auto& m = *message_;
    const std::string receiver = runtime_->authserv_id;
    ask_spf_ahead(m);
    m.with_budget(runtime_->now,
        [&] {
            m.spf_mailfrom =
                runtime_->spf->check_mailfrom(*connect_.client, helo_, m.sender.address(), receiver, m.budget);
            if (cfg.spf.check_helo && !helo_.empty())
                m.spf_helo = runtime_->spf->check_helo(*connect_.client, helo_, receiver, m.budget);
        },
        spf_reserve(m));
    // End of message's questions (asked at end of headers) are waited for
    // from when end of message comes (dns::Prefetch::ready).
    if (own_stage) m.prefetch.stage_over();
    if (m.spf_mailfrom) count_spf_result(false, m.spf_mailfrom->result);
    if (m.spf_helo) count_spf_result(true, m.spf_helo->result);

    // The decision is decide_spf's; applying it is this session's.
    auto act = [&](const auth::SpfVerdict& v, std::string_view which) -> policy::Verdict {
        const SpfDecision d = decide_spf(cfg.spf, v, which);
        switch (d.action) {
            case CheckAction::Reject: {
                policy::Reply r = connector_->replies.get(d.reply);
                // RFC 7208 section 6.2: the domain's explanation goes to the
                // client; it comes from DNS, so with_detail makes it safe to send.
                if (!d.explanation.empty()) r = r.with_detail(": ", d.explanation);
                return policy::Verdict::refuse(r, d.reason, policy::ReasonClass::Spf);
            }
            case CheckAction::Defer:
                return policy::Verdict::refuse(connector_->replies.get(d.reply), d.reason, policy::ReasonClass::Spf);
            case CheckAction::Quarantine:
                // Takes effect at the end of the message.
                if (m.quarantine_reason.empty()) {
                    m.quarantine_reason = d.reason;
                    m.quarantine_refusal = connector_->replies.get(d.reply);
                    m.quarantine_class = policy::ReasonClass::Spf;
                }
                return policy::Verdict::accept();
            case CheckAction::Deliver: return policy::Verdict::accept();
        }
        return policy::Verdict::accept();
    };
    auto verdict = act(*m.spf_mailfrom, m.sender.null_path ? "HELO (null sender)" : "MAIL FROM");
    if (!verdict.ok()) return verdict;
    if (m.spf_helo) return act(*m.spf_helo, "HELO");
    return policy::Verdict::accept();
}

Outcome Session::on_rcpt(const std::vector<std::string>& args) {
    const StageTimer timer(runtime_->metrics_now, CountedStage::Rcpt);
    if (!connector_ || !message_) {
        return finish(policy::Verdict::refuse(policy::default_reply(policy::ReplyId::NoConnector),
                                              "RCPT without an accepted MAIL",
                                              connector_ ? policy::ReasonClass::Internal
                                                         : policy::ReasonClass::Connector),
                      "RCPT");
    }
    // An SPF verdict left for later: given by the first RCPT that finds its
    // records in, before anything else, as at MAIL; a refusal holds for
    // the rest of the message.
    if (message_->refused) return *message_->refused;
    if (message_->spf_left_for_later && message_->prefetch.answered()) {
        auto spf = decide_spf_left_for_later(true);
        if (!spf.ok()) return refuse_message(std::move(spf), "RCPT");
    }
    auto parsed = policy::parse_smtp_path(args.empty() ? std::string_view() : std::string_view(args[0]));
    if (!parsed.path || parsed.path->null_path) {
        return finish(policy::Verdict::refuse(connector_->replies.get(policy::ReplyId::InvalidAddress),
                                              "recipient: " + (parsed.path ? std::string("null path") : parsed.error),
                                              policy::ReasonClass::Address),
                      "RCPT");
    }
    auto verdict = policy::check_rcpt(*connector_, rights_, *parsed.path, message_->recipients.size(),
                                      runtime_->config->accepted_domains);
    if (!verdict.ok()) return finish(std::move(verdict), "RCPT");
    // Exchange's connection filtering refuses at RCPT, after the relay
    // check, so that exempt recipients (postmaster) can still be reached.
    verdict = check_connection_filtering(*parsed.path);
    if (!verdict.ok()) return finish(std::move(verdict), "RCPT");
    message_->recipients.push_back(std::move(*parsed.path));
    return continued("RCPT");
}

Outcome Session::on_header(std::string_view name, std::string_view value) {
    if (!message_ || message_->refused) return {};
    // "Name:" value CRLF as stored; without SMFIP_HDR_LEADSPC the MTA took
    // away the space after the colon.
    const std::uint64_t octets = name.size() + 1 + (header_leading_space_ ? 0 : 1) + value.size() + 2;
    message_->size += octets;
    message_->header_size += octets;
    // The limits are checked as the headers come in, so that a client
    // cannot make us hold more than max_header_size of them: the header
    // that crosses a limit is the last one looked at.
    auto verdict = policy::check_header_size(*connector_, message_->header_size);
    if (verdict.ok()) verdict = policy::check_message_size(*connector_, rights_, message_->size);
    if (!verdict.ok()) return refuse_message(std::move(verdict), "HEADER");
    if (util::ascii_iequals(name, "From")) message_->from_headers.emplace_back(std::string(name), std::string(value));
    bool forged = false;
    if (util::ascii_iequals(name, "Authentication-Results")) {
        // RFC 8601 section 5: remove headers that claim to come from us (or
        // from hosts the config names), whatever their case or shape.
        ++message_->authres_seen;
        auto ids = runtime_->config->milter.strip_authserv_ids;
        ids.push_back(runtime_->authserv_id);
        if (auth::claims_authserv_id(value, ids)) {
            message_->forged_authres.push_back(message_->authres_seen);
            forged = true;  // removed at end of message: not part of what is signed
        }
    }
    if (message_->sign_wanted && !forged)
        // Without SMFIP_HDR_LEADSPC the MTA took away the space after the
        // colon; the delivered header has it, and "simple" hashes it.
        message_->sign_headers.emplace_back(std::string(name),
                                            header_leading_space_ ? std::string(value) : " " + std::string(value));
    if (message_->checks.runs(policy::MessageCheck::Dkim)) {
        if (!message_->dkim) message_->dkim = runtime_->dkim->start(queue_id_);
        if (message_->dkim) message_->dkim->header(name, value);
        if (!message_->arc && runtime_->arc) message_->arc = runtime_->arc->start();
        if (message_->arc) message_->arc->header(name, value);
    }
    return {};
}

std::uint64_t Session::header_octets_held() const {
    std::uint64_t held = 0;
    if (message_)
        for (const auto& [name, value] : message_->from_headers) held += name.size() + value.size();
    return held;
}

Outcome Session::refuse_message(policy::Verdict verdict, std::string_view stage) {
    Outcome outcome = finish(std::move(verdict), stage);
    // Give back what the message holds now rather than at its end: the
    // client may go on sending for a long time.
    message_->from_headers = {};
    message_->forged_authres = {};
    message_->dkim.reset();
    message_->sign_headers = {};
    message_->signer.reset();
    message_->own_check.reset();
    message_->arc.reset();
    Outcome again = outcome;
    again.tarpit = false;  // the client waited once
    message_->refused = std::move(again);
    return outcome;
}

Outcome Session::on_end_of_headers() {
    const StageTimer timer(runtime_->metrics_now, CountedStage::EndOfHeaders);
    if (!connector_ || !message_) return {};
    if (message_->refused) return *message_->refused;
    if (message_->dkim) message_->dkim->end_of_headers();  // no key is fetched before finish()
    if (message_->arc) message_->arc->end_of_headers();
    const auto& cfg = *runtime_->config;
    // The sender check applies to the From: header as well as the envelope
    // (Exchange checks both).
    for (const auto& [name, value] : message_->from_headers) {
        auto list = policy::parse_mailbox_list(value);
        if (!list.error.empty()) {
            // A From: we cannot read could still show one of our domains in
            // a mail reader; only a session that may send as any sender, our
            // domains included, gets past it.
            if (rights_.rights.has(policy::Right::AcceptAnySender) &&
                rights_.rights.has(policy::Right::AcceptAuthoritativeDomainSender))
                continue;
            auto id = rights_.authenticated ? policy::ReplyId::SenderDenied : policy::ReplyId::AnonymousSenderDenied;
            return finish(policy::Verdict::refuse(connector_->replies.get(id),
                                                  "From: header does not parse (" + list.error +
                                                      ") and the session may not send as any sender",
                                                  policy::ReasonClass::Sender),
                          "EOH");
        }
        for (const auto& mailbox : list.mailboxes) {
            auto verdict = policy::check_sender(*connector_, rights_, mailbox.as_path(), cfg.accepted_domains,
                                                cfg.sender_logins);
            if (!verdict.ok()) {
                verdict.reason = "From: header: " + verdict.reason;
                return finish(std::move(verdict), "EOH");
            }
        }
    }
    start_message_lookups();
    start_signing();
    return continued("EOH");
}

Outcome Session::on_body(std::string_view chunk) {
    if (!message_ || message_->refused) return {};
    message_->size += chunk.size();
    // Refused at the chunk that crosses the limit: no more body hashing for
    // a message that will not be accepted.
    auto verdict = policy::check_message_size(*connector_, rights_, message_->size);
    if (!verdict.ok()) return refuse_message(std::move(verdict), "BODY");
    if (message_->dkim) message_->dkim->body(chunk);
    sign_body(chunk);
    if (message_->arc) message_->arc->body(chunk);
    return {};
}

Outcome Session::on_end_of_message() {
    const StageTimer timer(runtime_->metrics_now, CountedStage::EndOfMessage);
    if (!connector_ || !message_) return {};
    if (message_->refused) {
        Outcome refused = std::move(*message_->refused);
        reset_message();
        return refused;
    }
    auto verdict = policy::check_message_size(*connector_, rights_, message_->size);
    if (!verdict.ok()) {
        reset_message();
        return finish(std::move(verdict), "EOM");
    }
    if (message_->spf_left_for_later) {
        // Its answers came in with this stage's.
        verdict = decide_spf_left_for_later(false);
        if (!verdict.ok()) {
            reset_message();
            return finish(std::move(verdict), "EOM");
        }
    }
    Outcome outcome = authenticate_message();
    if (outcome.verdict.ok()) outcome = sign_message(std::move(outcome));
    if (!outcome.verdict.ok()) {
        reset_message();
        return outcome;
    }
    if (!outcome.quarantine_reason.empty()) {
        if (!quarantine_available_) {
            std::string delivered;
            outcome = without_quarantine(std::move(outcome), "the MTA does not offer the quarantine action", &delivered);
            if (!outcome.verdict.ok()) {
                reset_message();
                return outcome;
            }
            summary_ += " " + delivered;
        } else {
            summary_ += " quarantine (" + outcome.quarantine_reason + ")";
        }
    }
    policy::Verdict accepted;
    accepted.reason = "accepted: " + util::count_of(message_->recipients.size(), "recipient") + ", " +
                      util::count_of(message_->size, "octet") + summary_;
    if (!rate_limit_.empty()) accepted.reason += "; " + rate_limit_;
    log_line("EOM", accepted);
    reset_message();
    count("EOM", outcome);
    return outcome;
}

// The MTA cannot hold the message: [milter] quarantine_fallback decides.
// tempfail (the default) keeps it in the sender's queue, reject refuses it
// with the reply of the check that asked for the quarantine, header delivers
// it with the verdict only in Authentication-Results.
Outcome Session::without_quarantine(Outcome outcome, std::string_view why, std::string* delivered) {
    const std::string reason = outcome.quarantine_reason;
    outcome.quarantine_reason.clear();
    const std::string said = "quarantine not possible (" + std::string(why) + "): ";
    switch (runtime_->config->milter.quarantine_fallback) {
        case config::QuarantineFallback::Header:
            *delivered = said + "delivered without it, quarantine_fallback = header (" + reason + ")";
            return outcome;
        case config::QuarantineFallback::Reject:
            return finish(policy::Verdict::refuse(outcome.quarantine_refusal,
                                                  reason + ": " + said + "quarantine_fallback = reject",
                                                  outcome.quarantine_class),
                          "EOM");
        case config::QuarantineFallback::TempFail:
            break;
    }
    // RFC 3463: 4.3.0, a temporary problem of this mail system.
    return finish(policy::Verdict::refuse(policy::internal_error_reply(),
                                          reason + ": " + said + "quarantine_fallback = tempfail",
                                          outcome.quarantine_class),
                  "EOM");
}

Outcome Session::quarantine_failed(Outcome outcome) {
    std::string delivered;
    outcome = without_quarantine(std::move(outcome), "the MTA refused the quarantine request", &delivered);
    if (outcome.verdict.ok()) {
        policy::Verdict accepted;
        accepted.reason = delivered;
        log_line("EOM", accepted);
    }
    return outcome;
}

void Session::reset_message() { message_.reset(); }

bool Session::mail_may_wait() const {
    return connector_ && connector_->message_rate_limit && shared_ && shared_->limits && shared_->limits->may_wait();
}

bool Session::rcpt_may_wait() const {
    return block_lists_ != nullptr || (message_ && message_->spf_left_for_later);
}

policy::Verdict Session::decide_spf_left_for_later(bool own_stage) {
    // Cleared once the check returns: should it throw (a tempfail for this
    // stage), a later stage still gives the verdict.
    auto verdict = check_spf(own_stage);
    message_->spf_left_for_later = false;
    return verdict;
}

bool Session::dns_answers_ready() { return !message_ || message_->prefetch.ready(); }

void Session::on_abort() { reset_message(); }

void Session::on_close() {
    reset_message();
    mail_ahead_.reset();
    if (lease_.id != 0 && connector_) {
        shared_->limits->close_connection(*connector_, connection_source_, lease_);
        if (counters_) counters_->session_closed();
    }
}

}  // namespace session
