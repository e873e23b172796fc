// The MTA side of the milter protocol (version 6, as spoken by sendmail 8.14+
// and Postfix's milter8 client), small enough for tests and benchmarks.
//
// A Session is one MTA-to-filter connection. It negotiates options, then sends
// the events of SMTP sessions in the order an MTA does (macros before each
// event, CONNECT, HELO, MAIL, RCPT, DATA, HEADER, EOH, BODY, EOM, ABORT, QUIT,
// QUIT_NC) and returns the filter's verdicts. It honours what the filter
// negotiated exactly as the MTAs do:
//   - SMFIP_NO* : the event is not sent (its macros still are, as Postfix does);
//   - SMFIP_NR_*: no reply is read for that event;
//   - SMFIP_HDR_LEADSPC: header values keep the space after the colon;
//   - SMFIR_SETSYMLIST lists in the negotiation reply: only the macros the
//     filter asked for are sent at that stage, as sendmail and Postfix do;
//   - SMFIR_SKIP to a body chunk: the remaining chunks are not sent.
// Every read and write is bounded by a timeout; failures throw
// milterclient::Error, so a test fails instead of hanging.
//
// A raw interface (send_raw, send_packet, read_packet, wait_closed) lets abuse
// tests put arbitrary bytes on the wire.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace milterclient {

// Transport, protocol or timeout failure.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The filter's decision for one event.
enum class Action {
    Continue,   // SMFIR_CONTINUE
    Accept,     // SMFIR_ACCEPT
    Reject,     // SMFIR_REJECT
    TempFail,   // SMFIR_TEMPFAIL
    Discard,    // SMFIR_DISCARD
    ReplyCode,  // SMFIR_REPLYCODE: reply text in Response::reply
    Skip,       // SMFIR_SKIP
    Shutdown,   // SMFIR_SHUTDOWN (421, sendmail-internal)
    ConnFail,   // SMFIR_CONN_FAIL
    NoReply,    // the filter negotiated SMFIP_NR_* for this event: nothing was read
    NotSent,    // the filter negotiated SMFIP_NO* for this event: it was not sent
};

std::string_view to_string(Action action);

struct Response {
    Action action = Action::Continue;
    // SMFIR_REPLYCODE: the reply as the filter sent it, e.g.
    // "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain".
    std::string reply;
    // Number of SMFIR_PROGRESS packets received before the decision.
    int progress = 0;
    // SMFIR_QUARANTINE reason, when one arrived before the decision.
    std::optional<std::string> quarantine;

    // The SMTP reply the MTA would give: the filter's text for ReplyCode,
    // Postfix's defaults for Reject/TempFail/Shutdown, "" otherwise.
    std::string smtp_reply() const;
    // Its three-digit code, 0 when the MTA would carry on (continue, accept,
    // no reply, not sent, skip).
    int smtp_code() const;
    // True when the MTA would carry on with the SMTP session as if the filter
    // agreed: continue, accept, skip, no reply, not sent.
    bool proceeds() const;
};

// One header modification from end of message.
struct HeaderEdit {
    enum class Kind { Add, Insert, Change };
    Kind kind = Kind::Add;
    // SMFIR_INSHEADER: position (0 = above every header, sendmail's meaning).
    // SMFIR_CHGHEADER: 1-based occurrence of the header name (0 treated as 1
    // by the MTAs). Unused for Add.
    std::uint32_t index = 0;
    std::string name;
    // The value as sent on the wire.
    std::string raw_value;
    // The value without the single leading space that SMFIP_HDR_LEADSPC
    // filters include; what follows "Name: " in the resulting header line.
    std::string value;
    bool is_delete() const { return kind == Kind::Change && raw_value.empty(); }
};

struct Recipient {
    std::string address;
    std::string esmtp_args;  // SMFIR_ADDRCPT_PAR only
};

