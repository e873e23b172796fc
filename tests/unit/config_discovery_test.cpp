// discover_mta_domains() with a fake postconf (a shell script in a temp
// folder) and fake sendmail files; the real system is never consulted.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "config/config.hpp"
#include "config_test_util.hpp"

using config::discover_mta_domains;
using config::DiscoveryPaths;
using config_test::TempDir;

namespace {

// A postconf stand-in that prints `output` only when called exactly as
// Postfix must be asked (-x expands $parameters), and fails otherwise.
std::string fake_postconf(const TempDir& dir, const std::string& output) {
    return dir.write("postconf",
                     "#!/bin/sh\n"
                     "if [ \"$*\" != \"-x -h mydestination relay_domains virtual_mailbox_domains\" ]; then\n"
                     "  echo \"postconf: fatal: unexpected arguments: $*\" >&2; exit 2\n"
                     "fi\n"
                     "cat <<'EOF'\n" +
                         output + "EOF\n",
                     true);
}

DiscoveryPaths no_sources(const TempDir& dir) {
    DiscoveryPaths p;
    p.postconf = (dir.path() / "absent-postconf").string();
    p.sendmail_local_host_names = (dir.path() / "absent-local-host-names").string();
    p.sendmail_relay_domains = (dir.path() / "absent-relay-domains").string();
    p.host_name = "host";  // no domain: nothing to fall back on
    return p;
}

bool any_line_mentions(const std::vector<std::string>& lines, const std::string& needle) {
    return std::any_of(lines.begin(), lines.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace

TEST(Discovery, PostfixDomainsAreReadFromExpandedPostconfOutput) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = fake_postconf(dir, "mx.example.com, localhost.example.com, localhost\n"
                                        "relay.example.net\n"
                                        "vmail.example.org vmail2.example.org\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, (std::vector<std::string>{"mx.example.com", "relay.example.net",
                                                    "vmail.example.org", "vmail2.example.org"}))
        << joined(d.log_lines);
}

TEST(Discovery, PostconfWarningsOnStderrAreNotTakenForDomains) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = dir.write("postconf",
                               "#!/bin/sh\n"
                               "echo 'postconf: warning: /etc/postfix/main.cf: unused parameter: foo.example=1' >&2\n"
                               "printf 'example.com\\n\\n\\n'\n",
                               true);
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, std::vector<std::string>{"example.com"}) << joined(d.log_lines);
}

TEST(Discovery, LocalhostEntriesAreDropped) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = fake_postconf(dir, "localhost, localhost.localdomain, LOCALHOST.example.com\n\n\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_TRUE(d.domains.empty()) << joined(d.log_lines);
}

TEST(Discovery, UnexpandedReferencesAreDroppedAndLogged) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = fake_postconf(dir, "$myhostname example.com\n\n\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, std::vector<std::string>{"example.com"});
    EXPECT_TRUE(any_line_mentions(d.log_lines, "$myhostname")) << joined(d.log_lines);
}

TEST(Discovery, LookupTablesAreNotedButNotRead) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = fake_postconf(dir, "example.com\nhash:/etc/postfix/relay_domains\n/etc/postfix/vdomains\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, std::vector<std::string>{"example.com"});
    EXPECT_TRUE(any_line_mentions(d.log_lines, "hash:/etc/postfix/relay_domains")) << joined(d.log_lines);
    EXPECT_TRUE(any_line_mentions(d.log_lines, "/etc/postfix/vdomains")) << joined(d.log_lines);
}

TEST(Discovery, DomainsAreLowerCasedAndDeduplicated) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = fake_postconf(dir, "Example.COM\nexample.com.\nexample.com\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, std::vector<std::string>{"example.com"});
}

TEST(Discovery, FailingPostconfIsLoggedWithItsStatus) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = dir.write("postconf", "#!/bin/sh\necho 'postconf: fatal: no main.cf' >&2\nexit 1\n", true);
    const auto d = discover_mta_domains(paths);
    EXPECT_TRUE(d.domains.empty());
    EXPECT_TRUE(any_line_mentions(d.log_lines, "no main.cf")) << joined(d.log_lines);
}

TEST(Discovery, MissingPostconfIsLogged) {
    TempDir dir;
    const auto d = discover_mta_domains(no_sources(dir));
    EXPECT_TRUE(d.domains.empty());
    EXPECT_TRUE(any_line_mentions(d.log_lines, "absent-postconf")) << joined(d.log_lines);
}

TEST(Discovery, HangingPostconfIsKilledAfterTheTimeout) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.postconf = dir.write("postconf", "#!/bin/sh\nexec sleep 30\n", true);
    paths.postconf_timeout = std::chrono::milliseconds(300);
    const auto start = std::chrono::steady_clock::now();
    const auto d = discover_mta_domains(paths);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(10));
    EXPECT_TRUE(d.domains.empty());
    EXPECT_TRUE(any_line_mentions(d.log_lines, "did not finish")) << joined(d.log_lines);
}

TEST(Discovery, SendmailFilesAreReadWithComments) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.sendmail_local_host_names = dir.write("local-host-names",
                                                "# local-host-names - include all aliases for your machine here.\n"
                                                "localhost\n"
                                                "example.com   # main domain\n"
                                                "[192.0.2.1]\n"
                                                "\n");
    paths.sendmail_relay_domains = dir.write("relay-domains", "relay.example.net\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, (std::vector<std::string>{"example.com", "relay.example.net"})) << joined(d.log_lines);
    EXPECT_TRUE(any_line_mentions(d.log_lines, paths.sendmail_local_host_names));
}

TEST(Discovery, HostDomainIsTheFallbackWhenTheMtaNamesNone) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.host_name = "mx1.example.org";
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, std::vector<std::string>{"example.org"});
    EXPECT_TRUE(any_line_mentions(d.log_lines, "mx1.example.org")) << joined(d.log_lines);
}

TEST(Discovery, HostDomainIsNotUsedWhenTheMtaNamesDomains) {
    TempDir dir;
    auto paths = no_sources(dir);
    paths.host_name = "mx1.example.org";
    paths.postconf = fake_postconf(dir, "example.com\n\n\n");
    const auto d = discover_mta_domains(paths);
    EXPECT_EQ(d.domains, std::vector<std::string>{"example.com"});
}

TEST(Discovery, HostWithoutDomainGivesNoDomainsAndSaysSo) {
    TempDir dir;
    const auto d = discover_mta_domains(no_sources(dir));
    EXPECT_TRUE(d.domains.empty());
    EXPECT_FALSE(d.log_lines.empty());
}
