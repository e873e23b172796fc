// Connector selection and conflict detection (Exchange's rules).
#include <gtest/gtest.h>

#include <initializer_list>

#include "policy/connector_map.hpp"

using namespace policy;

namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

Connector connector(std::string name, std::initializer_list<const char*> bindings,
                    std::initializer_list<const char*> ranges) {
    Connector c;
    c.name = std::move(name);
    c.origin = "test.conf:" + std::to_string(c.name.size());
    for (const char* b : bindings) c.bindings.push_back(Binding::parse(b).value());
    for (const char* r : ranges) c.remote_ranges.push_back(IpRange::parse(r).value());
    return c;
}

LocalEndpoint local(const char* address, std::uint16_t port) { return {ip(address), port, ""}; }

std::string chosen_name(const Selection& s) { return s.chosen ? s.chosen->name : "(none)"; }

const CandidateReport& report_of(const Selection& s, std::string_view name) {
    for (const auto& c : s.candidates)
        if (c.connector->name == name) return c;
    ADD_FAILURE() << "no report for " << name;
    return s.candidates.front();
}

}  // namespace

TEST(ConnectorSelection, SingleIpBeatsWholeInternet) {
    const ConnectorMap map({connector("Default", {"0.0.0.0:25"}, {"0.0.0.0-255.255.255.255"}),
                            connector("Relay", {"0.0.0.0:25"}, {"10.0.0.80"})});
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("10.0.0.80"))), "Relay");
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("10.0.0.81"))), "Default");
}

TEST(ConnectorSelection, SmallerRangeWinsWhateverTheNotation) {
    // /30 written as a dash range beats /24 written as CIDR, and config order
    // does not matter.
    const ConnectorMap map({connector("Slash24", {"0.0.0.0:25"}, {"10.0.0.0/24"}),
                            connector("Dash30", {"0.0.0.0:25"}, {"10.0.0.4-10.0.0.7"}),
                            connector("All", {"0.0.0.0:25"}, {"0.0.0.0/0"})});
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 25), ip("10.0.0.5"))), "Dash30");
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 25), ip("10.0.0.9"))), "Slash24");
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 25), ip("10.0.1.9"))), "All");
}

TEST(ConnectorSelection, UsesSmallestOfAConnectorsRangesThatContainsTheClient) {
    const ConnectorMap map({connector("Mixed", {"0.0.0.0:25"}, {"0.0.0.0/0", "10.0.0.80"}),
                            connector("Slash24", {"0.0.0.0:25"}, {"10.0.0.0/24"})});
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 25), ip("10.0.0.80"))), "Mixed");
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 25), ip("10.0.0.81"))), "Slash24");
}

TEST(ConnectorSelection, MappedIpv6ClientSelectsIpv4Connector) {
    const ConnectorMap map({connector("Default", {"0.0.0.0:25", "[::]:25"}, {"0.0.0.0/0", "::/0"}),
                            connector("Relay", {"0.0.0.0:25"}, {"10.0.0.80"})});
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("::ffff:10.0.0.80"))), "Relay");
}

TEST(ConnectorSelection, Ipv6ClientSelectsIpv6Range) {
    const ConnectorMap map({connector("Default", {"0.0.0.0:25", "[::]:25"}, {"0.0.0.0/0", "::/0"}),
                            connector("Lab", {"[::]:25"}, {"2001:db8::/64"})});
    EXPECT_EQ(chosen_name(map.select(local("2001:db8:1::1", 25), ip("2001:db8::7"))), "Lab");
    EXPECT_EQ(chosen_name(map.select(local("2001:db8:1::1", 25), ip("2001:db9::7"))), "Default");
}

TEST(ConnectorSelection, BindingPortMustMatch) {
    const ConnectorMap map({connector("Frontend", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
                            connector("Submission", {"0.0.0.0:587"}, {"0.0.0.0/0"})});
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 587), ip("198.51.100.1"))), "Submission");
    EXPECT_EQ(chosen_name(map.select(local("192.0.2.1", 25), ip("198.51.100.1"))), "Frontend");
}

