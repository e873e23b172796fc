#include "session/runtime.hpp"

#include <netdb.h>
#include <unistd.h>

#include <cstring>

#include "dns/resolver.hpp"

namespace session {

Runtime::~Runtime() = default;

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "localhost";
    std::string result = name;
    if (result.find('.') == std::string::npos) {
        addrinfo hints{};
        hints.ai_flags = AI_CANONNAME;
        addrinfo* info = nullptr;
        if (getaddrinfo(name, nullptr, &hints, &info) == 0 && info) {
            if (info->ai_canonname && std::strchr(info->ai_canonname, '.'))
                result = info->ai_canonname;
            freeaddrinfo(info);
        }
    }
    return result;
}

RuntimeBuild build_runtime(std::shared_ptr<const config::Config> config,
                           std::shared_ptr<dns::Resolver> resolver) {
    RuntimeBuild build;
    auto runtime = std::make_shared<Runtime>();
    runtime->authserv_id =
        config->milter.authserv_id.empty() ? host_name() : config->milter.authserv_id;
    runtime->resolver = std::move(resolver);
    runtime->config = std::move(config);
    build.runtime = std::move(runtime);
    return build;
}

}  // namespace session
