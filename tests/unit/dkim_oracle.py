#!/usr/bin/python3
# Independent DKIM verifier (Debian's python3-dkim) for dkim_sign_test:
# verifies every DKIM-Signature of every *.eml in DIR with keys from
# DIR/zone.txt ("name<TAB>TXT record" lines), no network.
# Prints "<file> pass" when all signatures verify, else "<file> fail".
import os
import sys

import dkim

directory = sys.argv[1]
zone = {}
with open(os.path.join(directory, "zone.txt"), encoding="ascii") as f:
    for line in f:
        name, record = line.rstrip("\n").split("\t", 1)
        zone[name.lower().rstrip(".")] = record.encode()


def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode()
    return zone.get(name.lower().rstrip("."))


for entry in sorted(os.listdir(directory)):
    if not entry.endswith(".eml"):
        continue
    with open(os.path.join(directory, entry), "rb") as f:
        message = f.read()
    d = dkim.DKIM(message)
    count = message.count(b"\nDKIM-Signature:") + (1 if message.startswith(b"DKIM-Signature:") else 0)
    ok = count > 0
    for i in range(count):
        try:
            if not d.verify(idx=i, dnsfunc=dnsfunc):
                ok = False
        except Exception:  # a verifier error is a failure to verify
            ok = False
    print(entry, "pass" if ok else "fail")
