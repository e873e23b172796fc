# The no-open-relay property test (issue 7): random configs and sessions.
if HAVE_GTEST
check_PROGRAMS += tests/unit/relay_property_test
TESTS += tests/unit/relay_property_test
tests_unit_relay_property_test_SOURCES = tests/unit/relay_property_test.cpp
tests_unit_relay_property_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_relay_property_test_LDADD = $(UNIT_TEST_LIBS)
endif
