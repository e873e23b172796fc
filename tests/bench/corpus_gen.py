#!/usr/bin/python3
"""Benchmark corpus: real-looking messages DKIM-signed with rsa-sha256
(2048-bit) and ed25519-sha256 (RFC 8463) keys, and the DNS data that makes
their SPF, DKIM and DMARC checks pass, in the forms each filter reads.

Run at bench time; the private keys are generated with openssl into the
output folder and never committed.

  corpus_gen.py --out DIR [--messages N] [--domains D] [--seed S] [--arc-every K]

Every K-th message (default 5: a fifth of the corpus, issue 19) is also
forwarded: after its DKIM signatures, a mailing list (lists.forward.test,
2048-bit RSA) adds one ARC set (RFC 8617, dkimpy's arc_sign) whose
ARC-Authentication-Results say SPF, DKIM and DMARC passed. OpenDKIM
ignores ARC fields; connector-milter verifies the chain.

Writes into DIR:
  keys/                    private keys (PEM) and raw ed25519 seeds
  corpus/NNNNN.eml         messages, CRLF line endings
  corpus/manifest.tsv      file, client IP, HELO, MAIL FROM, RCPT TO
  bench.zone               connector-milter's static zone (src/dns/static_zone.hpp)
  opendkim-testkeys        OpenDKIM TestPublicKeys: "name<TAB>TXT data" per key
All three hold the same records: one source (the `records` list below).

Needs Debian's python3-dkim and python3-nacl (ed25519 signing in dkimpy), so
it runs with /usr/bin/python3 explicitly.
"""
import argparse
import base64
import os
import random
import subprocess
import sys

import dkim

# Every client of the corpus sits in 198.51.100.0/24 (RFC 5737 TEST-NET-2),
# which the SPF records authorise; the recipients are in the accepted domain
# of the benchmark configuration.
CLIENT_NET = "198.51.100"
RECIPIENT_DOMAIN = "contoso.test"

WORDS = ("the quarterly report attached shows revenue growth across all "
         "regions while operating costs remained stable please review the "
         "figures before thursday meeting we will discuss hiring plans "
         "budget allocation and the product roadmap for next year thanks "
         "regards invoice shipment order tracking customer account update "
         "schedule confirm availability conference room agenda minutes").split()

FORWARDER = "lists.forward.test"

SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id",
                  b"mime-version", b"content-type", b"reply-to", b"cc"]


