// An MTA's view of one milter connection, driven the way Postfix drives it:
// the macros Postfix sends at each stage (milter_*_macros defaults), no more
// events once the filter accepted the connection or the message, ABORT after
// a refusal. Built on Session; used by the protocol tests and benchmarks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "milter_client.hpp"

namespace milterclient {

// What an SMTP client looks like to the MTA, and what the MTA tells the
// filter about it (Postfix's default milter macros).
struct SmtpClient {
    std::string ip = "198.51.100.7";       // {client_addr}; "" = unknown
    std::string name = "mail.fabrikam.example";  // reverse name, or "[ip]"
    std::uint16_t port = 40001;
    std::string local_addr = "10.0.0.50";  // {daemon_addr}
    std::string local_port = "25";         // {daemon_port}
    std::string if_addr;                   // sendmail's {if_addr}; "" = not sent (Postfix)
    std::string daemon_name = "MTA";       // {daemon_name}
    std::string mta_name = "mx.example.com";  // j: the MTA's host name
    std::string helo = "mail.fabrikam.example";
    bool tls = false;                      // STARTTLS done: TLS macros at HELO
    std::optional<std::string> auth_user;  // {auth_authen} from MAIL on
    std::string auth_type = "PLAIN";
};

struct SimpleMessage {
    std::string from = "<bob@fabrikam.example>";
    std::vector<std::string> mail_params;  // e.g. "SIZE=5000"
    std::vector<std::string> recipients = {"<user@contoso.com>"};
    std::vector<std::pair<std::string, std::string>> headers = {
        {"From", "Bob <bob@fabrikam.example>"},
        {"To", "user@contoso.com"},
        {"Subject", "protocol test"},
        {"Date", "Sun, 22 Nov 2026 12:00:00 +0000"},
        {"Message-ID", "<protocol-test@fabrikam.example>"},
    };
    std::string body = "Hello.\r\nThis is a protocol test.\r\n";
};

// One milter connection driven like Postfix drives it: macros with every
// event, and no further events once the filter accepted the connection or
// the message (SMFIR_ACCEPT), as the MTAs do.
class Mta {
public:
    // `options`: what this MTA offers (default: everything, as Postfix).
    Mta(const std::string& socket_spec, SmtpClient client, Options options = {});
    // Sends QUIT when the connection is still open, as the MTAs do when the
    // SMTP session ends.
    ~Mta();
    Mta(const Mta&) = delete;
    Mta& operator=(const Mta&) = delete;
    Session& session() { return session_; }
    const SmtpClient& client() const { return client_; }

    Response connect();  // CONNECT then HELO; the first that stops
    Response mail(const std::string& from, const std::vector<std::string>& params = {});
    Response rcpt(const std::string& to);
    // DATA, headers, EOH, body, EOM. Returns nullopt (with `early` set) when
    // a stage before EOM ended the message.
    std::optional<EomResult> content(const SimpleMessage& m,
                                                   Response* early = nullptr);
    // MAIL, RCPTs, content. The result is the EOM verdict, or the refusal
    // that came first (as a Response sliced into an EomResult).
    EomResult send(const SimpleMessage& m);
    void quit();
    // Closes the milter connection without QUIT (an MTA that crashed).
    void hang_up() { session_.close(); }
    // QUIT_NC, then the next SMTP client on the same milter connection
    // (connection reuse; libmilter allows it after end of message).
    void reuse_for(SmtpClient next);

private:
    std::vector<std::pair<std::string, std::string>> queue_macro() const;
    Session session_;
    SmtpClient client_;
    bool connection_accepted_ = false;
    bool message_accepted_ = false;
    int message_number_ = 0;
};

}  // namespace milterclient
