#include "milter/connection_table.hpp"

namespace milter {

void ConnectionTable::set_budget(ConnectionBudget budget) {
    std::lock_guard lock(mutex_);
    budget_ = budget;
}

ConnectionBudget ConnectionTable::budget() const {
    std::lock_guard lock(mutex_);
    return budget_;
}

ConnectionTable::Admission ConnectionTable::open(Id id, int fd, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto& entry = entries_[id];
    entry.fd = fd;
    entry.busy = 0;
    entry.shut = false;
    entry.last_event = now;
    const std::size_t n = entries_.size();
    if (budget_.connections != 0 && n > budget_.connections) return Admission::Close;
    if (budget_.sessions != 0 && n > budget_.sessions) return Admission::Refuse;
    return Admission::Serve;
}

void ConnectionTable::begin_event(Id id) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end()) ++it->second.busy;
}

void ConnectionTable::end_event(Id id, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end()) {
        if (it->second.busy > 0) --it->second.busy;
        it->second.last_event = now;
    }
}

void ConnectionTable::close(Id id) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
}

std::size_t ConnectionTable::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

std::size_t ConnectionTable::shut_idle(Clock::duration idle, Clock::time_point now,
                                       const std::function<void(int)>& shut) {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (auto& [id, entry] : entries_) {
        if (entry.fd < 0 || entry.busy > 0 || entry.shut || now - entry.last_event < idle) continue;
        shut(entry.fd);
        entry.shut = true;
        ++count;
    }
    return count;
}

}  // namespace milter
