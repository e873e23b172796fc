# Unit tests: the GoogleTest programs of the pure modules, the conformance
# replays, and the no-open-relay property test. One local.mk for the folder,
# as every other folder has (issue 13 item 7).
UNIT_TEST_LIBS = $(CORE_LDADD) $(GTEST_LIBS)
UNIT_TEST_CXXFLAGS = $(AM_CXXFLAGS) $(GTEST_CFLAGS)

# unit tests of src/policy (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/policy_test
TESTS += tests/unit/policy_test
tests_unit_policy_test_SOURCES = \
	tests/unit/policy_ip_test.cpp \
	tests/unit/policy_selection_test.cpp \
	tests/unit/policy_rights_test.cpp \
	tests/unit/policy_certificate_test.cpp \
	tests/unit/policy_domains_test.cpp \
	tests/unit/policy_replies_test.cpp \
	tests/unit/policy_address_test.cpp \
	tests/unit/policy_checks_test.cpp \
	tests/unit/policy_limits_test.cpp \
	tests/unit/policy_local_submission_test.cpp \
	tests/unit/util_ascii_test.cpp
tests_unit_policy_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_policy_test_LDADD = libpolicy.a $(IDN2_LIBS) $(PTHREAD_LIBS) $(GTEST_LIBS)
endif

# unit tests of src/config (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/config_test
TESTS += tests/unit/config_test
tests_unit_config_test_SOURCES = tests/unit/config_load_test.cpp \
	tests/unit/config_discovery_test.cpp \
	tests/unit/config_default_test.cpp \
	tests/unit/config_socket_spec_test.cpp \
	tests/unit/config_test_util.hpp
tests_unit_config_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_config_test_LDADD = libconfig.a libpolicy.a $(TOML_LIBS) $(IDN2_LIBS) $(OPENSSL_LIBS) $(GTEST_LIBS)
endif

# unit tests of src/dns (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/dns_test
TESTS += tests/unit/dns_test
tests_unit_dns_test_SOURCES = \
	tests/unit/dns_budget_test.cpp \
	tests/unit/dns_static_zone_test.cpp \
	tests/unit/dns_static_resolver_test.cpp \
	tests/unit/dns_unbound_test.cpp \
	tests/unit/dns_counters_test.cpp \
	tests/unit/dns_make_resolver_test.cpp \
	tests/unit/dns_test_server.cpp tests/unit/dns_test_server.hpp
tests_unit_dns_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dns_test_LDADD = libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(GTEST_LIBS)
endif

# unit tests of src/auth (GoogleTest)
EXTRA_DIST += tests/unit/spf_suite_yaml2lines.py
if HAVE_GTEST
check_PROGRAMS += tests/unit/authres_test tests/unit/spf_test tests/unit/spf_suite
TESTS += tests/unit/authres_test tests/unit/spf_test tests/unit/spf_suite

tests_unit_authres_test_SOURCES = tests/unit/authres_test.cpp tests/unit/authres_corpus_test.cpp
tests_unit_authres_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_authres_test_LDADD = libauth.a $(GTEST_LIBS)

tests_unit_spf_test_SOURCES = tests/unit/spf_test.cpp
tests_unit_spf_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_spf_test_LDADD = libauth.a libdns.a $(METRICS_LIBS) libpolicy.a $(SPF2_LIBS) $(IDN2_LIBS) $(GTEST_LIBS)

# The openspf RFC 7208 suite (needs python3-yaml to read the YAML).
tests_unit_spf_suite_SOURCES = tests/unit/spf_suite.cpp tests/unit/suite_lines.hpp
tests_unit_spf_suite_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_spf_suite_LDADD = libauth.a libdns.a $(METRICS_LIBS) libpolicy.a $(SPF2_LIBS) $(IDN2_LIBS) $(GTEST_LIBS)
endif

