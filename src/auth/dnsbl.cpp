#include "auth/dnsbl.hpp"

namespace auth {

std::string_view outcome_name(BlockListOutcome o) {
    switch (o) {
        case BlockListOutcome::Listed: return "listed";
        case BlockListOutcome::Unlisted: return "unlisted";
        case BlockListOutcome::Failed: return "failed";
    }
    return "unknown";
}

std::string BlockListResult::describe() const {
    std::string out = (provider ? provider->name : std::string("?")) + ": " + query_name + " -> ";
    if (answers.empty()) {
        out += dns::status_name(status);
    } else {
        for (std::size_t i = 0; i < answers.size(); ++i) out += (i ? "," : "") + answers[i].to_string();
    }
    out += " (";
    out += outcome_name(outcome);
    out += ")";
    return out;
}

BlockListResult judge(const policy::BlockListProvider& provider, std::string query_name, const dns::Answer& answer) {
    BlockListResult r;
    r.provider = &provider;
    r.query_name = std::move(query_name);
    r.status = answer.status;
    switch (answer.status) {
        case dns::Status::NxDomain:
        case dns::Status::NoData:
            // RFC 5782 section 2.1: an address that is not listed has no A
            // record; NXDOMAIN is the usual answer, not a failure.
            r.outcome = BlockListOutcome::Unlisted;
            return r;
        case dns::Status::Ok: break;
        default: r.outcome = BlockListOutcome::Failed; return r;
    }
    bool list_error = false;
    for (const auto& rec : answer.records) {
        if (rec.type != dns::Type::A) continue;
        const std::uint32_t v = (std::uint32_t{rec.address[0]} << 24) | (std::uint32_t{rec.address[1]} << 16) |
                                (std::uint32_t{rec.address[2]} << 8) | std::uint32_t{rec.address[3]};
        const auto a = policy::IpAddress::v4(v);
        r.answers.push_back(a);
        if (!r.matched && provider.match.matches(a)) r.matched = a;
        if (policy::is_list_error(a)) list_error = true;
    }
    if (r.matched) r.outcome = BlockListOutcome::Listed;
    // The list refused to answer (Spamhaus's 127.255.255.x): its silence
    // is not a statement that the client is clean.
    else if (list_error) r.outcome = BlockListOutcome::Failed;
    else r.outcome = BlockListOutcome::Unlisted;
    return r;
}

BlockListCheck::BlockListCheck(dns::Resolver& resolver, const policy::IpAddress& client,
                               std::vector<const policy::BlockListProvider*> providers, dns::Budget& budget) {
    pending_.reserve(providers.size());
    for (const auto* p : providers) {
        std::string name = policy::block_list_query_name(client, p->lookup_domain);
        auto answer = resolver.start(name, dns::Type::A, budget);
        pending_.push_back(Pending{p, std::move(name), std::move(answer)});
    }
}

const std::vector<BlockListResult>& BlockListCheck::results() {
    if (read_) return results_;
    read_ = true;
    results_.reserve(pending_.size());
    for (auto& p : pending_) results_.push_back(judge(*p.provider, p.query_name, p.answer->wait()));
    return results_;
}

BlockListDecision decide(const std::vector<BlockListResult>& results) {
    for (const auto& r : results)
        if (r.outcome == BlockListOutcome::Listed) return {BlockListDecision::Kind::Listed, &r};
    for (const auto& r : results)
        if (r.outcome == BlockListOutcome::Failed && r.provider->on_failure == policy::BlockListFailure::TempFail)
            return {BlockListDecision::Kind::TempFail, &r};
    return {};
}

}  // namespace auth
