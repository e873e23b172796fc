#!/usr/bin/python3
"""An ARC sealer for tests (RFC 8617), independent of connector-milter's code.

Neither dkimpy 1.1.4 nor Mail::DKIM (Debian 12) seals ARC with ed25519, so
tests/unit/arc_ed25519_test.cpp gets its ed25519 chains from here: each
ARC Set's ARC-Message-Signature (AMS) and ARC-Seal (AS) signed with
rsa-sha256 (RFC 8017 PKCS#1 v1.5) or ed25519-sha256 (RFC 8463: PureEdDSA
over the SHA-256 digest of the signed data), relaxed canonicalization
(RFC 6376 section 3.4.2 and 3.4.4) written here, signatures by Debian's
python3-cryptography.

  arc_sealer.py seal OUTDIR
      Fresh keys, then OUTDIR/zone (the key records, zone-file lines),
      OUTDIR/wrong-key.zone (the same but every ed25519 selector publishes
      an unrelated ed25519 key), OUTDIR/keys.tsv (the records of zone as
      "name<TAB>record" lines, for arc_oracle.pl) and one OUTDIR/<chain>.eml per chain of
      CHAINS below (CRLF). Prints the chain names, one a line.
  arc_sealer.py dkimpy-verify ZONE MESSAGE...
      The sealer's check, by another implementation: dkimpy's arc_verify
      on each message with its keys answered from ZONE; prints its verdict
      per message (pass, fail, None, or error for an exception). dkimpy
      verifies ed25519 key records and signatures, but its ARC code admits
      only a=rsa-sha256 (dkim.crypto.ARC_HASH_ALGORITHMS); for this check
      ed25519-sha256 is added to that table, so dkimpy's own ARC chain
      rules, header selection and ed25519 verification judge our
      ed25519 seals.
"""
import base64
import hashlib
import os
import re
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

# The original message: what the first forwarder received, already
# authenticated by it.
ORIGINAL = (
    b"From: Jane Roe <jane@origin.example>\r\n"
    b"To: list@lists.example\r\n"
    b"Subject: ed25519 seals\r\n"
    b"Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n"
    b"Message-ID: <arc-ed25519@origin.example>\r\n"
    b"\r\n"
    b"A body with  two spaces, a trailing space \r\n"
    b"and trailing empty lines.\r\n"
    b"\r\n"
    b"\r\n"
)

# The sealers: (domain, selector, key type).
SEALERS = {
    "ed1": ("ed.example", "ed1", "ed25519"),
    "ed2": ("fwd.example", "ed2", "ed25519"),
    "ed3": ("relay.example", "ed3", "ed25519"),
    "rsa": ("rsa.example", "rsa", "rsa"),
}

# Chains: the sealers of instances 1..N, oldest first.
CHAINS = {
    "ed25519-one": ["ed1"],
    "ed25519-three": ["ed1", "ed2", "ed3"],
    "mixed-rsa-ed25519-rsa": ["rsa", "ed2", "rsa"],
    "mixed-ed25519-rsa": ["ed1", "rsa"],
    "rsa-two": ["rsa", "rsa"],
}

SIGNED_FIELDS = ["from", "to", "subject", "date", "message-id"]
TIMESTAMP = 1796000000


