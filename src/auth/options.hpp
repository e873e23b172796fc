// What the DKIM verifier and the DMARC evaluator are built from, as auth/
// defines it (config/ fills these in as part of its [dkim] and [dmarc]
// settings; auth/ never includes config/). Defaults are documented in
// connector-milter.conf(5).
#pragma once
#include <cstdint>
#include <string>

namespace auth {

// [dkim] verifier: who verifies DKIM-Signature fields. Native is our own
// RFC 6376 verifier (dkim_verify.hpp); LibOpenDkim the libopendkim wrapper,
// kept as the alternative and as the differential test's reference.
enum class DkimVerifierKind : std::uint8_t { Native, LibOpenDkim };

struct DkimOptions {
    DkimVerifierKind verifier = DkimVerifierKind::Native;
    std::uint32_t max_signatures = 5;
    std::uint32_t min_rsa_bits = 1024;   // RFC 8301
};

// [arc]: the ARC verifier keeps DKIM's RFC 8301 key rule (config/ copies
// [dkim] min_rsa_bits here).
struct ArcOptions {
    std::uint32_t min_rsa_bits = 1024;
};

enum class DmarcDiscovery : std::uint8_t { TreeWalk, PublicSuffixList };

struct DmarcOptions {
    DmarcDiscovery discovery = DmarcDiscovery::TreeWalk;
    std::string public_suffix_list;      // psl mode: file; empty = libpsl's built-in list
};

}  // namespace auth
