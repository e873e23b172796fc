// Splitting a report that is too large for a destination's size limit
// (RFC 7489 section 6.2 "!size"; RFC 9990 section 3.2.1.1 leaves the size to
// the transport): consecutive records in 1, 2, 4, ... parts until each part
// fits, or nothing when even one record alone does not.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "report/feedback_xml.hpp"

namespace report {

template <typename Part>
std::vector<Part> split_to_fit(const Rows& all,
                               const std::function<Part(const Rows&, std::size_t index, std::size_t count)>& make,
                               const std::function<bool(const Part&)>& fits) {
    for (std::size_t parts = 1; parts <= all.size(); parts *= 2) {
        const std::size_t per = (all.size() + parts - 1) / parts;
        const std::size_t count = (all.size() + per - 1) / per;
        std::vector<Part> out;
        bool ok = true;
        for (std::size_t i = 0; i < count && ok; ++i) {
            const Rows slice(all.begin() + static_cast<std::ptrdiff_t>(i * per),
                             all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), (i + 1) * per)));
            out.push_back(make(slice, i, count));
            ok = fits(out.back());
        }
        if (ok) return out;
        if (per == 1) break;
    }
    return {};
}

}  // namespace report