TEST(ConnectorSelection, NoMatchingConnectorChoosesNothing) {
    const ConnectorMap map({connector("Relay", {"10.0.0.50:25"}, {"10.0.0.80"})});
    const Selection s = map.select(local("10.0.0.50", 25), ip("10.0.0.81"));
    EXPECT_EQ(s.chosen, nullptr);
    ASSERT_EQ(s.candidates.size(), 1u);
    EXPECT_NE(s.candidates[0].verdict.find("10.0.0.81"), std::string::npos) << s.candidates[0].verdict;
}

TEST(ConnectorSelection, DisabledConnectorIsNeverChosen) {
    Connector relay = connector("Relay", {"0.0.0.0:25"}, {"10.0.0.80"});
    relay.enabled = false;
    const ConnectorMap map({connector("Default", {"0.0.0.0:25"}, {"0.0.0.0/0"}), relay});
    const Selection s = map.select(local("10.0.0.50", 25), ip("10.0.0.80"));
    EXPECT_EQ(chosen_name(s), "Default");
    EXPECT_FALSE(report_of(s, "Relay").enabled);
    EXPECT_EQ(report_of(s, "Relay").verdict, "disabled");
}

TEST(ConnectorSelection, SpecificBindingBeatsWildcardWithEqualRange) {
    const ConnectorMap map({connector("Wildcard", {"0.0.0.0:25"}, {"10.0.0.0/24"}),
                            connector("Specific", {"10.0.0.50:25"}, {"10.0.0.0/24"})});
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("10.0.0.9"))), "Specific");
}

TEST(ConnectorSelection, SpecificBindingBeatsWildcardWithWiderRange) {
    const ConnectorMap map({connector("Wildcard", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
                            connector("Specific", {"10.0.0.50:25"}, {"0.0.0.0/0"})});
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("10.0.0.9"))), "Specific");
}

TEST(ConnectorSelection, WildcardWinsOnlyWithStrictlySmallerRange) {
    const ConnectorMap map({connector("Specific", {"10.0.0.50:25"}, {"10.0.0.0/24"}),
                            connector("Wildcard", {"0.0.0.0:25"}, {"10.0.0.80"})});
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("10.0.0.80"))), "Wildcard");
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 25), ip("10.0.0.81"))), "Specific");
}

TEST(ConnectorSelection, DaemonNameBindingCountsAsSpecific) {
    const ConnectorMap map({connector("Wildcard", {"0.0.0.0:587"}, {"0.0.0.0/0"}),
                            connector("MSA", {"name:MSA"}, {"0.0.0.0/0"})});
    const LocalEndpoint msa{ip("10.0.0.50"), 587, "MSA"};
    EXPECT_EQ(chosen_name(map.select(msa, ip("198.51.100.1"))), "MSA");
}

TEST(ConnectorSelection, EqualCandidatesFallBackToConfigurationOrder) {
    const ConnectorMap map({connector("First", {"0.0.0.0:25"}, {"10.0.0.0/24"}),
                            connector("Second", {"0.0.0.0:25"}, {"10.0.1.0/24", "10.0.0.0/24"})});
    const Selection s = map.select(local("10.0.0.50", 25), ip("10.0.0.9"));
    EXPECT_EQ(chosen_name(s), "First");
    EXPECT_NE(report_of(s, "Second").verdict.find("first in the configuration"), std::string::npos)
        << report_of(s, "Second").verdict;
}

