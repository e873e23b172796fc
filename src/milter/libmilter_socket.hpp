// The socket of one libmilter connection, for [milter] idle_timeout.
//
// Why this exists: libmilter has no call to end one connection. Its
// timeout (smfi_settimeout) is enforced, in the worker-pool build Debian
// ships, only by a sweep that runs once per 600 s (DT_CHECK_OLD_SESSIONS in
// libmilter/worker.c), so a silent connection lives up to 10 minutes past
// it. To close idle connections on time, the daemon shuts their socket down
// itself (shutdown(2), never close(2): libmilter then reads the end of the
// connection and closes it its usual way, calling xxfi_close first).
#pragma once

#include <libmilter/mfapi.h>

namespace milter {

// The connection's socket descriptor, or -1 when it cannot be learnt safely.
int libmilter_socket(SMFICTX* ctx);

}  // namespace milter
