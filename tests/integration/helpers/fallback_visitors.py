"""Many visitors of the fallback site at once, parked while the test looks.

usage: fallback_visitors.py HOST PORT N MARKER GOFILE [SECS]

Opens N connections to HOST:PORT: the even ones complete a TLS handshake
without a client certificate (no verification of the server), the odd
ones send the first line of a plain HTTP request and read the answer an
HTTPS server gives to that (400) to its end. Prints "ready tls=A plain=B
bad_request=C" when all are in that state (or "failed=..." and exits 1),
then holds the TLS ones until GOFILE exists (at most SECS seconds,
default 30), sends the rest of "GET / HTTP/1.0" on each and reads every
answer to its end. Prints "pages=N" (answers that hold MARKER),
"errors=N" and one "error I: ..." line per connection that failed.
"""
import os
import socket
import ssl
import sys
import time

FIRST = b"GET / HTTP/1.0\r\n"
REST = b"Host: 127.0.0.1\r\nUser-Agent: visitor\r\n\r\n"


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    marker, gofile = sys.argv[4].encode(), sys.argv[5]
    secs = float(sys.argv[6]) if len(sys.argv) > 6 else 30.0
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns, ntls, nplain, nbad = [], 0, 0, 0
    try:
        for i in range(n):
            s = socket.create_connection((host, port), timeout=10)
            if i % 2 == 0:
                s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
                ntls += 1
            else:
                s.sendall(FIRST)
                nplain += 1
                got = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                if got.startswith(b"HTTP/1.1 400 "):
                    nbad += 1
                s.close()
                continue
            conns.append(s)
    except (OSError, ssl.SSLError) as e:
        print("failed=connection %d: %s" % (len(conns), e), flush=True)
        return 1
    print("ready tls=%d plain=%d bad_request=%d" % (ntls, nplain, nbad),
          flush=True)
    end = time.monotonic() + secs
    while not os.path.exists(gofile) and time.monotonic() < end:
        time.sleep(0.1)
    errors = []
    for i, s in enumerate(conns):
        try:
            s.sendall(FIRST + REST)
        except (OSError, ssl.SSLError) as e:
            errors.append((i, "send: %s" % e))
    pages = 0
    for i, s in enumerate(conns):
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (OSError, ssl.SSLError) as e:
            if not got:
                errors.append((i, "recv: %s" % e))
        if marker in got:
            pages += 1
        elif not any(j == i for j, _ in errors):
            errors.append((i, "answer without the marker: %r" % got[:120]))
        s.close()
    print("pages=%d" % pages)
    print("errors=%d" % len(errors))
    for i, e in errors:
        print("error %d: %s" % (i, e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
