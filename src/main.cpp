// connector-milter: Exchange-style receive connectors, SPF, DKIM and DMARC
// for sendmail and Postfix.
#include <cstring>

#include "daemon/daemon.hpp"
#include "report/command.hpp"

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "explain") == 0) return daemon_main::run_explain(argc - 1, argv + 1);
    if (argc > 1 && std::strcmp(argv[1], "status") == 0) return daemon_main::run_status(argc - 1, argv + 1);
    if (argc > 1 && std::strcmp(argv[1], "genkey") == 0) return daemon_main::run_genkey(argc - 1, argv + 1);
    if (argc > 1 && std::strcmp(argv[1], "testkey") == 0) return daemon_main::run_testkey(argc - 1, argv + 1);
    if (argc > 1 && std::strcmp(argv[1], "report") == 0) return report::run_report(argc - 1, argv + 1);
    return daemon_main::run_daemon(argc, argv);
}
