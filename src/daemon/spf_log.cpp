#include "daemon/spf_log.hpp"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <spf2/spf.h>

#include <string>

#include "log/log.hpp"

namespace daemon_main {

namespace {
void spf_warning(const char* file, int line, const char* message) {
    daemon_log::warning(std::string("libspf2: ") + (message ? message : ""));
}
void spf_info(const char* file, int line, const char* message) {
    daemon_log::write(daemon_log::Level::Debug, std::string("libspf2: ") + (message ? message : ""));
}
}  // namespace

void route_libspf2_messages() {
    SPF_warning_handler = spf_warning;
    SPF_info_handler = spf_info;
}

}  // namespace daemon_main
