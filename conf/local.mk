# The example configuration and the MTA snippets go to the examples folder
# connector-milter.conf(5) names ($(docdir)/examples); the tests read them in
# the source tree.
examplesdir = $(docdir)/examples
dist_examples_DATA = conf/connector-milter.conf conf/sendmail.mc.snippet conf/postfix-main.cf.snippet \
	conf/grafana-dashboard.json

# The systemd unit, with the sbindir "make install" uses (issue 11: the unit
# hard-coded /usr/sbin while the binary went to /usr/local/sbin).
EXTRA_DIST += conf/connector-milter.service.in
CLEANFILES += conf/connector-milter.service
if INSTALL_SYSTEMD_UNIT
systemdsystemunit_DATA = conf/connector-milter.service
else
noinst_DATA = conf/connector-milter.service
endif
conf/connector-milter.service: $(srcdir)/conf/connector-milter.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/conf/connector-milter.service.in >$@.tmp && mv $@.tmp $@

# DMARC aggregate reports (issue 17): the daily timer and service, and a cron
# example for hosts without systemd.
dist_examples_DATA += conf/connector-milter-report.cron conf/connector-milter-report.timer
EXTRA_DIST += conf/connector-milter-report.service.in
CLEANFILES += conf/connector-milter-report.service
if INSTALL_SYSTEMD_UNIT
systemdsystemunit_DATA += conf/connector-milter-report.service conf/connector-milter-report.timer
else
noinst_DATA += conf/connector-milter-report.service
endif
conf/connector-milter-report.service: $(srcdir)/conf/connector-milter-report.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) conf && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/conf/connector-milter-report.service.in >$@.tmp && mv $@.tmp $@
