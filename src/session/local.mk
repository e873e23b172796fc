noinst_LIBRARIES += libsession.a
libsession_a_SOURCES = \
	src/session/session.cpp src/session/session.hpp src/session/session_message.hpp \
	src/session/message_auth.cpp src/session/message_sign.cpp \
	src/session/connection_filtering.cpp \
	src/session/auth_decisions.cpp src/session/auth_decisions.hpp \
	src/session/dmarc_report_record.cpp src/session/dmarc_report_record.hpp \
	src/session/runtime.cpp src/session/runtime.hpp \
	src/session/counters.cpp src/session/counters.hpp \
	src/log/record.cpp src/log/record.hpp
