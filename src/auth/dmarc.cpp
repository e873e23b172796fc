// DMARC evaluation, RFC 9989. Section numbers below are RFC 9989's unless
// another RFC is named; they were taken from the final draft
// (draft-ietf-dmarc-dmarcbis, whose section 4.10 is the DNS Tree Walk).
#include "auth/dmarc.hpp"

#include <map>
#include <optional>
#include <stdexcept>

#include "auth/dmarc_record.hpp"
#include "auth/org_domain.hpp"
#include "dns/prefetch.hpp"

namespace auth {

std::string_view dmarc_override_name(DmarcOverride o) {
    switch (o) {
    case DmarcOverride::TrustedForwarder: return "trusted_forwarder";
    case DmarcOverride::LocalPolicy: return "local_policy";
    case DmarcOverride::None: break;
    }
    return "";
}

std::string_view dmarc_result_name(DmarcResult result) {
    switch (result) {
    case DmarcResult::Pass: return "pass";
    case DmarcResult::Fail: return "fail";
    case DmarcResult::None: return "none";
    case DmarcResult::TempError: return "temperror";
    case DmarcResult::PermError: return "permerror";
    }
    return "permerror";
}

namespace {

enum class Found : std::uint8_t { None, Record, Temp };

struct NameLookup {
    Found kind = Found::None;
    DmarcRecord record;
    std::string note;  // why there is no record (e.g. several records)
};

enum class Alignment : std::uint8_t { Yes, No, Unknown };

// Section 4.10 steps 3-7: the names a DNS Tree Walk starting at `domain`
// asks, at most eight: the start, then (when it has eight or more labels)
// straight to its last seven labels, then one label fewer each time.
std::vector<std::string> walk_targets(std::string_view domain) {
    std::vector<std::string> targets;
    targets.emplace_back(domain);
    const std::size_t x = label_count(domain);
    if (x <= 1) return targets;
    for (std::size_t n = (x >= 8 ? 7 : x - 1); n >= 1; --n)
        targets.emplace_back(last_labels(domain, n));
    return targets;
}

// One evaluation's DNS work: every _dmarc name is asked at most once, so the
// walks of the Author Domain and of the identifiers share their answers.
class Lookups {
public:
    Lookups(dns::Resolver& resolver, dns::Budget& budget) : resolver_(resolver), budget_(budget) {}

    const NameLookup& fetch(const std::string& domain) {
        if (const auto it = cache_.find(domain); it != cache_.end()) return it->second;
        NameLookup result;
        // dns::ask: the author domain's record asked at end of headers.
        const dns::Answer answer = dns::ask(resolver_, "_dmarc." + domain, dns::Type::TXT, budget_);
        if (dns::is_temporary(answer.status)) {
            result.kind = Found::Temp;
            result.note = std::string(dns::status_name(answer.status));
        } else if (answer.status == dns::Status::Ok) {
            // Section 4.10 step 2: records not starting with v=DMARC1 are
            // discarded; several DMARC records at one name are all discarded.
            std::size_t count = 0;
            for (const auto& rr : answer.records) {
                if (rr.type != dns::Type::TXT) continue;
                if (auto rec = parse_dmarc_record(rr.txt())) {
                    if (++count == 1) result.record = *rec;
                }
            }
            if (count == 1) {
                result.kind = Found::Record;
            } else if (count > 1) {
                result.note = "several DMARC records at _dmarc." + domain + " (all discarded)";
            }
        }
        return cache_.emplace(domain, std::move(result)).first->second;
    }

    struct Walk {
        bool temp = false;
        std::vector<std::string> found;  // names with one valid record, longest first
    };

    // The generic DNS Tree Walk of section 4.10.
    Walk walk(const std::string& domain) {
        Walk w;
        for (const auto& target : walk_targets(domain)) {
            const NameLookup& l = fetch(target);
            if (l.kind == Found::Temp) {
                w.temp = true;
                break;
            }
            if (l.kind != Found::Record) continue;
            w.found.push_back(target);
            // Steps 2 and 6: a record with psd=n or psd=y ends the walk.
            if (l.record.psd == 'y' || l.record.psd == 'n') break;
        }
        return w;
    }

