#include "mta.hpp"

namespace milterclient {

Mta::Mta(const std::string& socket_spec, SmtpClient client, Options options)
    : session_(socket_spec, std::move(options)), client_(std::move(client)) {
    session_.negotiate();
}

Mta::~Mta() {
    try {
        if (session_.is_open()) session_.quit();
    } catch (const Error&) {
        // the daemon closed the connection first
    }
}

void Mta::quit() {
    session_.quit();
    session_.close();
}

void Mta::reuse_for(SmtpClient next) {
    session_.quit_nc();
    client_ = std::move(next);
    connection_accepted_ = false;
    message_accepted_ = false;
}

std::vector<std::pair<std::string, std::string>> Mta::queue_macro() const {
    return {{"i", "QT" + std::to_string(message_number_) + "ABCDE"}};
}

Response Mta::connect() {
    std::vector<std::pair<std::string, std::string>> connect_macros = {
        {"j", client_.mta_name},
        {"{daemon_name}", client_.daemon_name},
        {"{daemon_addr}", client_.local_addr},
        {"{daemon_port}", client_.local_port},
        {"{client_addr}", client_.ip},
        {"{client_name}", client_.name},
        {"v", "Postfix 3.7.11"},
        {"_", client_.name + " [" + client_.ip + "]"}};
    if (!client_.if_addr.empty()) connect_macros.emplace_back("{if_addr}", client_.if_addr);
    session_.macros('C', connect_macros);
    const Response c = session_.connect(client_.name, client_.ip, client_.port);
    if (c.action == Action::Accept) connection_accepted_ = true;
    if (!c.proceeds() || connection_accepted_) return c;
    // Postfix's milter_helo_macros carry the TLS facts.
    if (client_.tls)
        session_.macros('H', {{"{tls_version}", "TLSv1.3"},
                              {"{cipher}", "TLS_AES_256_GCM_SHA384"},
                              {"{cipher_bits}", "256"}});
    else
        session_.macros('H', {});
    const Response h = session_.helo(client_.helo);
    if (h.action == Action::Accept) connection_accepted_ = true;
    if (h.action == Action::NotSent || h.action == Action::NoReply) return c;
    return h;
}

Response Mta::mail(const std::string& from, const std::vector<std::string>& params) {
    ++message_number_;
    message_accepted_ = false;
    if (connection_accepted_) return Response{Action::Accept, {}, 0, {}};
    std::vector<std::pair<std::string, std::string>> m = queue_macro();
    m.emplace_back("{mail_addr}", from.size() > 2 ? from.substr(1, from.size() - 2) : std::string());
    if (client_.auth_user) {
        m.emplace_back("{auth_type}", client_.auth_type);
        m.emplace_back("{auth_authen}", *client_.auth_user);
    }
    session_.macros('M', m);
    std::vector<std::string> argv{from};
    argv.insert(argv.end(), params.begin(), params.end());
    const Response r = session_.mail(argv);
    if (r.action == Action::Accept) message_accepted_ = true;
    return r;
}

Response Mta::rcpt(const std::string& to) {
    if (connection_accepted_ || message_accepted_)
        return Response{Action::Accept, {}, 0, {}};
    session_.macros('R', {{"{rcpt_addr}", to.size() > 2 ? to.substr(1, to.size() - 2) : std::string()}});
    const Response r = session_.rcpt({to});
    if (r.action == Action::Accept) message_accepted_ = true;
    return r;
}

std::optional<EomResult> Mta::content(const SimpleMessage& m, Response* early) {
    Response scratch;
    Response& out = early != nullptr ? *early : scratch;
    auto ended = [&](const Response& r) {
        if (r.action == Action::Accept) {
            message_accepted_ = true;
            out = r;
            return true;
        }
        if (!r.proceeds()) {
            out = r;
            session_.abort();
            return true;
        }
        return false;
    };
    if (connection_accepted_ || message_accepted_) {
        out = Response{Action::Accept, {}, 0, {}};
        return std::nullopt;
    }
    session_.macros('T', queue_macro());
    if (ended(session_.data())) return std::nullopt;
    bool skip_headers = false;
    for (const auto& [name, value] : m.headers) {
        if (skip_headers) break;
        session_.macros('L', queue_macro());
        const Response r = session_.header(name, value);
        if (r.action == Action::Skip) skip_headers = true;
        else if (ended(r)) return std::nullopt;
    }
    session_.macros('N', queue_macro());
    if (ended(session_.eoh())) return std::nullopt;
    if (!m.body.empty()) {
        session_.macros('B', queue_macro());
        if (ended(session_.body(m.body))) return std::nullopt;
    }
    session_.macros('E', queue_macro());
    return session_.end_of_message();
}

EomResult Mta::send(const SimpleMessage& m) {
    EomResult result;
    auto as_result = [&](const Response& r) {
        static_cast<Response&>(result) = r;
        return result;
    };
    const Response mr = mail(m.from, m.mail_params);
    if (!mr.proceeds()) {
        session_.abort();
        return as_result(mr);
    }
    Response last_refusal;
    bool any = false;
    for (const auto& to : m.recipients) {
        const Response r = rcpt(to);
        if (r.proceeds()) any = true;
        else last_refusal = r;
    }
    if (!any) {
        session_.abort();
        return as_result(last_refusal);
    }
    Response early;
    auto eom = content(m, &early);
    if (!eom) return as_result(early);
    return *eom;
}

}  // namespace milterclient
