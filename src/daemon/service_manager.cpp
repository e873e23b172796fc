#include "daemon/service_manager.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdint>
#include <string>

#include "log/log.hpp"

namespace service_manager {

namespace {

// STATUS= is one line: a newline would start another assignment.
std::string status_line(std::string_view text) {
    std::string line = "STATUS=";
    for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
    return line;
}

void notify(const std::string& state) {
    // unset_environment = 0: every reload notifies again. A failure (the
    // socket systemd named is gone) does not stop the service; it is logged.
    const int rc = sd_notify(0, state.c_str());
    if (rc < 0) daemon_log::warning("cannot notify the service manager (" + state.substr(0, state.find('=')) + ")");
}

}  // namespace

void ready(std::string_view status) { notify("READY=1\n" + status_line(status)); }

void reloading() {
    // systemd 253 and later want the time of the reload request with
    // RELOADING=1 (sd_notify(3), MONOTONIC_USEC=); older ones ignore it.
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1000000u + static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
    notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\n" + status_line("reloading the configuration"));
}

void stopping(std::string_view status) { notify("STOPPING=1\n" + status_line(status)); }

void status(std::string_view status) { notify(status_line(status)); }

}  // namespace service_manager
