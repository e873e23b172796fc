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
tests_unit_config_test_LDADD = libconfig.a libpolicy.a $(TOML_LIBS) $(IDN2_LIBS) $(GTEST_LIBS)
endif
