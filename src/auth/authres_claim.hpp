// Whose Authentication-Results header is this? The readings a lenient
// consumer may make of a header's authserv-id, so that a forgery cannot hide
// our name behind bytes a strict RFC 8601 parser refuses but a mail reader,
// a spam filter or another milter skips (RFC 8601 section 5: "remove any
// instance ... that claims to have been added by [the MTA]").
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace auth {

// Every authserv-id a lenient reader could take from `value`, normalised
// (ASCII lower case, a trailing dot removed; also with every trailing dot
// removed); an empty string among them stands for a reading that finds no
// id at all. The
// readings cover what the readers seen in the wild do:
//   - everything up to the first ';' is the id region, or up to the first
//     ';' outside comments and quoted-strings;
//   - RFC 2047 encoded-words in it are decoded (Q and B encodings);
//   - comments are dropped (nested, with or without quoted-pairs, an
//     unclosed '(' either dropping the rest or only itself), or only their
//     parentheses are dropped;
//   - any byte a C locale isspace()/iscntrl() skips, and Unicode spaces
//     (no-break space, ideographic space, ...), separate tokens; quotes and
//     backslashes are dropped;
//   - the id is the first token, the last token, or all tokens joined
//     ("mx . example . com" -> "mx.example.com").
std::vector<std::string> lenient_authserv_id_readings(std::string_view value);

}  // namespace auth
