#!/usr/bin/env python3
"""Sends test messages through an MTA that allows XCLIENT (Postfix), one
SMTP session per message, all from one process (swaks per message costs a
second on a loaded machine).

usage: xclient_send.py PORT LIST [DKIM_KEY]
LIST: one message a line, "LABEL CLIENT_IP FROM [DKIM_DOMAIN]"; the message
goes to rcpt@e2e.test from client CLIENT_IP (XCLIENT ADDR=), signed with
DKIM_KEY (selector e2e) for DKIM_DOMAIN when one is given.
Prints "LABEL CODE TEXT" per message: the reply to the end of DATA, or the
first refusal.
"""
import smtplib
import sys

port, listing = int(sys.argv[1]), sys.argv[2]
key = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else None
for line in open(listing):
    if not line.strip():
        continue
    label, ip, sender, *sign = line.split()
    msg = ("From: <%s>\r\nTo: <rcpt@e2e.test>\r\nSubject: %s\r\nMessage-ID: <%s@e2e.test>\r\n"
           "Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n\r\nconnector-milter e2e %s\r\n" % (sender, label, label, label)).encode()
    if sign:
        import dkim
        msg = dkim.sign(msg, b"e2e", sign[0].encode(), key,
                        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"]) + msg
    s = smtplib.SMTP("127.0.0.1", port, "client.e2e.test", timeout=60)
    try:
        s.ehlo()
        code, text = s.docmd("XCLIENT", "ADDR=%s NAME=[UNAVAILABLE]" % ip)
        if code != 220:
            raise smtplib.SMTPResponseException(code, text)
        s.ehlo()
        for code, text in (s.mail(sender), s.rcpt("rcpt@e2e.test")):
            if code >= 400:
                raise smtplib.SMTPResponseException(code, text)
        code, text = s.data(msg)  # raises SMTPDataError when DATA itself is refused
        print(label, code, text.decode(), flush=True)
    except smtplib.SMTPResponseException as e:
        print(label, e.smtp_code, e.smtp_error.decode(), flush=True)
    finally:
        s.close()
