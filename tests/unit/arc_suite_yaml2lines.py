#!/usr/bin/env python3
"""Converts the ValiMail ARC validation suite (testdata/arc/
arc-draft-validation-tests.yml) into the tab-separated lines
tests/unit/arc_suite.cpp reads (the C++ build has no YAML library). Needs
python3-yaml.

One record per line, fields separated by TAB; inside a field backslash, TAB,
LF and CR are written as \\\\, \\t, \\n, \\r:
  S  <description>              a new scenario
  Z  <owner name> <TXT value>   one txt-records entry of that scenario
  T  <case> <cv> <message>      one case: expected cv ("" for the empty
                                expectations), the message with LF endings
"""
import sys

import yaml


def esc(text):
    return (str(text).replace("\\", "\\\\").replace("\t", "\\t")
            .replace("\n", "\\n").replace("\r", "\\r"))


def emit(*fields):
    sys.stdout.buffer.write("\t".join(esc(f) for f in fields).encode("utf-8", "surrogateescape") + b"\n")


def main(path):
    with open(path, encoding="utf-8") as f:
        for scenario in yaml.safe_load_all(f):
            if not scenario:
                continue
            emit("S", scenario.get("description", ""))
            records = scenario.get("txt-records") or scenario.get("txt_records") or {}
            for name, value in records.items():
                emit("Z", name, value)
            for case, body in (scenario.get("tests") or {}).items():
                cv = body.get("cv")
                emit("T", case, "" if cv is None else cv, body.get("message") or "")


if __name__ == "__main__":
    main(sys.argv[1])
