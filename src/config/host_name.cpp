#include "config/host_name.hpp"
#include "util/ascii.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>

namespace config {

std::string local_host_name() {
    std::array<char, 256> buffer{};
    if (gethostname(buffer.data(), buffer.size() - 1) != 0) return {};
    std::string name(buffer.data());
    if (name.find('.') == std::string::npos && !name.empty()) {
        // A short name: ask the resolver (hosts file first on most systems)
        // for the canonical name, as Postfix does for $myhostname.
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_CANONNAME;
        addrinfo* raw = nullptr;
        if (getaddrinfo(name.c_str(), nullptr, &hints, &raw) == 0) {
            const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> info(raw, &freeaddrinfo);
            if (info->ai_canonname != nullptr) {
                const std::string canonical(info->ai_canonname);
                if (canonical.find('.') != std::string::npos) name = canonical;
            }
        }
    }
    return util::dns_name_key(name);
}

}  // namespace config
