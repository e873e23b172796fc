#!/usr/bin/env python3
"""A minimal milter (protocol version 6) that accepts everything, records the
macros the MTA sends at each stage as JSON lines, and inserts one header at
index 0 at end of message.

It exists to check the MTA side of the end-to-end harness on its own: which
macros a Postfix or sendmail configured from conf/*.snippet really sends
(XCLIENT, {daemon_addr}, {auth_authen}, ...), and where a header the milter
inserts at the top lands in the delivered message.  It is not a model of the
product.

usage: milter_probe.py inet:PORT@HOST|unix:PATH LOGFILE
"""
import json
import os
import socket
import struct
import sys
import threading

SMFIF_ADDHDRS = 0x01
PROBE_HEADER = (b"X-Milter-Probe", b"top")


def read_packet(conn):
    head = b""
    while len(head) < 4:
        chunk = conn.recv(4 - len(head))
        if not chunk:
            return None, None
        head += chunk
    (length,) = struct.unpack("!I", head)
    if length == 0 or length > 1 << 20:
        raise ValueError("bad milter packet length %d" % length)
    data = b""
    while len(data) < length:
        chunk = conn.recv(length - len(data))
        if not chunk:
            return None, None
        data += chunk
    return data[:1], data[1:]


def send_packet(conn, cmd, data=b""):
    conn.sendall(struct.pack("!I", len(data) + 1) + cmd + data)


def parse_macros(data):
    stage = data[:1].decode()
    parts = data[1:].split(b"\0")
    names = parts[0::2]
    values = parts[1::2]
    return stage, {n.decode(errors="replace"): v.decode(errors="replace")
                   for n, v in zip(names, values) if n}


def serve(conn, log, lock):
    connection_macros = {}
    with conn:
        while True:
            cmd, data = read_packet(conn)
            if cmd is None or cmd == b"Q":
                return
            if cmd == b"O":
                # Version 6, may add headers, wants every stage with replies.
                send_packet(conn, b"O", struct.pack("!III", 6, SMFIF_ADDHDRS, 0))
            elif cmd == b"D":
                stage, macros = parse_macros(data)
                connection_macros.setdefault(stage, {}).update(macros)
                with lock:
                    log.write(json.dumps({"stage": stage, "macros": macros}) + "\n")
                    log.flush()
            elif cmd == b"C":
                # SMFIC_CONNECT: hostname, family ('4', '6', 'L', 'U'), then
                # for all but 'U' the port (network order) and the address.
                host, _, rest = data.partition(b"\0")
                event = {"stage": "connect", "macros": {}, "hostname": host.decode(errors="replace"),
                         "family": rest[:1].decode(errors="replace")}
                if event["family"] != "U" and len(rest) >= 3:
                    event["port"] = struct.unpack("!H", rest[1:3])[0]
                    event["address"] = rest[3:].rstrip(b"\0").decode(errors="replace")
                with lock:
                    log.write(json.dumps(event) + "\n")
                    log.flush()
                send_packet(conn, b"c")
            elif cmd in (b"A", b"K"):
                continue
            elif cmd == b"E":
                name, value = PROBE_HEADER
                send_packet(conn, b"i", struct.pack("!I", 0) + name + b"\0" + value + b"\0")
                send_packet(conn, b"a")
            else:
                send_packet(conn, b"c")


def listen(spec):
    if spec.startswith("inet:"):
        port, _, host = spec[5:].partition("@")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host or "127.0.0.1", int(port)))
    elif spec.startswith(("unix:", "local:")):
        path = spec.split(":", 1)[1]
        if os.path.exists(path):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        os.chmod(path, 0o666)
    else:
        raise SystemExit("milter_probe: bad socket spec " + spec)
    sock.listen(16)
    return sock


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sock = listen(sys.argv[1])
    lock = threading.Lock()
    with open(sys.argv[2], "a", encoding="utf-8") as log:
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=serve, args=(conn, log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
