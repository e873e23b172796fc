// `connector-milter genkey` and `connector-milter testkey`: what
// opendkim-genkey and opendkim-testkey do, for administrators who migrate.
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "config/dkim_signing.hpp"
#include "daemon/config_loader.hpp"
#include "daemon/daemon.hpp"
#include "dns/resolver.hpp"
#include "util/ascii.hpp"

namespace daemon_main {

namespace {

// The TXT record as one zone file line (BIND, and our [dns] static_zone),
// in strings of at most 255 octets (RFC 1035 section 3.3.14).
std::string zone_line(const std::string& name, const std::string& record) {
    std::string out = name + ".\t300\tIN\tTXT";
    for (std::size_t i = 0; i < record.size(); i += 250) out += " \"" + record.substr(i, 250) + "\"";
    return out;
}

// The value of tag `name` in a key record (RFC 6376 section 3.6.1), white
// space removed.
std::string record_tag(const std::string& record, const std::string& name) {
    std::size_t start = 0;
    while (start <= record.size()) {
        std::size_t end = record.find(';', start);
        if (end == std::string::npos) end = record.size();
        const std::string spec = record.substr(start, end - start);
        const std::size_t eq = spec.find('=');
        if (eq != std::string::npos) {
            std::string tag, value;
            for (char c : spec.substr(0, eq))
                if (c != ' ' && c != '\t') tag += c;
            for (char c : spec.substr(eq + 1))
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n') value += c;
            if (tag == name) return value;
        }
        start = end + 1;
    }
    return {};
}

}  // namespace

int run_genkey(int argc, char** argv) {
    std::string domain, selector, dir = ".", algorithm = "rsa";
    unsigned bits = 2048;
    const option options[] = {{"domain", required_argument, nullptr, 'd'},   {"selector", required_argument, nullptr, 's'},
                              {"algorithm", required_argument, nullptr, 'a'}, {"bits", required_argument, nullptr, 'b'},
                              {"directory", required_argument, nullptr, 'D'}, {nullptr, 0, nullptr, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "d:s:a:b:D:", options, nullptr)) != -1) {
        switch (c) {
            case 'd': domain = util::dns_name_key(optarg); break;
            case 's': selector = util::ascii_lower(optarg); break;
            case 'a': algorithm = util::ascii_lower(optarg); break;
            case 'b': bits = static_cast<unsigned>(std::strtoul(optarg, nullptr, 10)); break;
            case 'D': dir = optarg; break;
            default: return 2;
        }
    }
    if (domain.empty() || selector.empty() || (algorithm != "rsa" && algorithm != "ed25519") ||
        selector.find('/') != std::string::npos) {
        std::fprintf(stderr,
                     "usage: connector-milter genkey -d DOMAIN -s SELECTOR [-a rsa|ed25519] [-b BITS] [-D DIR]\n");
        return 2;
    }
    const auto type = algorithm == "ed25519" ? auth::DkimKeyType::Ed25519 : auth::DkimKeyType::Rsa;
    // RFC 8301 section 3.2: at least 1024 bits; opendkim-genkey's default is 2048.
    if (type == auth::DkimKeyType::Rsa && (bits < config::kMinSigningRsaBits || bits > 8192)) {
        std::fprintf(stderr, "genkey: -b %u: RSA keys must have 1024 to 8192 bits (RFC 8301; 2048 recommended)\n", bits);
        return 2;
    }
    std::string error;
    const std::string pem = config::generate_signing_key(type, bits, &error);
    const auto key = config::signing_key_from_text(pem);
    if (pem.empty() || !key.key) {
        std::fprintf(stderr, "genkey: %s\n", error.empty() ? key.error.c_str() : error.c_str());
        return 1;
    }
    // Created 0600 and never over an existing file: a key in use is not
    // replaced by accident.
    const std::string path = dir + "/" + selector + ".private";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, pem.data(), pem.size()) != static_cast<ssize_t>(pem.size()) || ::close(fd) != 0) {
        std::fprintf(stderr, "genkey: cannot create %s (it must not exist yet)\n", path.c_str());
        if (fd >= 0) ::unlink(path.c_str());
        return 1;
    }
    std::printf("%s\n", zone_line(selector + "._domainkey." + domain, key.key->dns_record()).c_str());
    std::fprintf(stderr, "genkey: wrote %s (mode 0600); publish the TXT record above\n", path.c_str());
    return 0;
}

int run_testkey(int argc, char** argv) {
    std::string config_path = kDefaultConfigPath;
    const option options[] = {{"config", required_argument, nullptr, 'c'}, {nullptr, 0, nullptr, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "c:", options, nullptr)) != -1) {
        if (c == 'c') config_path = optarg;
        else return 2;
    }
    auto loaded = load(config_path, MissingFile::IsAnError);
    if (!loaded.runtime) {
        for (auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.c_str());
        return 2;
    }
    const auto& keys = loaded.runtime->config->dkim_signing.keys;
    if (keys.empty()) {
        std::fprintf(stderr, "testkey: %s has no DKIM signing keys\n", config_path.c_str());
        return 2;
    }
    bool all_ok = true;
    for (const auto& key : keys) {
        if (key.domain == "%") {
            std::printf("key %s: d=%% (the sender's domain): not testable\n", key.name.c_str());
            continue;
        }
        const std::string name = key.selector + "._domainkey." + key.domain;
        // Through the daemon's own resolver (static zone, libunbound).
        auto budget = dns::Budget(4, loaded.runtime->config->dns.timeout * 2);
        const dns::Answer answer = loaded.runtime->resolver->query(name, dns::Type::TXT, budget);
        std::string verdict;
        if (answer.status != dns::Status::Ok || answer.records.empty()) {
            verdict = "no key record (" + std::string(dns::status_name(answer.status)) + ")";
        } else if (answer.records.size() > 1) {
            verdict = "several TXT records (RFC 6376 section 3.6.2.2)";
        } else {
            const std::string record = answer.records.front().txt();
            const std::string k = record_tag(record, "k");
            const std::string want_k = key.type == auth::DkimKeyType::Ed25519 ? "ed25519" : "rsa";
            if (record_tag(record, "p") != key.public_key) verdict = "published p= is not this private key's public key";
            else if ((k.empty() ? std::string("rsa") : k) != want_k) verdict = "k=" + k + " but the key is " + want_k;
            else verdict = "OK";
        }
        all_ok = all_ok && verdict == "OK";
        std::printf("key %s: %s (%s, %s): %s\n", key.name.c_str(), name.c_str(),
                    std::string(auth::dkim_sign_algorithm(key.type)).c_str(), key.origin.c_str(), verdict.c_str());
    }
    return all_ok ? 0 : 1;
}

}  // namespace daemon_main
