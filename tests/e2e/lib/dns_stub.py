#!/usr/bin/env python3
"""A tiny authoritative DNS server over UDP for scripts/demo: it answers from
a zone file in the static-zone format of connector-milter
(`name [ttl] [IN] TYPE data`, TYPE A or TXT) and says NXDOMAIN for every other
name, so that the demo's milter, with its embedded default policy and the
system resolver, gets deterministic SPF and DMARC answers inside a network
namespace that has no DNS.  Not a general DNS server: one question per
message, no EDNS, no TCP.

usage: dns_stub.py ZONEFILE ADDRESS PORT
"""
import shlex
import socket
import struct
import sys

TYPE_A, TYPE_TXT = 1, 16
TYPES = {"A": TYPE_A, "TXT": TYPE_TXT}


def load_zone(path):
    zone = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            lexer = shlex.shlex(raw, posix=True)
            lexer.whitespace_split = True
            lexer.commenters = ";"   # comments outside quoted strings
            words = list(lexer)
            if not words:
                continue
            name = words.pop(0).rstrip(".").lower()
            if words and words[0].isdigit():
                words.pop(0)
            if words and words[0].upper() == "IN":
                words.pop(0)
            rtype = TYPES.get(words.pop(0).upper())
            if rtype is None:
                continue
            if rtype == TYPE_A:
                rdata = socket.inet_aton(words[0])
            else:
                rdata = b"".join(bytes([len(s.encode())]) + s.encode() for s in words)
            zone.setdefault(name, []).append((rtype, rdata))
    return zone


def parse_question(msg):
    labels, pos = [], 12
    while msg[pos] != 0:
        length = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + length].decode("ascii", "replace"))
        pos += 1 + length
    qtype, _qclass = struct.unpack("!HH", msg[pos + 1:pos + 5])
    return ".".join(labels).lower(), qtype, msg[12:pos + 5]


def answer(zone, msg):
    (qid, flags, qdcount) = struct.unpack("!HHH", msg[:6])
    if qdcount != 1:
        return struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | 1, 0, 0, 0, 0)  # FORMERR
    name, qtype, question = parse_question(msg)
    records = [r for r in zone.get(name, []) if r[0] == qtype]
    # Ancestors of held names exist (empty non-terminals, RFC 8020): NODATA.
    exists = name in zone or any(n.endswith("." + name) for n in zone)
    rcode = 0 if exists else 3
    rd = flags & 0x0100
    header = struct.pack("!HHHHHH", qid, 0x8000 | 0x0400 | rd | rcode, 1, len(records), 0, 0)
    body = question
    for rtype, rdata in records:
        body += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata
    return header + body


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    zone = load_zone(sys.argv[1])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((sys.argv[2], int(sys.argv[3])))
    while True:
        msg, peer = sock.recvfrom(4096)
        try:
            sock.sendto(answer(zone, msg), peer)
        except (IndexError, struct.error, UnicodeError):
            continue


if __name__ == "__main__":
    main()
