noinst_LIBRARIES += libreport.a
# DMARC aggregate reports (RFC 9990): grouping, XML, destinations, mail.
# The command itself (command.cpp) is part of the daemon's program.
libreport_a_SOURCES = \
	src/report/period.cpp src/report/period.hpp \
	src/report/aggregate.cpp src/report/aggregate.hpp \
	src/report/feedback_xml.cpp src/report/feedback_xml.hpp \
	src/report/destinations.cpp src/report/destinations.hpp \
	src/report/report_mail.cpp src/report/report_mail.hpp \
	src/report/split.hpp
