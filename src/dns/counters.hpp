// What the resolver counts (metrics/catalogue.hpp): each call is one atomic
// add through a reference resolved once per process.
#pragma once
#include "dns/resolver.hpp"

namespace dns::counters {

void upstream_query();          // a question left the process
void upstream_answer(Status s); // its answer (Ok, NxDomain, NoData, ServFail, Timeout)
void cache_hit();               // answered from our cache
void budget_exhausted();        // not asked: the message's budget was spent

}  // namespace dns::counters
