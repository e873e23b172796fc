noinst_LIBRARIES += libmetrics.a
# Lock-free counters, gauges and histograms, and the catalogue of every
# metric exported (prometheus-cpp's data types for the exposition).
libmetrics_a_SOURCES = \
	src/metrics/registry.cpp src/metrics/registry.hpp \
	src/metrics/catalogue.cpp src/metrics/catalogue.hpp
# Reading /metrics back (connector-milter status, the tests): an HTTP GET
# through libcurl and a reader of the text format.
noinst_LIBRARIES += libmetricsread.a
libmetricsread_a_SOURCES = src/metrics/scrape.cpp src/metrics/scrape.hpp
