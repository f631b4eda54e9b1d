"""One timed request during or after an outage: how long until it got
its answer, and which answer.

usage: outage_probe.py connect SOCKS_PORT DST_HOST DST_PORT [--http PATH]
       outage_probe.py type SOCKS_PORT DST_HOST DST_PORT SECS
       outage_probe.py udp SOCKS_PORT
       outage_probe.py plain DST_HOST DST_PORT
       outage_probe.py dns PORT NAME
       (all: [--host 127.0.0.1] [--timeout SECS])

connect: a SOCKS5 CONNECT; prints "rep=XX" (hex; "rep=none" when the
connection closed or the time ran out first) and "secs=S.SSS" from the
request to the reply; with --http it then GETs PATH and prints
"http=ok" when a 200 came, and "total=S.SSS" for the whole exchange.
type: a CONNECT to an echo server, then one byte every 0.2 s for SECS
(a user typing), errors ignored; prints "ready" once the first echo
came and "typed=N echoed=M" at the end.
udp: a SOCKS5 UDP ASSOCIATE; prints rep and secs the same way.
plain: a plain TCP connect (to be redirected by the firewall), then it
waits for the end: prints "end=reset|eof|none" and secs from the connect.
dns: an A query for NAME over UDP; prints "rcode=N" ("rcode=none" when
nothing came), "match=yes" when the answer carries the query's id and
question, and secs.
Exit 0 when the exchange ran (whatever the answer), 1 on a local error.
"""
import argparse
import os
import socket
import struct
import sys
import time

import s5


def socks_request(a, cmd, host, port):
    s = s5.open_conn(a.host, a.socks_port, a.timeout)
    s5.greet(s)
    t0 = time.monotonic()
    s.sendall(b"\x05" + bytes([cmd, 0]) + s5.encode_addr(host, port))
    try:
        hdr = s5.recv_exact(s, 3)
        rep = "%02x" % hdr[1]
        s5.read_addr(s)
    except (s5.Closed, socket.timeout):
        rep = "none"
    print("rep=%s" % rep)
    print("secs=%.3f" % (time.monotonic() - t0))
    return s, rep, t0


def do_connect(a):
    s, rep, t0 = socks_request(a, 1, a.dst_host, a.dst_port)
    if rep == "00" and a.http:
        s.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % a.http).encode())
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        if data.startswith(b"HTTP/1.0 200") or data.startswith(b"HTTP/1.1 200"):
            print("http=ok")
        else:
            print("http=bad %r" % data[:60])
        print("total=%.3f" % (time.monotonic() - t0))
    s.close()


def do_type(a):
    s, rep, _ = socks_request(a, 1, a.dst_host, a.dst_port)
    if rep != "00":
        return
    s.sendall(b"x")
    s5.recv_exact(s, 1)
    print("ready")
    sys.stdout.flush()
    s.setblocking(False)
    typed = echoed = 0
    end = time.monotonic() + a.secs
    while time.monotonic() < end:
        try:
            s.send(b"x")
            typed += 1
        except OSError:
            pass
        try:
            echoed += len(s.recv(4096))
        except OSError:
            pass
        time.sleep(0.2)
    print("typed=%d echoed=%d" % (typed, echoed))


def do_plain(a):
    s = socket.create_connection((a.dst_host, a.dst_port), timeout=a.timeout)
    t0 = time.monotonic()
    try:
        while s.recv(4096):
            pass
        end = "eof"
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        end = "none"
    print("end=%s" % end)
    print("secs=%.3f" % (time.monotonic() - t0))


def do_udp(a):
    s, _, _ = socks_request(a, 3, "0.0.0.0", 0)
    s.close()


def do_dns(a):
    qid = struct.unpack("!H", os.urandom(2))[0]
    question = b"".join(bytes([len(p)]) + p.encode()
                        for p in a.name.split(".")) + b"\x00" + struct.pack("!HH", 1, 1)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + question
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(a.timeout)
    t0 = time.monotonic()
    u.sendto(q, (a.host, a.port))
    try:
        r = u.recv(65535)
        print("rcode=%d" % (r[3] & 0x0f))
        ok = (len(r) >= 12 + len(question) and r[:2] == q[:2] and
              r[2] & 0x80 and r[12:12 + len(question)] == question)
        print("match=%s" % ("yes" if ok else "no"))
    except socket.timeout:
        print("rcode=none")
    print("secs=%.3f" % (time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("connect")
    c.add_argument("socks_port", type=int)
    c.add_argument("dst_host")
    c.add_argument("dst_port", type=int)
    c.add_argument("--http")
    t = sub.add_parser("type")
    t.add_argument("socks_port", type=int)
    t.add_argument("dst_host")
    t.add_argument("dst_port", type=int)
    t.add_argument("secs", type=float)
    u = sub.add_parser("udp")
    u.add_argument("socks_port", type=int)
    pl = sub.add_parser("plain")
    pl.add_argument("dst_host")
    pl.add_argument("dst_port", type=int)
    d = sub.add_parser("dns")
    d.add_argument("port", type=int)
    d.add_argument("name")
    for p in (c, t, u, pl, d):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--timeout", type=float, default=15)
    a = ap.parse_args()
    try:
        {"connect": do_connect, "type": do_type, "udp": do_udp, "plain": do_plain,
         "dns": do_dns}[a.mode](a)
    except Exception as e:  # noqa: BLE001 - report anything as an observation
        print("error=%s: %s" % (type(e).__name__, e))
        return 1
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
