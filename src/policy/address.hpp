// SMTP envelope paths (RFC 5321 section 4.1.2) as the MTA hands them to the
// milter, reduced to what routing decisions need. The relay check must see
// the address the way the MTA will route it, so every domain hidden in a
// source route, a %-hack, a bang path or a quoted local part is reported too.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace policy {

// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets.
inline constexpr std::size_t kMaxPathLength = 256;

struct SmtpPath {
    bool null_path = false;        // "<>"
    std::string local_part;        // unquoted form
    bool local_part_quoted = false;
    std::string domain;            // normalize_domain()'d; "[192.0.2.1]" for literals; empty if unqualified
    bool domain_is_literal = false;
    // Every domain (normalised) or address literal the MTA might route this
    // address to: `domain` first, then any found in a source route
    // ("@a,@b:user@c"), a %-hack ("user%other@domain"), a bang path
    // ("other!user@domain") or inside a quoted local part
    // ("\"user@other\"@domain"). Empty for the null path and for an
    // unqualified local part without routing characters.
    std::vector<std::string> routing_domains;

    std::string address() const;  // "local@domain", "" for the null path
};

struct PathParse {
    std::optional<SmtpPath> path;
    std::string error;  // set when path is empty: why the argument is not a usable address
};

// `arg` is the MAIL FROM / RCPT TO argument as the MTA passes it (libmilter
// gives argv[0], normally "<user@example.com>"); ESMTP parameters are not
// part of it. Angle brackets are optional. Rejects NUL and control bytes,
// unbalanced quotes or brackets, paths over kMaxPathLength, empty local
// parts with a domain, and domains that normalize_domain() rejects.
PathParse parse_smtp_path(std::string_view arg);

// One mailbox of an RFC 5322 address header such as From: (section 3.4).
struct Mailbox {
    std::string local_part;
    std::string domain;  // normalised; empty if the mailbox has none
    std::string address() const;
    // The same address as an envelope path, with every domain its local
    // part routes to ("ceo%contoso.test", "contoso.test!ceo"), so that the
    // sender check judges From: as it judges MAIL FROM.
    SmtpPath as_path() const;
};

struct MailboxListParse {
    std::vector<Mailbox> mailboxes;
    std::string error;  // set when the value does not parse as a mailbox-list
};

// Parses the value of a From: (or Sender:) header: display names, comments,
// quoted strings, angle addresses, groups, obsolete forms where RFC 5322
// section 4 requires them, folded lines. RFC 2047 encoded words are left as
// they are (they are only allowed in display names).
MailboxListParse parse_mailbox_list(std::string_view header_value);

}  // namespace policy
