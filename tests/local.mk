include tests/unit/policy.mk
include tests/unit/config.mk
include tests/unit/dns.mk
include tests/unit/auth.mk
include tests/unit/session.mk
include tests/unit/milter.mk
include tests/protocol/local.mk
include tests/e2e/local.mk

UNIT_TEST_LIBS = $(CORE_LDADD) $(GTEST_LIBS)
UNIT_TEST_CXXFLAGS = $(AM_CXXFLAGS) $(GTEST_CFLAGS)
include tests/unit/dkim_dmarc.mk
include tests/unit/relay_property.mk
include tests/fuzz/local.mk
include tests/bench/local.mk

# Deployment pieces: make install DESTDIR, man pages, the systemd unit.
TESTS += tests/deploy.test
EXTRA_DIST += tests/deploy.test
# The macro lists of the daemon, the MTA snippets and the man page, and the
# minimum Postfix version they state, agree.
TESTS += tests/macro_lists.test
EXTRA_DIST += tests/macro_lists.test
