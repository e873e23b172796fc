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
