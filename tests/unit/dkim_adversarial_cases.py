#!/usr/bin/python3
# Adversarial DKIM cases for tests/unit/dkim_adversarial_test.cpp: messages
# whose signatures are made here, tag by tag (dkimpy's canonicalization and
# crypto, so that any tag list can be signed, including ones no signer would
# write), each with the verdict RFC 6376 / RFC 8301 / RFC 8463 demand and
# python3-dkim's own verdict as an oracle.
#
# Usage: dkim_adversarial_cases.py TESTDATA_DIR OUT_DIR
# Writes OUT_DIR/<case>.eml, OUT_DIR/zone.txt ("name<TAB>string<TAB>string..."
# one TXT record a line; a name on several lines has several records) and
# OUT_DIR/cases.tsv ("case<TAB>rfc verdict<TAB>dkimpy verdict<TAB>why").
# A verdict is "pass" or "nopass".
import base64
import hashlib
import os
import re
import sys
import time

import dkim
import dkim.crypto
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim.canonicalization import CanonicalizationPolicy

testdata, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def read(path):
    with open(os.path.join(testdata, path), "rb") as f:
        return f.read()


RSA_PEM = read("dkimpy/test.private")  # 1024 bits
RSA_P = read("dkimpy/test.txt").decode().split("p=")[1].strip()
RSA_KEY = dkim.crypto.parse_pem_private_key(RSA_PEM)
ED_SEED = base64.b64decode(read("dkimpy/ed25519test.key").strip())
ED_KEY = nacl.signing.SigningKey(ED_SEED)
ED_P = base64.b64encode(bytes(ED_KEY.verify_key)).decode()
small = rsa.generate_private_key(public_exponent=65537, key_size=512)
SMALL_PEM = small.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
SMALL_KEY = dkim.crypto.parse_pem_private_key(SMALL_PEM)
SMALL_P = base64.b64encode(small.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()

HEADERS = (b"From: Alice <alice@example.com>\r\n"
           b"To: bob@example.net\r\n"
           b"Subject: adversarial\r\n"
           b"Date: Fri, 04 Dec 2026 12:00:00 +0000\r\n"
           b"Message-ID: <adv@example.com>\r\n")
BODY = b"Hello,\r\n\r\n  some  body text \t\r\nbye\r\n"

zone = {}
cases = []


def publish(name, *records):
    """records: each a list of strings (one TXT record)."""
    zone[name] = [list(r) for r in records]


def sign(message, tags, key=RSA_KEY, alg="rsa-sha256", canon="relaxed/relaxed", h="from:to:subject",
         length=None, body_transform=None):
    """A DKIM-Signature field for `message`: `tags` is the tag list with
    {h}, {bh}, {l} and {b} placeholders (b= is emptied for the hash,
    RFC 6376 section 3.7). Returns the whole field, "DKIM-Signature:" to CRLF."""
    headers, body = dkim.rfc822_parse(message)
    policy = CanonicalizationPolicy.from_c_value(canon.encode())
    cbody = policy.canonicalize_body(body)
    if length is not None:
        cbody = cbody[:length]
    bh = base64.b64encode(hashlib.sha256(cbody).digest()).decode()
    fmt = dict(h=h, bh=bh, l=length if length is not None else len(cbody))
    value = " " + tags.format(b="", **fmt)
    include = [x.strip().lower().encode() for x in h.split(":")]
    signed = dkim.select_headers(policy.canonicalize_headers(headers), include)
    sig_canon = policy.canonicalize_headers([(b"DKIM-Signature", value.encode())])
    data = b"".join(n + b":" + v for n, v in signed) + b"".join(n + b":" + v.rstrip(b"\r\n")
                                                               for n, v in sig_canon)
    if alg == "ed25519-sha256":
        sig = key.sign(hashlib.sha256(data).digest()).signature
    elif alg == "rsa-sha1":
        sig = dkim.crypto.RSASSA_PKCS1_v1_5_sign(hashlib.sha1(data), key)
    else:
        sig = dkim.crypto.RSASSA_PKCS1_v1_5_sign(hashlib.sha256(data), key)
    return b"DKIM-Signature: " + tags.format(b=base64.b64encode(sig).decode(), **fmt).encode() + b"\r\n"


def std_tags(sel, alg="rsa-sha256", extra="", d="example.com", canon="relaxed/relaxed"):
    return "v=1; a=" + alg + "; c=" + canon + "; d=" + d + "; s=" + sel + ";" + extra + " h={h}; bh={bh}; b={b}"


def dkimpy_verdict(message):
    def dnsfunc(name, timeout=5):
        records = zone.get(name.decode().rstrip(".").lower() if isinstance(name, bytes) else name)
        if not records:
            return None
        return "".join(records[0]).encode()
    try:
        return "pass" if dkim.verify(message, dnsfunc=dnsfunc) else "nopass"
    except Exception:
        return "nopass"


def case(name, message, rfc, why):
    with open(os.path.join(out, name + ".eml"), "wb") as f:
        f.write(message)
    cases.append((name, rfc, dkimpy_verdict(message), why))


def simple_case(name, sel, rfc, why, alg="rsa-sha256", key=RSA_KEY, extra="", h="from:to:subject",
                canon="relaxed/relaxed", headers=HEADERS, body=BODY, after=None, length=None):
    msg = headers + b"\r\n" + body
    field = sign(msg, std_tags(sel, alg, extra, canon=canon), key=key, alg=alg, h=h, canon=canon, length=length)
    full = field + msg
    if after:
        full = after(full)
    case(name, full, rfc, why)


publish("rsa._domainkey.example.com", ["v=DKIM1; k=rsa; p=" + RSA_P])
publish("ed._domainkey.example.com", ["v=DKIM1; k=ed25519; p=" + ED_P])

# Baselines: each oracle and the verifier must pass these.
simple_case("baseline-rsa-relaxed", "rsa", "pass", "RFC 6376 section 6.1")
simple_case("baseline-rsa-simple", "rsa", "pass", "RFC 6376 section 6.1", canon="simple/simple")
simple_case("baseline-ed25519", "ed", "pass", "RFC 8463 section 3", alg="ed25519-sha256", key=ED_KEY)

# k= against a=.
publish("ednok._domainkey.example.com", ["v=DKIM1; p=" + ED_P])
simple_case("ed25519-sig-key-without-k", "ednok", "nopass",
            "RFC 6376 section 3.6.1: k= defaults to rsa; section 6.1.2 step 6: a key unsuitable for a= and k= "
            "is PERMFAIL (inappropriate key algorithm); RFC 8463 section 4.2 publishes k=ed25519",
            alg="ed25519-sha256", key=ED_KEY)
publish("edkrsa._domainkey.example.com", ["v=DKIM1; k=rsa; p=" + ED_P])
simple_case("ed25519-sig-key-k-rsa", "edkrsa", "nopass", "RFC 6376 section 6.1.2 step 6 (k=rsa, a=ed25519-sha256)",
            alg="ed25519-sha256", key=ED_KEY)
publish("rsaked._domainkey.example.com", ["v=DKIM1; k=ed25519; p=" + RSA_P])
simple_case("rsa-sig-key-k-ed25519", "rsaked", "nopass", "RFC 6376 section 6.1.2 step 6 (k=ed25519, a=rsa-sha256)")

# h= and From (RFC 6376 section 5.4: From MUST be signed).
simple_case("h-without-from", "rsa", "nopass", "RFC 6376 section 5.4 / 6.1.1: h= must include From", h="to:subject")
simple_case("h-from-upper-case", "rsa", "pass", "RFC 6376 section 3.5 h=: names compared case-insensitively",
            h="FROM:To:SUBJECT")
simple_case("header-name-case-changed-relaxed", "rsa", "pass",
            "RFC 6376 section 3.4.2: relaxed lower-cases field names",
            after=lambda m: m.replace(b"\r\nSubject:", b"\r\nSUBJECT:"))
simple_case("header-name-case-changed-simple", "rsa", "nopass", "RFC 6376 section 3.4.1: simple keeps names as sent",
            canon="simple/simple", after=lambda m: m.replace(b"\r\nSubject:", b"\r\nSUBJECT:"))
simple_case("second-from-on-top", "rsa", "pass",
            "RFC 6376 section 5.4.2: the bottom-most From is the one signed, so DKIM passes; the duplicate From is "
            "refused by the DMARC check (src/session/message_auth.cpp, RFC 7489 section 6.6.1)",
            after=lambda m: m.replace(b"\r\nFrom:", b"\r\nFrom: evil@attacker.example\r\nFrom:", 1))
simple_case("second-from-below", "rsa", "nopass", "RFC 6376 section 5.4.2: the bottom-most From is the one hashed",
            after=lambda m: m.replace(b"\r\nTo:", b"\r\nFrom: evil@attacker.example\r\nTo:", 1))
simple_case("from-oversigned", "rsa", "pass", "RFC 6376 section 5.4: a name listed more times than present",
            h="from:from:to:subject")
simple_case("from-oversigned-second-from-added", "rsa", "nopass",
            "RFC 6376 section 5.4.2: an oversigned (nonexistent) From hashed as null; adding one breaks it",
            h="from:from:to:subject",
            after=lambda m: m.replace(b"\r\nFrom:", b"\r\nFrom: evil@attacker.example\r\nFrom:", 1))
simple_case("nonexistent-header-signed", "rsa", "pass", "RFC 6376 section 5.4: absent fields hash as nothing",
            h="from:to:subject:reply-to")
simple_case("nonexistent-header-signed-then-added", "rsa", "nopass", "RFC 6376 section 5.4",
            h="from:to:subject:reply-to",
            after=lambda m: m.replace(b"\r\nTo:", b"\r\nReply-To: evil@attacker.example\r\nTo:", 1))

# l= (RFC 6376 section 3.5).
simple_case("l-body-appended", "rsa", "pass", "RFC 6376 section 3.5 l=: content after l= is not covered",
            extra=" l={l};", length=10, after=lambda m: m + b"appended by an attacker\r\n")
simple_case("l-larger-than-body", "rsa", "nopass",
            "RFC 6376 section 3.5 l=: a body shorter than l= was not the signed one (dkimpy hashes what there is)",
            extra=" l={l};", after=lambda m: m[:-5] + b"\r\n")
simple_case("l-claims-more-than-signed", "rsa", "nopass",
            "RFC 6376 section 3.5 l= beyond the body (libopendkim: length tag value exceeds body size)",
            extra=" l=100000;")
simple_case("l-relaxed-white-space-changed", "rsa", "pass",
            "RFC 6376 section 3.5 l= counts the relaxed-canonical body (section 3.4.4)", extra=" l={l};",
            length=20, after=lambda m: m.replace(b"  some  body", b" some\t\tbody "))
simple_case("l-relaxed-text-changed", "rsa", "nopass", "RFC 6376 section 3.5 l=: the counted part is signed",
            extra=" l={l};", length=20, after=lambda m: m.replace(b"some  body", b"evil  body"))

# Empty bodies and final line ends (sections 3.4.3, 3.4.4).
simple_case("empty-body-simple", "rsa", "pass", "RFC 6376 section 3.4.3: an empty body is one CRLF",
            canon="simple/simple", body=b"")
simple_case("empty-body-relaxed", "rsa", "pass", "RFC 6376 section 3.4.4 (erratum 1384): empty",
            body=b"")
simple_case("empty-body-simple-blank-lines-added", "rsa", "pass",
            "RFC 6376 section 3.4.3: trailing empty lines are ignored", canon="simple/simple", body=b"",
            after=lambda m: m + b"\r\n\r\n")
simple_case("empty-body-simple-text-added", "rsa", "nopass", "RFC 6376 section 3.4.3", canon="simple/simple",
            body=b"", after=lambda m: m + b"x\r\n")
simple_case("body-without-final-crlf-simple", "rsa", "pass",
            "RFC 6376 section 3.4.3: a body not ending in CRLF gets one", canon="simple/simple",
            body=b"no line end")

# More signatures than [dkim] max_signatures (5): the valid one is never
# looked at, so nothing passes (fails closed).
simple_case("valid-signature-beyond-the-cap", "rsa", "nopass",
            "RFC 6376 section 6.1: a verifier may limit the signatures it checks (max_signatures = 5)",
            after=lambda m: b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA\r\n" * 5 + m)

# The signature field itself (section 3.7), simple against relaxed.
simple_case("signature-field-respaced-simple", "rsa", "nopass",
            "RFC 6376 sections 3.4.1 and 3.7: simple hashes the field as sent", canon="simple/simple",
            after=lambda m: m.replace(b"; a=rsa-sha256;", b";  a=rsa-sha256;", 1))
simple_case("signature-field-respaced-relaxed", "rsa", "pass",
            "RFC 6376 sections 3.4.2 and 3.7: relaxed reduces WSP runs",
            after=lambda m: m.replace(b"; a=rsa-sha256;", b";  a=rsa-sha256;", 1))

# b= and bh= syntax.
def fold_b(m):
    v = re.search(rb"; b=([A-Za-z0-9+/=]+)", m)
    sig = v.group(1)
    return m[:v.start(1)] + sig[:20] + b"\r\n\t" + sig[20:40] + b" " + sig[40:] + m[v.end(1):]


def stray_in_b(m):
    v = re.search(rb"; b=([A-Za-z0-9+/=]+)", m)
    return m[:v.start(1) + 8] + b"!" + m[v.start(1) + 8:]


simple_case("b-with-folding-white-space", "rsa", "pass", "RFC 6376 section 3.5 b=: FWS allowed, ignored",
            after=fold_b)
simple_case("b-with-stray-character", "rsa", "nopass",
            "RFC 6376 section 3.5 b= is base64string (section 2.4): another character is a syntax error",
            after=stray_in_b)
simple_case("other-tag-with-b-equals", "rsa", "pass",
            "RFC 6376 section 3.7: only the b= tag's value is emptied (dkimpy's regular expression also empties "
            "\" b=...\" inside another tag's value)",
            extra=" xx=foo b=bar;")

# i= (section 3.5) and key t=s (section 3.6.1).
simple_case("i-outside-d", "rsa", "nopass", "RFC 6376 section 3.5 i=: must be d= or a subdomain",
            extra=" i=@attacker.example;")
simple_case("i-suffix-not-subdomain", "rsa", "nopass", "RFC 6376 section 3.5 i=", extra=" i=@badexample.com;")
simple_case("i-subdomain", "rsa", "pass", "RFC 6376 section 3.5 i=", extra=" i=user@sub.example.com;")
publish("strict._domainkey.example.com", ["v=DKIM1; k=rsa; t=s; p=" + RSA_P])
simple_case("key-t-s-i-subdomain", "strict", "nopass", "RFC 6376 section 3.6.1 t=s", extra=" i=@sub.example.com;")
simple_case("key-t-s-i-same-domain", "strict", "pass", "RFC 6376 section 3.6.1 t=s", extra=" i=u@example.com;")

# Key records (section 3.6.1).
publish("hsha1._domainkey.example.com", ["v=DKIM1; h=sha1; p=" + RSA_P])
simple_case("key-h-sha1-only", "hsha1", "nopass", "RFC 6376 section 3.6.1 h=")
publish("hboth._domainkey.example.com", ["v=DKIM1; h=sha1:sha256; p=" + RSA_P])
simple_case("key-h-sha1-sha256", "hboth", "pass", "RFC 6376 section 3.6.1 h=")
publish("revoked._domainkey.example.com", ["v=DKIM1; k=rsa; p="])
simple_case("key-revoked", "revoked", "nopass", "RFC 6376 section 3.6.1 p= empty")
publish("small._domainkey.example.com", ["v=DKIM1; k=rsa; p=" + SMALL_P])
simple_case("rsa-512-bits", "small", "nopass", "RFC 8301 section 3.2: RSA under 1024 bits", key=SMALL_KEY)
simple_case("rsa-sha1", "rsa", "nopass", "RFC 8301 section 3.1 (dkimpy still accepts rsa-sha1)", alg="rsa-sha1")
publish("edshort._domainkey.example.com", ["v=DKIM1; k=ed25519; p=" + base64.b64encode(bytes(ED_KEY.verify_key)[:31]).decode()])
simple_case("ed25519-key-31-bytes", "edshort", "nopass", "RFC 8463 section 4.2: a 32-byte key",
            alg="ed25519-sha256", key=ED_KEY)
publish("split._domainkey.example.com", ["v=DKIM1; k=rsa; ", "p=" + RSA_P[:100], RSA_P[100:]])
simple_case("key-in-three-strings", "split", "pass", "RFC 6376 section 3.6.2.2: strings are concatenated")
publish("two._domainkey.example.com", ["v=DKIM1; k=rsa; p=" + RSA_P], ["v=DKIM1; k=rsa; p=" + SMALL_P])
simple_case("two-key-records", "two", "nopass",
            "RFC 6376 section 3.6.2.2: several TXT records at a selector give undefined results; we refuse "
            "(permerror) rather than pick one (dkimpy's lookup here returns the first)")
publish("notfirst._domainkey.example.com", ["k=rsa; v=DKIM1; p=" + RSA_P])
simple_case("key-v-not-first", "notfirst", "pass",
            "RFC 6376 section 3.6.1 v=: only a record beginning with another v= MUST be discarded")
publish("v2._domainkey.example.com", ["v=DKIM2; k=rsa; p=" + RSA_P])
simple_case("key-v-dkim2", "v2", "nopass", "RFC 6376 section 3.6.1 v=")

# Signature tags (section 3.5).
now = int(time.time())
simple_case("x-in-the-past", "rsa", "nopass", "RFC 6376 section 3.5 x=",
            extra=" t=%d; x=%d;" % (now - 7200, now - 3600))
simple_case("t-in-the-future", "rsa", "nopass", "RFC 6376 section 3.5 t= (a verifier may refuse)",
            extra=" t=%d;" % (now + 7200))
simple_case("x-in-the-future", "rsa", "pass", "RFC 6376 section 3.5 x=", extra=" t=%d; x=%d;" % (now, now + 3600))


def sig_with(name, tags, rfc, why, alg="rsa-sha256", key=RSA_KEY):
    msg = HEADERS + b"\r\n" + BODY
    case(name, sign(msg, tags, key=key, alg=alg) + msg, rfc, why)


sig_with("v-missing", "a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; h={h}; bh={bh}; b={b}", "nopass",
         "RFC 6376 section 3.5 v= is REQUIRED")
sig_with("v-2", "v=2; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; h={h}; bh={bh}; b={b}", "nopass",
         "RFC 6376 section 3.5 v=1")
sig_with("duplicate-tag", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; s=rsa; h={h}; bh={bh}; b={b}",
         "nopass", "RFC 6376 section 3.2: a repeated tag makes the tag-list invalid")
sig_with("b-in-the-middle", "v=1; a=rsa-sha256; b={b}; c=relaxed/relaxed; d=example.com; s=rsa; h={h}; bh={bh}",
         "pass", "RFC 6376 section 3.2: tag order is free")
sig_with("bh-folded", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa; h={h};\r\n\tbh={bh}; b={b}",
         "pass", "RFC 6376 section 3.5 bh=, section 3.2 FWS")

# 8-bit header bytes and very long headers.
simple_case("eight-bit-subject", "rsa", "pass", "RFC 6532 / RFC 6376 section 3.4: octets hashed as they are",
            headers=HEADERS.replace(b"adversarial", "caf\u00e9 \u00fcber".encode()))
simple_case("long-folded-subject", "rsa", "pass", "RFC 6376 section 3.4.2 unfolding",
            headers=HEADERS.replace(b"adversarial", b"\r\n ".join([b"word%d" % i for i in range(3000)])))
simple_case("eight-bit-subject-changed", "rsa", "nopass", "RFC 6376 section 3.4",
            headers=HEADERS.replace(b"adversarial", "caf\u00e9".encode()),
            after=lambda m: m.replace("caf\u00e9".encode(), "caf\u00e8".encode()))

with open(os.path.join(out, "zone.txt"), "w", encoding="ascii") as f:
    for name, records in zone.items():
        for r in records:
            f.write(name + "\t" + "\t".join(r) + "\n")
with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8") as f:
    for c in cases:
        f.write("\t".join(c) + "\n")
