"""Flows held across an outage, as their applications see them.

usage: resume_echo.py echo SOCKS_PORT DST_HOST DST_PORT SECS [--wait W]
       resume_echo.py get SOCKS_PORT DST_HOST DST_PORT PATH --rate BPS
                      --progress FILE

echo: a SOCKS5 CONNECT to an echo server, then a numbered line every
0.1 s for SECS seconds while the echoes are read back; then up to W
seconds for the last echoes. Prints "ready" once the first echo came,
then at the end "sent=N", "echoed=M", "inorder=yes|no" (yes when the
echoed bytes are exactly the bytes sent, in order: nothing lost,
repeated or reordered), "end=eof|reset|open" (how the connection stood
at the end) and "secs=S" from the last line sent to the end.
get: a SOCKS5 CONNECT to an HTTP server and GET PATH (HTTP/1.0), read at
BPS bytes a second with a small receive buffer (64 KiB), so that the
bytes still to come wait at the server, not in this host's socket
buffers; FILE holds the body bytes received so far (rewritten every
0.1 s). Prints "bytes=N", "sha256=HEX" of the body and "end=eof|reset".
"""
import argparse
import hashlib
import os
import socket
import sys
import time

import s5


def connect(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if a.cmd == "get":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    s.settimeout(10)
    s.connect(("127.0.0.1", a.socks_port))
    s5.greet(s)
    rep, _, _ = s5.request(s, 1, a.dst_host, a.dst_port)
    if rep != 0:
        print("rep=%02x" % rep)
        sys.exit(1)
    return s


def read_some(s):
    """One recv on s (with its timeout): (bytes, "open"), (b"", "open")
    when nothing came in time, (b"", "eof") or (b"", "reset") at the
    end."""
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        return b"", "open"
    except OSError:
        return b"", "reset"
    return chunk, ("open" if chunk else "eof")


def do_echo(a, s):
    sent, got, n, end = b"", b"", 0, "open"
    s.settimeout(0.1)
    t_end = time.monotonic() + a.secs
    ready = False
    while time.monotonic() < t_end:
        line = b"%06d\n" % n
        n += 1
        try:
            s.sendall(line)
            sent += line
        except OSError:
            end = "reset"
            break
        chunk, end = read_some(s)
        if end != "open":
            break
        got += chunk
        if got and not ready:
            print("ready", flush=True)
            ready = True
        time.sleep(0.1)
    t0 = time.monotonic()
    deadline = t0 + a.wait
    while end == "open" and len(got) < len(sent) and \
            time.monotonic() < deadline:
        chunk, end = read_some(s)
        got += chunk
    print("sent=%d" % len(sent))
    print("echoed=%d" % len(got))
    print("inorder=%s" % ("yes" if got == sent else "no"))
    print("end=%s" % end)
    print("secs=%.3f" % (time.monotonic() - t0))


def progress(path, n):
    """Rewrites path with n, never leaving it empty for a reader."""
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % n)
    os.replace(path + ".tmp", path)


def do_get(a, s):
    s.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" % a.path).encode())
    s.settimeout(60)
    head, body, h = b"", 0, hashlib.sha256()
    t0, last, end = time.monotonic(), 0.0, "eof"
    while True:
        try:
            chunk = s.recv(16384)
        except OSError:
            end = "reset"
            break
        if not chunk:
            break
        if head is not None:
            head += chunk
            i = head.find(b"\r\n\r\n")
            if i < 0:
                continue
            chunk, head = head[i + 4:], None
        h.update(chunk)
        body += len(chunk)
        now = time.monotonic()
        if now - last >= 0.1:
            progress(a.progress, body)
            last = now
        ahead = body / a.rate - (now - t0)
        if ahead > 0:
            time.sleep(ahead)
    progress(a.progress, body)
    print("bytes=%d" % body)
    print("sha256=%s" % h.hexdigest())
    print("end=%s" % end)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo")
    g = sub.add_parser("get")
    for p in (e, g):
        p.add_argument("socks_port", type=int)
        p.add_argument("dst_host")
        p.add_argument("dst_port", type=int)
    e.add_argument("secs", type=float)
    e.add_argument("--wait", type=float, default=20.0)
    g.add_argument("path")
    g.add_argument("--rate", type=float, required=True)
    g.add_argument("--progress", required=True)
    a = ap.parse_args()
    s = connect(a)
    if a.cmd == "echo":
        do_echo(a, s)
    else:
        do_get(a, s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
