# unit tests of src/auth/dkim* and src/auth/dmarc* (GoogleTest) and the
# DKIM conformance replay (a plain program printing "N passed, N failed").
check_PROGRAMS += tests/unit/dkim_corpus_test
TESTS += tests/unit/dkim_corpus_test
tests_unit_dkim_corpus_test_SOURCES = tests/unit/dkim_corpus_test.cpp \
	tests/unit/dkim_message_io.hpp
tests_unit_dkim_corpus_test_LDADD = libauth.a libdns.a $(UNBOUND_LIBS) $(OPENDKIM_LIBS) \
	$(OPENSSL_LIBS)

if HAVE_GTEST
check_PROGRAMS += tests/unit/dkim_test tests/unit/dmarc_test
TESTS += tests/unit/dkim_test tests/unit/dmarc_test

tests_unit_dkim_test_SOURCES = tests/unit/dkim_test.cpp tests/unit/dkim_fake_resolver.hpp \
	tests/unit/dkim_message_io.hpp
tests_unit_dkim_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dkim_test_LDADD = libauth.a libdns.a $(UNBOUND_LIBS) $(OPENDKIM_LIBS) \
	$(OPENSSL_LIBS) $(GTEST_LIBS) $(PTHREAD_LIBS)

tests_unit_dmarc_test_SOURCES = tests/unit/dmarc_test.cpp tests/unit/dmarc_mail_dmarc_test.cpp \
	tests/unit/dkim_fake_resolver.hpp
tests_unit_dmarc_test_CXXFLAGS = $(UNIT_TEST_CXXFLAGS)
tests_unit_dmarc_test_LDADD = libauth.a libdns.a $(UNBOUND_LIBS) $(OPENDKIM_LIBS) $(PSL_LIBS) \
	$(IDN2_LIBS) $(OPENSSL_LIBS) $(GTEST_LIBS)
endif
