// DKIM signing (RFC 6376 section 5): rsa-sha256 and ed25519-sha256
// (RFC 8463), both made by auth/dkim_signature_maker.hpp, several signatures per message (one per key
// choice), never l= (section 8.2), t= always and x= when configured.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/dkim_sign_options.hpp"

namespace auth {

// One signature made (or the reason it could not be).
struct DkimSignature {
    std::string domain;        // d=
    std::string selector;      // s=
    std::string algorithm;     // a=
    std::string identity;      // i=; empty: none
    std::string why;           // which rule chose the key (and why its i= was left out)
    std::string header_value;  // the DKIM-Signature value, folded with "\n\t"; empty on error
    std::string error;         // non-empty: this signature failed
};

class DkimSigner {
    struct Settings;

public:
    // Copies what it needs from `options` (header lists, canonicalization,
    // x=); the keys are referenced by each start()'s choices, which must
    // outlive the message (they live in the config snapshot).
    explicit DkimSigner(const DkimSignOptions& options);
    ~DkimSigner();
    DkimSigner(const DkimSigner&) = delete;
    DkimSigner& operator=(const DkimSigner&) = delete;

    // Tests: t= is this instead of the clock (0: the clock).
    void set_fixed_time(std::uint64_t seconds);

    class Message {
    public:
        ~Message();
        Message(const Message&) = delete;
        Message& operator=(const Message&) = delete;
        // Body bytes in any chunking; bare LF is hashed as CRLF.
        void body(std::string_view chunk);
        // One entry per key choice, in order.
        std::vector<DkimSignature> finish();

        struct State;

    private:
        friend class DkimSigner;
        explicit Message(std::unique_ptr<State> state);
        std::unique_ptr<State> state_;
    };

    // `headers`: the header fields as they will be delivered, in order:
    // name without colon, value as received after the colon (leading space
    // included when the MTA sends it). Never null; a choice that cannot be
    // signed (no From:, a key without its parsed form) reports its error
    // from finish(). `id` (the queue id) is not used by the signatures: the
    // caller's log lines carry it.
    std::unique_ptr<Message> start(std::string_view id, const std::vector<DkimKeyChoice>& choices,
                                   const std::vector<std::pair<std::string, std::string>>& headers) const;

private:
    std::unique_ptr<Settings> settings_;
};

}  // namespace auth
