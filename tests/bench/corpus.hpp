// The benchmark corpus (tests/bench/corpus_gen.py writes it): manifest.tsv
// names each message file with its envelope. Shared by the load generator
// (milter_load) and the "work alone" driver (session_work).
#pragma once
#include <string>
#include <vector>

#include "milterclient/mta.hpp"

namespace bench {

struct CorpusMessage {
    milterclient::SmtpClient client;
    milterclient::SimpleMessage message;
};

// Every message of DIR/manifest.tsv, with the MTA's binding macros of a
// port-25 listener at 10.0.0.50 (connector-milter's "Default Frontend" in
// the benchmark's configuration). Throws std::runtime_error.
std::vector<CorpusMessage> load_corpus(const std::string& dir);

}  // namespace bench
