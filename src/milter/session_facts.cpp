#include "milter/session_facts.hpp"

#include <atomic>

#include "log/log.hpp"

namespace milter {

session::SecurityFacts security_facts(const MacroLookup& macro) {
    const auto text = [&](const char* name) { return macro(name).value_or(std::string()); };
    session::SecurityFacts facts;
    auto& id = facts.identity;
    id.auth_user = text("{auth_authen}");
    id.auth_type = text("{auth_type}");
    id.tls = !text("{tls_version}").empty() || !text("{cipher}").empty();
    // Postfix and sendmail describe the certificate differently (see
    // policy/client_certificate.hpp): an absent macro must stay absent.
    id.certificate = policy::ClientCertificate::from_macros({macro("{verify}"), macro("{cert_subject}"),
                                                            macro("{cert_issuer}"), macro("{cn_subject}"),
                                                            macro("{cn_issuer}")});
    return facts;
}

session::ConnectFacts connect_facts(const MacroLookup& macro, std::optional<policy::IpAddress> client,
                                    std::string_view client_name, policy::ConnectEvidence evidence) {
    const auto text = [&](const char* name) { return macro(name).value_or(std::string()); };
    session::ConnectFacts facts;
    facts.client = std::move(client);
    if (!facts.client) facts.client = policy::IpAddress::parse(text("{client_addr}"));
    facts.client_name = std::string(client_name);
    facts.local.address = policy::IpAddress::parse(text("{daemon_addr}"));
    // sendmail's {daemon_addr} is the address it listens on, 0.0.0.0 for a
    // wildcard listener; the connection's own local address is {if_addr}.
    if (!facts.local.address || facts.local.address->value() == 0) {
        if (auto local = policy::IpAddress::parse(text("{if_addr}"))) facts.local.address = local;
    }
    // 0.0.0.0 or :: (a wildcard listener without {if_addr}) says nothing
    // about the address the client reached: unknown, not "another one".
    if (facts.local.address && facts.local.address->value() == 0) facts.local.address.reset();
    const std::string port = text("{daemon_port}");
    if (!port.empty()) {
        try {
            const unsigned long p = std::stoul(port);
            if (p > 0 && p < 65536) facts.local.port = static_cast<std::uint16_t>(p);
        } catch (...) {
        }
    }
    facts.local.daemon_name = text("{daemon_name}");
    facts.mta_name = text("j");
    evidence.client_addr = text("{client_addr}");
    evidence.client_port = text("{client_port}");
    evidence.daemon_addr = text("{daemon_addr}");
    evidence.daemon_port = text("{daemon_port}");
    facts.evidence = std::move(evidence);
    return facts;
}

namespace {
std::atomic<bool> g_warned_no_binding{false};
}

void warn_if_no_binding(const session::ConnectFacts& facts, const session::Session& session) {
    // A local submission has no binding to report. A missing address or
    // port alone is worth the warning too: specific bindings cannot match.
    if ((!facts.local.address || !facts.local.port) && session.local_submission() == policy::LocalSubmission::No &&
        !g_warned_no_binding.exchange(true)) {
        daemon_log::warning(
            std::string("the MTA sent ") + (facts.local.address ? "" : "no {daemon_addr} (or only 0.0.0.0) ") +
            (facts.local.address || facts.local.port ? "" : "and ") + (facts.local.port ? "" : "no {daemon_port} ") +
            "for the local end: connectors bound to a specific address cannot match, and where one "
            "would serve the client the session is refused (milter.unknown_binding). Postfix: milter_connect_macros = j "
            "{daemon_name} {daemon_addr} {daemon_port} {client_addr} (Postfix >= 3.2); sendmail: "
            "define(`confMILTER_MACROS_CONNECT', confMILTER_MACROS_CONNECT`, {daemon_addr}, "
            "{daemon_port}')");
    }
}

// Every reply is checked at config load or built by Reply::with_detail, so
// an unusable one here is a bug, logged as one.
const policy::Reply& usable_reply(const policy::Reply& reply, bool* as_given) {
    if (const auto problem = policy::check_reply(reply); !problem.empty()) {
        daemon_log::error("not sending an unusable reply: " + problem);
        if (as_given) *as_given = false;
        return policy::internal_error_reply();
    }
    if (as_given) *as_given = true;
    return reply;
}

session::Outcome temporary_failure(std::string reason) {
    session::Outcome outcome;
    outcome.verdict.action = policy::Verdict::Action::TempFail;
    outcome.verdict.reply = policy::internal_error_reply();
    outcome.verdict.reason = std::move(reason);
    return outcome;
}

}  // namespace milter
