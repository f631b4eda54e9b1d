"""An interactive flow held across an outage: a SOCKS5 CONNECT to an echo
server, then a numbered line every 0.1 s for SECS seconds while the
echoes are read back; then up to WAIT seconds for the last echoes.

usage: resume_echo.py SOCKS_PORT DST_HOST DST_PORT SECS [--wait W]

Prints "ready" once the first echo came, then at the end "sent=N",
"echoed=M", "inorder=yes|no" (yes when the echoed bytes are exactly the
bytes sent, in order: nothing lost, repeated or reordered) and
"end=eof|reset|open" (how the connection stood at the end), and
"secs=S" from the last line sent to the end of the echoes.
"""
import argparse
import socket
import sys
import time

import s5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socks_port", type=int)
    ap.add_argument("dst_host")
    ap.add_argument("dst_port", type=int)
    ap.add_argument("secs", type=float)
    ap.add_argument("--wait", type=float, default=20.0)
    a = ap.parse_args()
    s = s5.open_conn("127.0.0.1", a.socks_port, 10)
    s5.greet(s)
    rep, _, _ = s5.request(s, 1, a.dst_host, a.dst_port)
    if rep != 0:
        print("rep=%02x" % rep)
        return 1
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
        try:
            chunk = s.recv(65536)
            if not chunk:
                end = "eof"
                break
            got += chunk
        except socket.timeout:
            pass
        except OSError:
            end = "reset"
            break
        if got and not ready:
            print("ready", flush=True)
            ready = True
        time.sleep(0.1)
    t0 = time.monotonic()
    deadline = t0 + a.wait
    while end == "open" and len(got) < len(sent) and \
            time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
            if not chunk:
                end = "eof"
                break
            got += chunk
        except socket.timeout:
            pass
        except OSError:
            end = "reset"
    print("sent=%d" % len(sent))
    print("echoed=%d" % len(got))
    print("inorder=%s" % ("yes" if got == sent else "no"))
    print("end=%s" % end)
    print("secs=%.3f" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
