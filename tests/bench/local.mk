# Benchmarks (issue 6): the load generator, the corpus and DNS tools, and
# `make bench`, which runs scripts/bench (connector-milter side by side with
# OpenDKIM and OpenDMARC; results in BENCHMARKS.md). Not part of make check.
noinst_PROGRAMS += tests/bench/milter_load
tests_bench_milter_load_SOURCES = tests/bench/milter_load.cpp tests/bench/corpus.cpp tests/bench/corpus.hpp
tests_bench_milter_load_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_bench_milter_load_LDADD = libmilterclient.a $(PTHREAD_LIBS)

EXTRA_DIST += tests/bench/corpus_gen.py tests/bench/zone_dns.py tests/bench/postfix_e2e.sh tests/bench/dnsbl.sh tests/bench/metrics.sh tests/bench/cluster.sh tests/bench/reports.sh tests/bench/signing.sh tests/bench/cold.sh tests/bench/report_db_gen.py \
	tests/bench/nodelay_preload.c BENCHMARKS.md

bench: connector-milter$(EXEEXT) tests/bench/milter_load$(EXEEXT) tests/bench/null_milter$(EXEEXT) \
	tests/bench/session_work$(EXEEXT) tests/bench/null_native$(EXEEXT) tests/bench/metrics_cost$(EXEEXT)
	BUILD_DIR='$(abs_top_builddir)' $(top_srcdir)/scripts/bench

# The end-to-end figure's baseline: a milter with connector-milter's stages
# and no work (tests/bench/postfix_e2e.sh).
noinst_PROGRAMS += tests/bench/null_milter
tests_bench_null_milter_SOURCES = tests/bench/null_milter.cpp
tests_bench_null_milter_LDADD = $(MILTER_LIBS) $(PTHREAD_LIBS)

# The "work alone" figure (issue 14): session::Session driven with the
# corpus, no protocol, no I/O (tests/bench/session_work.cpp).
noinst_PROGRAMS += tests/bench/session_work
tests_bench_session_work_SOURCES = tests/bench/session_work.cpp tests/bench/corpus.cpp tests/bench/corpus.hpp \
	src/daemon/config_loader.cpp src/daemon/dmarc_recording.cpp src/daemon/allocator.cpp src/log/log.cpp
tests_bench_session_work_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests
tests_bench_session_work_LDADD = $(CORE_LDADD)

# The do-nothing milter on the native engine: the daemon with
# tests/bench/null_session.cpp in place of session::Session's work.
noinst_PROGRAMS += tests/bench/null_native
tests_bench_null_native_SOURCES = tests/bench/null_session.cpp $(connector_milter_SOURCES)
tests_bench_null_native_LDADD = $(connector_milter_LDADD)

# What counting costs one message (issue 18), apart from the rest
# (tests/bench/metrics.sh prints it beside the endpoint figure).
noinst_PROGRAMS += tests/bench/metrics_cost
tests_bench_metrics_cost_SOURCES = tests/bench/metrics_cost.cpp
tests_bench_metrics_cost_LDADD = $(CORE_LDADD)

# CPU per message for ARC verification on the corpus's ARC-sealed share
# (issue 19): tests/bench/arc_cpu CORPUS_DIR after corpus_gen.py.
noinst_PROGRAMS += tests/bench/arc_cpu
tests_bench_arc_cpu_SOURCES = tests/bench/arc_cpu.cpp
tests_bench_arc_cpu_LDADD = libauth.a libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(OPENDKIM_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)