# unit tests of src/auth/dkim* and src/auth/dmarc* (GoogleTest) and the
# DKIM conformance replay (a plain program printing "N passed, N failed").
check_PROGRAMS += tests/unit/dkim_corpus_test
TESTS += tests/unit/dkim_corpus_test
tests_unit_dkim_corpus_test_SOURCES = tests/unit/dkim_corpus_test.cpp \
	tests/unit/dkim_message_io.hpp
tests_unit_dkim_corpus_test_LDADD = libauth.a libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(OPENDKIM_LIBS) \
	$(OPENSSL_LIBS)

# Our DKIM verifier against libopendkim over every DKIM corpus and variants
# of each signed message (issue 14): identical verdicts required.
check_PROGRAMS += tests/unit/dkim_differential_test
TESTS += tests/unit/dkim_differential_test
tests_unit_dkim_differential_test_SOURCES = tests/unit/dkim_differential_test.cpp \
	tests/unit/dkim_message_io.hpp tests/unit/dkim_test_signer.hpp
tests_unit_dkim_differential_test_LDADD = $(tests_unit_dkim_corpus_test_LDADD)

if HAVE_GTEST
check_PROGRAMS += tests/unit/dkim_test tests/unit/dmarc_test
TESTS += tests/unit/dkim_test tests/unit/dkim_libopendkim.test tests/unit/dmarc_test
EXTRA_DIST += tests/unit/dkim_libopendkim.test

tests_unit_dkim_test_SOURCES = tests/unit/dkim_test.cpp tests/unit/dkim_fake_resolver.hpp \
	tests/unit/dkim_message_io.hpp tests/unit/dkim_test_signer.hpp
tests_unit_dkim_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dkim_test_LDADD = libauth.a libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(OPENDKIM_LIBS) \
	$(OPENSSL_LIBS) $(GTEST_LIBS) $(PTHREAD_LIBS)

# Adversarial DKIM cases signed by tests/unit/dkim_adversarial_cases.py
# (python3-dkim): our verifier must give the RFC's verdict on each.
check_PROGRAMS += tests/unit/dkim_adversarial_test
TESTS += tests/unit/dkim_adversarial_test
EXTRA_DIST += tests/unit/dkim_adversarial_cases.py
tests_unit_dkim_adversarial_test_SOURCES = tests/unit/dkim_adversarial_test.cpp tests/unit/dkim_message_io.hpp
tests_unit_dkim_adversarial_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dkim_adversarial_test_LDADD = $(tests_unit_dkim_test_LDADD)

tests_unit_dmarc_test_SOURCES = tests/unit/dmarc_test.cpp tests/unit/dmarc_mail_dmarc_test.cpp \
	tests/unit/dkim_fake_resolver.hpp
tests_unit_dmarc_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dmarc_test_LDADD = libauth.a libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(OPENDKIM_LIBS) $(PSL_LIBS) \
	$(IDN2_LIBS) $(OPENSSL_LIBS) $(GTEST_LIBS)
endif

# unit tests of src/session (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/session_test
TESTS += tests/unit/session_test
tests_unit_session_test_SOURCES = tests/unit/session_test.cpp tests/unit/log_record_test.cpp tests/unit/arc_sealed_sample.hpp \
	tests/unit/dkim_message_io.hpp
tests_unit_session_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_session_test_LDADD = $(UNIT_TEST_LIBS)
endif

# unit tests of the pure part of src/milter (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/milter_test
TESTS += tests/unit/milter_test
tests_unit_milter_test_SOURCES = tests/unit/milter_reply_gate_test.cpp src/milter/reply_gate.cpp \
	tests/unit/milter_connection_table_test.cpp src/milter/connection_table.cpp src/daemon/descriptors.cpp \
	tests/unit/milter_wire_test.cpp src/milter/packet.cpp src/milter/command.cpp src/milter/macro_store.cpp \
	tests/unit/milter_worker_pool_test.cpp src/milter/worker_pool.cpp \
	tests/unit/daemon_allocator_test.cpp src/daemon/allocator.cpp
tests_unit_milter_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_milter_test_LDADD = $(UNIT_TEST_LIBS)
endif

