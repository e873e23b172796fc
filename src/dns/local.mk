noinst_LIBRARIES += libdns.a
libdns_a_SOURCES = \
	src/dns/resolver.cpp src/dns/resolver.hpp \
	src/dns/static_zone.cpp src/dns/static_zone.hpp
