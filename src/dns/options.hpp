// What the resolver is built from: the [dns] section of the configuration,
// as dns/ itself defines it (config/ fills it in; dns/ never includes
// config/). Defaults are documented in connector-milter.conf(5).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dns {

struct Options {
    std::chrono::milliseconds timeout{3000};        // per query
    std::vector<std::string> nameservers;           // empty: /etc/resolv.conf
    std::string static_zone;                        // file, empty = none
    bool offline = false;                           // names outside the static zone are NXDOMAIN
    std::string trust_anchor_file;                  // DNSSEC root key; empty = no validation
    // One message's SPF + DKIM + DMARC work together may make at most this
    // many queries and take at most this long (keep it below the MTA's
    // milter timeouts: sendmail's default T=R is 10 s).
    std::uint32_t message_query_budget = 60;
    std::chrono::milliseconds message_time_budget{8000};
};

}  // namespace dns
