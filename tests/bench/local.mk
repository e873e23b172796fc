# Benchmarks (issue 6): the load generator, the corpus and DNS tools, and
# `make bench`, which runs scripts/bench (connector-milter side by side with
# OpenDKIM and OpenDMARC; results in BENCHMARKS.md). Not part of make check.
noinst_PROGRAMS += tests/bench/milter_load
tests_bench_milter_load_SOURCES = tests/bench/milter_load.cpp
tests_bench_milter_load_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_bench_milter_load_LDADD = libmilterclient.a $(PTHREAD_LIBS)

EXTRA_DIST += tests/bench/corpus_gen.py tests/bench/zone_dns.py tests/bench/postfix_e2e.sh \
	tests/bench/nodelay_preload.c BENCHMARKS.md

bench: connector-milter$(EXEEXT) tests/bench/milter_load$(EXEEXT) tests/bench/null_milter$(EXEEXT)
	BUILD_DIR='$(abs_top_builddir)' $(top_srcdir)/scripts/bench

# The end-to-end figure's baseline: a milter with connector-milter's stages
# and no work (tests/bench/postfix_e2e.sh).
noinst_PROGRAMS += tests/bench/null_milter
tests_bench_null_milter_SOURCES = tests/bench/null_milter.cpp
tests_bench_null_milter_LDADD = $(MILTER_LIBS) $(PTHREAD_LIBS)
