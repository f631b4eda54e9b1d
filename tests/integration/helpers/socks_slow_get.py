"""An HTTP GET through SOCKS5 whose reader keeps a steady, slow pace until
told to hurry: a download that stays live (with its byte counts growing)
for as long as a test needs to look at it, however loaded the machine.

usage: socks_slow_get.py SOCKS_PORT HOST PORT PATH [--rate BYTES_PER_SEC]
           [--release FILE] [--timeout SECS]

Connects to the SOCKS5 server at 127.0.0.1:SOCKS_PORT (small receive
buffer, so little piles up in the kernel), CONNECTs to HOST:PORT, sends
"GET PATH" and reads the response at about --rate (default 2 MiB/s) in
small steps; once FILE exists (--release) it reads the rest at full speed.
Prints "ready" after the SOCKS reply 00, then at the end "status=CODE
header=BYTES body=BYTES" (what came from the server, bytes of the header
and of the body). Exit 0 when the response ended as its Content-Length
says, 1 otherwise ("error=...").
"""
import argparse
import os
import socket
import sys
import time

import s5

STEP = 16384


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_port", type=int)
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("path")
    ap.add_argument("--rate", type=float, default=2 << 20)
    ap.add_argument("--release")
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.settimeout(a.timeout)
        s.connect(("127.0.0.1", a.socks_port))
        if s5.greet(s) != 0:
            print("error=greeting refused")
            return 1
        rep, _, _ = s5.request(s, 1, a.host, a.port)
        if rep != 0:
            print("error=reply %02x" % rep)
            return 1
        print("ready", flush=True)
        s.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n"
                  % (a.path.encode(), a.host.encode()))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(STEP)
            if not chunk:
                print("error=no complete header: %r" % data[:200])
                return 1
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        header_len = len(head) + 4
        status = int(head.split()[1])
        length = None
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        got = len(body)
        start = time.monotonic()
        hurry = False
        while True:
            if not hurry:
                if a.release and os.path.exists(a.release):
                    hurry = True
                else:
                    # stay at or below the rate: wait for our turn
                    due = start + (header_len + got) / a.rate
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(min(pause, 0.1))
                        continue
            chunk = s.recv(STEP if not hurry else 1 << 20)
            if not chunk:
                break
            got += len(chunk)
        s.close()
        print("status=%d header=%d body=%d" % (status, header_len, got),
              flush=True)
        if length is not None and got != length:
            print("error=body of %d bytes, Content-Length %d" % (got, length))
            return 1
        return 0
    except (OSError, s5.Closed, ValueError, IndexError) as e:
        print("error=%s: %s" % (type(e).__name__, e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
