// The /metrics endpoint: prometheus-cpp's Exposer (civetweb does the HTTP)
// serving metrics::registry() in the Prometheus text format. No HTTP code of
// ours. A scrape copies the counters' values (atomic loads) under the
// families' mutexes, which sessions never take once their counters are
// resolved: a scrape does not hold up sessions.
#pragma once
#include <memory>
#include <string>

namespace metrics {

class Endpoint {
public:
    // Listens on `listen` ("127.0.0.1:9892", config::parse_metrics_listen)
    // with civetweb's threads; null with `error` set when it cannot (the
    // port is taken). Start it after fork(): threads do not survive one.
    static std::unique_ptr<Endpoint> start(const std::string& listen, std::string* error);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

private:
    struct Impl;
    explicit Endpoint(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace metrics
