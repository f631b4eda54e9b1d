"""A game-like UDP stream through SOCKS5 (PySocks): one association, one
small datagram every INTERVAL seconds to an echo server, for SECONDS.

usage: udp_stream.py SOCKS_PORT HOST PORT SECONDS [--interval S]
                     [--mark FILE]... [--until FILE]

Each datagram carries its sequence number. At the end (after waiting 1 s
for late echoes) prints "sent=N received=R", and for each --mark FILE,
in order, "after_K sent=N received=R" counting the datagrams sent after
FILE first existed and at least 0.5 s before the next mark (or the end),
so a test can say "everything sent after the fallback came back".
The stream stops after SECONDS, or as soon as the --until FILE exists.
Prints "ready" once the association is open (first echo back).
"""
import os
import socket
import struct
import sys
import time

import socks


def main():
    a = sys.argv[1:]
    socks_port, host, port, seconds = int(a[0]), a[1], int(a[2]), float(a[3])
    interval = float(a[a.index("--interval") + 1]) if "--interval" in a else 0.05
    marks = [a[i + 1] for i, v in enumerate(a) if v == "--mark"]
    until = a[a.index("--until") + 1] if "--until" in a else None
    s = socks.socksocket(socket.AF_INET, socket.SOCK_DGRAM)
    s.set_proxy(socks.SOCKS5, "127.0.0.1", socks_port)
    s.settimeout(0.01)
    sent_at = []          # seq -> time sent
    mark_at = [None] * len(marks)
    got = set()
    # first echo: the association is open
    end = time.time() + 10
    while time.time() < end:
        s.sendto(b"hello", (host, port))
        try:
            if s.recvfrom(100)[0] == b"hello":
                break
        except socket.timeout:
            time.sleep(0.2)
    else:
        print("no first echo")
        return 1
    print("ready", flush=True)
    start = time.time()
    nxt = start
    while True:
        now = time.time()
        if until and now < start + seconds and os.path.exists(until):
            seconds = now - start
        for i, m in enumerate(marks):
            if mark_at[i] is None and os.path.exists(m):
                mark_at[i] = now
        if now >= start + seconds + 1:
            break
        if now >= nxt and now < start + seconds:
            s.sendto(struct.pack("!I", len(sent_at)) + b"x" * 60, (host, port))
            sent_at.append(now)
            nxt += interval
        try:
            data, _ = s.recvfrom(200)
            if len(data) == 64:
                got.add(struct.unpack("!I", data[:4])[0])
        except socket.timeout:
            pass
    print("sent=%d received=%d" % (len(sent_at), len(got)))
    for i, t0 in enumerate(mark_at):
        if t0 is None:
            print("after_%d unmarked" % i)
            continue
        t1 = min([t for t in mark_at[i + 1:] if t is not None] +
                 [start + seconds + 0.5]) - 0.5
        seqs = [k for k, t in enumerate(sent_at) if t0 <= t < t1]
        print("after_%d sent=%d received=%d" %
              (i, len(seqs), len([k for k in seqs if k in got])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
