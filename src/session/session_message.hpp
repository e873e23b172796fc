// The state of one message in a session (private to src/session).
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "auth/arc.hpp"
#include "auth/dkim.hpp"
#include "auth/dkim_signer.hpp"
#include "auth/spf.hpp"
#include "config/settings.hpp"
#include "dns/prefetch.hpp"
#include "dns/resolver.hpp"
#include "policy/address.hpp"
#include "policy/message_checks.hpp"
#include "session/session.hpp"

namespace session {

struct Session::Message {
    explicit Message(const config::DnsSettings& dns)
        : budget(dns.message_query_budget, dns.message_time_budget),
          max_queries(dns.message_query_budget),
          max_time(dns.message_time_budget) {}

    // The budget covers the time spent in verdict work only, not the time
    // the client takes to send the message: each piece of work gets the
    // budget's remainder, re-armed just before it runs and passed to it.
    // `reserve` queries stay untouched for the checks that come later, so
    // that a sender's own SPF record cannot spend the budget DMARC needs
    // to look up the author domain's policy.
    // `now` is the runtime's clock (time comes in, it is not read here).
    template <typename Work>
    void with_budget(Runtime::Clock now, Work&& work, std::uint32_t reserve = 0) {
        const auto start = now();
        const auto left = max_time > spent ? std::chrono::duration_cast<std::chrono::milliseconds>(max_time - spent)
                                           : std::chrono::milliseconds(0);
        const std::uint32_t unused = max_queries > queries_used ? max_queries - queries_used : 0;
        budget = dns::Budget(unused > reserve ? unused - reserve : 0, left, start);
        budget.use_prefetched(&prefetch);
        work();
        queries_used += budget.queries_used();
        spent += now() - start;
    }
    policy::SmtpPath sender;
    std::vector<policy::SmtpPath> recipients;
    std::uint64_t size = 0;         // header and body octets as received
    std::uint64_t header_size = 0;  // header octets as received
    // The only headers kept: From:, for the sender check and DMARC. DKIM
    // reads every header as it arrives and keeps its own copy of those it
    // needs (libopendkim), so the header block is held once, not twice.
    std::vector<std::pair<std::string, std::string>> from_headers;
    // The refusal reached while the message came in (a size limit): from
    // then on nothing of the message is kept or checked, and the refusal is
    // the answer at end of headers and end of message.
    std::optional<Outcome> refused;
    // One message's DNS allowance for SPF, DKIM and DMARC together, so that
    // the MTA's milter timeout is never reached.
    dns::Budget budget;
    std::uint32_t max_queries;
    std::chrono::milliseconds max_time;
    std::uint32_t queries_used = 0;
    std::chrono::steady_clock::duration spent{};
    // Questions of DKIM, ARC and DMARC asked at end of headers, out of the
    // share kept for them: an SPF check left for later (end of message)
    // then keeps no more than the rest of that share, and gets the room it
    // would have had at MAIL.
    std::uint32_t asked_for_later = 0;
    // Questions asked ahead (HELO's SPF record at MAIL, DKIM keys and the
    // DMARC record at end of headers), charged to the budget when asked;
    // the checks read them through dns::ask(). Declared after nothing that
    // its pending answers need: they only need the runtime's resolver.
    dns::Prefetch prefetch;
    policy::CheckPlan checks;  // which of SPF, DKIM, DMARC run for this message, and why not
    // on_mail left the SPF verdict for later (defer_spf_when_unanswered):
    // a RCPT that finds the records in, or end of message, gives it.
    bool spf_left_for_later = false;
    std::optional<auth::SpfVerdict> spf_mailfrom;
    std::optional<auth::SpfVerdict> spf_helo;
    std::unique_ptr<auth::DkimVerifier::Message> dkim;
    // ARC runs where DKIM runs (config::ArcSettings); it keeps its own copy
    // of the header fields only while the message carries ARC fields.
    std::unique_ptr<auth::ArcVerifier::Message> arc;
    std::string quarantine_reason;    // set by a check whose action is quarantine
    policy::Reply quarantine_refusal; // that check's reply, for quarantine_fallback = reject
    policy::ReasonClass quarantine_class = policy::ReasonClass::None;
    std::vector<int> forged_authres;  // 1-based indexes among Authentication-Results headers
    int authres_seen = 0;
    // DKIM signing (message_sign.cpp): decided at MAIL; the headers as they
    // will be delivered are kept until end of headers, where the From:
    // address picks the keys and the signatures start.
    bool sign_wanted = false;
    std::string sign_why;
    std::vector<std::pair<std::string, std::string>> sign_headers;
    std::vector<auth::DkimKeyChoice> sign_choices;
    std::string sign_problem;  // a key choice that failed: failure_action applies
    std::string sign_skipped;  // why nothing is signed although sign_wanted
    std::unique_ptr<auth::DkimSigner::Message> signer;
    std::unique_ptr<auth::DkimVerifier::Message> own_check;  // an existing signature of ours
};

}  // namespace session
