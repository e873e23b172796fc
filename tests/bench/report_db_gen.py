#!/usr/bin/env python3
"""Fills a report database (made by the daemon, so the schema is its own)
with N recorded DMARC evaluations of one UTC day, spread as a receiver sees
them: policy domains by a Zipf law (a few large senders, a long tail), each
domain sending from a pool of addresses that shrinks with its rank, some
spoofed mail from addresses seen once, most mail passing, some forwarded
(SPF fails, DKIM passes) and some failing (rejected).

usage: report_db_gen.py DB N DAY_BEGIN [DOMAINS]
"""
import random
import sqlite3
import sys

db, n, begin = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ndomains = int(sys.argv[4]) if len(sys.argv) > 4 else 5000
rng = random.Random(17)
domains = ["d%d.example" % i for i in range(ndomains)]
weights = [1.0 / (r + 1) ** 1.1 for r in range(ndomains)]
pools = [max(2, 2000 // (r + 1)) for r in range(ndomains)]
local = ["contoso.test", "fabrikam.test", "mx.contoso.test"]
cols = ("time reporter policy_domain organizational_domain rua source_ip header_from envelope_from helo envelope_to "
        "spf_domain spf_scope spf_result dkim p sp np fo testing adkim aspf psd discovery dmarc_result dkim_aligned "
        "spf_aligned disposition reason_type reason_comment").split()
sql = "INSERT INTO dmarc_evaluation (%s) VALUES (%s)" % (",".join(cols), ",".join("?" * len(cols)))


def rows():
    picks = rng.choices(range(ndomains), weights=weights, k=n)
    for i, r in enumerate(picks):
        d = domains[r]
        kind = rng.random()
        if kind < 0.05:  # spoofed, from an address seen once
            ip = "198.%d.%d.%d" % (rng.randrange(18, 20), rng.randrange(256), rng.randrange(256))
            spf, dkim, da, sa, disp = "fail", "", 0, 0, "reject"
        else:
            k = rng.randrange(pools[r])
            ip = "10.%d.%d.%d" % (r % 256, k // 256, k % 256)
            if kind < 0.12:  # forwarded: SPF fails, the signature survives
                spf, dkim, da, sa, disp = "fail", "%s\ts1\tpass" % d, 1, 0, "pass"
            else:
                spf, dkim, da, sa, disp = "pass", "%s\ts1\tpass" % d, 1, 1, "pass"
        yield (begin + (i * 86400) // n, "mx.contoso.test", d, d, "mailto:dmarc@" + d, ip, d, d, "",
               local[i % 3], d, "mfrom", spf, dkim, "reject", "", "", "", "n", "r", "r", "u", "treewalk",
               "pass" if da or sa else "fail", da, sa, disp, "", "")


con = sqlite3.connect(db)
con.execute("PRAGMA synchronous=OFF")
with con:
    con.executemany(sql, rows())
print("generated %d evaluations over %d policy domains" % (
    con.execute("SELECT count(*) FROM dmarc_evaluation").fetchone()[0],
    con.execute("SELECT count(DISTINCT policy_domain) FROM dmarc_evaluation").fetchone()[0]))