    // Section 4.10.2: the Organizational Domain chosen from a walk's
    // records, longest to shortest. nullopt on a temporary DNS failure.
    std::optional<std::string> organizational_domain(const std::string& domain) {
        if (const auto it = org_cache_.find(domain); it != org_cache_.end()) return it->second;
        const Walk w = walk(domain);
        std::optional<std::string> org;
        if (!w.temp) {
            for (const auto& name : w.found) {
                const DmarcRecord& rec = fetch(name).record;
                if (rec.psd == 'n') {  // rule 1
                    org = name;
                    break;
                }
                if (rec.psd == 'y' && name != domain) {  // rule 2: one label below the PSD
                    org = std::string(last_labels(domain, label_count(name) + 1));
                    break;
                }
            }
            if (!org) {
                // Rule 3: the record with the fewest labels; with no record
                // at all, the starting domain itself.
                org = w.found.empty() ? domain : w.found.back();
            }
        }
        org_cache_.emplace(domain, org);
        return org;
    }

    // Appendix A.4 (Domain Existence Test, RFC 8020): NXDOMAIN means the name
    // does not exist; any other definite answer means it does. nullopt when
    // DNS could not tell.
    std::optional<bool> exists(const std::string& domain) {
        const dns::Answer answer = resolver_.query(domain, dns::Type::A, budget_);
        if (dns::is_temporary(answer.status)) return std::nullopt;
        return answer.status != dns::Status::NxDomain;
    }

private:
    dns::Resolver& resolver_;
    dns::Budget& budget_;
    std::map<std::string, NameLookup> cache_;
    std::map<std::string, std::optional<std::string>> org_cache_;
};

DmarcPolicy lowered(DmarcPolicy p, bool testing) {
    // Section 4.7 "t": with t=y the policy applied is one level below the
    // published one (reject -> quarantine, quarantine -> none).
    if (!testing) return p;
    switch (p) {
    case DmarcPolicy::Reject: return DmarcPolicy::Quarantine;
    case DmarcPolicy::Quarantine: return DmarcPolicy::None;
    case DmarcPolicy::None: return DmarcPolicy::None;
    }
    return DmarcPolicy::None;
}

}  // namespace

DmarcEvaluator::DmarcEvaluator(std::shared_ptr<dns::Resolver> resolver,
                               DmarcOptions options)
    : resolver_(std::move(resolver)), options_(std::move(options)) {
    if (!resolver_) throw std::invalid_argument("DmarcEvaluator needs a resolver");
    if (options_.discovery == DmarcDiscovery::PublicSuffixList)
        psl_ = PublicSuffixList::load(options_.public_suffix_list);
}

DmarcEvaluator::~DmarcEvaluator() = default;

DmarcVerdict DmarcEvaluator::evaluate(const DmarcInput& input, dns::Budget& budget) const {
    DmarcVerdict v;
    const auto author_opt = normalize_dmarc_domain(input.from_domain);
    if (!author_opt) {
        // Section 5.3.1: without exactly one usable Author Domain DMARC
        // validation is not possible.
        v.result = DmarcResult::PermError;
        v.from_domain = input.from_domain;
        v.reason = "no usable RFC5322.From domain";
        return v;
    }
    const std::string author = *author_opt;
    v.from_domain = author;
    Lookups dns(*resolver_, budget);
    const bool psl_mode = psl_ != nullptr;

    auto org_of = [&](const std::string& domain) -> std::optional<std::string> {
        if (psl_mode) return psl_->organizational_domain(domain);
        return dns.organizational_domain(domain);
    };

    // --- Policy discovery (section 4.10.1; RFC 7489 section 6.6.3 in psl mode).
    std::string policy_domain;
    const NameLookup& at_author = dns.fetch(author);
    if (at_author.kind == Found::Temp) {
        v.result = DmarcResult::TempError;
        v.reason = "DMARC record lookup at _dmarc." + author + ": " + at_author.note;
        return v;
    }
    if (at_author.kind == Found::Record) {
        policy_domain = author;
    } else if (psl_mode) {
        const std::string org = psl_->organizational_domain(author);
        v.organizational_domain = org;
        if (org != author) {
            const NameLookup& at_org = dns.fetch(org);
            if (at_org.kind == Found::Temp) {
                v.result = DmarcResult::TempError;
                v.reason = "DMARC record lookup at _dmarc." + org + ": " + at_org.note;
                return v;
            }
            if (at_org.kind == Found::Record) policy_domain = org;
        }
    } else {
        const Lookups::Walk w = dns.walk(author);
        if (w.temp) {
            v.result = DmarcResult::TempError;
            v.reason = "DNS tree walk for " + author + " failed temporarily";
            return v;
        }
        if (!w.found.empty()) {
            const auto org = dns.organizational_domain(author);
            v.organizational_domain = org.value_or("");
            // The Organizational Domain's record, else the PSD's (psd=y).
            if (org && dns.fetch(*org).kind == Found::Record)
                policy_domain = *org;
            else
                policy_domain = w.found.back();
        }
    }
    if (policy_domain.empty()) {
        // Section 4.10.1: no DMARC Policy Record -> DMARC does not apply.
        v.result = DmarcResult::None;
        v.reason = at_author.note.empty() ? "no DMARC record" : at_author.note;
        return v;
    }
    v.policy_domain = policy_domain;
    const DmarcRecord rec = dns.fetch(policy_domain).record;
    v.rua = rec.rua;
    v.fo = rec.fo;
    v.strict_dkim = rec.strict_dkim;
    v.strict_spf = rec.strict_spf;
    v.psd = rec.psd;
    v.discovery = psl_mode ? DmarcDiscovery::PublicSuffixList : DmarcDiscovery::TreeWalk;
    // Plain values instead of std::optional copies (g++ 12 warns falsely
    // about optional<enum> copies, GCC bug 80635).
    DmarcPolicy p = rec.p.value_or(DmarcPolicy::None);
    bool has_sp = rec.sp.has_value(), has_np = rec.np.has_value();
    const DmarcPolicy sp = rec.sp.value_or(DmarcPolicy::None);
    const DmarcPolicy np = rec.np.value_or(DmarcPolicy::None);

    // Section 4.10.1: an invalid p, sp or np makes the record p=none when
    // it has a usable rua=, else DMARC is not applied at all.
    if (rec.p_invalid || rec.sp_invalid || rec.np_invalid) {
        if (!rec.has_valid_rua) {
            v.result = DmarcResult::None;
            v.reason = "DMARC record at _dmarc." + policy_domain +
                       " has an invalid p/sp/np and no rua: not applied";
            return v;
        }
        p = DmarcPolicy::None;
        has_sp = has_np = false;
    }
    v.policy = std::string(dmarc_policy_name(p));
    if (has_sp) v.subdomain_policy = std::string(dmarc_policy_name(sp));
    if (has_np) v.np = std::string(dmarc_policy_name(np));
    v.testing = rec.testing;

    // --- Identifier Alignment (section 4.4; definitions in section 3.2.10).
    std::optional<std::optional<std::string>> author_org;  // computed once, lazily
    auto aligned = [&](std::string_view identifier, bool strict) -> Alignment {
        const auto id = normalize_dmarc_domain(identifier);
        if (!id) return Alignment::No;
        if (*id == author) return Alignment::Yes;  // strict alignment, and relaxed a fortiori
        if (strict) return Alignment::No;
        // Organizational Domains are suffixes: different TLDs never align.
        if (last_labels(*id, 1) != last_labels(author, 1)) return Alignment::No;
        if (!author_org) author_org = org_of(author);
        if (!*author_org) return Alignment::Unknown;
        const std::string& org_a = **author_org;
        if (v.organizational_domain.empty()) v.organizational_domain = org_a;
        // An Organizational Domain is a suffix of its domain, so only names
        // at or below the author's one can share it. Deciding that without
        // DNS also means a DNS failure under someone else's name (say a
        // signer that makes its own _dmarc lookups time out) can never turn
        // a fail into a temperror.
        if (*id != org_a &&
            !(id->size() > org_a.size() &&
              id->compare(id->size() - org_a.size(), org_a.size(), org_a) == 0 &&
              (*id)[id->size() - org_a.size() - 1] == '.'))
            return Alignment::No;
        const auto id_org = org_of(*id);
        if (!id_org) return Alignment::Unknown;
        return *id_org == **author_org ? Alignment::Yes : Alignment::No;
    };

    bool unknown = false;
    std::string passed_by;
    // Section 4.4.1: any aligned DKIM-Authenticated Identifier is enough.
    for (const auto& sig : input.dkim) {
        if (sig.result != DkimResult::Pass) continue;
        const Alignment a = aligned(sig.domain, rec.strict_dkim);
        if (a == Alignment::Yes) {
            passed_by = "DKIM d=" + sig.domain + " aligned";
            v.dkim_aligned = true;
            break;
        }
        if (a == Alignment::Unknown) unknown = true;
    }
    // Section 4.4.2: the SPF-Authenticated Identifier (MAIL FROM domain).
    // An aggregate report states SPF's alignment too (RFC 9990
    // policy_evaluated/spf), so with rua= it is tested after a DKIM pass.
    const bool dkim_passed = !passed_by.empty();
    if ((!dkim_passed || !rec.rua.empty()) && input.spf_result == SpfResult::Pass && !input.spf_domain.empty()) {
        const Alignment a = aligned(input.spf_domain, rec.strict_spf);
        if (a == Alignment::Yes) {
            v.spf_aligned = true;
            if (!dkim_passed) passed_by = "SPF " + input.spf_domain + " aligned";
        }
        if (a == Alignment::Unknown && !dkim_passed) unknown = true;
    }

    // Which of p / sp / np applies (section 4.10.1).
    DmarcPolicy applied = p;
    const bool subdomain = policy_domain != author;
    if (subdomain && has_sp) applied = sp;
    if (!passed_by.empty()) {
        v.result = DmarcResult::Pass;
        v.applied_policy = std::string(dmarc_policy_name(applied));
        v.reason = passed_by;
        return v;
    }
    if (unknown) {
        // Section 5.3.6: a DNS error during validation means neither pass
        // nor fail.
        v.result = DmarcResult::TempError;
        v.applied_policy = std::string(dmarc_policy_name(applied));
        v.reason = "Organizational Domain lookup failed temporarily";
        return v;
    }

    v.result = DmarcResult::Fail;
    std::string note;
    if (subdomain && has_np) {
        const auto exists = dns.exists(author);
        if (!exists) {
            note = "; existence of " + author + " unknown (np= not applied)";
        } else if (!*exists) {
            applied = np;  // non-existent subdomain (section 3.2.13, RFC 8020)
        }
    }
    v.applied_policy = std::string(dmarc_policy_name(applied));
    v.disposition = lowered(applied, rec.testing);

    // A temperror on an identifier that would align could have turned this
    // fail into a pass (RFC 8601 section 2.7.1 temperror).
    for (const auto& sig : input.dkim) {
        if (sig.result != DkimResult::TempError) continue;
        if (aligned(sig.domain, rec.strict_dkim) != Alignment::No) {
            v.fail_only_due_to_temperror = true;
            break;
        }
    }
    if (!v.fail_only_due_to_temperror && input.spf_result == SpfResult::TempError &&
        !input.spf_domain.empty() && aligned(input.spf_domain, rec.strict_spf) != Alignment::No)
        v.fail_only_due_to_temperror = true;

    v.reason = "no aligned SPF or DKIM pass" + note;
    if (v.fail_only_due_to_temperror) v.reason += " (an aligned identifier had a temperror)";
    return v;
}

}  // namespace auth
