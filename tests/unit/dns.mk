# unit tests of src/dns (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/dns_test
TESTS += tests/unit/dns_test
tests_unit_dns_test_SOURCES = \
	tests/unit/dns_budget_test.cpp \
	tests/unit/dns_static_zone_test.cpp \
	tests/unit/dns_static_resolver_test.cpp \
	tests/unit/dns_unbound_test.cpp \
	tests/unit/dns_make_resolver_test.cpp \
	tests/unit/dns_test_server.cpp tests/unit/dns_test_server.hpp
tests_unit_dns_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dns_test_LDADD = libdns.a $(UNBOUND_LIBS) $(GTEST_LIBS)
endif
