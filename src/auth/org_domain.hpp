// Domain-name helpers for DMARC: normalisation of identifiers and the
// RFC 7489 section 3.2 Organizational Domain through the public suffix list
// (libpsl), kept for sites that configure [dmarc] discovery = "psl".
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace auth {

// Lower case, no trailing dot, U-labels converted to A-labels (RFC 9989
// section 5.3.1 requires A-labels). nullopt for an empty name, an empty
// label, a label over 63 octets, a name over 253 octets or one IDNA2008
// rejects.
std::optional<std::string> normalize_dmarc_domain(std::string_view name);

// Number of labels of a normalised name ("a.example.com" -> 3).
std::size_t label_count(std::string_view name);
// The rightmost `n` labels of a normalised name.
std::string_view last_labels(std::string_view name, std::size_t n);

class PublicSuffixList {
public:
    // `file` empty: libpsl's newest list (built-in or the distribution's
    // file). Throws std::runtime_error with the file name when it cannot
    // be loaded.
    static std::unique_ptr<PublicSuffixList> load(const std::string& file);
    ~PublicSuffixList();
    PublicSuffixList(const PublicSuffixList&) = delete;
    PublicSuffixList& operator=(const PublicSuffixList&) = delete;

    // The registrable domain (public suffix plus one label), or nullopt when
    // `domain` is itself a public suffix or not a usable name.
    std::optional<std::string> registrable_domain(std::string_view domain) const;
    // RFC 7489 section 3.2: the registrable domain, or the name itself when
    // it has none.
    std::string organizational_domain(std::string_view domain) const;

    struct Ctx;

private:
    explicit PublicSuffixList(std::unique_ptr<Ctx> ctx);
    std::unique_ptr<Ctx> ctx_;
};

}  // namespace auth
