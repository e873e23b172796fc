// The daemon's one recorder of DMARC evaluations ([dmarc.reports]): kept
// across reloads while the database settings stay the same, so that a
// reload neither loses the queue nor opens a second writer.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "config/settings.hpp"
#include "state/dmarc_evaluation.hpp"

namespace daemon_main {

// Null when reports are off. `cluster`: the Redis of [dmarc.reports]
// store = "redis".
std::shared_ptr<state::EvaluationSink> dmarc_recorder(const config::DmarcSettings& settings,
                                                      const config::ClusterSettings& cluster);

// The [cluster] password, read at start before privileges are dropped; the
// Redis store is opened later, on the recorder's thread.
void set_dmarc_cluster_password(std::string password);

// Stores what is queued, waiting at most `limit` (at exit).
void flush_dmarc_recorder(std::chrono::milliseconds limit);
// The same, then ends the recorder's thread and closes its store (at the
// end of run_daemon: the store's threads must be gone before the static
// objects they use).
void stop_dmarc_recorder(std::chrono::milliseconds limit);

}  // namespace daemon_main
