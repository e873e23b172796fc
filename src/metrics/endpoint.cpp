#include "metrics/endpoint.hpp"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "metrics/catalogue.hpp"

namespace metrics {

namespace {

class RegistryCollectable : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override { return registry().collect(); }
};

// Opens and closes a TCP connection to the endpoint's port on loopback.
void knock(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    ::close(fd);
}

}  // namespace

struct Endpoint::Impl {
    std::shared_ptr<RegistryCollectable> collectable = std::make_shared<RegistryCollectable>();
    std::unique_ptr<prometheus::Exposer> exposer;
};

Endpoint::Endpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// civetweb's listening thread polls its sockets for up to 2 s
// (SOCKET_TIMEOUT_QUANTUM) before it looks at the stop flag, so stopping
// it would hold up the daemon's exit that long. While the Exposer stops,
// connections to its port wake that poll.
Endpoint::~Endpoint() {
    if (!impl_ || !impl_->exposer) return;
    const auto ports = impl_->exposer->GetListeningPorts();
    std::atomic<bool> stopped{false};
    std::thread waker([&] {
        while (!stopped.load()) {
            for (int port : ports) knock(port);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    });
    impl_->exposer.reset();
    stopped = true;
    waker.join();
}

std::unique_ptr<Endpoint> Endpoint::start(const std::string& listen, std::string* error) {
    (void)catalogue();  // every family exists before the first scrape
    auto impl = std::make_unique<Impl>();
    try {
        // Two civetweb threads: a scrape at a time, and one more so that a
        // slow scraper does not block the next.
        impl->exposer = std::make_unique<prometheus::Exposer>(listen, 2);
    } catch (const std::exception& e) {
        if (error) *error = e.what();
        return nullptr;
    }
    impl->exposer->RegisterCollectable(impl->collectable, "/metrics");
    return std::unique_ptr<Endpoint>(new Endpoint(std::move(impl)));
}

}  // namespace metrics
