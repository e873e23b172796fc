// A small in-memory dns::Resolver for the DKIM and DMARC tests: TXT records
// and injected failures per name, a log of every question asked, and the
// budget charged once per question like a real resolver.
#pragma once
#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.hpp"

namespace testing_dns {

inline std::string lower_name(std::string_view name) {
    std::string s(name);
    while (!s.empty() && s.back() == '.') s.pop_back();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return s;
}

class FakeResolver final : public dns::Resolver {
public:
    // One TXT record whose character-strings are `strings`.
    void add_txt(std::string_view name, std::vector<std::string> strings) {
        dns::Record r;
        r.type = dns::Type::TXT;
        r.strings = std::move(strings);
        nodes_[lower_name(name)].push_back(std::move(r));
    }
    void add_txt(std::string_view name, std::string text) {
        add_txt(name, std::vector<std::string>{std::move(text)});
    }
    // A name that exists (answers NODATA for TXT) without records.
    void add_name(std::string_view name) { nodes_[lower_name(name)]; }
    // Every question about `name` fails this way (Timeout or ServFail).
    void add_failure(std::string_view name, dns::Status failure) {
        failures_[lower_name(name)] = failure;
    }

    dns::Answer query(std::string_view name, dns::Type type, dns::Budget& budget) override {
        std::lock_guard lock(mutex_);
        const std::string key = lower_name(name);
        dns::Answer answer;
        if (!budget.charge()) {
            answer.status = dns::Status::BudgetExhausted;
            return answer;
        }
        asked_.push_back(key + "/" + std::string(dns::type_name(type)));
        answer.canonical_name = key;
        if (const auto f = failures_.find(key); f != failures_.end()) {
            answer.status = f->second;
            return answer;
        }
        const auto it = nodes_.find(key);
        if (it == nodes_.end()) {
            // RFC 8020: a name above a held name exists (empty non-terminal).
            const std::string suffix = "." + key;
            const bool ent = std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& n) {
                return n.first.size() > suffix.size() &&
                       n.first.compare(n.first.size() - suffix.size(), suffix.size(), suffix) == 0;
            });
            answer.status = ent ? dns::Status::NoData : dns::Status::NxDomain;
            return answer;
        }
        for (const auto& r : it->second)
            if (r.type == type) answer.records.push_back(r);
        answer.status = answer.records.empty() ? dns::Status::NoData : dns::Status::Ok;
        return answer;
    }

    std::vector<std::string> asked() const {
        std::lock_guard lock(mutex_);
        return asked_;
    }
    std::size_t questions() const {
        std::lock_guard lock(mutex_);
        return asked_.size();
    }
    void clear_log() {
        std::lock_guard lock(mutex_);
        asked_.clear();
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::vector<dns::Record>> nodes_;
    std::map<std::string, dns::Status> failures_;
    std::vector<std::string> asked_;
};

}  // namespace testing_dns
