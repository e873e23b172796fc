# End-to-end tests with real Postfix and sendmail on loopback (issue 5).
# They need root; they skip (77) only where namespaces cannot be created.
# AM_TESTS_ENVIRONMENT (top Makefile.am) gives them DAEMON and TOP_SRCDIR.
TESTS += tests/e2e/postfix.test tests/e2e/sendmail.test
EXTRA_DIST += \
	tests/e2e/postfix.test \
	tests/e2e/sendmail.test \
	tests/e2e/fetch-sendmail \
	tests/e2e/e2e.conf.in \
	tests/e2e/e2e.zone \
	tests/e2e/arc-sealer.pem \
	tests/e2e/sendmail.mc.in \
	tests/e2e/lib/common.sh \
	tests/e2e/lib/postfix.sh \
	tests/e2e/lib/sendmail.sh \
	tests/e2e/lib/scenarios.sh \
	tests/e2e/lib/milter_probe.py \
	tests/e2e/lib/dns_stub.py \
	tests/e2e/README.md
# Nothing lost end to end (issue 7): Postfix, milter_default_action = tempfail,
# the milter killed and restarted while a client sends and retries.
TESTS += tests/e2e/no_loss.test
EXTRA_DIST += tests/e2e/no_loss.test
# Nothing at LOG_ERR in syslog while Postfix sends mail (issue 11, item 2):
# the daemon in syslog mode with a private /dev/log.
TESTS += tests/e2e/syslog.test
EXTRA_DIST += tests/e2e/syslog.test
# TLS client certificates mapped by [[certificate_map]] (issue 11 item 5),
# through Postfix and sendmail.
TESTS += tests/e2e/certificates.test
EXTRA_DIST += tests/e2e/certificates.test
# Local submissions (issue 11 item 7): Postfix's sendmail command through
# pickup and non_smtpd_milters, Postfix's and sendmail's sendmail -bs.
TESTS += tests/e2e/local_submission.test
EXTRA_DIST += tests/e2e/local_submission.test
# Every reply of the reply table through real Postfix, milter_default_action =
# accept (issue 11, items 1 and 12).
TESTS += tests/e2e/replies.test
EXTRA_DIST += tests/e2e/replies.test tests/e2e/lib/replies.sh
# DKIM signing decided by the connector (issue 15): a signing and a verifying
# Postfix + connector-milter pair; submission, anonymous inbound, sendmail command.
TESTS += tests/e2e/dkim_signing.test
EXTRA_DIST += tests/e2e/dkim_signing.test
# DMARC aggregate reports end to end (issue 17): mail through Postfix from
# several client addresses, `connector-milter report` through Postfix's own
# sendmail, the delivered report read back record by record.
TESTS += tests/e2e/dmarc_reports.test
EXTRA_DIST += tests/e2e/dmarc_reports.test tests/e2e/lib/xclient.sh tests/e2e/lib/xclient_send.py
# DMARC report recording on a full tmpfs and behind a lock held by another
# process, while Postfix sends mail: verdicts unchanged, losses counted in
# /metrics and logged once, recording resumes.
TESTS += tests/e2e/dmarc_recording_faults.test
EXTRA_DIST += tests/e2e/dmarc_recording_faults.test
# A DNS block list provider that fails with dns_failure = "tempfail"
# (issue 19): Postfix passes 451 4.4.3 to the client as a deferral.
TESTS += tests/e2e/dnsbl_tempfail.test
EXTRA_DIST += tests/e2e/dnsbl_tempfail.test
# An SPF verdict left for later ([spf] mail_wait, issue 14): a slow name
# server (tests/bench/zone_dns.py), the refusal at end of DATA through Postfix.
TESTS += tests/e2e/spf_later.test
EXTRA_DIST += tests/e2e/spf_later.test
# [cluster] (issue 16): a Redis outage through real Postfix (local fallback,
# tempfail deferring at a sending Postfix, recovery), and a connection limit
# shared by two daemons.
TESTS += tests/e2e/cluster_outage.test
EXTRA_DIST += tests/e2e/cluster_outage.test
# The temporary failures above (DNSBL 451 4.4.3, signing 451 4.3.0, Redis
# 451 4.3.0 and a shared 421 4.3.2) through real sendmail 8.17: what the
# client sees, what sendmail logs, nothing queued.
TESTS += tests/e2e/sendmail_tempfail.test
EXTRA_DIST += tests/e2e/sendmail_tempfail.test tests/e2e/lib/redis.sh
