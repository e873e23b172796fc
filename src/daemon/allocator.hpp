// The C library allocator's settings for a long-running, multithreaded
// daemon (issue 14): what the daemon and the benchmark's "work alone"
// driver (tests/bench/session_work) set before their first thread.
#pragma once

namespace daemon_main {

// Makes glibc malloc keep freed memory for reuse: at most kTrimThreshold of
// free memory at the top of a heap stays mapped (glibc's default is a
// threshold that starts at 128 KiB), and blocks below kMmapThreshold come
// from the heaps rather than from mmap. Without it every message's body
// buffers were handed back to the kernel and faulted in again, and the
// other core's TLB flushed each time: 15 % of the daemon's CPU in the
// side-by-side benchmark. The cost is that RSS stays at its peak after a
// burst of large messages. Leaves the allocator alone when the
// administrator tunes it (GLIBC_TUNABLES names glibc.malloc) or another
// allocator is in use (a sanitizer build). Returns whether it set anything.
bool tune_allocator();

inline constexpr long kTrimThreshold = 64L << 20;
inline constexpr long kMmapThreshold = 4L << 20;

}  // namespace daemon_main
