// RFC 6376 section 3.4 canonicalization ("simple" and "relaxed") of header
// fields and bodies, and the body hash of section 3.7, as the ARC verifier
// needs them (RFC 8617 section 4.1.2: the AMS is a DKIM signature, and
// section 5.1.1: the ARC-Seal hashes relaxed header fields).
//
// Why our own and not libopendkim's: libopendkim 2.11 has no ARC support
// (no arc symbols in libopendkim.so.11) and exports no canonicalization
// function; it canonicalizes only inside dkim_eom() for the DKIM-Signature
// fields it parsed itself. The alternatives, OpenARC's libopenarc (a 2018
// beta, not maintained, with its own resolver and no ed25519) or feeding
// libopendkim renamed header fields (the AMS hashes its own name, so a
// renamed field cannot verify), are worse than these few hundred lines of
// well-specified rules checked against the public ARC test suite and two
// independent verifiers (dkimpy, Mail::DKIM). Hashing is OpenSSL's EVP.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace auth {

enum class Canon : std::uint8_t { Simple, Relaxed };

// "simple"/"relaxed" (case-sensitive as RFC 6376 writes them) or nullopt.
std::optional<Canon> parse_canon(std::string_view word);

// One header field, `name` as received (without the colon) and `value`
// everything after the colon with its folds as CRLF, appended to `out` in
// canonical form with a final CRLF (RFC 6376 sections 3.4.1 and 3.4.2).
void canonicalize_header(Canon canon, std::string_view name, std::string_view value, std::string& out);

// RFC 6376 section 5.4.2: the header fields an h= list signs, as indices
// into a message's `count` fields (in received order, `name_of(i)` the name
// of field i), in h= order. Each name picks the next unused instance of that
// field from the bottom up; a name with no instance left adds nothing.
// Names compare case-insensitively, without surrounding white space.
std::vector<std::size_t> select_signed_headers(std::string_view h_list, std::size_t count,
                                               const std::function<std::string_view(std::size_t)>& name_of);
// Calls `fn` with each non-empty name of an h= list, trimmed.
void for_each_signed_name(std::string_view h_list, const std::function<void(std::string_view)>& fn);

// A signature header field's value with its b= value emptied (RFC 6376
// section 3.7: "deleted (treated as the empty string)"); `begin`/`end` the
// b= value's span (tag_list.hpp Tag::value_begin/value_end).
std::string without_span(std::string_view value, std::size_t begin, std::size_t end);
// Drops the final CRLF of a canonicalized block: the signature header
// field is hashed without one (RFC 6376 section 3.7).
void drop_final_crlf(std::string& s);

// A streaming body canonicalizer feeding SHA-256 hashes, one per distinct
// l= limit (RFC 6376 section 3.4.3/3.4.4 and 3.5 "l="). Body bytes may come
// in any chunking; a bare LF counts as a line end (the MTA's "\n").
class BodyHasher {
public:
    explicit BodyHasher(Canon canon);
    ~BodyHasher();
    BodyHasher(const BodyHasher&) = delete;
    BodyHasher& operator=(const BodyHasher&) = delete;

    // Adds a hash of the first `limit` canonical octets (nullopt: all).
    // Returns its index for digest(). Only before the first body().
    std::size_t add_limit(std::optional<std::uint64_t> limit);
    bool has_limit(std::optional<std::uint64_t> limit) const;
    std::size_t limits() const { return hashes_.size(); }
    void body(std::string_view chunk);
    // Ends the body; then digest(i) is the SHA-256 of hash i, and
    // canonical_length() how many canonical octets the body had.
    void finish();
    const std::string& digest(std::size_t index) const;
    std::uint64_t canonical_length() const { return length_; }
    Canon canon() const { return canon_; }

private:
    void emit(std::string_view canonical);
    void content(char c);
    void start_content();
    void content_run(std::string_view run);
    static std::size_t next_relaxed_change(std::string_view run, std::size_t from);
    void end_line();

    struct Hash;
    Canon canon_;
    std::vector<std::unique_ptr<Hash>> hashes_;
    std::uint64_t length_ = 0;
    std::uint64_t pending_empty_lines_ = 0;  // CRLFs held back until content follows
    bool line_has_content_ = false;
    bool pending_wsp_ = false;  // relaxed: a run of WSP not yet written
    bool prev_cr_ = false;      // the last byte was a CR that may start a CRLF
    bool finished_ = false;
    std::string out_;           // canonical bytes of the current chunk
};

}  // namespace auth
