noinst_LIBRARIES += libstate.a
# Records of DMARC evaluations for aggregate reports (RFC 9990): the store
# interface, its SQLite implementation, and the recorder's writer thread.
libstate_a_SOURCES = \
	src/state/dmarc_evaluation.hpp \
	src/state/report_store.hpp src/state/sqlite_report_store.cpp \
	src/state/report_recorder.cpp src/state/report_recorder.hpp
