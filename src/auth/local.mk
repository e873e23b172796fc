noinst_LIBRARIES += libauth.a
libauth_a_SOURCES = \
	src/auth/authres.cpp src/auth/authres.hpp
