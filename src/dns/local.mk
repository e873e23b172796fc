noinst_LIBRARIES += libdns.a
libdns_a_SOURCES = \
	src/dns/options.hpp \
	src/dns/resolver.cpp src/dns/resolver.hpp \
	src/dns/prefetch.cpp src/dns/prefetch.hpp \
	src/dns/counters.cpp src/dns/counters.hpp \
	src/dns/static_zone.cpp src/dns/static_zone.hpp \
	src/dns/unbound_resolver.cpp src/dns/unbound_resolver.hpp \
	src/dns/make_resolver.cpp src/dns/make_resolver.hpp
