# protocol tests: the built daemon over the real milter protocol
#
# libmilterclient.a is the MTA side of the milter protocol (tests/milterclient);
# the protocol tests and the benchmarks (tests/bench) link it.
noinst_LIBRARIES += libmilterclient.a
libmilterclient_a_SOURCES = \
	tests/milterclient/milter_client.cpp tests/milterclient/milter_client.hpp \
	tests/milterclient/mta.cpp tests/milterclient/mta.hpp \
	tests/milterclient/daemon_process.cpp tests/milterclient/daemon_process.hpp \
	tests/milterclient/redis_server.cpp tests/milterclient/redis_server.hpp
libmilterclient_a_CPPFLAGS = $(AM_CPPFLAGS) $(MILTER_CFLAGS)

if HAVE_GTEST
check_PROGRAMS += tests/protocol/protocol_test
TESTS += tests/protocol/protocol_test
tests_protocol_protocol_test_SOURCES = \
	tests/protocol/daemon_fixture.cpp tests/protocol/daemon_fixture.hpp \
	tests/protocol/protocol_test.cpp \
	tests/protocol/suite_daemon.cpp tests/protocol/suite_daemon.hpp \
	tests/protocol/auth_protocol_test.cpp tests/protocol/relay_tricks_test.cpp \
	tests/protocol/no_reply_test.cpp tests/protocol/quarantine_test.cpp \
	tests/protocol/memory_test.cpp tests/protocol/engine_test.cpp \
	tests/protocol/fail_closed_test.cpp \
	tests/protocol/metrics_test.cpp
tests_protocol_protocol_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_protocol_protocol_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_protocol_protocol_test_LDADD = libmilterclient.a libmetricsread.a $(CURL_LIBS) $(GTEST_LIBS) $(PTHREAD_LIBS)
# The client itself, against a scripted fake filter (no daemon needed).
check_PROGRAMS += tests/protocol/milter_client_test
TESTS += tests/protocol/milter_client_test
tests_protocol_milter_client_test_SOURCES = tests/protocol/milter_client_test.cpp
tests_protocol_milter_client_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_protocol_milter_client_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_protocol_milter_client_test_LDADD = libmilterclient.a $(GTEST_LIBS) $(PTHREAD_LIBS)
# The protocol tests start the daemon: build it first.
EXTRA_tests_protocol_protocol_test_DEPENDENCIES = connector-milter$(EXEEXT)
endif

# Lifecycle under load (issue 7): reloads and SIGTERM under load, privilege
# drop, socket and file permissions. Starts the daemon like protocol_test.
if HAVE_GTEST
check_PROGRAMS += tests/protocol/lifecycle_test
TESTS += tests/protocol/lifecycle_test
tests_protocol_lifecycle_test_SOURCES = \
	tests/protocol/daemon_fixture.cpp tests/protocol/daemon_fixture.hpp \
	tests/protocol/lifecycle_test.cpp tests/protocol/notify_test.cpp tests/protocol/log_format_test.cpp
tests_protocol_lifecycle_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_protocol_lifecycle_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_protocol_lifecycle_test_LDADD = libmilterclient.a $(GTEST_LIBS) $(PTHREAD_LIBS)
EXTRA_tests_protocol_lifecycle_test_DEPENDENCIES = connector-milter$(EXEEXT)
endif

# [cluster] (issue 16): two daemons sharing a real redis-server that the
# test starts on a loopback port; on both engines.
if HAVE_GTEST
check_PROGRAMS += tests/protocol/cluster_test
TESTS += tests/protocol/cluster_test tests/protocol/cluster_libmilter.test
tests_protocol_cluster_test_SOURCES = \
	tests/protocol/daemon_fixture.cpp tests/protocol/daemon_fixture.hpp \
	tests/protocol/cluster_test.cpp
tests_protocol_cluster_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_protocol_cluster_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_protocol_cluster_test_LDADD = libmilterclient.a $(GTEST_LIBS) $(PTHREAD_LIBS)
EXTRA_tests_protocol_cluster_test_DEPENDENCIES = connector-milter$(EXEEXT)
# A fake Redis answering with wrong types, errors, huge and broken replies,
# silence; and SCRIPT FLUSH on a real redis-server mid-run.
check_PROGRAMS += tests/protocol/cluster_hostile_test
TESTS += tests/protocol/cluster_hostile_test
tests_protocol_cluster_hostile_test_SOURCES = \
	tests/protocol/daemon_fixture.cpp tests/protocol/daemon_fixture.hpp \
	tests/protocol/cluster_hostile_test.cpp
tests_protocol_cluster_hostile_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_protocol_cluster_hostile_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_protocol_cluster_hostile_test_LDADD = libmilterclient.a libmetricsread.a $(CURL_LIBS) $(GTEST_LIBS) \
	$(PTHREAD_LIBS)
EXTRA_tests_protocol_cluster_hostile_test_DEPENDENCIES = connector-milter$(EXEEXT)
endif
EXTRA_DIST += tests/protocol/cluster_libmilter.test

# Differential test (issue 14): the same suites on the libmilter engine.
if HAVE_GTEST
TESTS += tests/protocol/protocol_libmilter.test tests/protocol/lifecycle_libmilter.test
endif
EXTRA_DIST += tests/protocol/protocol_libmilter.test tests/protocol/lifecycle_libmilter.test \
	tests/protocol/dashboard_metrics.py

# The daemon once more, with a fault injected at the stage that
# $CONNECTOR_MILTER_FAULT_STAGE names (src/milter/adapter.cpp,
# CONNECTOR_MILTER_FAULT_INJECTION): the protocol suite checks that an
# exception inside a callback fails closed. Never installed.
if HAVE_GTEST
check_PROGRAMS += tests/protocol/connector-milter-faults
tests_protocol_connector_milter_faults_SOURCES = $(connector_milter_SOURCES)
tests_protocol_connector_milter_faults_CPPFLAGS = $(AM_CPPFLAGS) -DCONNECTOR_MILTER_FAULT_INJECTION
tests_protocol_connector_milter_faults_LDADD = $(connector_milter_LDADD)
EXTRA_tests_protocol_protocol_test_DEPENDENCIES += tests/protocol/connector-milter-faults$(EXEEXT)
endif

# DMARC aggregate reports from two daemons counting in one real
# redis-server ([dmarc.reports] store = "redis", issue 17).
if HAVE_GTEST
check_PROGRAMS += tests/protocol/cluster_reports_test
TESTS += tests/protocol/cluster_reports_test
tests_protocol_cluster_reports_test_SOURCES = \
	tests/protocol/daemon_fixture.cpp tests/protocol/daemon_fixture.hpp \
	tests/protocol/cluster_reports_test.cpp
tests_protocol_cluster_reports_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_protocol_cluster_reports_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_protocol_cluster_reports_test_LDADD = libmilterclient.a $(GTEST_LIBS) $(PTHREAD_LIBS)
EXTRA_tests_protocol_cluster_reports_test_DEPENDENCIES = connector-milter$(EXEEXT)
endif
