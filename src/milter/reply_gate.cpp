#include "milter/reply_gate.hpp"

namespace milter {

std::string_view stage_name(Stage stage) {
    switch (stage) {
        case Stage::Connect: return "CONNECT";
        case Stage::Helo: return "HELO";
        case Stage::Mail: return "MAIL";
        case Stage::Rcpt: return "RCPT";
        case Stage::Header: return "HEADER";
        case Stage::EndOfHeaders: return "EOH";
        case Stage::Body: return "BODY";
        case Stage::EndOfMessage: return "EOM";
    }
    return "?";
}

bool ReplyGate::may_reply(Stage stage) const {
    if (stage == Stage::Header) return !no_reply_headers_;
    if (stage == Stage::EndOfHeaders) return !no_reply_end_of_headers_;
    if (stage == Stage::Body) return !no_reply_body_;
    // The other stages are negotiated with a reply (the end of message
    // always has one: the protocol has no flag to waive it).
    return true;
}

std::optional<session::Outcome> ReplyGate::answer(Stage stage, session::Outcome outcome,
                                                  std::optional<Stage>* held_from) {
    if (!may_reply(stage)) {
        // The first refusal of the message is the one the MTA will give.
        if (!outcome.verdict.ok() && !held_) {
            held_ = std::move(outcome);
            held_stage_ = stage;
        }
        return std::nullopt;
    }
    if (held_) {
        session::Outcome held = std::move(*held_);
        if (held_from) *held_from = held_stage_;
        forget_message();
        return held;
    }
    return outcome;
}

}  // namespace milter
