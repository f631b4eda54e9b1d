"""Hold many unauthenticated connections open against a TLS port.

usage: handshake_flood.py HOST PORT --sources A,B,... [--idle N]
                          [--hello N] [--slow N] [--secs S] [--ramp R]

Keeps, for as long as it runs (at most S seconds, default 60), N
connections of each kind open to HOST:PORT, spread over the source
addresses given (bound before connecting):
  idle   connects and sends nothing;
  hello  sends one real TLS 1.3 ClientHello, then nothing more;
  slow   sends that ClientHello one byte every half second.
A connection the server closes is opened again (at most 200 new
connections a second in all, so the flood itself does not take the CPU
the server needs; until every one has been opened once, at most R a
second, default the same 200: a test that only waits for the flood to
stand may open it faster). Prints "ready" once it has opened every one once,
then every second a line "open=N idle=A hello=B slow=C connects=D
closed_by_server=E"; exits 0 at the end or on SIGTERM.
"""
import argparse
import errno
import selectors
import signal
import socket
import ssl
import sys
import time

RATE = 200.0  # new connections per second, all kinds together


def client_hello():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="flood.invalid")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


class Conn:
    def __init__(self, kind, src):
        self.kind, self.src = kind, src
        self.sock = None
        self.sent = 0
        self.next_byte = 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--sources", required=True)
    ap.add_argument("--idle", type=int, default=0)
    ap.add_argument("--hello", type=int, default=0)
    ap.add_argument("--slow", type=int, default=0)
    ap.add_argument("--secs", type=float, default=60)
    ap.add_argument("--ramp", type=float, default=RATE)
    a = ap.parse_args()

    hello = client_hello()
    sources = a.sources.split(",")
    conns = []
    for kind, n in (("idle", a.idle), ("hello", a.hello), ("slow", a.slow)):
        for i in range(n):
            conns.append(Conn(kind, sources[len(conns) % len(sources)]))
    sel = selectors.DefaultSelector()
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    connects = closed = 0
    budget, last = 0.0, time.monotonic()
    end = last + a.secs
    report = last + 1
    todo = list(conns)  # not open: to be (re)opened
    announced = False

    def close(c):
        sel.unregister(c.sock)
        c.sock.close()
        c.sock = None
        todo.append(c)

    while not stop[0] and time.monotonic() < end:
        now = time.monotonic()
        rate = RATE if announced else a.ramp
        budget = min(budget + (now - last) * rate, rate)
        last = now
        while todo and budget >= 1:
            c = todo.pop(0)
            budget -= 1
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.bind((c.src, 0))
                s.connect_ex((a.host, a.port))
            except OSError:
                s.close()
                todo.append(c)
                break
            c.sock, c.sent, c.next_byte = s, 0, now
            connects += 1
            sel.register(s, selectors.EVENT_READ, c)
        if connects >= len(conns) and not announced:
            print("ready", flush=True)
            announced = True
        for c in conns:
            if c.sock is None or c.kind == "idle" or c.sent >= len(hello):
                continue
            if c.kind == "slow" and now < c.next_byte:
                continue
            part = hello[c.sent:] if c.kind == "hello" else \
                hello[c.sent:c.sent + 1]
            try:
                c.sent += c.sock.send(part)
                c.next_byte = now + 0.5
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno != errno.ENOTCONN:
                    closed += 1
                    close(c)
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # the server closed it
                closed += 1
                close(c)
        if now >= report:
            report = now + 1
            kinds = {"idle": 0, "hello": 0, "slow": 0}
            for c in conns:
                if c.sock is not None:
                    kinds[c.kind] += 1
            print("open=%d idle=%d hello=%d slow=%d connects=%d "
                  "closed_by_server=%d" % (sum(kinds.values()),
                                           kinds["idle"], kinds["hello"],
                                           kinds["slow"], connects, closed),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
