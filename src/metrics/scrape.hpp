// The reading side of /metrics, for `connector-milter status` and the tests:
// one HTTP GET through libcurl (no HTTP code of ours) and a reader
// of the Prometheus text format (version 0.0.4) that keeps every sample.
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace metrics {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

// "http://HOST:PORT/PATH" (HOST an IPv4 address, a name or an IPv6 address
// in brackets; no TLS) or "unix:/path" (GET /metrics over that unix-domain
// socket, the form [metrics] listen takes); the body of a 200 answer, or
// nullopt with `error` set. At most `timeout` for the answer.
std::optional<std::string> http_get(std::string_view url, std::chrono::milliseconds timeout, std::string* error);

// Every sample of a text exposition; lines it cannot read are skipped and
// counted in *bad_lines when given.
std::vector<Sample> parse_exposition(std::string_view text, std::size_t* bad_lines = nullptr);

// The sum of the samples named `name` whose labels include every one of
// `labels` (all of them when `labels` is empty); nullopt when none matches.
std::optional<double> sum_of(const std::vector<Sample>& samples, std::string_view name,
                             const std::map<std::string, std::string>& labels = {});

}  // namespace metrics
