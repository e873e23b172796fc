dist_noinst_DATA += conf/connector-milter.conf
# MTA snippets and the systemd unit (issue 5); the e2e tests read the snippets.
dist_noinst_DATA += conf/sendmail.mc.snippet conf/postfix-main.cf.snippet \
	conf/connector-milter.service
