noinst_LIBRARIES += libconfig.a
libconfig_a_SOURCES = \
	src/config/settings.hpp \
	src/config/config.cpp src/config/config.hpp \
	src/config/host_name.cpp src/config/host_name.hpp \
	src/config/socket_spec.cpp src/config/socket_spec.hpp \
	src/config/discovery.cpp \
	src/config/dkim_signing.cpp src/config/dkim_signing.hpp \
	src/config/default_config.cpp
