"""A TCP relay that holds every byte for a fixed time each way: a long
path (a VPS far away) between two programs on loopback.

usage: tcp_delay.py ADDR PORT TO_ADDR TO_PORT [--ms MS]

Accepts on ADDR:PORT, connects each client to TO_ADDR:TO_PORT and
forwards both ways, each chunk MS milliseconds (default 20) after it
arrived, in order; an end of stream follows the same way. Reading stops
while more than 16 MiB wait in one direction. Prints "ready" once
listening.
"""
import argparse
import collections
import selectors
import socket
import time

HOLD_MAX = 16 << 20


class Way:
    """One direction: bytes read from src wait until due, then go to dst."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst
        self.q = collections.deque()    # (due, bytes); b"" is the end
        self.held = 0
        self.eof = False                # src ended (queued as b"")
        self.done = False               # the end was passed on
        self.blocked = False            # dst took less than was due
        self.peer = None                # the other direction

    def read(self, now, delay):
        try:
            data = self.src.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.eof = True
        self.q.append((now + delay, data))
        self.held += len(data)

    def write(self, now):
        """Sends what is due; False when dst cannot take more now."""
        while self.q and self.q[0][0] <= now:
            due, data = self.q[0]
            if not data:
                self.q.popleft()
                try:
                    self.dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self.done = True
                return True
            try:
                n = self.dst.send(data)
            except BlockingIOError:
                return False
            except OSError:
                self.q.clear()
                self.done = True
                return True
            self.held -= n
            if n < len(data):
                self.q[0] = (due, data[n:])
                return False
            self.q.popleft()
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("to_addr")
    ap.add_argument("to_port", type=int)
    ap.add_argument("--ms", type=float, default=20.0)
    a = ap.parse_args()
    delay = a.ms / 1000.0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(16)
    ls.setblocking(False)
    ways = []
    print("ready", flush=True)
    sel = selectors.DefaultSelector()
    while True:
        now = time.monotonic()
        for w in ways:
            w.blocked = not w.write(now)
        for w in [w for w in ways if w.done and w.peer.done]:
            ways.remove(w)
            w.src.close()
        sel.close()
        sel = selectors.DefaultSelector()
        sel.register(ls, selectors.EVENT_READ, None)
        interest = {}
        for w in ways:
            if not w.eof and w.held < HOLD_MAX:
                interest[w.src] = interest.get(w.src, 0) | selectors.EVENT_READ
            if w.blocked:
                interest[w.dst] = interest.get(w.dst, 0) | selectors.EVENT_WRITE
        for s, ev in interest.items():
            sel.register(s, ev, None)
        dues = [w.q[0][0] for w in ways if w.q and not w.blocked]
        timeout = max(0.0, min(dues) - time.monotonic()) if dues else None
        events = sel.select(timeout)
        now = time.monotonic()
        for key, _ in events:
            if key.fileobj is ls:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    continue
                u = socket.create_connection((a.to_addr, a.to_port))
                for s in (c, u):
                    s.setblocking(False)
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                up, down = Way(c, u), Way(u, c)
                up.peer, down.peer = down, up
                ways += [up, down]
        readable = {k.fileobj for k, ev in events if ev & selectors.EVENT_READ}
        for w in ways:
            if w.src in readable and not w.eof:
                w.read(now, delay)


if __name__ == "__main__":
    main()
