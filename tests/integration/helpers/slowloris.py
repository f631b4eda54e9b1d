"""Slow-loris at a TLS server: many connections dribbling a ClientHello.

usage: slowloris.py HOST PORT [--conns N] [--interval SECS] [--duration SECS]

Builds a real TLS ClientHello (Python's ssl, in memory) and opens N
connections to HOST:PORT; every INTERVAL seconds each connection still
open sends the next single byte of that hello, for DURATION seconds in
all, or until the server has closed every connection (nothing is left to
watch then). Notes when the server closes (or resets) each connection.
Prints:

  conns=N connected=C
  closed=K          connections the server closed before DURATION ended
  open=M            connections still open at the end
  first_close=S.S   seconds after the start of the first and last close
  last_close=S.S    (-1 when none closed)
  sent_max=B        most bytes any connection got to send

Exit 0 when it ran; the test decides.
"""
import argparse
import selectors
import socket
import ssl
import time


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--conns", type=int, default=200)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--duration", type=float, default=5.0)
    a = ap.parse_args()
    hello = client_hello()
    sel = selectors.DefaultSelector()
    conns = {}   # socket -> [bytes sent, close time or None]
    t0 = time.monotonic()
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET)
        s.settimeout(5)
        try:
            s.connect((a.host, a.port))
        except OSError:
            s.close()
            continue
        s.setblocking(False)
        conns[s] = [0, None]
        sel.register(s, selectors.EVENT_READ)
    connected = len(conns)
    next_send = time.monotonic()
    end = t0 + a.duration
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if connected and all(st[1] is not None for st in conns.values()):
            break
        if now >= next_send:
            next_send += a.interval
            for s, st in conns.items():
                if st[1] is None and st[0] < len(hello):
                    try:
                        s.send(hello[st[0]:st[0] + 1])
                        st[0] += 1
                    except OSError:
                        st[1] = now - t0
        for key, _ in sel.select(timeout=max(0.0, min(next_send, end) - now)):
            s = key.fileobj
            st = conns[s]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                st[1] = time.monotonic() - t0
                sel.unregister(s)
    closes = sorted(st[1] for st in conns.values() if st[1] is not None)
    print("conns=%d connected=%d" % (a.conns, connected))
    print("closed=%d" % len(closes))
    print("open=%d" % (connected - len(closes)))
    print("first_close=%.1f" % (closes[0] if closes else -1))
    print("last_close=%.1f" % (closes[-1] if closes else -1))
    print("sent_max=%d" % max((st[0] for st in conns.values()), default=0))
    for s in conns:
        s.close()
    return 0


if __name__ == "__main__":
    main()
