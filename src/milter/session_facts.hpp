// What both protocol engines (native and libmilter) read out of the MTA's
// macros for the session, and the few answers they build the same way.
// Pure: a macro is looked up through a function, so that each engine keeps
// its own macro store.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "policy/replies.hpp"
#include "session/session.hpp"

namespace milter {

// The value of macro `name` ("j", "{daemon_addr}") at the current stage;
// nullopt when the MTA did not send it.
using MacroLookup = std::function<std::optional<std::string>(const char* name)>;

session::SecurityFacts security_facts(const MacroLookup& macro);
// `client`: the address from the connect information, when it has one;
// `evidence`: the connect event as the MTA sent it (its macros are read
// here).
session::ConnectFacts connect_facts(const MacroLookup& macro, std::optional<policy::IpAddress> client,
                                    std::string_view client_name, policy::ConnectEvidence evidence);
// Once per process: the MTA sends no local binding for a network session.
void warn_if_no_binding(const session::ConnectFacts& facts, const session::Session& session);

// `reply` when the MTAs accept it, else (logged as the bug it is) the
// internal-error reply, with `as_given` false.
const policy::Reply& usable_reply(const policy::Reply& reply, bool* as_given);

// Ask the MTA to try again later, so that nothing is accepted unchecked.
session::Outcome temporary_failure(std::string reason);

// The macros each stage needs (SMFIR_SETSYMLIST): only these are sent.
struct MacroList {
    int stage;  // SMFIM_* number
    const char* names;
};
inline constexpr MacroList kRequestedMacros[] = {
    {0, "j {daemon_name} {daemon_addr} {daemon_port} {client_addr} {client_port} {if_addr}"},
    {1, "{tls_version} {cipher} {verify} {cert_subject} {cert_issuer} {cn_subject} {cn_issuer}"},
    {2, "i {auth_type} {auth_authen} {tls_version} {cipher} {verify} {cert_subject} {cert_issuer} {cn_subject} "
        "{cn_issuer}"},
    {3, "i {rcpt_addr}"},
    {6, "i"},
    {5, "i"},
};

}  // namespace milter
