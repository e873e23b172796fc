// The native engine's listening socket, from the parsed socket spec
// (config/socket_spec.hpp; HOST an address or a name, without one every
// address; an old socket file at a unix path is replaced, as libmilter
// does). The socket is non-blocking and close-on-exec.
#pragma once
#include <string>

#include "config/socket_spec.hpp"

namespace milter {

// The listening descriptor, or -1 and `error`.
int open_listener(const config::SocketSpec& spec, std::string* error);

}  // namespace milter
