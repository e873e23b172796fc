// The reporting period of `connector-milter report`: whole UTC days by
// default (RFC 9990 section 2: reports cover at least a day, in UTC).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace report {

struct Period {
    std::int64_t begin = 0;  // first second included (seconds since the epoch, UTC)
    std::int64_t until = 0;  // first second after the period; date_range/end is until - 1
};

// "YYYY-MM-DD": that UTC day. nullopt for anything else (including
// impossible dates such as 2026-02-30).
std::optional<Period> day_period(std::string_view date);

// --since/--until: "YYYY-MM-DD" (midnight UTC), "YYYY-MM-DDTHH:MM:SSZ", or
// seconds since the epoch.
std::optional<std::int64_t> parse_time(std::string_view text);

// The UTC day before the one that contains `now`: what a daily timer run
// just after midnight reports.
Period previous_day(std::int64_t now);

// "2026-12-03" for the day containing `t`.
std::string utc_date(std::int64_t t);

}  // namespace report
