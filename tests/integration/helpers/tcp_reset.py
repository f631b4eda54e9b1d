"""A TCP target that resets its connections mid-transfer.

usage: tcp_reset.py ADDR PORT [--bytes N] [--delay SECS]

Accepts connections; on each waits SECS (default 0.3: the connection is
well established), sends N bytes (default 262144) of random data, waits
SECS again, then closes it with SO_LINGER {on, 0}: the kernel sends a RST
instead of a FIN. Prints "ready" once listening and "reset K" after the
K-th connection was reset.
"""
import argparse
import os
import socket
import struct
import threading
import time


def serve(c, n, delay, k):
    try:
        time.sleep(delay)
        c.sendall(os.urandom(n))
        time.sleep(delay)
    except OSError:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    print("reset %d" % k, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("--bytes", type=int, default=262144)
    ap.add_argument("--delay", type=float, default=0.3)
    a = ap.parse_args()
    family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(64)
    print("ready", flush=True)
    k = 0
    while True:
        c, _ = ls.accept()
        k += 1
        threading.Thread(target=serve, args=(c, a.bytes, a.delay, k), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