def run(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def der_of(args):
    return subprocess.run(["openssl"] + args, check=True, capture_output=True).stdout


def make_keys(keydir, domain):
    """One RSA 2048 and one Ed25519 key for `domain`: returns
    (rsa_pem, rsa_txt, ed_seed_b64, ed_txt)."""
    rsa = os.path.join(keydir, domain + ".rsa.pem")
    ed = os.path.join(keydir, domain + ".ed25519.pem")
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", rsa])
    run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", ed])
    os.chmod(rsa, 0o600)
    os.chmod(ed, 0o600)
    with open(rsa, "rb") as f:
        rsa_pem = f.read()
    # RFC 6376 section 3.6.1: p= is the base64 SubjectPublicKeyInfo.
    rsa_spki = der_of(["pkey", "-in", rsa, "-pubout", "-outform", "DER"])
    rsa_txt = "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_spki).decode()
    # RFC 8463 section 4: p= is the raw 32-octet public key; dkimpy wants
    # the raw 32-octet private seed. Both are the DER encodings' tails.
    ed_priv = der_of(["pkey", "-in", ed, "-outform", "DER"])[-32:]
    ed_pub = der_of(["pkey", "-in", ed, "-pubout", "-outform", "DER"])[-32:]
    ed_txt = "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode()
    return rsa_pem, rsa_txt, base64.b64encode(ed_priv), ed_txt


def zone_strings(text):
    """A TXT value as quoted <character-string>s of at most 255 octets
    (RFC 1035 section 3.3.14)."""
    return " ".join('"%s"' % text[i:i + 255] for i in range(0, len(text), 255))


def body_text(rng, size):
    lines = []
    total = 0
    while total < size:
        n = rng.randint(6, 12)
        line = " ".join(rng.choice(WORDS) for _ in range(n))
        line = line[0].upper() + line[1:] + "."
        lines.append(line)
        total += len(line) + 2
        if rng.random() < 0.15:
            lines.append("")
            total += 2
    return ("\r\n".join(lines) + "\r\n").encode()


def message(rng, number, domain, header_count, body_size):
    local = rng.choice(["alice", "bob", "carol", "dave", "erin", "frank", "news", "billing"])
    sender = "%s@%s" % (local, domain)
    rcpt = "user%d@%s" % (rng.randint(1, 500), RECIPIENT_DOMAIN)
    ip = "%s.%d" % (CLIENT_NET, rng.randint(1, 254))
    helo = "mail.%s" % domain
    day = 1 + number % 28
    headers = [
        ("Received", "from %s (%s [%s])\r\n\tby mx.%s (Postfix) with ESMTPS id %05dA\r\n"
         "\tfor <%s>; Sun, %d Nov 2026 12:%02d:%02d +0000"
         % (helo, helo, ip, RECIPIENT_DOMAIN, number, rcpt, day, number % 60, (number * 7) % 60)),
        ("From", "%s <%s>" % (local.capitalize(), sender)),
        ("To", "<%s>" % rcpt),
        ("Subject", "Re: %s" % " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))),
        ("Date", "Sun, %d Nov 2026 12:%02d:%02d +0000" % (day, number % 60, (number * 7) % 60)),
        ("Message-ID", "<%d.%08x@%s>" % (number, rng.getrandbits(32), domain)),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
    ]
    extra = [
        lambda i: ("Received", "from internal%d.%s ([10.%d.0.%d])\r\n\tby %s with SMTP; "
                   "Sun, %d Nov 2026 11:59:%02d +0000" % (i, domain, i, i + 1, helo, day, i)),
        lambda i: ("X-Mailer", "Benchmark Mailer %d.%d" % (i, rng.randint(0, 9))),
        lambda i: ("X-Spam-Score", "%d.%d" % (rng.randint(-3, 4), rng.randint(0, 9))),
        lambda i: ("X-Campaign-Id", "%016x" % rng.getrandbits(64)),
        lambda i: ("List-Unsubscribe", "<mailto:unsub-%d@%s>" % (i, domain)),
        lambda i: ("Reply-To", "<%s>" % sender),
        lambda i: ("Thread-Topic", " ".join(rng.choice(WORDS) for _ in range(5))),
        lambda i: ("X-Originating-IP", "[%s]" % ip),
    ]
    # 5-30 headers in all, the DKIM-Signature counting as one.
    while len(headers) < header_count - 1:
        headers.insert(1 if rng.random() < 0.3 else len(headers),
                       rng.choice(extra)(len(headers)))
    headers = headers[:max(4, header_count - 1)]
    raw = b"".join(("%s: %s\r\n" % (n, v)).encode() for n, v in headers)
    return sender, rcpt, ip, helo, raw + b"\r\n" + body_text(rng, body_size)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--messages", type=int, default=400)
    ap.add_argument("--domains", type=int, default=8)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--arc-every", type=int, default=5)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    keydir = os.path.join(args.out, "keys")
    corpus = os.path.join(args.out, "corpus")
    os.makedirs(keydir, mode=0o700, exist_ok=True)
    os.makedirs(corpus, exist_ok=True)

    domains = ["sender%d.example" % i for i in range(args.domains)]
    keys = {}
    records = []  # (name, TXT value): the one source of every DNS form
    for d in domains:
        keys[d] = make_keys(keydir, d)
        rsa_pem, rsa_txt, ed_seed, ed_txt = keys[d]
        # RFC 7208: the MAIL FROM domain and the HELO name both authorise
        # the corpus network; RFC 7489: DMARC p=reject with aligned SPF and DKIM.
        # 127.0.0.0/8 as well: the end-to-end figure's smtp-source connects
        # to Postfix from loopback.
        records.append((d, "v=spf1 ip4:%s.0/24 ip4:127.0.0.0/8 -all" % CLIENT_NET))
        records.append(("mail." + d, "v=spf1 ip4:%s.0/24 ip4:127.0.0.0/8 -all" % CLIENT_NET))
        records.append(("_dmarc." + d, "v=DMARC1; p=reject; adkim=r; aspf=r"))
        records.append(("r2048._domainkey." + d, rsa_txt))
        records.append(("ed._domainkey." + d, ed_txt))

    forwarder_pem, forwarder_txt, _, _ = make_keys(keydir, FORWARDER)
    records.append(("arc._domainkey." + FORWARDER, forwarder_txt))

    manifest = []
    stats = {"rsa": 0, "ed25519": 0, "both": 0, "arc": 0}
    for n in range(args.messages):
        d = domains[n % len(domains)]
        sender, rcpt, ip, helo, msg = message(rng, n, d, rng.randint(5, 30),
                                              rng.randint(2 * 1024, 50 * 1024 - 1024))
        rsa_pem, _, ed_seed, _ = keys[d]
        kind = ("rsa", "ed25519", "both")[n % 3] if n % 10 else "both"
        sigs = b""
        if kind in ("rsa", "both"):
            sigs += dkim.sign(msg, b"r2048", d.encode(), rsa_pem,
                              canonicalize=(b"relaxed", b"relaxed"), include_headers=SIGNED_HEADERS,
                              linesep=b"\r\n")
        if kind in ("ed25519", "both"):
            sigs = dkim.sign(msg, b"ed", d.encode(), ed_seed, signature_algorithm=b"ed25519-sha256",
                             canonicalize=(b"relaxed", b"relaxed"), include_headers=SIGNED_HEADERS,
                             linesep=b"\r\n") + sigs
        stats[kind] += 1
        signed = sigs + msg
        if args.arc_every > 0 and n % args.arc_every == args.arc_every - 1:
            # The list's own verdicts, which its AAR carries (RFC 8617
            # section 4.1.1); the Authentication-Results itself is not kept.
            ar = ("Authentication-Results: %s; arc=none; spf=pass smtp.mailfrom=%s;\r\n"
                  " dkim=pass header.d=%s; dmarc=pass header.from=%s\r\n" % (FORWARDER, d, d, d)).encode()
            arc_set = dkim.arc_sign(ar + signed, b"arc", FORWARDER.encode(), forwarder_pem, FORWARDER.encode(),
                                    include_headers=SIGNED_HEADERS, timestamp=1796000000)
            if len(arc_set) != 3:
                sys.exit("arc_sign made no ARC set for message %d" % n)
            signed = b"".join(arc_set) + signed
            stats["arc"] += 1
        name = "%05d.eml" % n
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(signed)
        manifest.append("\t".join([name, ip, helo, "<%s>" % sender, "<%s>" % rcpt]))
    with open(os.path.join(corpus, "manifest.tsv"), "w") as f:
        f.write("\n".join(manifest) + "\n")

    with open(os.path.join(args.out, "bench.zone"), "w") as f:
        f.write("; benchmark DNS data, generated by tests/bench/corpus_gen.py\n")
        for name, value in records:
            f.write("%s. 3600 IN TXT %s\n" % (name, zone_strings(value)))
    with open(os.path.join(args.out, "opendkim-testkeys"), "w") as f:
        for name, value in records:
            if "._domainkey." in name:
                f.write("%s %s\n" % (name, value))
    sizes = [os.path.getsize(os.path.join(corpus, m.split("\t")[0])) for m in manifest]
    print("corpus: %d messages (%d rsa-sha256, %d ed25519-sha256, %d both; %d ARC-sealed), %d domains, "
          "%d-%d bytes, mean %d" % (len(manifest), stats["rsa"], stats["ed25519"], stats["both"], stats["arc"],
                                    len(domains), min(sizes), max(sizes), sum(sizes) // len(sizes)))


if __name__ == "__main__":
    sys.exit(main())
