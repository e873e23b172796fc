sbin_PROGRAMS += connector-milter
connector_milter_SOURCES = src/main.cpp \
	src/metrics/endpoint.cpp src/metrics/endpoint.hpp \
	src/daemon/daemon.cpp src/daemon/daemon.hpp \
	src/daemon/allocator.cpp src/daemon/allocator.hpp \
	src/daemon/explain.cpp \
	src/daemon/status.cpp \
	src/daemon/dkim_keys.cpp \
	src/daemon/dmarc_recording.cpp src/daemon/dmarc_recording.hpp \
	src/report/command.cpp src/report/command.hpp \
	src/daemon/cluster.cpp src/daemon/cluster.hpp \
	src/daemon/config_loader.cpp src/daemon/config_loader.hpp \
	src/log/log.cpp src/log/log.hpp \
	src/daemon/descriptors.cpp src/daemon/descriptors.hpp \
	src/daemon/service_manager.cpp src/daemon/service_manager.hpp \
	src/daemon/spf_log.cpp src/daemon/spf_log.hpp \
	src/milter/adapter.cpp src/milter/adapter.hpp \
	src/milter/reply_gate.cpp src/milter/reply_gate.hpp \
	src/milter/connection_table.cpp src/milter/connection_table.hpp \
	src/milter/libmilter_socket.cpp src/milter/libmilter_socket.hpp \
	src/milter/session_facts.cpp src/milter/session_facts.hpp \
	src/milter/fault_injection.hpp \
	src/milter/packet.cpp src/milter/packet.hpp \
	src/milter/command.cpp src/milter/command.hpp \
	src/milter/macro_store.cpp src/milter/macro_store.hpp \
	src/milter/connection.cpp src/milter/connection.hpp \
	src/milter/worker_pool.cpp src/milter/worker_pool.hpp \
	src/milter/counters.cpp src/milter/counters.hpp \
	src/milter/listener.cpp src/milter/listener.hpp \
	src/milter/engine.cpp src/milter/engine.hpp
connector_milter_LDADD = libreport.a libmetricsread.a $(CORE_LDADD) $(MILTER_LIBS) $(MHD_LIBS) $(CURL_LIBS) $(SYSTEMD_LIBS) \
	$(ZLIB_LIBS)
