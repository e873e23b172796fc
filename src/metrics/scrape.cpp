#include "metrics/scrape.hpp"

#include <civetweb.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>

namespace metrics {

namespace {

struct Url {
    std::string host;
    int port = 80;
    std::string path = "/";
};

std::optional<Url> parse_url(std::string_view url, std::string* error) {
    constexpr std::string_view scheme = "http://";
    if (url.substr(0, scheme.size()) != scheme) {
        *error = "only http:// URLs are supported";
        return std::nullopt;
    }
    url.remove_prefix(scheme.size());
    Url out;
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) out.path = std::string(url.substr(slash));
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
        const auto port = authority.substr(colon + 1);
        const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
        if (ec != std::errc() || ptr != port.data() + port.size() || out.port < 1 || out.port > 65535) {
            *error = "bad port in " + std::string(authority);
            return std::nullopt;
        }
        authority = authority.substr(0, colon);
    }
    if (authority.empty()) {
        *error = "no host in the URL";
        return std::nullopt;
    }
    out.host = std::string(authority);
    return out;
}

// "a\"b" escapes of the text format (\\, \", \n).
bool read_label_value(std::string_view& s, std::string* out) {
    if (s.empty() || s.front() != '"') return false;
    s.remove_prefix(1);
    while (!s.empty()) {
        const char c = s.front();
        s.remove_prefix(1);
        if (c == '"') return true;
        if (c == '\\') {
            if (s.empty()) return false;
            const char e = s.front();
            s.remove_prefix(1);
            *out += e == 'n' ? '\n' : e;
        } else {
            *out += c;
        }
    }
    return false;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
}

std::optional<Sample> parse_line(std::string_view line) {
    Sample sample;
    std::size_t i = 0;
    while (i < line.size() && is_name_char(line[i])) ++i;
    if (i == 0) return std::nullopt;
    sample.name = std::string(line.substr(0, i));
    std::string_view rest = line.substr(i);
    if (!rest.empty() && rest.front() == '{') {
        rest.remove_prefix(1);
        while (!rest.empty() && rest.front() != '}') {
            std::size_t n = 0;
            while (n < rest.size() && is_name_char(rest[n])) ++n;
            if (n == 0 || n >= rest.size() || rest[n] != '=') return std::nullopt;
            const std::string key(rest.substr(0, n));
            rest.remove_prefix(n + 1);
            std::string value;
            if (!read_label_value(rest, &value)) return std::nullopt;
            sample.labels[key] = std::move(value);
            if (!rest.empty() && rest.front() == ',') rest.remove_prefix(1);
        }
        if (rest.empty()) return std::nullopt;
        rest.remove_prefix(1);
    }
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const auto end = rest.find(' ');  // a timestamp may follow
    const std::string number(rest.substr(0, end));
    if (number.empty()) return std::nullopt;
    if (number == "+Inf" || number == "Inf") sample.value = HUGE_VAL;
    else if (number == "-Inf") sample.value = -HUGE_VAL;
    else if (number == "NaN" || number == "Nan") sample.value = NAN;
    else {
        char* stop = nullptr;
        sample.value = std::strtod(number.c_str(), &stop);
        if (stop != number.c_str() + number.size()) return std::nullopt;
    }
    return sample;
}

}  // namespace

std::optional<std::string> http_get(std::string_view url, std::chrono::milliseconds timeout, std::string* error) {
    std::string ignored;
    if (!error) error = &ignored;
    const auto parsed = parse_url(url, error);
    if (!parsed) return std::nullopt;
    static const unsigned initialised = mg_init_library(0);
    (void)initialised;
    char ebuf[256] = {};
    std::unique_ptr<mg_connection, void (*)(mg_connection*)> conn(
        mg_connect_client(parsed->host.c_str(), parsed->port, 0, ebuf, sizeof ebuf), mg_close_connection);
    if (!conn) {
        *error = std::string("cannot connect to ") + parsed->host + ":" + std::to_string(parsed->port) + ": " + ebuf;
        return std::nullopt;
    }
    mg_printf(conn.get(), "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", parsed->path.c_str(),
              parsed->host.c_str());
    if (mg_get_response(conn.get(), ebuf, sizeof ebuf, static_cast<int>(timeout.count())) < 0) {
        *error = std::string("no answer: ") + ebuf;
        return std::nullopt;
    }
    const mg_response_info* info = mg_get_response_info(conn.get());
    if (!info || info->status_code != 200) {
        *error = "HTTP status " + std::to_string(info ? info->status_code : 0);
        return std::nullopt;
    }
    std::string body;
    char buf[16384];
    for (int n; (n = mg_read(conn.get(), buf, sizeof buf)) > 0;) body.append(buf, static_cast<std::size_t>(n));
    return body;
}

std::vector<Sample> parse_exposition(std::string_view text, std::size_t* bad_lines) {
    std::vector<Sample> out;
    std::size_t bad = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        if (auto sample = parse_line(line)) out.push_back(std::move(*sample));
        else ++bad;
    }
    if (bad_lines) *bad_lines = bad;
    return out;
}

std::optional<double> sum_of(const std::vector<Sample>& samples, std::string_view name,
                             const std::map<std::string, std::string>& labels) {
    std::optional<double> sum;
    for (const auto& s : samples) {
        if (s.name != name) continue;
        bool match = true;
        for (const auto& [k, v] : labels) {
            const auto it = s.labels.find(k);
            if (it == s.labels.end() || it->second != v) {
                match = false;
                break;
            }
        }
        if (match) sum = sum.value_or(0) + s.value;
    }
    return sum;
}

}  // namespace metrics
