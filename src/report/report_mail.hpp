// An aggregate report as a file and as a mail (RFC 9990 section 3.2.1.1
// "Email"): the XML gzip-compressed, its filename, the Subject field, and a
// MIME message for the local MTA.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace report {

// RFC 1952 gzip of `data`; "" when zlib fails.
std::string gzip(std::string_view data);

// receiver "!" policy-domain "!" begin-timestamp "!" end-timestamp
// [ "!" unique-id ] ".xml.gz"; unique-id (1*(ALPHA / DIGIT)) numbers the
// parts of a split report and is left out otherwise.
std::string report_filename(std::string_view submitter, std::string_view policy_domain, std::int64_t begin,
                            std::int64_t end, std::string_view unique_id);

// "Report Domain: <policy domain> Submitter: <submitter> Report-ID: <id>",
// folded before "Submitter:" and "Report-ID:" (1*FWS in the ABNF).
std::string report_subject(std::string_view policy_domain, std::string_view submitter, std::string_view report_id);

struct MailParts {
    std::string from;
    std::string to;
    std::string subject;     // as report_subject() made it
    std::string message_id;  // without the angle brackets
    std::int64_t date = 0;   // seconds since the epoch
    std::string text;        // the human-readable part (US-ASCII)
    std::string filename;
    std::string attachment;  // the gzip bytes
};

// A MIME message (RFC 2045/2046) with LF line ends, as sendmail -t reads it:
// multipart/mixed with a text/plain part and the report as application/gzip
// (RFC 6713) in base64.
std::string mime_message(const MailParts& parts);

// Runs `command` (split at white space, no shell) with the message on its
// standard input. False and *error unless it exits with status 0.
bool pipe_to_command(const std::string& command, const std::string& message, std::string* error);

}  // namespace report
