// ARC chain verification (RFC 8617 section 5.2): the ARC Set structure,
// the ARC-Message-Signature (AMS) and ARC-Seal (AS) signatures (rsa-sha256,
// ed25519-sha256), the cv= of each seal, the chain's result and its oldest
// passing AMS. Keys are DKIM keys fetched through dns::Resolver within the
// message's budget, under the same RFC 8301 rules as DKIM (no rsa-sha1, no
// RSA key under min_rsa_bits). No sealing: only verification (the IETF is
// moving ARC to Historic; receivers still need to read it).
#pragma once
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/options.hpp"
#include "dns/resolver.hpp"

namespace auth {

// RFC 8617 section 4.4 / the "arc" method of the RFC 8601 registry.
enum class ArcResult : std::uint8_t { None, Pass, Fail };
std::string_view arc_result_name(ArcResult result);  // "none", "pass", "fail"

// RFC 8617 section 4.2.1: at most 50 ARC Sets; more is a failed chain.
inline constexpr std::uint32_t kArcMaxSets = 50;
// Queries the SPF check leaves in the message's DNS budget for ARC: the
// keys of the newest set's seal and message signature (older sets mostly
// reuse a key already fetched; when they do not, the budget is what bounds
// the work and a chain it cannot finish fails as temporary).
inline constexpr std::uint32_t kArcReservedQueries = 2;

// One ARC Set of a chain whose structure is valid.
struct ArcSet {
    std::uint32_t instance = 0;
    std::string seal_domain, seal_selector;  // AS d= and s=
    std::string signature_domain;            // AMS d=
    std::string cv;                          // AS cv= ("none", "pass", "fail")
    // The ARC-Authentication-Results payload after "i=N;": an RFC 8601
    // Authentication-Results value (authserv-id; resinfo...).
    std::string authentication_results;
};

struct ArcVerdict {
    ArcResult result = ArcResult::None;
    std::string reason;   // why it failed (or "" for pass/none)
    // A key lookup failed temporarily (timeout, SERVFAIL, budget): a retry
    // might give another result. RFC 8617 has no temperror for ARC; the
    // result is fail and this flag tells logs and callers why.
    bool temporary = false;
    std::uint32_t instances = 0;  // N, the highest instance (0: no ARC header)
    // RFC 8617 section 5.2 step 5, for a passing chain: the lowest instance
    // of the uninterrupted run of validating AMSes from N down; 0 when every
    // AMS validates (then the message is as the first sealer saw it).
    std::uint32_t oldest_pass = 0;
    std::vector<ArcSet> sets;  // instance 1..N, filled when the structure is valid
};

class ArcVerifier {
public:
    ArcVerifier(std::shared_ptr<dns::Resolver> resolver, ArcOptions options);
    ~ArcVerifier();
    ArcVerifier(const ArcVerifier&) = delete;
    ArcVerifier& operator=(const ArcVerifier&) = delete;

    // One message, fed in the milter's order (one thread at a time).
    class Message {
    public:
        ~Message();
        Message(const Message&) = delete;
        Message& operator=(const Message&) = delete;
        // As DkimVerifier::Message::header: `name` without the colon,
        // `value` everything after it, folds as "\n" or "\r\n".
        void header(std::string_view name, std::string_view value);
        void end_of_headers();
        // After end_of_headers: the key records finish() will ask first (the
        // newest ARC Set's message signature and seal keys, as
        // "<s>._domainkey.<d>"), at most kArcReservedQueries, none when the
        // chain fails before any key is needed. The session asks them
        // ahead (dns/prefetch.hpp); finish() reads them through dns::ask().
        std::vector<std::string> key_names() const;
        void body(std::string_view chunk);
        // The chain's verdict. Key lookups charge `budget`; `now` is for
        // AMS x= expiry.
        ArcVerdict finish(dns::Budget& budget, std::time_t now = std::time(nullptr));

        struct State;

    private:
        friend class ArcVerifier;
        explicit Message(std::unique_ptr<State> state);
        std::unique_ptr<State> state_;
    };
    std::unique_ptr<Message> start() const;

    struct Shared;

private:
    std::shared_ptr<Shared> shared_;
};

}  // namespace auth
