// libspf2 reports warnings through global handlers that print to stderr,
// which a daemon has closed: send them to our log instead.
#pragma once

namespace daemon_main {
void route_libspf2_messages();
}
