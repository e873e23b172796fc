// Process concerns: flags, signals, privileges, pidfile, reload, drain.
#pragma once

namespace daemon_main {

// connector-milter [-c FILE] [-f] [-n] [-p SOCKET] [-u USER[:GROUP]] [-P PIDFILE] [-V] [-d]
int run_daemon(int argc, char** argv);
// connector-milter explain [-c FILE] --local ADDR:PORT --client IP ...
int run_explain(int argc, char** argv);
// connector-milter status [--metrics URL | -c FILE] [--interval SECONDS]
int run_status(int argc, char** argv);
// `genkey`: a new DKIM private key (mode 0600) and its TXT record;
// `testkey`: each configured key against its published record (dkim_keys.cpp).
int run_genkey(int argc, char** argv);
int run_testkey(int argc, char** argv);

}  // namespace daemon_main
