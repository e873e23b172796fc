// Which milter stages may answer, and what happens to a verdict reached at
// a stage that may not.
//
// The milter protocol (version 6) lets a filter promise the MTA "no reply"
// for some stages (SMFIP_NR_HDR for each header, SMFIP_NR_EOH for the end of
// headers, SMFIP_NR_BODY for each body chunk, ...). After such a promise the MTA reads no answer for that stage,
// and libmilter turns any answer the filter gives there into none (logging
// "milter claimed not to reply in state N but did anyway" at LOG_ERR). So a
// refusal reached at such a stage would be lost. The gate keeps it and hands
// it out at the next stage that may answer (end of headers, end of message),
// where the MTA refuses the message with it. An SMTP client hears a refusal
// of the message only after its final dot in any case, so one held until the
// end of message reaches it as it would have.
//
// Pure: no libmilter types; one gate per milter connection.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "session/session.hpp"

namespace milter {

enum class Stage : std::uint8_t { Connect, Helo, Mail, Rcpt, Header, EndOfHeaders, Body, EndOfMessage };

std::string_view stage_name(Stage stage);

class ReplyGate {
public:
    // The stages the negotiation agreed to answer without a reply.
    void set_no_reply(bool headers, bool end_of_headers, bool body) {
        no_reply_headers_ = headers;
        no_reply_end_of_headers_ = end_of_headers;
        no_reply_body_ = body;
    }
    bool may_reply(Stage stage) const;

    // What to answer at `stage` for `outcome`:
    // - nullopt: answer nothing (the stage was negotiated without a reply);
    //   a refusal given here is held;
    // - otherwise the outcome to answer: a refusal held from an earlier
    //   stage of this message comes first (it was decided first), else
    //   `outcome` itself.
    // `held_from` (when not null) gets the stage a delivered held refusal
    // came from, for the log.
    std::optional<session::Outcome> answer(Stage stage, session::Outcome outcome,
                                           std::optional<Stage>* held_from = nullptr);

    // A refusal is waiting for the next stage that may answer: the events
    // in between need not be worked on.
    bool holding() const { return held_.has_value(); }

    // A new transaction, an abort or the end of the connection: a held
    // refusal belongs to the message it was reached in.
    void forget_message() {
        held_.reset();
        held_stage_.reset();
    }

private:
    bool no_reply_headers_ = false;
    bool no_reply_end_of_headers_ = false;
    bool no_reply_body_ = false;
    std::optional<session::Outcome> held_;
    std::optional<Stage> held_stage_;
};

}  // namespace milter
