// One decision line of the log (issue 18, "Logs"): the queue id, then the
// stage, connector, client, rights, action, reply and reason of a session's
// verdict, written in one of two formats:
//   text (the default): 4XyZ12: stage=RCPT connector="Default Frontend"
//        client=[198.51.100.7] rights=AnonymousUsers action=reject reply="..."
//   json: {"queue_id":"4XyZ12","stage":"RCPT","connector":"Default Frontend",
//        "client":"198.51.100.7","rights":"AnonymousUsers","action":"reject",...}
// Both are interfaces that log shippers and administrators' scripts parse
// (connector-milter(8), LOGGING): fields change only deliberately.
// Pure: the session renders its lines here; log.cpp writes them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace daemon_log {

// [milter] log_format.
enum class Format : std::uint8_t { Text, Json };

// How a value is written in the text format (JSON writes every value as a
// string): as is, in double quotes with '"' and '\' escaped, or in [brackets].
enum class TextStyle : std::uint8_t { Bare, Quoted, Bracketed };

struct Field {
    std::string_view key;
    std::string value;
    TextStyle style = TextStyle::Bare;
};

struct Record {
    std::string queue_id;  // "NOQUEUE" before the MTA assigned one
    std::vector<Field> fields;
};

std::string render(const Record& record, Format format);

// `text` as a JSON string (RFC 8259 section 7), quotes included: '"', '\'
// and control characters escaped, bytes that are not UTF-8 replaced by
// U+FFFD, so that every line parses whatever a client sent.
std::string json_string(std::string_view text);

}  // namespace daemon_log
