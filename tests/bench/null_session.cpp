// The do-nothing milter on the native engine (tests/bench/null_native): the
// connector-milter daemon, engines and all, linked with this
// session::Session in place of src/session/session.cpp. It decides nothing:
// every stage continues, and end of message adds one header, as
// tests/bench/null_milter (the do-nothing milter on libmilter) does. What a
// benchmark measures with it is the cost of the native engine and the
// milter protocol alone, the floor under connector-milter's own figures
// (issue 14: "the acceptance-rate cost at most 1.2x that of a do-nothing
// milter on the same engine").
//
// A link-time substitute, for the benchmark only: the linker takes these
// definitions before it would pull session.o from libsession.a (runtime.o,
// which the daemon needs to build its Runtime, is still taken from there).
#include "session/session.hpp"
#include "session/session_message.hpp"

namespace session {

Session::Session(std::shared_ptr<const Runtime> runtime, std::shared_ptr<Shared> shared, LogFn log)
    : runtime_(std::move(runtime)), shared_(std::move(shared)), log_(std::move(log)) {}

Session::~Session() = default;

void Session::set_queue_id(std::string_view id) { queue_id_ = id; }
Outcome Session::on_connect(const ConnectFacts& facts) {
    connect_ = facts;
    return {};
}
Outcome Session::on_helo(std::string_view, const SecurityFacts&) { return {}; }
Outcome Session::on_mail(const std::vector<std::string>&, const SecurityFacts&, std::chrono::steady_clock::time_point) {
    return {};
}
Outcome Session::on_rcpt(const std::vector<std::string>&) { return {}; }
Outcome Session::on_header(std::string_view, std::string_view) { return {}; }
Outcome Session::on_end_of_headers() { return {}; }
Outcome Session::on_body(std::string_view) { return {}; }
Outcome Session::on_end_of_message() {
    Outcome o;
    // SMFIP_HDR_LEADSPC: the MTA adds no space after the colon.
    o.header_edits.push_back({HeaderEdit::Kind::Insert, "X-Null-Milter", header_leading_space_ ? " seen" : "seen", 0});
    return o;
}
void Session::on_abort() {}
void Session::on_close() {}
Outcome Session::quarantine_failed(Outcome outcome) { return outcome; }
std::uint64_t Session::header_octets_held() const { return 0; }
policy::CheckPlan Session::check_plan() const { return {}; }
bool Session::dns_answers_ready() { return true; }  // asks no DNS
void Session::ask_ahead_for_mail(const std::vector<std::string>&, const SecurityFacts&) {}
bool Session::mail_answers_ready() { return true; }
bool Session::rcpt_may_wait() const { return false; }  // reads no block list, asks no DNS
bool Session::mail_may_wait() const { return false; }  // counts no rate
std::string Session::signing_plan(std::string_view) const { return {}; }  // signs nothing

}  // namespace session
