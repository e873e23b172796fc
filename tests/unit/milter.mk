# unit tests of the pure part of src/milter (GoogleTest)
if HAVE_GTEST
check_PROGRAMS += tests/unit/milter_test
TESTS += tests/unit/milter_test
tests_unit_milter_test_SOURCES = tests/unit/milter_reply_gate_test.cpp src/milter/reply_gate.cpp \
	tests/unit/milter_connection_table_test.cpp src/milter/connection_table.cpp src/daemon/descriptors.cpp \
	tests/unit/milter_wire_test.cpp src/milter/packet.cpp src/milter/command.cpp src/milter/macro_store.cpp \
	tests/unit/milter_worker_pool_test.cpp src/milter/worker_pool.cpp
tests_unit_milter_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_milter_test_LDADD = $(UNIT_TEST_LIBS)
endif
