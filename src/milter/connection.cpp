#include "milter/connection.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "log/log.hpp"
#include "milter/counters.hpp"
#include "milter/adapter.hpp"
#include "milter/fault_injection.hpp"

namespace milter {

namespace {

// The protocol versions an MTA may speak: 2 (sendmail 8.13, Postfix with
// milter_protocol = 2) to 6 (sendmail 8.14+, Postfix 2.6+).
constexpr std::uint32_t kMinVersion = 2;
constexpr std::uint32_t kMaxVersion = 6;

// What we ask for. Actions: add/insert and delete headers, quarantine,
// macro lists. Protocol: header values exactly as received (DKIM needs the
// leading space); no reply for each header, the end of headers and each
// body chunk (the decision comes at EOM, where a refusal reached earlier is
// given: ReplyGate), which saves a round trip per header and one per
// message; no unknown commands, no DATA.
constexpr std::uint32_t kActions = flag::kAddHeaders | flag::kChangeHeaders | flag::kQuarantine | flag::kSetSymList;
constexpr std::uint32_t kProtocol = flag::kHeaderLeadingSpace | flag::kNoReplyHeader | flag::kNoReplyEndOfHeaders |
                                    flag::kNoReplyBody | flag::kNoUnknown | flag::kNoData;

std::optional<policy::IpAddress> client_address(const Command& c) {
    if (c.family != '4' && c.family != '6') return std::nullopt;
    std::string_view text = c.value;
    // sendmail writes IPv6 addresses as "IPv6:2001:db8::1".
    if (text.size() > 5 && (text.substr(0, 5) == "IPv6:" || text.substr(0, 5) == "ipv6:")) text.remove_prefix(5);
    return policy::IpAddress::parse(text);
}

// The connect event as the MTA sent it, for telling local submissions
// apart (policy::recognise_local_submission); connect_facts() adds the
// macros. SMFIA_UNIX is 'L', SMFIA_UNKNOWN 'U'.
policy::ConnectEvidence connect_evidence(const Command& c) {
    policy::ConnectEvidence e;
    if (c.family == '4' || c.family == '6') {
        e.family = policy::ConnectEvidence::Family::Inet;
        e.address = client_address(c);
        e.port = c.port;
    } else if (c.family == 'L') {
        e.family = policy::ConnectEvidence::Family::Unix;
    }
    return e;
}

// A tempfail with `reply`, outside the session.
session::Outcome tempfail_with(const policy::Reply& reply) {
    session::Outcome outcome;
    outcome.verdict.action = policy::Verdict::Action::TempFail;
    outcome.verdict.reply = reply;
    return outcome;
}

}  // namespace

MilterConnection::~MilterConnection() { close_session(); }

void MilterConnection::close_session() {
    gate_.forget_message();
    if (!session_) return;
    try {
        session_->on_close();
    } catch (...) {
    }
    session_.reset();
    Registry::instance().session_closed();
}

bool MilterConnection::connection_may_wait() {
    const auto shared = Registry::instance().shared();
    return shared && shared->limits && shared->limits->may_wait();
}

MacroLookup MilterConnection::macros_at(char stage) const {
    return [this, stage](const char* name) { return macros_.lookup(stage, name); };
}

std::string MilterConnection::queue_id_or_noqueue(char stage) const {
    auto id = macros_.lookup(stage, "i");
    return id && !id->empty() ? *id : std::string("NOQUEUE");
}

void MilterConnection::send_reply(Output& out, char code, std::string_view data) {
    wire::append_packet(out.delay.count() > 0 ? out.after_delay : out.now, code, data);
}

// The verdict as libmilter answers SMFIS_REJECT / SMFIS_TEMPFAIL after
// smfi_setreply: the reply text when its code's class matches the verdict,
// else the bare verdict (the MTA's default reply). A reply the MTAs would
// refuse (a bug) becomes the internal-error tempfail, as in the adapter.
void MilterConnection::apply(Output& out, const session::Outcome& outcome) {
    if (outcome.verdict.ok()) {
        send_reply(out, reply::kContinue);
        return;
    }
    bool as_given = true;
    policy::Verdict v = outcome.verdict;
    v.reply = usable_reply(outcome.verdict.reply, &as_given);
    if (!as_given) v.action = policy::Verdict::Action::TempFail;
    // The tarpit delays the refusal; a drain already under way ends it at
    // once (the event loop also cuts pending ones short).
    if (outcome.tarpit && outcome.tarpit_delay.count() > 0 && !Registry::instance().draining())
        out.delay = std::max(out.delay, outcome.tarpit_delay);
    const bool reject = v.action == policy::Verdict::Action::Reject;
    const char expected_class = reject ? '5' : '4';
    if (!v.reply.code.empty() && v.reply.code[0] == expected_class) {
        std::string xcode = v.reply.xcode;
        if (xcode.empty()) xcode = reject ? "5.0.0" : "4.0.0";  // as smfi_setreply fills it in
        std::string text = v.reply.code + " " + xcode + " " + policy::percent_escaped(v.reply.text);
        text += '\0';
        send_reply(out, reply::kReplyCode, text);
    } else {
        send_reply(out, reject ? reply::kReject : reply::kTempFail);
    }
}

// As the adapter's answer(): nothing at a stage agreed without a reply (a
// refusal there is held), a held refusal at the next stage that may answer.
void MilterConnection::answer(Output& out, Stage stage, session::Outcome outcome) {
    std::optional<Stage> held_from;
    auto now = gate_.answer(stage, std::move(outcome), &held_from);
    if (!now) return;
    if (held_from) {
        const char at = stage == Stage::EndOfMessage ? cmd::kBodyEob : cmd::kEoh;
        daemon_log::info(queue_id_or_noqueue(at) + ": stage=" + std::string(stage_name(stage)) +
                         " giving the refusal reached at " + std::string(stage_name(*held_from)) + " (" +
                         now->verdict.reply.to_string() + "), where no reply was negotiated");
    }
    apply(out, *now);
}

// No exception may end the connection unanswered: log it and answer a
// tempfail (the MTA keeps the message).
template <typename F>
void MilterConnection::guarded(Output& out, Stage stage, F&& body) {
    // Replies already produced by `body` before it threw are dropped, so
    // that the MTA gets exactly one answer.
    const std::size_t now_size = out.now.size(), later_size = out.after_delay.size();
    try {
        inject_fault(stage);  // empty outside the test build (fault_injection.hpp)
        body();
        return;
    } catch (const std::exception& e) {
        daemon_log::error(std::string(stage_name(stage)) + ": internal error: " + e.what());
    } catch (...) {
        daemon_log::error(std::string(stage_name(stage)) + ": internal error");
    }
    out.now.resize(now_size);
    out.after_delay.resize(later_size);
    try {
        answer(out, stage, temporary_failure("internal error"));
    } catch (...) {
        send_reply(out, reply::kTempFail);
    }
}

void MilterConnection::negotiate(const Command& c, Output& out) {
    if (c.version < kMinVersion) {
        out.close = true;
        out.close_reason = "the MTA speaks milter protocol version " + std::to_string(c.version) +
                           ", older than " + std::to_string(kMinVersion);
        return;
    }
    // Answer with the MTA's version when it is older than ours: both MTAs
    // refuse a filter whose version is newer than theirs.
    const std::uint32_t version = std::min(c.version, kMaxVersion);
    actions_ = c.actions & kActions;
    protocol_ = c.protocol & kProtocol;
    std::string data;
    wire::put_u32(data, version);
    wire::put_u32(data, actions_);
    wire::put_u32(data, protocol_);
    if (actions_ & flag::kSetSymList) {
        for (const auto& list : kRequestedMacros) {
            wire::put_u32(data, static_cast<std::uint32_t>(list.stage));
            data += list.names;
            data += '\0';
        }
    }
    if (admission_ == ConnectionTable::Admission::Close) {
        // Far over the descriptor budget: closed at once, as the libmilter
        // engine does; the MTA applies its milter default action.
        Registry::instance().note_over_budget(ConnectionTable::Admission::Close);
        out.close = true;
        return;
    }
    negotiated_ = true;
    leading_space_ = (protocol_ & flag::kHeaderLeadingSpace) != 0;
    gate_.set_no_reply((protocol_ & flag::kNoReplyHeader) != 0, (protocol_ & flag::kNoReplyEndOfHeaders) != 0,
                       (protocol_ & flag::kNoReplyBody) != 0);
    send_reply(out, reply::kOptNeg, data);
}

bool MilterConnection::waits_for_dns(const wire::Batch& batch, std::size_t count) {
    if (!session_ || shedding_) return false;
    try {
        for (std::size_t i = 0; i < std::min(count, batch.size()); ++i) {
            switch (batch[i].command) {
                // A refusal held for it is its answer: nothing to wait for.
                case cmd::kBodyEob: return !gate_.holding() && !session_->dns_answers_ready();
                case cmd::kMail:
                    if (!mail_asked_ahead_) {
                        mail_asked_ahead_ = true;
                        mail_asked_at_ = std::chrono::steady_clock::now();
                        ask_ahead_for_mail(batch, i);
                    }
                    return !session_->mail_answers_ready() &&
                           std::chrono::steady_clock::now() - mail_asked_at_ <
                               session_->runtime().config->spf.mail_wait;
                case cmd::kConnect:
                case cmd::kQuit:
                case cmd::kQuitNc: return false;  // another session from here on
                default: continue;
            }
        }
    } catch (const std::exception& e) {
        // The stage itself runs as it would have: it asks, or fails, itself.
        daemon_log::error(std::string("asking DNS ahead: internal error: ") + e.what());
    }
    return false;
}

// The MAIL at batch[mail], with the macros as they will be when it is
// handled: those of the packets before it in the batch too.
void MilterConnection::ask_ahead_for_mail(const wire::Batch& batch, std::size_t mail) {
    const auto command = parse_command(batch[mail], nullptr);
    if (!command) return;
    MacroStore::Later later;
    for (std::size_t i = 0; i < mail; ++i) {
        if (batch[i].command != cmd::kMacro) continue;
        if (auto macro = parse_command(batch[i], nullptr)) later.emplace_back(macro->macro_for, std::move(macro->macros));
    }
    session_->ask_ahead_for_mail(command->args, security_facts([this, &later](const char* name) {
                                     return macros_.lookup(cmd::kMail, name, later);
                                 }));
}

void MilterConnection::handle(const wire::Batch& packets, Output& out) {
    for (const auto& packet : packets) {
        if (out.close) return;
        std::string why;
        if (!parse_command(packet, parsed_, &why)) {
            out.close = true;
            out.close_reason = why;
            return;
        }
        const Command& command = parsed_;
        // The next MAIL is asked ahead afresh (waits_for_dns).
        if (command.code == cmd::kMail) mail_asked_ahead_ = false;
        switch (command.code) {
            case cmd::kOptNeg: negotiate(command, out); continue;
            case cmd::kMacro: macros_.define(command.macro_for, command.macros); continue;
            case cmd::kQuit:
                close_session();
                out.close = true;
                return;
            case cmd::kQuitNc:
                // The MTA reuses this connection for its next SMTP session
                // without a new negotiation: the negotiated options stay,
                // the session and its macros go (and a session turned away
                // because the pool was saturated is over).
                close_session();
                macros_.clear();
                shedding_ = false;
                continue;
            default: break;
        }
        if (shedding_) dispatch_shed(command, out);
        else dispatch(command, out);
    }
}

void MilterConnection::shed(const wire::Batch& packets, Output& out) {
    shedding_ = true;
    handle(packets, out);
}

// Without session work: a tempfail at every stage with a reply, nothing
// at the others.
void MilterConnection::dispatch_shed(const Command& c, Output& out) {
    switch (c.code) {
        case cmd::kHeader:
            if (!gate_.may_reply(Stage::Header)) return;
            break;
        case cmd::kEoh:
            if (!gate_.may_reply(Stage::EndOfHeaders)) return;
            break;
        case cmd::kBody:
            if (!gate_.may_reply(Stage::Body)) return;
            break;
        case cmd::kAbort: gate_.forget_message(); return;
        default: break;
    }
    apply(out, tempfail_with(policy::busy_reply()));
}

void MilterConnection::on_connect(const Command& c, Output& out) {
    guarded(out, Stage::Connect, [&] {
        auto& registry = Registry::instance();
        if (registry.draining()) {
            // Shutting down: the MTA tells its client to come back later.
            count_engine_tempfail(EngineTempfail::Draining);
            return apply(out, tempfail_with(policy::shutting_down_reply()));
        }
        if (admission_ != ConnectionTable::Admission::Serve) {
            // Over the descriptor budget: the MTA tells its client to come
            // back later, before the daemon runs out of descriptors.
            registry.note_over_budget(ConnectionTable::Admission::Refuse);
            return apply(out, tempfail_with(policy::default_reply(policy::ReplyId::TooManyConnections)));
        }
        if (!session_) registry.session_opened();
        session_ = std::make_unique<session::Session>(registry.runtime(), registry.shared(),
                                                      [](std::string_view line) { daemon_log::decision(line); });
        session_->set_header_leading_space(leading_space_);
        session_->set_quarantine_available((actions_ & flag::kQuarantine) != 0);
        // MAIL is held on the event loop for its SPF records at most
        // [spf] mail_wait (waits_for_dns).
        session_->defer_spf_when_unanswered(true);
        const auto facts = connect_facts(macros_at(cmd::kConnect), client_address(c), c.text, connect_evidence(c));
        auto outcome = session_->on_connect(facts);
        warn_if_no_binding(facts, *session_);
        apply(out, outcome);
    });
}

void MilterConnection::on_end_of_message(Output& out) {
    guarded(out, Stage::EndOfMessage, [&] {
        if (!session_) return answer(out, Stage::EndOfMessage, temporary_failure("no session: event before connect"));
        session_->set_queue_id(macros_.lookup(cmd::kBodyEob, "i").value_or(""));
        // A refusal reached at a stage without a reply is the answer.
        if (gate_.holding()) return answer(out, Stage::EndOfMessage, {});
        auto outcome = session_->on_end_of_message();
        if (!outcome.verdict.ok()) return apply(out, outcome);
        // The quarantine first: when the MTA cannot carry it out, the
        // fallback may be a refusal, and then no header edit is needed.
        if (!outcome.quarantine_reason.empty()) {
            if (actions_ & flag::kQuarantine) {
                send_reply(out, reply::kQuarantine, outcome.quarantine_reason + '\0');
            } else {
                outcome = session_->quarantine_failed(std::move(outcome));
                if (!outcome.verdict.ok()) return apply(out, outcome);
            }
        }
        // Deletions first and from the highest index down, so that earlier
        // indexes stay valid; then insertions (as the adapter does).
        for (const auto& edit : outcome.header_edits) {
            if (edit.kind != session::HeaderEdit::Kind::Delete) continue;
            if (!(actions_ & flag::kChangeHeaders))
                throw std::runtime_error("cannot delete " + edit.name + ": the MTA did not allow header changes");
            std::string data;
            wire::put_u32(data, static_cast<std::uint32_t>(edit.index));
            data += edit.name;
            data += '\0';
            data += '\0';
            send_reply(out, reply::kChangeHeader, data);
        }
        for (const auto& edit : outcome.header_edits) {
            if (edit.kind != session::HeaderEdit::Kind::Insert) continue;
            if (!(actions_ & flag::kAddHeaders))
                throw std::runtime_error("cannot insert " + edit.name + ": the MTA did not allow adding headers");
            std::string data;
            wire::put_u32(data, static_cast<std::uint32_t>(edit.index));
            data += edit.name;
            data += '\0';
            if (leading_space_) data += ' ';
            data += edit.value;
            data += '\0';
            send_reply(out, reply::kInsertHeader, data);
        }
        send_reply(out, reply::kContinue);
    });
}

void MilterConnection::dispatch(const Command& c, Output& out) {
    const auto no_session = [&](Stage stage) {
        answer(out, stage, temporary_failure("no session: event before connect"));
    };
    const auto note_queue_id = [&] { session_->set_queue_id(macros_.lookup(c.code, "i").value_or("")); };
    switch (c.code) {
        case cmd::kConnect: on_connect(c, out); return;
        case cmd::kHelo:
            return guarded(out, Stage::Helo, [&] {
                if (!session_) return no_session(Stage::Helo);
                apply(out, session_->on_helo(c.text, security_facts(macros_at(cmd::kHelo))));
            });
        case cmd::kMail:
            return guarded(out, Stage::Mail, [&] {
                gate_.forget_message();
                if (!session_) return no_session(Stage::Mail);
                note_queue_id();
                apply(out, session_->on_mail(c.args, security_facts(macros_at(cmd::kMail)),
                                             std::chrono::steady_clock::now()));
            });
        case cmd::kRcpt:
            return guarded(out, Stage::Rcpt, [&] {
                if (!session_) return no_session(Stage::Rcpt);
                note_queue_id();
                apply(out, session_->on_rcpt(c.args));
            });
        case cmd::kHeader:
            return guarded(out, Stage::Header, [&] {
                if (!session_) return no_session(Stage::Header);
                // A held refusal: the events up to the next stage that may
                // answer need no work.
                answer(out, Stage::Header, gate_.holding() ? session::Outcome{} : session_->on_header(c.text, c.value));
            });
        case cmd::kEoh:
            return guarded(out, Stage::EndOfHeaders, [&] {
                if (!session_) return no_session(Stage::EndOfHeaders);
                note_queue_id();
                answer(out, Stage::EndOfHeaders, gate_.holding() ? session::Outcome{} : session_->on_end_of_headers());
            });
        case cmd::kBody:
            return guarded(out, Stage::Body, [&] {
                if (!session_) return no_session(Stage::Body);
                answer(out, Stage::Body, gate_.holding() ? session::Outcome{} : session_->on_body(c.text));
            });
        case cmd::kBodyEob:
            // Body data that comes with the end of message is a last chunk
            // (Postfix and sendmail send none).
            if (!c.text.empty() && session_ && !gate_.holding()) {
                std::optional<session::Outcome> refusal;
                try {
                    auto outcome = session_->on_body(c.text);
                    if (!outcome.verdict.ok()) refusal = std::move(outcome);
                } catch (const std::exception& e) {
                    daemon_log::error(std::string("BODY: internal error: ") + e.what());
                    refusal = temporary_failure("internal error");
                }
                if (refusal) {
                    // libmilter answers the final chunk's refusal in place of
                    // the end of message; without a reply for body chunks the
                    // gate holds it for the end of message below.
                    if (gate_.may_reply(Stage::Body)) return apply(out, *refusal);
                    gate_.answer(Stage::Body, std::move(*refusal));
                }
            }
            return on_end_of_message(out);
        case cmd::kAbort:
            // No reply: the MTA does not wait for one.
            gate_.forget_message();
            macros_.clear_from(cmd::kMail);
            try {
                if (session_) session_->on_abort();
            } catch (const std::exception& e) {
                daemon_log::error(std::string("abort: internal error: ") + e.what());
            } catch (...) {
                daemon_log::error("abort: internal error");
            }
            return;
        case cmd::kData:
        case cmd::kUnknown:
            // Not negotiated (SMFIP_NODATA, SMFIP_NOUNKNOWN) but sent by an
            // MTA that cannot leave them out: nothing to decide.
            send_reply(out, reply::kContinue);
            return;
        default:
            out.close = true;
            out.close_reason = "unexpected command";
            return;
    }
}

}  // namespace milter
