include tests/unit/local.mk
include tests/protocol/local.mk
include tests/e2e/local.mk
include tests/fuzz/local.mk
include tests/bench/local.mk

# Deployment pieces: make install DESTDIR, man pages, the systemd unit.
TESTS += tests/deploy.test
EXTRA_DIST += tests/deploy.test
# The macro lists of the daemon, the MTA snippets and the man page, and the
# minimum Postfix version they state, agree.
TESTS += tests/macro_lists.test
EXTRA_DIST += tests/macro_lists.test
# explain --offline shows connection filtering (issue 19).
TESTS += tests/explain_block_list.test
EXTRA_DIST += tests/explain_block_list.test
# DMARC aggregate reports (issue 17): reports built from a database of
# evaluations validate against the RFC 9990 schema and are read back by an
# independent reader.
TESTS += tests/report/report_files.test
EXTRA_DIST += tests/report/report_files.test tests/report/check_reports.py