# ---------------------------------------------------------------- message
def split(message):
    """(header fields as (name, raw value after the colon, folds kept), body)."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields, body


def join(fields, body):
    return b"".join(n + b":" + v + b"\r\n" for n, v in fields) + b"\r\n" + body


# ---------------------------------------------------------------- RFC 6376 relaxed
def relaxed_header(name, value):
    """RFC 6376 section 3.4.2, with the CRLF."""
    value = re.sub(rb"\r\n(?=[ \t])", b"", value)
    value = re.sub(rb"[ \t]+", b" ", value).strip(b" ")
    return name.strip().lower() + b":" + value + b"\r\n"


def relaxed_body(body):
    """RFC 6376 section 3.4.4."""
    lines = body.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [re.sub(rb"[ \t]+", b" ", line).rstrip(b" ") for line in lines]
    while lines and lines[-1] == b"":
        lines.pop()
    return b"".join(line + b"\r\n" for line in lines)


def select(fields, names):
    """RFC 6376 section 5.4.2: each name takes the lowest unused instance."""
    used = set()
    out = []
    for want in names:
        for index in range(len(fields) - 1, -1, -1):
            if index not in used and fields[index][0].strip().lower() == want:
                used.add(index)
                out.append(fields[index])
                break
    return out


# ---------------------------------------------------------------- signing
def new_key(kind):
    return ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else rsa.generate_private_key(65537, 2048)


def key_record(key):
    public = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def algorithm(key):
    return b"ed25519-sha256" if isinstance(key, ed25519.Ed25519PrivateKey) else b"rsa-sha256"


def sign(key, data):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        # RFC 8463 section 3: the Ed25519 input is the SHA-256 hash.
        return key.sign(hashlib.sha256(data).digest())
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def with_signature(unsigned_value, signature):
    """The field value with b= filled in, folded every 64 characters."""
    b64 = base64.b64encode(signature).decode()
    folded = "\r\n ".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    return unsigned_value + b"\r\n " + folded.encode()


def seal(message, key, domain, selector, authserv_id):
    """Adds one ARC Set (RFC 8617 section 5.1) on top of `message`."""
    fields, body = split(message)
    arc = [(n, v) for n, v in fields if n.strip().lower() in
           (b"arc-seal", b"arc-message-signature", b"arc-authentication-results")]
    instance = 1 + max([int(re.search(rb"i=(\d+)", v).group(1)) for _, v in arc] or [0])
    cv = b"none" if instance == 1 else b"pass"
    a = algorithm(key)

    aar = (b"ARC-Authentication-Results",
           b" i=%d; %s; arc=%s;\r\n  dkim=pass header.d=origin.example;\r\n  dmarc=pass header.from=origin.example"
           % (instance, authserv_id.encode(), cv))
    fields = [aar] + fields

    # RFC 8617 section 4.1.2: the AMS is a DKIM signature without v=.
    bh = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest())
    ams_unsigned = (b" i=%d; a=%s; c=relaxed/relaxed; d=%s;\r\n\ts=%s; t=%d;\r\n h=%s;\r\n bh=%s;\r\n b="
                    % (instance, a, domain.encode(), selector.encode(), TIMESTAMP,
                       b" : ".join(n.encode() for n in SIGNED_FIELDS), bh))
    signed = b"".join(relaxed_header(n, v) for n, v in select(fields, [f.encode() for f in SIGNED_FIELDS]))
    signed += relaxed_header(b"ARC-Message-Signature", ams_unsigned)[:-2]  # RFC 6376 3.7: no CRLF
    ams = (b"ARC-Message-Signature", with_signature(ams_unsigned, sign(key, signed)))
    fields = [ams] + fields

    # RFC 8617 section 5.1.1: the AS signs every ARC Set 1..i, each in the
    # order AAR, AMS, AS, and then itself with b= empty.
    as_unsigned = (b" i=%d; cv=%s; a=%s; d=%s; s=%s;\r\n t=%d; b="
                   % (instance, cv, a, domain.encode(), selector.encode(), TIMESTAMP))
    by_instance = {}
    for n, v in fields:
        lname = n.strip().lower()
        if lname in (b"arc-seal", b"arc-message-signature", b"arc-authentication-results"):
            by_instance.setdefault(int(re.search(rb"i=(\d+)", v).group(1)), {})[lname] = (n, v)
    signed = b""
    for i in range(1, instance + 1):
        for lname in (b"arc-authentication-results", b"arc-message-signature", b"arc-seal"):
            if i == instance and lname == b"arc-seal":
                continue
            signed += relaxed_header(*by_instance[i][lname])
    signed += relaxed_header(b"ARC-Seal", as_unsigned)[:-2]
    as_field = (b"ARC-Seal", with_signature(as_unsigned, sign(key, signed)))
    return join([as_field] + fields, body)


# ---------------------------------------------------------------- zone
def zone_line(name, txt):
    quoted = " ".join('"%s"' % txt[i:i + 255] for i in range(0, len(txt), 255))
    return "%s. 3600 IN TXT %s\n" % (name, quoted)


def read_zone(path):
    records = {}
    for line in open(path):
        m = re.match(r"(\S+)\s+\d+\s+IN\s+TXT\s+(.*)$", line)
        if m:
            records[m.group(1).lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return records


def main_seal(out):
    os.makedirs(out, exist_ok=True)
    keys = {name: new_key(kind) for name, (_, _, kind) in SEALERS.items()}
    with open(os.path.join(out, "zone"), "w") as zone, open(os.path.join(out, "wrong-key.zone"), "w") as wrong, \
            open(os.path.join(out, "keys.tsv"), "w") as tsv:
        for name, (domain, selector, kind) in SEALERS.items():
            owner = "%s._domainkey.%s" % (selector, domain)
            zone.write(zone_line(owner, key_record(keys[name])))
            tsv.write("%s\t%s\n" % (owner, key_record(keys[name])))
            wrong.write(zone_line(owner, key_record(new_key(kind) if kind == "ed25519" else keys[name])))
    for chain, sealers in CHAINS.items():
        message = ORIGINAL
        for n, sealer in enumerate(sealers, start=1):
            domain, selector, _ = SEALERS[sealer]
            message = seal(message, keys[sealer], domain, selector, "mx%d.%s" % (n, domain))
        with open(os.path.join(out, chain + ".eml"), "wb") as f:
            f.write(message)
        print(chain)


def main_dkimpy_verify(zone, messages):
    import dkim
    import dkim.crypto
    # See the module comment: admit ed25519-sha256 in dkimpy's ARC check.
    dkim.crypto.ARC_HASH_ALGORITHMS[b"ed25519-sha256"] = hashlib.sha256
    records = read_zone(zone)

    def dns(name, timeout=5):
        return records.get(name.decode().lower())

    for path in messages:
        try:
            verdict = dkim.arc_verify(open(path, "rb").read(), dnsfunc=dns)[0]
            print(verdict.decode() if isinstance(verdict, bytes) else verdict)
        except Exception:
            print("error")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "seal":
        main_seal(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "dkimpy-verify":
        main_dkimpy_verify(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__)
