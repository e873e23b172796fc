noinst_LIBRARIES += libstate.a
# Records of DMARC evaluations for aggregate reports (RFC 9990): the store
# interface, its SQLite implementation, and the recorder's writer thread.
libstate_a_SOURCES = \
	src/state/dmarc_evaluation.hpp \
	src/state/report_store.hpp src/state/sqlite_report_store.cpp \
	src/state/report_recorder.cpp src/state/report_recorder.hpp
# Counters sessions share: in process (limit_store), or in Redis shared by
# several hosts ([cluster]: redis_limit_store on redis_client).
libstate_a_SOURCES += \
	src/state/limit_store.cpp src/state/limit_store.hpp \
	src/state/redis_client.cpp src/state/redis_client.hpp \
	src/state/redis_limit_store.cpp src/state/redis_limit_store.hpp \
	src/state/redis_report_store.cpp src/state/redis_report_store.hpp
