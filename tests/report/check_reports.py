#!/usr/bin/env python3
"""Independent reader of connector-milter's DMARC aggregate reports.

Reads the evaluations recorded in the SQLite database with Python's sqlite3,
groups them itself (RFC 9990: one report per policy domain, one <record> per
source IP and identical results), reads each report with xml.etree, and
checks every field against what was recorded. Shares no code with the
C++ report builder.

usage: check_reports.py DB BEGIN UNTIL SUBMITTER ORG EMAIL FILE.xml.gz|MAIL.eml...
Exit status 0 when every report matches; prints one line per problem.
"""
import collections
import email
import email.policy
import gzip
import re
import sqlite3
import sys
import xml.etree.ElementTree as ET

NS = "urn:ietf:params:xml:ns:dmarc-2.0"
EXT = "urn:connector-milter:dmarc-report:1"
problems = []


def q(name):
    return "{%s}%s" % (NS, name)


def text(el, name):
    child = el.find(q(name))
    return None if child is None else (child.text or "")


def recorded(db, begin, until):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = con.execute("SELECT * FROM dmarc_evaluation WHERE time >= ? AND time < ?", (begin, until)).fetchall()
    by_domain = collections.defaultdict(list)
    for r in rows:
        by_domain[r["policy_domain"]].append(r)
    return by_domain


def row_key(r):
    dkim = []
    for line in r["dkim"].split("\n") if r["dkim"] else []:
        d, s, res = line.split("\t")
        dkim.append((d, s, res))
    spf = None
    if r["spf_domain"]:
        spf = (r["spf_domain"], "mfrom" if r["spf_scope"] == "mfrom" else None, r["spf_result"],
               ("HELO identity checked (null reverse-path): " + r["helo"]) if r["spf_scope"] == "helo" else None)
    reason = (r["reason_type"], r["reason_comment"] or None) if r["reason_type"] else None
    return (r["source_ip"], r["disposition"], "pass" if r["dkim_aligned"] else "fail",
            "pass" if r["spf_aligned"] else "fail", reason, r["header_from"], r["envelope_from"],
            r["envelope_to"] or None, tuple(dkim), spf)


def xml_key(rec):
    row = rec.find(q("row"))
    pe = row.find(q("policy_evaluated"))
    reasons = pe.findall(q("reason"))
    if len(reasons) > 1:
        problems.append("more than one reason in a record")
    reason = (text(reasons[0], "type"), text(reasons[0], "comment")) if reasons else None
    ids = rec.find(q("identifiers"))
    auth = rec.find(q("auth_results"))
    dkim = tuple((text(d, "domain"), text(d, "selector"), text(d, "result")) for d in auth.findall(q("dkim")))
    spfs = auth.findall(q("spf"))
    spf = None
    if spfs:
        s = spfs[0]
        spf = (text(s, "domain"), text(s, "scope"), text(s, "result"), text(s, "human_result"))
    key = (text(row, "source_ip"), text(pe, "disposition"), text(pe, "dkim"), text(pe, "spf"), reason,
           text(ids, "header_from"), text(ids, "envelope_from"), text(ids, "envelope_to"), dkim, spf)
    return key, int(text(row, "count"))


def attachments(path):
    if path.endswith(".gz"):
        with open(path, "rb") as f:
            yield path.rsplit("/", 1)[-1], f.read(), None
        return
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    found = 0
    for part in msg.walk():
        if part.get_content_type() == "application/gzip":
            found += 1
            yield part.get_filename(), part.get_payload(decode=True), msg
    if found != 1:
        problems.append("%s: %d application/gzip parts, expected 1" % (path, found))


def check(db, begin, until, submitter, org, email_addr, paths):
    by_domain = recorded(db, begin, until)
    seen = collections.defaultdict(collections.Counter)  # domain -> key -> count over all parts
    counted = set()
    for path in paths:
        for filename, data, msg in attachments(path):
            # The same report mailed to two destinations is counted once.
            if filename in counted:
                continue
            counted.add(filename)
            m = re.fullmatch(r"([^!]+)!([^!]+)!(\d+)!(\d+)(?:!([A-Za-z0-9]+))?\.xml\.gz", filename or "")
            if not m:
                problems.append("%s: filename %r does not follow RFC 9990" % (path, filename))
                continue
            receiver, domain, fb, fe, _unique = m.groups()
            if receiver != submitter or int(fb) != begin or int(fe) != until - 1:
                problems.append("%s: filename fields %s" % (path, filename))
            root = ET.fromstring(gzip.decompress(data))
            if root.tag != q("feedback"):
                problems.append("%s: root element %s" % (path, root.tag))
                continue
            meta = root.find(q("report_metadata"))
            rid = text(meta, "report_id")
            checks = {"org_name": org, "email": email_addr}
            for k, v in checks.items():
                if text(meta, k) != v:
                    problems.append("%s: report_metadata/%s = %r, expected %r" % (path, k, text(meta, k), v))
            dr = meta.find(q("date_range"))
            if int(text(dr, "begin")) != begin or int(text(dr, "end")) != until - 1:
                problems.append("%s: date_range %s..%s" % (path, text(dr, "begin"), text(dr, "end")))
            if msg is not None:
                subject = " ".join(str(msg["Subject"]).split())
                want = "Report Domain: %s Submitter: %s Report-ID: <%s>" % (domain, submitter, rid)
                if subject != want:
                    problems.append("%s: Subject %r, expected %r" % (path, subject, want))
                if msg["From"] is None or email_addr is None:
                    problems.append("%s: no From" % path)
            pp = root.find(q("policy_published"))
            if text(pp, "domain") != domain:
                problems.append("%s: policy_published/domain %r vs filename %r" % (path, text(pp, "domain"), domain))
            recs = by_domain.get(domain, [])
            if not recs:
                problems.append("%s: a report for %s, which has no recorded evaluation" % (path, domain))
                continue
            latest = max(recs, key=lambda r: r["time"])
            want_pp = {"p": latest["p"] or "none", "sp": latest["sp"] or None, "np": latest["np"] or None,
                       "adkim": latest["adkim"], "aspf": latest["aspf"], "testing": latest["testing"],
                       "discovery_method": latest["discovery"], "fo": latest["fo"] or None}
            for k, v in want_pp.items():
                if text(pp, k) != v:
                    problems.append("%s: policy_published/%s = %r, expected %r" % (path, k, text(pp, k), v))
            psd = root.find("{%s}extension/{%s}psd" % (NS, EXT))
            if psd is None or psd.text != latest["psd"]:
                problems.append("%s: extension psd %r, expected %r" % (path, None if psd is None else psd.text,
                                                                      latest["psd"]))
            for rec in root.findall(q("record")):
                k, n = xml_key(rec)
                seen[(domain, _unique is not None)][k] += n
    # Every reported domain: the records of all its parts (of one split
    # series, or the whole report) add up exactly to what was recorded.
    for (domain, _split), counter in seen.items():
        want = collections.Counter(row_key(r) for r in by_domain[domain])
        if counter != want:
            missing = want - counter
            extra = counter - want
            problems.append("%s: records differ from the database; missing %s; unexpected %s"
                            % (domain, dict(missing), dict(extra)))
    return sorted({d for d, _ in seen})


def main():
    db, begin, until, submitter, org, email_addr = sys.argv[1:7]
    reported = check(db, int(begin), int(until), submitter, org, email_addr, sys.argv[7:])
    for p in problems:
        print("PROBLEM:", p)
    print("checked domains:", " ".join(reported))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
