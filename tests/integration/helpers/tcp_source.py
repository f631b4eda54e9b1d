"""TCP "source": writes random bytes endlessly to every accepted connection.

usage: tcp_source.py ADDR PORT [--http] [--status FILE]

With --http it first sends an HTTP/1.1 200 header with a huge
Content-Length (so a client that sees the stream end early knows the
transfer was cut). With --status FILE it rewrites FILE every 0.25 s with
one line per connection: "conn N sent BYTES". Prints "ready" once
listening.
"""
import argparse
import os
import selectors
import socket
import time

HTTP_HEADER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: 1000000000000\r\n\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--http", action="store_true")
    ap.add_argument("--status")
    a = ap.parse_args()
    family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(64)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    chunk = os.urandom(65536)
    sent = {}   # socket -> [conn number, bytes sent, pending header]
    nconn = 0
    print("ready", flush=True)
    last = 0.0
    while True:
        for key, _ in sel.select(timeout=0.25):
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                c.setblocking(False)
                nconn += 1
                sent[c] = [nconn, 0, HTTP_HEADER if a.http else b""]
                sel.register(c, selectors.EVENT_WRITE)
                continue
            st = sent[s]
            try:
                if st[2]:
                    st[2] = st[2][s.send(st[2]):]
                else:
                    st[1] += s.send(chunk)
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(s)
                s.close()
                st.append("closed")
        now = time.monotonic()
        if a.status and now - last >= 0.25:
            last = now
            tmp = a.status + ".tmp"
            with open(tmp, "w") as f:
                for st in sorted(sent.values()):
                    f.write("conn %d sent %d%s\n" % (st[0], st[1],
                            " closed" if len(st) > 3 else ""))
            os.replace(tmp, a.status)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
