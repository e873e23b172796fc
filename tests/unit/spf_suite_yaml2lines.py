#!/usr/bin/env python3
"""Converts an openspf test-suite YAML file (e.g. rfc7208-tests.yml) into the
tab-separated lines tests/unit/spf_suite.cpp reads (the C++ build has no YAML
library). Needs python3-yaml.

Output, one record per line, fields separated by TAB; inside a field
backslash, TAB, LF and CR are written as \\\\, \\t, \\n, \\r:
  S  <description>                                 a new scenario
  Z  <name> <type> <value>...                      a zonedata entry:
       TXT/SPF: one value per character-string; MX: preference, exchange;
       A/AAAA/PTR/CNAME: one value; TIMEOUT: none; TXT NONE: type TXTNONE
  T  <test> <helo> <host> <mailfrom> <result[,result...]> [<explanation>]
"""
import sys

import yaml


def esc(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    text = str(value)
    return (text.replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def raw(text):
    # YAML "\xNN" escapes stand for bytes in this suite: code points below
    # 256 are written as single bytes, anything else as UTF-8.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def emit(*fields):
    sys.stdout.buffer.write(b"\t".join(raw(esc(f)) for f in fields) + b"\n")


def main(path):
    with open(path, "rb") as f:
        docs = list(yaml.safe_load_all(f))
    for doc in docs:
        if not doc:
            continue
        emit("S", doc.get("description", ""))
        for name, records in (doc.get("zonedata") or {}).items():
            for rr in records or []:
                if isinstance(rr, str):
                    emit("Z", name, rr)  # TIMEOUT
                    continue
                for rtype, value in rr.items():
                    if rtype == "TXT" and value == "NONE":
                        emit("Z", name, "TXTNONE")
                    elif isinstance(value, list):
                        emit("Z", name, rtype, *value)
                    else:
                        emit("Z", name, rtype, value)
        for test, t in (doc.get("tests") or {}).items():
            result = t["result"]
            results = ",".join(result) if isinstance(result, list) else result
            fields = ["T", test, t.get("helo", ""), t.get("host", ""),
                      t.get("mailfrom", ""), results]
            if "explanation" in t:
                fields.append(t["explanation"])
            emit(*fields)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: spf_suite_yaml2lines.py SUITE.yml")
    main(sys.argv[1])