# The no-open-relay property test (issue 7): random configs and sessions.
if HAVE_GTEST
check_PROGRAMS += tests/unit/relay_property_test
TESTS += tests/unit/relay_property_test
tests_unit_relay_property_test_SOURCES = tests/unit/relay_property_test.cpp
tests_unit_relay_property_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
# The shared-limits property runs against a real redis-server
# (tests/milterclient/redis_server).
tests_unit_relay_property_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_unit_relay_property_test_LDADD = libmilterclient.a $(UNIT_TEST_LIBS)
endif

# Connection filtering (issue 19): IP lists and DNS block lists, from the
# pure parts to the session's refusal at RCPT, DNS from a static zone.
if HAVE_GTEST
check_PROGRAMS += tests/unit/connection_filter_test
TESTS += tests/unit/connection_filter_test
tests_unit_connection_filter_test_SOURCES = tests/unit/connection_filter_test.cpp
tests_unit_connection_filter_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_connection_filter_test_LDADD = $(UNIT_TEST_LIBS)
endif

# unit tests of src/metrics (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/metrics_test
TESTS += tests/unit/metrics_test
tests_unit_metrics_test_SOURCES = tests/unit/metrics_test.cpp
tests_unit_metrics_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_metrics_test_LDADD = libmetricsread.a $(UNIT_TEST_LIBS) $(CURL_LIBS)
endif

# ARC (RFC 8617): the ValiMail validation suite replay and unit tests of
# src/auth/arc* (GoogleTest).
EXTRA_DIST += tests/unit/arc_suite_yaml2lines.py tests/unit/arc_sealer.py tests/unit/arc_oracle.pl tests/unit/ZoneResolver.pm
if HAVE_GTEST
check_PROGRAMS += tests/unit/arc_test
TESTS += tests/unit/arc_test
tests_unit_arc_test_SOURCES = tests/unit/arc_suite.cpp tests/unit/arc_test.cpp tests/unit/arc_ed25519_test.cpp tests/unit/arc_sealed_sample.hpp tests/unit/dkim_message_io.hpp tests/unit/suite_lines.hpp \
	tests/unit/dkim_fake_resolver.hpp
tests_unit_arc_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_arc_test_LDADD = $(UNIT_TEST_LIBS)
endif

# DKIM signing (issue 15): tables, keys, the signer against python3-dkim and
# Mail::DKIM (tests/unit/dkim_oracle.*), and who the session signs.
EXTRA_DIST += tests/unit/dkim_oracle.py tests/unit/dkim_oracle.pl
if HAVE_GTEST
check_PROGRAMS += tests/unit/dkim_sign_test
TESTS += tests/unit/dkim_sign_test
tests_unit_dkim_sign_test_SOURCES = tests/unit/dkim_sign_test.cpp tests/unit/config_test_util.hpp
tests_unit_dkim_sign_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dkim_sign_test_LDADD = $(UNIT_TEST_LIBS)
endif

# DMARC aggregate reports (issue 17): src/report, src/state and what a
# session records.
if HAVE_GTEST
check_PROGRAMS += tests/unit/report_test
TESTS += tests/unit/report_test
tests_unit_report_test_SOURCES = tests/unit/report_test.cpp tests/unit/state_report_test.cpp tests/unit/dmarc_evaluation_sample.hpp
tests_unit_report_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_report_test_LDADD = libreport.a $(UNIT_TEST_LIBS) $(ZLIB_LIBS)
endif

# The Redis report store ([dmarc.reports] store = "redis", issue 17)
# against a real redis-server the test starts on loopback.
if HAVE_GTEST
check_PROGRAMS += tests/unit/redis_report_store_test
TESTS += tests/unit/redis_report_store_test
tests_unit_redis_report_store_test_SOURCES = tests/unit/redis_report_store_test.cpp tests/unit/dmarc_evaluation_sample.hpp
tests_unit_redis_report_store_test_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_unit_redis_report_store_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_redis_report_store_test_LDADD = libreport.a libmilterclient.a $(UNIT_TEST_LIBS) $(ZLIB_LIBS)
endif
