noinst_LIBRARIES += libpolicy.a
libpolicy_a_SOURCES = \
	src/policy/ip_address.cpp src/policy/ip_address.hpp \
	src/policy/ip_range.cpp src/policy/ip_range.hpp \
	src/policy/binding.cpp src/policy/binding.hpp \
	src/policy/rights.cpp src/policy/rights.hpp \
	src/policy/accepted_domains.cpp src/policy/accepted_domains.hpp \
	src/policy/address.cpp src/policy/address.hpp \
	src/policy/replies.cpp src/policy/replies.hpp \
	src/policy/connector.cpp src/policy/connector.hpp \
	src/policy/connector_map.cpp src/policy/connector_map.hpp \
	src/policy/client_certificate.cpp src/policy/client_certificate.hpp \
	src/policy/session_rights.cpp src/policy/session_rights.hpp \
	src/policy/sender_login_map.cpp src/policy/sender_login_map.hpp \
	src/policy/checks.cpp src/policy/checks.hpp \
	src/policy/message_checks.cpp src/policy/message_checks.hpp \
	src/policy/limits.cpp src/policy/limits.hpp \
	src/policy/local_submission.cpp src/policy/local_submission.hpp