struct EomResult : Response {
    std::vector<HeaderEdit> header_edits;  // every edit, in wire order
    std::vector<HeaderEdit> added_headers;     // SMFIR_ADDHEADER
    std::vector<HeaderEdit> inserted_headers;  // SMFIR_INSHEADER
    std::vector<HeaderEdit> changed_headers;   // SMFIR_CHGHEADER (incl. deletions)
    std::vector<Recipient> added_recipients;   // SMFIR_ADDRCPT / SMFIR_ADDRCPT_PAR
    std::vector<std::string> deleted_recipients;  // SMFIR_DELRCPT
    std::optional<std::string> replaced_body;  // concatenated SMFIR_REPLBODY chunks
    std::optional<std::string> new_sender;     // SMFIR_CHGFROM
    std::string new_sender_args;

    // Deletions (SMFIR_CHGHEADER with an empty value) of headers named `name`
    // (case-insensitive), by index.
    std::vector<std::uint32_t> deleted_header_indexes(std::string_view name) const;
    // Added or inserted headers named `name` (case-insensitive).
    std::vector<HeaderEdit> new_headers(std::string_view name) const;
};

// What both sides agreed on in SMFIC_OPTNEG.
struct Negotiated {
    std::uint32_t version = 0;
    std::uint32_t actions = 0;    // SMFIF_* the filter will use
    std::uint32_t protocol = 0;   // SMFIP_* the filter asked for
    // SMFIR_SETSYMLIST lists: stage (SMFIM_CONNECT=0 .. SMFIM_EOH=6) -> names.
    std::vector<std::pair<std::uint32_t, std::vector<std::string>>> macro_lists;
    bool has(std::uint32_t smfip_flag) const { return (protocol & smfip_flag) != 0; }
    // Empty when the filter sent no list for the stage (the MTA then sends its
    // configured defaults; this client sends what the caller gives).
    const std::vector<std::string>* macro_list(std::uint32_t stage) const;
};

struct Options {
    // Connect, read and write timeout for every single operation.
    std::chrono::milliseconds timeout{10000};
    // What this "MTA" offers in SMFIC_OPTNEG. Defaults: protocol version 6,
    // every action and every protocol flag, as Postfix 2.6+ offers.
    std::uint32_t version = 6;
    std::uint32_t actions = 0x1FF;     // SMFI_CURR_ACTS
    std::uint32_t protocol = 0x1FFFFF; // SMFI_CURR_PROT
    // Send only the macros the filter asked for (SMFIR_SETSYMLIST), as the
    // MTAs do. Off: send every macro given.
    bool honour_macro_lists = true;
    // Postfix's way of talking to a filter (milter8 writes through a
    // buffered VSTREAM): a packet the filter answers nothing to (a header or
    // body chunk negotiated without a reply) is queued and written with the
    // next packet that waits for a reply, or once kBufferedWriteSize bytes
    // are queued; replies are read a buffer at a time, not a field at a
    // time. The load generator's mode. Off: every event is written at once.
    bool buffered = false;
};
// Postfix's VSTREAM_BUFSIZE.
inline constexpr std::size_t kBufferedWriteSize = 4096;

struct Packet {
    char command = 0;
    std::string data;
};

// A whole mail transaction for the convenience helper Session::transaction().
struct Message {
    std::vector<std::string> mail_args;        // {"<a@b.example>", "SIZE=100"}
    std::vector<std::vector<std::string>> recipients;  // each {"<c@d.example>", args...}
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;                          // CRLF line endings
};

struct TransactionResult {
    Response mail;
    std::vector<Response> rcpt;
    std::optional<Response> data;          // absent when no recipient was accepted
    std::optional<Response> eoh;           // absent when the transaction ended earlier
    std::optional<Response> body;
    std::optional<EomResult> eom;
    // The reply that ended the transaction early (first refusal), or eom's.
    bool accepted() const;                 // eom arrived and proceeds()
};

class Session {
public:
    // Connects to "inet:PORT@HOST", "inet6:PORT@HOST", "unix:/path" or
    // "local:/path". TCP sockets get TCP_NODELAY.
    explicit Session(const std::string& socket_spec, Options options = {});
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    // SMFIC_OPTNEG. Throws when the filter's reply is not an OPTNEG reply or
    // asks for actions/protocol steps this MTA did not offer (as Postfix does).
    const Negotiated& negotiate();
    const Negotiated& negotiated() const { return negotiated_; }

