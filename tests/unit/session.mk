# unit tests of src/session (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/session_test
TESTS += tests/unit/session_test
tests_unit_session_test_SOURCES = tests/unit/session_test.cpp
tests_unit_session_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_session_test_LDADD = $(UNIT_TEST_LIBS)
endif
