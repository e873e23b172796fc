#include "dns/counters.hpp"

#include <array>

#include "metrics/catalogue.hpp"

namespace dns::counters {

namespace {

struct Counters {
    metrics::Counter* queries;
    metrics::Counter* cache_hits;
    metrics::Counter* budget_exhausted;
    // Indexed by Status; BudgetExhausted is never an upstream answer.
    std::array<metrics::Counter*, 5> answers;
};

const Counters& counters() {
    static const Counters c = [] {
        const auto& cat = metrics::catalogue();
        Counters made{};
        made.queries = &cat.dns_queries.with({});
        made.cache_hits = &cat.dns_cache_hits.with({});
        made.budget_exhausted = &cat.dns_budget_exhausted.with({});
        made.answers = {&cat.dns_answers.with({"ok"}), &cat.dns_answers.with({"nxdomain"}),
                        &cat.dns_answers.with({"nodata"}), &cat.dns_answers.with({"servfail"}),
                        &cat.dns_answers.with({"timeout"})};
        return made;
    }();
    return c;
}

}  // namespace

void upstream_query() { counters().queries->inc(); }

void upstream_answer(Status s) {
    const auto i = static_cast<std::size_t>(s);
    if (i < counters().answers.size()) counters().answers[i]->inc();
}

void cache_hit() { counters().cache_hits->inc(); }

void budget_exhausted() { counters().budget_exhausted->inc(); }

}  // namespace dns::counters
