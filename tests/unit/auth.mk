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
tests_unit_spf_test_LDADD = libauth.a libdns.a libpolicy.a $(SPF2_LIBS) $(IDN2_LIBS) $(GTEST_LIBS)

# The openspf RFC 7208 suite (needs python3-yaml to read the YAML).
tests_unit_spf_suite_SOURCES = tests/unit/spf_suite.cpp
tests_unit_spf_suite_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_spf_suite_LDADD = libauth.a libdns.a libpolicy.a $(SPF2_LIBS) $(IDN2_LIBS) $(GTEST_LIBS)
endif