TEST(ConnectorSelection, ReportsEveryCandidateWithAVerdict) {
    const ConnectorMap map({connector("Default", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
                            connector("Relay", {"0.0.0.0:25"}, {"10.0.0.80"}),
                            connector("Submission", {"0.0.0.0:587"}, {"0.0.0.0/0"}),
                            connector("Lab", {"0.0.0.0:25"}, {"192.168.0.0/16"})});
    const Selection s = map.select(local("10.0.0.50", 25), ip("10.0.0.80"));
    ASSERT_EQ(s.candidates.size(), 4u);
    const auto& relay = report_of(s, "Relay");
    EXPECT_EQ(relay.verdict.rfind("chosen", 0), 0u) << relay.verdict;
    ASSERT_TRUE(relay.smallest_range);
    EXPECT_EQ(relay.smallest_range->to_string(), "10.0.0.80");
    ASSERT_NE(relay.matched_binding, nullptr);
    const auto& def = report_of(s, "Default");
    EXPECT_NE(def.verdict.find("lost to 'Relay'"), std::string::npos) << def.verdict;
    EXPECT_NE(def.verdict.find("0.0.0.0/0"), std::string::npos) << def.verdict;
    const auto& sub = report_of(s, "Submission");
    EXPECT_EQ(sub.matched_binding, nullptr);
    EXPECT_NE(sub.verdict.find("no binding matches"), std::string::npos) << sub.verdict;
    const auto& lab = report_of(s, "Lab");
    EXPECT_FALSE(lab.smallest_range);
    EXPECT_NE(lab.verdict.find("none of its remote ranges"), std::string::npos) << lab.verdict;
}

TEST(ConnectorSelection, FindIsCaseInsensitive) {
    const ConnectorMap map({connector("Anonymous Relay", {"0.0.0.0:25"}, {"10.0.0.80"})});
    ASSERT_NE(map.find("anonymous relay"), nullptr);
    EXPECT_EQ(map.find("other"), nullptr);
}

TEST(ConnectorConflicts, EqualRangesOnIdenticalBindingConflict) {
    const auto conflicts = ConnectorMap::find_conflicts(
        {connector("A", {"0.0.0.0:25"}, {"10.0.0.0/24"}), connector("B", {"0.0.0.0:25"}, {"10.0.0.0-10.0.0.255"})});
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_NE(conflicts[0].find("'A'"), std::string::npos) << conflicts[0];
    EXPECT_NE(conflicts[0].find("'B'"), std::string::npos) << conflicts[0];
    EXPECT_NE(conflicts[0].find("0.0.0.0:25"), std::string::npos) << conflicts[0];
}

TEST(ConnectorConflicts, PartialOverlapOnIdenticalBindingConflicts) {
    const auto conflicts = ConnectorMap::find_conflicts(
        {connector("A", {"0.0.0.0:25"}, {"10.0.0.0/24"}), connector("B", {"0.0.0.0:25"}, {"10.0.0.128-10.0.1.5"})});
    ASSERT_EQ(conflicts.size(), 1u);
    EXPECT_NE(conflicts[0].find("overlap"), std::string::npos) << conflicts[0];
}

TEST(ConnectorConflicts, FullContainmentIsAllowed) {
    EXPECT_TRUE(ConnectorMap::find_conflicts({connector("Default", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
                                              connector("Relay", {"0.0.0.0:25"}, {"10.0.0.80"})})
                    .empty());
}

TEST(ConnectorConflicts, DifferentBindingsNeverConflict) {
    EXPECT_TRUE(ConnectorMap::find_conflicts({connector("A", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
                                              connector("B", {"10.0.0.50:25"}, {"0.0.0.0/0"}),
                                              connector("C", {"0.0.0.0:587"}, {"0.0.0.0/0"})})
                    .empty());
}

TEST(ConnectorConflicts, OneMessagePerConflictingPair) {
    const auto conflicts = ConnectorMap::find_conflicts({connector("A", {"0.0.0.0:25"}, {"10.0.0.0/24"}),
                                                         connector("B", {"0.0.0.0:25"}, {"10.0.0.0/24"}),
                                                         connector("C", {"0.0.0.0:25"}, {"10.0.0.0/24"})});
    EXPECT_EQ(conflicts.size(), 3u);
}

// Found by fuzzing: when the MTA passes no {daemon_port}, a wildcard relay
// connector on another port (here 2525, with a smaller range) used to win
// over port 25's connector and let anonymous clients relay there.
TEST(ConnectorSelection, WildcardOnAnotherPortDoesNotCaptureConnectionsOfUnknownPort) {
    const ConnectorMap map({connector("Default Frontend", {"0.0.0.0:25"}, {"0.0.0.0-255.255.255.255"}),
                            connector("Device relay on 2525", {"0.0.0.0:2525"}, {"10.0.0.0/8"})});
    LocalEndpoint name_only{std::nullopt, std::nullopt, "smtp"};
    EXPECT_EQ(chosen_name(map.select(name_only, ip("10.1.2.3"))), "Default Frontend");
    LocalEndpoint address_only{ip("10.0.0.50"), std::nullopt, ""};
    EXPECT_EQ(chosen_name(map.select(address_only, ip("10.1.2.3"))), "Default Frontend");
    EXPECT_EQ(chosen_name(map.select(local("10.0.0.50", 2525), ip("10.1.2.3"))), "Device relay on 2525");
}

TEST(ConnectorSelection, SpecificAddressBindingNeverMatchesWhenThePortIsUnknown) {
    const ConnectorMap map({connector("Relay", {"10.0.0.50:25"}, {"10.0.0.80"})});
    LocalEndpoint address_only{ip("10.0.0.50"), std::nullopt, ""};
    EXPECT_EQ(map.select(address_only, ip("10.0.0.80")).chosen, nullptr);
}

// Issue 12: a missing {daemon_addr} or {daemon_port} must not quietly hand
// the client to a wider connector when a specific binding would serve it.
TEST(ConnectorSelection, UnknownLocalAddressMakesTheChoiceUndecidableWhenASpecificBindingWouldWin) {
    const ConnectorMap map({connector("Restrictive", {"203.0.113.5:25"}, {"0.0.0.0/0"}),
                            connector("Permissive", {"0.0.0.0:25"}, {"0.0.0.0/0"})});
    const LocalEndpoint port_only{std::nullopt, 25, ""};
    const LocalEndpoint address_only{ip("203.0.113.5"), std::nullopt, ""};
    const LocalEndpoint nothing{std::nullopt, std::nullopt, ""};
    for (const LocalEndpoint& l : {port_only, address_only, nothing}) {
        const Selection s = map.select(l, ip("192.0.2.7"));
        EXPECT_NE(s.undecidable.find("'Restrictive' binds 203.0.113.5:25"), std::string::npos) << s.undecidable;
    }
    // Known and different, or known and equal: decided.
    EXPECT_EQ(map.select(local("203.0.113.9", 25), ip("192.0.2.7")).undecidable, "");
    EXPECT_EQ(chosen_name(map.select(local("203.0.113.9", 25), ip("192.0.2.7"))), "Permissive");
    EXPECT_EQ(map.select(local("203.0.113.5", 25), ip("192.0.2.7")).undecidable, "");
    EXPECT_EQ(chosen_name(map.select(local("203.0.113.5", 25), ip("192.0.2.7"))), "Restrictive");
    // Another port is known: the specific binding could not match anyway.
    EXPECT_EQ(map.select({std::nullopt, 587, ""}, ip("192.0.2.7")).undecidable, "");
}

TEST(ConnectorSelection, UnknownLocalAddressIsDecidedWhenTheSpecificConnectorWouldLoseAnyway) {
    // The specific connector's range does not hold the client, or is wider
    // than the chosen one's: its binding does not matter.
    const ConnectorMap map({connector("Partner", {"203.0.113.5:25"}, {"198.51.100.0/24"}),
                            connector("Device", {"0.0.0.0:25"}, {"192.0.2.7"}),
                            connector("Default", {"0.0.0.0:25"}, {"0.0.0.0/0"})});
    const LocalEndpoint port_only{std::nullopt, 25, ""};
    EXPECT_EQ(map.select(port_only, ip("192.0.2.7")).undecidable, "");
    EXPECT_EQ(chosen_name(map.select(port_only, ip("192.0.2.7"))), "Device");
    EXPECT_EQ(map.select(port_only, ip("192.0.2.99")).undecidable, "");
    EXPECT_NE(map.select(port_only, ip("198.51.100.1")).undecidable, "");
}

TEST(ConnectorSelection, SpecificAndWildcardBindingOnOnePortAreReportedAsAddressDependent) {
    const ConnectorMap map({connector("Restrictive", {"203.0.113.5:25"}, {"0.0.0.0/0"}),
                            connector("Permissive", {"0.0.0.0:25"}, {"0.0.0.0/0"}),
                            connector("Submission", {"0.0.0.0:587"}, {"0.0.0.0/0"})});
    const auto found = map.address_dependent_choices();
    ASSERT_EQ(found.size(), 1U);
    EXPECT_NE(found[0].find("'Restrictive'"), std::string::npos) << found[0];
    EXPECT_NE(found[0].find("'Permissive'"), std::string::npos) << found[0];
    EXPECT_TRUE(ConnectorMap({connector("A", {"0.0.0.0:25"}, {"0.0.0.0/0"})}).address_dependent_choices().empty());
}
