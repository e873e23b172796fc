// Process concerns: flags, signals, privileges, pidfile, reload, drain.
#pragma once

namespace daemon_main {

// connector-milter [-c FILE] [-f] [-n] [-p SOCKET] [-u USER[:GROUP]] [-P PIDFILE] [-V] [-d]
int run_daemon(int argc, char** argv);
// connector-milter explain [-c FILE] --local ADDR:PORT --client IP ...
int run_explain(int argc, char** argv);
// connector-milter status [--metrics URL | -c FILE] [--interval SECONDS]
int run_status(int argc, char** argv);

}  // namespace daemon_main
