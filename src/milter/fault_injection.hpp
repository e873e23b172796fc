// A fault at a chosen stage, for the tests of the engines' fail-closed path.
//
// Both engines (adapter.cpp for libmilter, connection.cpp for the native
// one) catch any exception in an event, log it and answer a tempfail, so
// that the MTA keeps the message. No input can raise one there on purpose,
// so tests/protocol/local.mk builds the daemon a second time, as
// tests/protocol/connector-milter-faults, with CONNECTOR_MILTER_FAULT_INJECTION
// defined: there the stage named by $CONNECTOR_MILTER_FAULT_STAGE (CONNECT,
// HELO, MAIL, RCPT, HEADER, EOH, BODY, EOM) throws at the start of its event.
// In the daemon that is installed this function is empty.
#pragma once

#include "milter/reply_gate.hpp"

#ifdef CONNECTOR_MILTER_FAULT_INJECTION
#include <cstdlib>
#include <stdexcept>
#endif

namespace milter {

inline void inject_fault([[maybe_unused]] Stage stage) {
#ifdef CONNECTOR_MILTER_FAULT_INJECTION
    const char* want = std::getenv("CONNECTOR_MILTER_FAULT_STAGE");
    if (want != nullptr && stage_name(stage) == want) throw std::runtime_error("injected fault");
#endif
}

}  // namespace milter
