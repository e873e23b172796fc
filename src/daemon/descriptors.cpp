#include "daemon/descriptors.hpp"

#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace daemon_main {

OpenFilesLimit raise_open_files_limit() {
    OpenFilesLimit out;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out.problem = std::string("getrlimit: ") + std::strerror(errno);
        return out;
    }
    out.previous = out.soft = rl.rlim_cur;
    out.hard = rl.rlim_max;
    rlim_t target = rl.rlim_max;
    // An unlimited hard limit cannot be the soft one: the kernel's
    // per-process ceiling is.
    if (target == RLIM_INFINITY) {
        std::ifstream nr_open("/proc/sys/fs/nr_open");
        unsigned long long n = 0;
        target = (nr_open >> n) && n > 0 ? static_cast<rlim_t>(n) : rl.rlim_cur;
    }
    if (target <= rl.rlim_cur) return out;
    rl.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        out.problem = std::string("setrlimit: ") + std::strerror(errno);
        return out;
    }
    out.soft = target;
    return out;
}

std::size_t open_descriptors() {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return 0;
    std::size_t n = 0;
    while (const dirent* e = readdir(dir)) {
        if (e->d_name[0] != '.') ++n;
    }
    closedir(dir);
    // The directory's own descriptor was counted.
    return n > 0 ? n - 1 : 0;
}

milter::ConnectionBudget connection_budget(std::uint64_t limit, std::size_t open, std::uint32_t reserve) {
    milter::ConnectionBudget budget;
    const std::uint64_t used = static_cast<std::uint64_t>(open) + reserve;
    // Too small a limit for any reserve: one session at a time, so that the
    // daemon still answers rather than refusing everything.
    budget.sessions = limit > used ? static_cast<std::size_t>(limit - used) : 1;
    budget.connections = budget.sessions + reserve / 2;
    return budget;
}

}  // namespace daemon_main
