// What the milter engines count (metrics/catalogue.hpp): answers given
// before any session work, resolved once per process.
#pragma once
#include <cstdint>

namespace milter {

// (A full work queue is work_queue_full_total, counted by the engine.)
enum class EngineTempfail : std::uint8_t {
    Descriptors,        // over the descriptor budget: 421 4.3.2 at connect
    DescriptorsClosed,  // far over it: closed at negotiation
    Draining,           // shutting down: 421 4.3.2 at connect
};
void count_engine_tempfail(EngineTempfail why);

}  // namespace milter
