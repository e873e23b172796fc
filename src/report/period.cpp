#include "report/period.hpp"

#include <charconv>
#include <cstdio>

namespace report {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil algorithm), so that no time zone or locale is involved.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t* y, unsigned* m, unsigned* d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2);
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned* out) {
    if (pos + n > s.size()) return false;
    unsigned v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + static_cast<unsigned>(s[i] - '0');
    }
    *out = v;
    return true;
}

std::optional<std::int64_t> date_start(std::string_view s) {
    unsigned y = 0, m = 0, d = 0;
    if (s.size() < 10 || !digits(s, 0, 4, &y) || s[4] != '-' || !digits(s, 5, 2, &m) || s[7] != '-' ||
        !digits(s, 8, 2, &d))
        return std::nullopt;
    if (y < 1970 || m < 1 || m > 12 || d < 1) return std::nullopt;
    const std::int64_t days = days_from_civil(y, m, d);
    // Reject 2026-02-30 and the like: the day must round-trip.
    std::int64_t yy = 0;
    unsigned mm = 0, dd = 0;
    civil_from_days(days, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d) return std::nullopt;
    return days * 86400;
}

}  // namespace

std::optional<Period> day_period(std::string_view date) {
    if (date.size() != 10) return std::nullopt;
    const auto start = date_start(date);
    if (!start) return std::nullopt;
    return Period{*start, *start + 86400};
}

std::optional<std::int64_t> parse_time(std::string_view text) {
    if (text.size() == 10 && text[4] == '-') return date_start(text);
    if (text.size() == 20 && text[4] == '-' && text[10] == 'T' && text[19] == 'Z') {
        const auto start = date_start(text.substr(0, 10));
        unsigned h = 0, mi = 0, se = 0;
        if (!start || !digits(text, 11, 2, &h) || text[13] != ':' || !digits(text, 14, 2, &mi) || text[16] != ':' ||
            !digits(text, 17, 2, &se) || h > 23 || mi > 59 || se > 59)
            return std::nullopt;
        return *start + h * 3600 + mi * 60 + se;
    }
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 0) return std::nullopt;
    return v;
}

Period previous_day(std::int64_t now) {
    const std::int64_t today = (now >= 0 ? now / 86400 : (now - 86399) / 86400) * 86400;
    return Period{today - 86400, today};
}

std::string utc_date(std::int64_t t) {
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(t >= 0 ? t / 86400 : (t - 86399) / 86400, &y, &m, &d);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
    return buf;
}

}  // namespace report
