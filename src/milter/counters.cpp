#include "milter/counters.hpp"

#include <array>

#include "metrics/catalogue.hpp"

namespace milter {

void count_engine_tempfail(EngineTempfail why) {
    static const std::array<metrics::Counter*, 3> counters = [] {
        auto& family = metrics::catalogue().engine_tempfails;
        return std::array<metrics::Counter*, 3>{&family.with({"descriptors"}), &family.with({"descriptors_closed"}),
                                                &family.with({"draining"})};
    }();
    const auto i = static_cast<std::size_t>(why);
    if (i < counters.size()) counters[i]->inc();
}

}  // namespace milter
