// The host's own name, used as the default authserv-id (RFC 8601 section 2.5
// recommends the host's fully qualified name) and, by the embedded default,
// to find the host's domain.
#pragma once
#include <string>

namespace config {

// gethostname(), made fully qualified through the resolver's canonical name
// when the short name has no dot. Lower case. Empty when the system has none.
std::string local_host_name();

}  // namespace config
