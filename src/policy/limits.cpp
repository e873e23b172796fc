#include "policy/limits.hpp"

#include <algorithm>

namespace policy {

namespace {

std::string source_key(std::string_view connector, std::string_view source) {
    std::string key(connector);
    key += '\0';
    key += source;
    return key;
}

void decrement(std::map<std::string, std::uint32_t, std::less<>>& counts, std::string_view key) {
    const auto it = counts.find(key);
    if (it == counts.end()) return;
    // Drop keys that reach zero so memory follows the live connections,
    // not every address that ever connected.
    if (it->second <= 1) counts.erase(it);
    else --it->second;
}

// How many entries a window map may hold before a full sweep of stale ones.
constexpr std::size_t kSweepThreshold = 4096;
constexpr auto kWindow = std::chrono::minutes(1);

}  // namespace

std::string_view limit_name(ConnectionLimit limit) {
    switch (limit) {
        case ConnectionLimit::None: break;
        case ConnectionLimit::Total: return "max_inbound_connection";
        case ConnectionLimit::PerSource: return "max_inbound_connection_per_source";
        case ConnectionLimit::PercentagePerSource: return "max_inbound_connection_percentage_per_source";
    }
    return "none";
}

std::optional<std::uint64_t> percentage_share(const Connector& connector) {
    if (!connector.max_inbound_connection_percentage_per_source || !connector.max_inbound_connection)
        return std::nullopt;
    return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(*connector.max_inbound_connection) *
                                          *connector.max_inbound_connection_percentage_per_source / 100);
}

ConnectionLimit exceeded_limit(const Connector& connector, const ConnectionCounts& counts) {
    if (connector.max_inbound_connection && counts.total + 1 > *connector.max_inbound_connection)
        return ConnectionLimit::Total;
    if (connector.max_inbound_connection_per_source &&
        counts.from_source + 1 > *connector.max_inbound_connection_per_source)
        return ConnectionLimit::PerSource;
    if (const auto share = percentage_share(connector); share && counts.from_source + 1 > *share)
        return ConnectionLimit::PercentagePerSource;
    return ConnectionLimit::None;
}

bool ConnectionTracker::open(const Connector& connector, std::string_view source, ConnectionCounts* counts,
                             ConnectionLimit* refused_by) {
    const std::lock_guard lock(mutex_);
    const std::string skey = source_key(connector.name, source);
    const auto total_it = per_connector_.find(connector.name);
    const auto source_it = per_source_.find(skey);
    ConnectionCounts now;
    now.total = total_it == per_connector_.end() ? 0 : total_it->second;
    now.from_source = source_it == per_source_.end() ? 0 : source_it->second;
    if (counts) *counts = now;
    const ConnectionLimit exceeded = exceeded_limit(connector, now);
    if (refused_by) *refused_by = exceeded;
    if (exceeded != ConnectionLimit::None) return false;
    ++per_connector_[connector.name];
    ++per_source_[skey];
    return true;
}

void ConnectionTracker::close(const Connector& connector, std::string_view source) {
    const std::lock_guard lock(mutex_);
    decrement(per_connector_, connector.name);
    decrement(per_source_, source_key(connector.name, source));
}

std::uint32_t ConnectionTracker::total(std::string_view connector_name) const {
    const std::lock_guard lock(mutex_);
    const auto it = per_connector_.find(connector_name);
    return it == per_connector_.end() ? 0 : it->second;
}

bool RateLimiter::admit(const Connector& connector, std::string_view key, Clock::time_point now,
                        std::uint64_t* in_window_out) {
    if (in_window_out) *in_window_out = 0;
    if (!connector.message_rate_limit) return true;
    const std::lock_guard lock(mutex_);
    const auto cutoff = now - kWindow;
    const auto stale = [&](Clock::time_point t) { return t <= cutoff; };

    if (windows_.size() >= kSweepThreshold) {
        for (auto it = windows_.begin(); it != windows_.end();) {
            auto& times = it->second;
            times.erase(std::remove_if(times.begin(), times.end(), stale), times.end());
            it = times.empty() ? windows_.erase(it) : std::next(it);
        }
    }

    const std::string wkey = source_key(connector.name, key);
    auto it = windows_.find(wkey);
    if (it != windows_.end()) {
        auto& times = it->second;
        // Threads may append slightly out of order: remove every stale one.
        times.erase(std::remove_if(times.begin(), times.end(), stale), times.end());
    }
    const std::size_t in_window = it == windows_.end() ? 0 : it->second.size();
    if (in_window_out) *in_window_out = in_window;
    if (in_window >= *connector.message_rate_limit) {
        if (it != windows_.end() && it->second.empty()) windows_.erase(it);
        return false;
    }
    if (it == windows_.end()) it = windows_.emplace(wkey, std::vector<Clock::time_point>{}).first;
    it->second.push_back(now);
    return true;
}

}  // namespace policy
