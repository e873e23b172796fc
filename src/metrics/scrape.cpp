#include "metrics/scrape.hpp"

#include <curl/curl.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <memory>

namespace metrics {

namespace {

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
    // libcurl's global state, set up once (thread-safe since curl 7.84).
    static const CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (initialised != CURLE_OK) {
        *error = "libcurl cannot start";
        return std::nullopt;
    }
    constexpr std::string_view unix_scheme = "unix:";
    std::string http_url, unix_path;
    if (url.substr(0, unix_scheme.size()) == unix_scheme) {
        unix_path = std::string(url.substr(unix_scheme.size()));
        if (unix_path.empty() || unix_path.front() != '/') {
            *error = "unix: needs an absolute socket path (unix:/run/connector-milter/metrics.sock)";
            return std::nullopt;
        }
        http_url = "http://localhost/metrics";
    } else if (url.substr(0, 7) == "http://") {
        http_url = std::string(url);
    } else {
        *error = "expected http://HOST:PORT/metrics or unix:/path (no TLS)";
        return std::nullopt;
    }
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) {
        *error = "libcurl cannot start";
        return std::nullopt;
    }
    std::string body;
    char message[CURL_ERROR_SIZE] = {};
    using Sink = std::size_t (*)(char*, std::size_t, std::size_t, void*);
    const Sink sink = [](char* data, std::size_t size, std::size_t count, void* out) -> std::size_t {
        static_cast<std::string*>(out)->append(data, size * count);
        return size * count;
    };
    curl_easy_setopt(curl.get(), CURLOPT_URL, http_url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http");
    if (!unix_path.empty()) curl_easy_setopt(curl.get(), CURLOPT_UNIX_SOCKET_PATH, unix_path.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for the timeout
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, message);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    const CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK) {
        const std::string where = unix_path.empty() ? http_url : "unix:" + unix_path;
        *error = (rc == CURLE_COULDNT_CONNECT ? "cannot connect to " : "no answer from ") + where + ": " +
                 (message[0] ? message : curl_easy_strerror(rc));
        return std::nullopt;
    }
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        *error = "HTTP status " + std::to_string(status);
        return std::nullopt;
    }
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
