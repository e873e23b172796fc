#!/usr/bin/env python3
"""Checks a Grafana dashboard against a real /metrics scrape (issue 18).

usage: dashboard_metrics.py DASHBOARD.json SCRAPE.txt

The dashboard must be valid JSON, hold at least one query per panel, and
every connector_milter_* name its queries use must be a sample name of the
scrape (a daemon that processed mail), so that no panel stays empty because
of a misspelt or missing metric. Exit status 0 when all holds; otherwise
each problem on stderr and status 1.
"""
import json
import re
import sys

NAME = re.compile(r"\b(connector_milter_[a-zA-Z0-9_]+)")


def exprs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from exprs(item)


def main():
    dashboard_path, scrape_path = sys.argv[1], sys.argv[2]
    problems = []
    try:
        with open(dashboard_path, encoding="utf-8") as f:
            dashboard = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{dashboard_path}: not valid JSON: {e}", file=sys.stderr)
        return 1
    names = set()
    with open(scrape_path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    panels = dashboard.get("panels", [])
    if not panels:
        problems.append("no panels")
    for panel in panels:
        if not list(exprs(panel.get("targets", []))):
            problems.append(f"panel {panel.get('title')!r} has no query")
    used = set()
    for expr in exprs(dashboard):
        used.update(NAME.findall(expr))
    if not used:
        problems.append("no query names a connector_milter_ metric")
    for name in sorted(used - names):
        problems.append(f"{name} is queried but not in the scrape")
    for p in problems:
        print(f"{dashboard_path}: {p}", file=sys.stderr)
    print(f"{len(used)} metrics queried, {len(panels)} panels")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
