sbin_PROGRAMS += connector-milter
connector_milter_SOURCES = src/main.cpp
connector_milter_LDADD = $(CORE_LDADD) $(MILTER_LIBS)
