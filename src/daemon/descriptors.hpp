// File descriptors: the process's open-files limit and how many milter
// connections it can hold (issue 12 item 4). Every milter connection costs
// one descriptor; the rest of the process (listener, DNS sockets, logs,
// files read on reload) needs some too, and running out leaves libmilter's
// listener unable to accept (it retries accept() at once on EMFILE, and the
// MTA's connections wait unanswered in the backlog).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "milter/connection_table.hpp"

namespace daemon_main {

struct OpenFilesLimit {
    std::uint64_t soft = 0;       // in force now
    std::uint64_t previous = 0;   // before raise_open_files_limit()
    std::uint64_t hard = 0;
    std::string problem;          // why it could not be raised, if it could not
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at what the
// kernel allows for one process, fs.nr_open).
OpenFilesLimit raise_open_files_limit();

// Descriptors open in this process now (/proc/self/fd), or 0 if unknown.
std::size_t open_descriptors();

// The budget: with `limit` descriptors, `open` used already and `reserve`
// to keep, sessions may use limit - open - reserve; connections beyond that
// are refused with 421 4.3.2 until half the reserve is used too, then
// closed at negotiation, so that half the reserve always stays free.
milter::ConnectionBudget connection_budget(std::uint64_t limit, std::size_t open, std::uint32_t reserve);

}  // namespace daemon_main
