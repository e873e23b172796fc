// What the daemon tells its service manager (systemd's Type=notify,
// sd_notify(3)): READY=1 once the socket is open and the configuration
// loaded, RELOADING=1 then READY=1 around a SIGUSR1 reload, STOPPING=1 when
// the drain starts, and STATUS= with a one-line summary that
// "systemctl status" shows. Without $NOTIFY_SOCKET (not started by systemd)
// every call does nothing.
#pragma once
#include <string_view>

namespace service_manager {

// The socket is open, the configuration loaded: connections are served.
void ready(std::string_view status);
// A reload starts (READY follows with ready()).
void reloading();
// The drain before the exit starts.
void stopping(std::string_view status);
// A new summary without a state change (e.g. a refused reload).
void status(std::string_view status);

}  // namespace service_manager
