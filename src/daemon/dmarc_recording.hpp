// The daemon's one recorder of DMARC evaluations ([dmarc.reports]): kept
// across reloads while the database settings stay the same, so that a
// reload neither loses the queue nor opens a second writer.
#pragma once
#include <chrono>
#include <memory>

#include "config/settings.hpp"
#include "state/dmarc_evaluation.hpp"

namespace daemon_main {

// Null when reports are off.
std::shared_ptr<state::EvaluationSink> dmarc_recorder(const config::DmarcSettings& settings);

// Stores what is queued, waiting at most `limit` (at exit).
void flush_dmarc_recorder(std::chrono::milliseconds limit);

}  // namespace daemon_main
