#!/usr/bin/python3
"""A tiny authoritative DNS server for the benchmark: serves the TXT records
of a static zone file (the bench.zone that corpus_gen.py writes, the same file
connector-milter reads with [dns] static_zone) over UDP, so that OpenDMARC
(and libspf2 inside it), which read DNS only through the system resolver,
see exactly the data connector-milter sees.

  zone_dns.py [--delay-ms N] [--ttl N] ZONEFILE ADDRESS PORT COUNTFILE [QUERYLOG]

Answers TXT and A from the zone, NODATA for other types of a held name,
NXDOMAIN for names it does not hold (RFC 1035 section 4.1.1, RFC 8020), with
AA set. Under a name with an SOA line ("zone TTL IN SOA MINIMUM"), NXDOMAIN
and NODATA answers carry that SOA in the authority section, so resolvers
cache them for MINIMUM seconds (RFC 2308 sections 3 and 5); the DNS block
list zones of the benchmark use that, the SPF/DMARC zone has no SOA. A name
with a TIMEOUT line, and every name under it, gets no answer at all.
Answers over 512 octets are truncated (TC) as RFC 1035 section 4.2.1 says;
the benchmark's SPF and DMARC records never come near that. On SIGTERM it
writes the number of queries it answered to COUNTFILE and exits (SIGUSR1:
writes it and goes on); QUERYLOG, when given, gets "name type rcode" for
every query answered.

--delay-ms N holds every answer N milliseconds (a slow or distant name
server, for the benchmark's cold-cache run) without holding up the queries
that arrive meanwhile; --ttl N serves every record with TTL N instead of the
zone's (0: nothing may be cached, so every message asks again).
"""
import heapq
import select
import signal
import socket
import struct
import sys
import time


def parse_zone(path, soas, silent):
    zone = {}
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        name, rest = line.split(None, 1)
        parts = rest.split(None, 3)
        key = name.rstrip(".").lower()
        if len(parts) >= 3 and parts[2].upper() == "TIMEOUT":
            silent.add(key)
            continue
        if len(parts) >= 4 and parts[2].upper() == "SOA":
            soas[key] = int(parts[3])
            continue
        if len(parts) >= 4 and parts[2].upper() == "A":
            zone.setdefault(key, []).append((int(parts[0]), 1, socket.inet_aton(parts[3].strip())))
            continue
        # name TTL IN TXT "..." "..."
        if len(parts) < 4 or parts[2].upper() != "TXT":
            continue
        ttl = int(parts[0])
        strings = []
        data = parts[3]
        i = 0
        while True:
            start = data.find('"', i)
            if start < 0:
                break
            end = data.find('"', start + 1)
            strings.append(data[start + 1:end].encode())
            i = end + 1
        zone.setdefault(key, []).append((ttl, 16, b"".join(bytes([len(x)]) + x for x in strings)))
    return zone


def under(name, names):
    """The closest of `names` that is `name` or an ancestor of it."""
    labels = name.split(".")
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in names:
            return candidate
    return None


def wire_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"


def qname(packet, offset):
    labels = []
    while True:
        n = packet[offset]
        offset += 1
        if n == 0:
            return ".".join(labels).lower(), offset
        if n & 0xC0:
            raise ValueError("compression in a question")
        labels.append(packet[offset:offset + n].decode("ascii", "replace"))
        offset += n


def answer(zone, soas, silent, packet, ttl_override=None):
    ident, flags, qd = struct.unpack("!HHH", packet[:6])
    if flags & 0x8000 or qd != 1:
        return None
    name, off = qname(packet, 12)
    if under(name, silent) is not None:
        return None
    qtype, qclass = struct.unpack("!HH", packet[off:off + 4])
    question = packet[12:off + 4]
    rd = flags & 0x0100
    records = zone.get(name)
    rcode = 0 if records is not None else 3
    answers = b""
    count = 0
    if records is not None:
        for ttl, rtype, rdata in records:
            if ttl_override is not None:
                ttl = ttl_override
            if qtype in (rtype, 255):
                answers += b"\xc0\x0c" + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata
                count += 1
    authority = b""
    nscount = 0
    apex = under(name, soas)
    if count == 0 and apex is not None:
        # RFC 2308 section 3: the SOA, its TTL the negative caching time.
        minimum = soas[apex]
        rdata = wire_name("ns." + apex) + wire_name("hostmaster." + apex) + struct.pack(
            "!IIIII", 1, 3600, 600, 86400, minimum)
        authority = wire_name(apex) + struct.pack("!HHIH", 6, 1, minimum, len(rdata)) + rdata
        nscount = 1
    out_flags = 0x8000 | 0x0400 | rd | rcode
    reply = struct.pack("!HHHHHH", ident, out_flags, 1, count, nscount, 0) + question + answers + authority
    if len(reply) > 512:
        reply = struct.pack("!HHHHHH", ident, out_flags | 0x0200, 1, 0, 0, 0) + question
    return reply


def main():
    args = sys.argv[1:]
    delay = 0.0
    ttl_override = None
    while args and args[0].startswith("--"):
        flag, value = args[0], args[1]
        args = args[2:]
        if flag == "--delay-ms":
            delay = int(value) / 1000.0
        elif flag == "--ttl":
            ttl_override = int(value)
        else:
            sys.exit("zone_dns.py: unknown option " + flag)
    soas, silent = {}, set()
    zone = parse_zone(args[0], soas, silent)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args[1], int(args[2])))
    countfile = args[3]
    log = open(args[4], "a", buffering=1) if len(args) > 4 else None
    served = [0]
    held = []  # (due, sequence, reply, peer): answers waiting out --delay-ms

    def stop(*_):
        with open(countfile, "w") as f:
            f.write("%d\n" % served[0])
        sys.exit(0)

    def dump(*_):
        with open(countfile, "w") as f:
            f.write("%d\n" % served[0])

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, dump)
    sequence = 0
    while True:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, reply, peer = heapq.heappop(held)
            sock.sendto(reply, peer)
        try:
            ready, _, _ = select.select([sock], [], [], max(0.0, held[0][0] - now) if held else None)
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            packet, peer = sock.recvfrom(4096)
        except InterruptedError:
            continue
        try:
            reply = answer(zone, soas, silent, packet, ttl_override)
        except (ValueError, IndexError, struct.error):
            continue
        if reply is not None:
            served[0] += 1
            if log is not None:
                name, off = qname(packet, 12)
                log.write("%s %d %d\n" % (name, struct.unpack("!H", packet[off:off + 2])[0], reply[3] & 0x0F))
            if delay > 0:
                sequence += 1
                heapq.heappush(held, (time.monotonic() + delay, sequence, reply, peer))
            else:
                sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
