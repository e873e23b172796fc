// The native engine's listening socket, from the socket spec libmilter
// understands: inet:PORT@HOST, inet6:PORT@HOST (HOST an address or a name;
// without @HOST every address), unix:/path or local:/path (an old socket
// file at that path is replaced, as libmilter does). The socket is
// non-blocking and close-on-exec.
#pragma once
#include <string>

namespace milter {

// The listening descriptor, or -1 and `error`.
int open_listener(const std::string& spec, std::string* error);

}  // namespace milter
