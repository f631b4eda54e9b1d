"""Unwelcome input at the tunnel server's port; reports how it was treated.

usage: garbage_conn.py HOST PORT MODE [ARG]
  random N     send N random bytes (first byte 0x47, not a TLS record)
  http         send a plain "GET / HTTP/1.1" request
  silent SECS  connect and send nothing for up to SECS seconds

Prints "connected", then "closed_after=S.S" (the server closed or reset
the connection S.S s after we connected) or "open_after=S.S" (still open
when we gave up), and "received=N" (bytes the server sent us).
"""
import os
import socket
import sys
import time


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    s = socket.create_connection((host, port), timeout=10)
    t0 = time.monotonic()
    print("connected", flush=True)
    received, closed = 0, False
    wait = 10.0
    try:
        if mode == "random":
            junk = bytearray(os.urandom(int(arg)))
            junk[0] = 0x47
            s.sendall(bytes(junk))
        elif mode == "http":
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        elif mode == "silent":
            wait = float(arg)
        else:
            raise SystemExit("unknown mode " + mode)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    end = t0 + wait
    while not closed:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            closed = True
        received += len(chunk)
    dt = time.monotonic() - t0
    print("%s=%.1f" % ("closed_after" if closed else "open_after", dt))
    print("received=%d" % received)
    return 0


if __name__ == "__main__":
    sys.exit(main())
