// The one socket-spec parser used by -n, the daemon and the native engine.
#include <gtest/gtest.h>

#include "config/socket_spec.hpp"

namespace {

using config::parse_metrics_listen;
using config::parse_socket_spec;
using config::SocketSpec;

TEST(SocketSpec, EveryFormLibmilterTakesIsParsed) {
    const auto inet = parse_socket_spec("inet:8894@127.0.0.1");
    ASSERT_TRUE(inet);
    EXPECT_EQ(inet->kind, SocketSpec::Kind::Inet);
    EXPECT_EQ(inet->port, 8894);
    EXPECT_EQ(inet->host, "127.0.0.1");
    EXPECT_EQ(inet->libmilter_form(), "inet:8894@127.0.0.1");
    const auto any = parse_socket_spec("INET6:25");
    ASSERT_TRUE(any);
    EXPECT_EQ(any->kind, SocketSpec::Kind::Inet6);
    EXPECT_EQ(any->host, "");
    EXPECT_EQ(any->libmilter_form(), "inet6:25");
    for (const char* unix_form : {"unix:/run/m.sock", "local:/run/m.sock", "/run/m.sock"}) {
        const auto u = parse_socket_spec(unix_form);
        ASSERT_TRUE(u) << unix_form;
        EXPECT_EQ(u->kind, SocketSpec::Kind::Unix);
        EXPECT_EQ(u->path, "/run/m.sock");
        EXPECT_EQ(u->libmilter_form(), "local:/run/m.sock");
    }
}

TEST(SocketSpec, MalformedSpecsAreRefusedWithAReason) {
    for (const char* bad : {"", "8894", "inet:", "inet:0", "inet:65536", "inet:88x4@h", "inet:8894@", "local:run/m.sock",
                            "unix:", "tcp:25@127.0.0.1"}) {
        std::string why;
        EXPECT_FALSE(parse_socket_spec(bad, &why)) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
}

// [metrics] listen (issue 18): IPv4 ADDRESS:PORT, [IPv6]:PORT or
// unix:/path, addresses only.
TEST(MetricsListen, AnIpv4AddressAndPortIsAccepted) {
    const auto l = parse_metrics_listen("127.0.0.1:9892");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->kind, SocketSpec::Kind::Inet);
    EXPECT_EQ(l->host, "127.0.0.1");
    EXPECT_EQ(l->port, 9892);
    EXPECT_TRUE(parse_metrics_listen("0.0.0.0:1"));
}

TEST(MetricsListen, AnIpv6AddressInBracketsAndPortIsAccepted) {
    const auto l = parse_metrics_listen("[::1]:9892");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->kind, SocketSpec::Kind::Inet6);
    EXPECT_EQ(l->host, "::1");
    EXPECT_EQ(l->port, 9892);
    const auto any = parse_metrics_listen("[::]:65535");
    ASSERT_TRUE(any);
    EXPECT_EQ(any->host, "::");
    EXPECT_TRUE(parse_metrics_listen("[2001:db8::1]:9892"));
}

TEST(MetricsListen, AUnixSocketPathIsAcceptedAsTheMilterSocketWritesIt) {
    for (const char* unix_form : {"unix:/run/connector-milter/metrics.sock", "local:/run/m.sock", "UNIX:/run/m.sock"}) {
        const auto l = parse_metrics_listen(unix_form);
        ASSERT_TRUE(l) << unix_form;
        EXPECT_EQ(l->kind, SocketSpec::Kind::Unix);
        EXPECT_EQ(l->path.front(), '/');
    }
    EXPECT_EQ(parse_metrics_listen("unix:/run/connector-milter/metrics.sock")->path,
              "/run/connector-milter/metrics.sock");
}

TEST(MetricsListen, AUnixPathLongerThanASocketAddressHoldsIsRefused) {
    std::string why;
    EXPECT_TRUE(parse_metrics_listen("unix:/" + std::string(106, 'a')));
    EXPECT_FALSE(parse_metrics_listen("unix:/" + std::string(107, 'a'), &why));
    EXPECT_NE(why.find("107 bytes"), std::string::npos) << why;
}

TEST(MetricsListen, MalformedAddressesAreRefusedWithAReason) {
    for (const char* bad : {"", "9892", ":9892", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                            "localhost:9892", "127.0.0.256:9892", "127.0.0:9892", "1.2.3.4.5:9892", "::1:9892",
                            "[::1]", "[::1]9892", "[::1]:", "[::1]:0", "[localhost]:9892", "[::1:9892",
                            "[127.0.0.1]:9892", "127.0.0.1:98x2", "/run/m.sock", "unix:run/m.sock", "unix:",
                            "inet:9892@127.0.0.1"}) {
        std::string why;
        EXPECT_FALSE(parse_metrics_listen(bad, &why)) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
}

}  // namespace