    // SMFIC_MACRO for the event `stage` ('C', 'H', 'M', 'R', 'T', 'N', 'E',
    // 'L', 'B'); queued and written together with the next event, as the MTAs
    // do. Names may be "j", "{daemon_addr}" or "daemon_addr" (braces added for
    // long names).
    void macros(char stage, const std::vector<std::pair<std::string, std::string>>& values);

    // SMFIC_CONNECT. Family from `address`: "" -> unknown ('U'), "/..." ->
    // unix ('L'), contains ':' -> inet6 ('6'), else inet ('4').
    Response connect(std::string_view hostname, std::string_view address, std::uint16_t port);
    Response helo(std::string_view name);
    // argv[0] is the address ("<a@b.example>"), the rest ESMTP parameters.
    Response mail(const std::vector<std::string>& argv);
    Response rcpt(const std::vector<std::string>& argv);
    Response data();
    // The header line "name: value". The value is sent with the leading space
    // when the filter negotiated SMFIP_HDR_LEADSPC, without it otherwise,
    // exactly like sendmail. Continuation lines: embed "\r\n\t" or "\n\t".
    Response header(std::string_view name, std::string_view value);
    // Sends `after_colon` exactly as given (abuse tests, LEADSPC checks).
    Response header_verbatim(std::string_view name, std::string_view after_colon);
    Response eoh();
    // Splits into chunks of at most MILTER_CHUNK_SIZE (65535) bytes; returns
    // the first response that does not proceed, or the last one. Stops after
    // SMFIR_SKIP.
    Response body(std::string_view content);
    // SMFIC_BODYEOB; collects the modifications and the final decision.
    EomResult end_of_message();
    // SMFIC_UNKNOWN: an SMTP command the MTA does not know.
    Response unknown(std::string_view command_line);
    // No reply is expected for these three.
    void abort();
    void quit();     // then the connection is closed
    void quit_nc();  // connection reuse: the next event is a new CONNECT

    // Mail transaction in one call: MAIL, RCPTs, DATA, headers, EOH, body,
    // EOM; stops at the first refusal (then sends ABORT, as the MTAs do).
    TransactionResult transaction(const Message& message);

    // ---- raw mode ----
    void send_raw(std::string_view bytes);
    void send_packet(char command, std::string_view data);
    // Reads one packet; nullopt on timeout. Throws Error on EOF.
    std::optional<Packet> read_packet(std::chrono::milliseconds timeout);
    // True when the peer closes the connection (EOF or reset) within
    // `timeout`; any packets received meanwhile are discarded.
    bool wait_closed(std::chrono::milliseconds timeout);
    // Writes the queued macro packets now.
    void flush();
    // Closes the connection without QUIT (a vanished MTA).
    void close() { close_fd(); }
    bool is_open() const { return fd_ >= 0; }

    int fd() const { return fd_; }
    const Options& options() const { return options_; }

private:
    Response event(char command, std::string_view data, std::uint32_t no_send_flag,
                   std::uint32_t no_reply_flag);
    Response read_decision(char event);
    void queue_packet(char command, std::string_view data);
    void write_all(std::string_view bytes);
    void read_exact(char* out, std::size_t n, std::chrono::steady_clock::time_point deadline);
    bool macro_wanted(char stage, std::string_view name) const;
    void close_fd();

    int fd_ = -1;
    Options options_;
    Negotiated negotiated_;
    std::string out_;  // queued packets (macros), written with the next event
    std::string in_;   // Options::buffered: bytes read and not yet consumed
    std::size_t in_pos_ = 0;
    std::optional<EomResult> last_eom_;  // filled by read_decision at end of message
};

// Wire encoding helpers, public for abuse tests.
std::string encode_packet(char command, std::string_view data);
std::string be32(std::uint32_t value);

}  // namespace milterclient
