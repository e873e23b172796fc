# libFuzzer targets (issue 7): one per parser plus a whole-session target.
# Built only with ./configure --enable-fuzzing CXX=clang++ (see scripts/fuzz);
# the seed corpora under tests/fuzz/corpus/<target>/ are distributed.
EXTRA_DIST += tests/fuzz/README tests/fuzz/corpus tests/fuzz/crashes tests/fuzz/fuzz_common.hpp

if ENABLE_FUZZING
FUZZ_TARGETS = tests/fuzz/fuzz_config tests/fuzz/fuzz_static_zone tests/fuzz/fuzz_address \
	tests/fuzz/fuzz_authres tests/fuzz/fuzz_dmarc_record tests/fuzz/fuzz_spf_record \
	tests/fuzz/fuzz_session tests/fuzz/fuzz_milter_packet tests/fuzz/fuzz_arc tests/fuzz/fuzz_dkim
noinst_PROGRAMS += $(FUZZ_TARGETS)

tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.cpp
tests_fuzz_fuzz_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_config_LDADD = libconfig.a libpolicy.a $(TOML_LIBS) $(IDN2_LIBS) $(OPENSSL_LIBS)

tests_fuzz_fuzz_static_zone_SOURCES = tests/fuzz/fuzz_static_zone.cpp
tests_fuzz_fuzz_static_zone_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_static_zone_LDADD = libdns.a $(METRICS_LIBS)

tests_fuzz_fuzz_address_SOURCES = tests/fuzz/fuzz_address.cpp tests/fuzz/fuzz_common.hpp
tests_fuzz_fuzz_address_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_address_LDADD = libpolicy.a $(IDN2_LIBS)

tests_fuzz_fuzz_authres_SOURCES = tests/fuzz/fuzz_authres.cpp tests/fuzz/fuzz_common.hpp
tests_fuzz_fuzz_authres_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_authres_LDADD = libauth.a

tests_fuzz_fuzz_dmarc_record_SOURCES = tests/fuzz/fuzz_dmarc_record.cpp
tests_fuzz_fuzz_dmarc_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dmarc_record_LDADD = libauth.a

tests_fuzz_fuzz_arc_SOURCES = tests/fuzz/fuzz_arc.cpp tests/fuzz/fuzz_common.hpp
tests_fuzz_fuzz_arc_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_arc_LDADD = libauth.a libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(OPENSSL_LIBS)

tests_fuzz_fuzz_dkim_SOURCES = tests/fuzz/fuzz_dkim.cpp tests/fuzz/fuzz_common.hpp
tests_fuzz_fuzz_dkim_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_dkim_LDADD = libauth.a libdns.a $(METRICS_LIBS) $(UNBOUND_LIBS) $(OPENDKIM_LIBS) $(OPENSSL_LIBS)

tests_fuzz_fuzz_spf_record_SOURCES = tests/fuzz/fuzz_spf_record.cpp
tests_fuzz_fuzz_spf_record_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_spf_record_LDADD = libauth.a libdns.a $(METRICS_LIBS) libpolicy.a $(SPF2_LIBS) $(IDN2_LIBS)

tests_fuzz_fuzz_session_SOURCES = tests/fuzz/fuzz_session.cpp tests/fuzz/fuzz_common.hpp
tests_fuzz_fuzz_session_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_session_LDADD = $(CORE_LDADD)

tests_fuzz_fuzz_milter_packet_SOURCES = tests/fuzz/fuzz_milter_packet.cpp tests/fuzz/fuzz_common.hpp \
	src/milter/packet.cpp src/milter/command.cpp src/milter/macro_store.cpp
tests_fuzz_fuzz_milter_packet_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)

# "make fuzz": build the targets and run each for FUZZ_SECONDS on a copy of
# its seed corpus (scripts/fuzz prints the figures and "N passed, N failed").
FUZZ_SECONDS = 60
fuzz: $(FUZZ_TARGETS)
	FUZZ_BUILD_DIR='$(abs_top_builddir)' $(SHELL) '$(abs_top_srcdir)/scripts/fuzz' $(FUZZ_SECONDS)
else
fuzz:
	@echo "make fuzz: configure with CXX=clang++ --enable-fuzzing, or run scripts/fuzz [SECONDS]" >&2; exit 1
endif
.PHONY: fuzz
