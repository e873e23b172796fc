#include "daemon/allocator.hpp"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace daemon_main {

bool tune_allocator() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return false;  // the sanitizer's allocator has settings of its own
#else
    if (const char* tunables = std::getenv("GLIBC_TUNABLES"); tunables && std::strstr(tunables, "glibc.malloc."))
        return false;
    // mallopt returns 1 on success. Setting either threshold also turns off
    // glibc's dynamic adjustment of both.
    return mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)) == 1 &&
           mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold)) == 1;
#endif
}

}  // namespace daemon_main
