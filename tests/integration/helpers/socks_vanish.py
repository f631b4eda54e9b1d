"""SOCKS5 clients that vanish at awkward moments, and one that watches how
a flow ends.

usage: socks_vanish.py MODE SOCKS_PORT DST_HOST DST_PORT [--count N]
           [--bytes B] [--timeout SECS]

MODE (each run COUNT times, one after the other; SOCKS host 127.0.0.1):
  half-greeting   send b"\\x05" (half a greeting) and close
  greeting-rst    send half a greeting and reset (SO_LINGER 0)
  request-close   full greeting, send the CONNECT and close before the reply
  request-rst     the same, reset instead of close
  transfer-close  CONNECT (reply 00 expected), read B bytes, close
  transfer-rst    CONNECT, read B bytes, reset (SO_LINGER 0)
  read-end        CONNECT, then read until the flow ends (B ignored) and
                  print how: end=eof | end=reset | end=timeout, after=S.S
                  (seconds from the reply) and received=N; with --send B
                  it first sends B random bytes
Prints "done=N" (runs that went as planned) and "rep_bad=K" (transfer runs
whose CONNECT was not answered 00), then for read-end its end= lines.
Exit 0 when it ran; the test decides from the lines.
"""
import argparse
import os
import socket
import struct
import sys
import time

import s5


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def connect(port, host, dport, timeout):
    s = s5.open_conn("127.0.0.1", port, timeout)
    if s5.greet(s) != 0:
        raise ValueError("greeting refused")
    rep, _, _ = s5.request(s, 1, host, dport)
    return s, rep


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("socks_port", type=int)
    ap.add_argument("dst_host")
    ap.add_argument("dst_port", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--bytes", type=int, default=65536)
    ap.add_argument("--send", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()
    done = rep_bad = 0
    for _ in range(a.count):
        try:
            if a.mode in ("half-greeting", "greeting-rst"):
                s = s5.open_conn("127.0.0.1", a.socks_port, a.timeout)
                s.sendall(b"\x05")
                time.sleep(0.01)
                (rst_close if a.mode == "greeting-rst" else socket.socket.close)(s)
            elif a.mode in ("request-close", "request-rst"):
                s = s5.open_conn("127.0.0.1", a.socks_port, a.timeout)
                s5.greet(s)
                s.sendall(b"\x05\x01\x00" + s5.encode_addr(a.dst_host, a.dst_port))
                (rst_close if a.mode == "request-rst" else socket.socket.close)(s)
            elif a.mode in ("transfer-close", "transfer-rst"):
                s, rep = connect(a.socks_port, a.dst_host, a.dst_port, a.timeout)
                if rep != 0:
                    rep_bad += 1
                    s.close()
                    continue
                s5.recv_exact(s, a.bytes)
                (rst_close if a.mode == "transfer-rst" else socket.socket.close)(s)
            elif a.mode == "read-end":
                s, rep = connect(a.socks_port, a.dst_host, a.dst_port, a.timeout)
                if rep != 0:
                    rep_bad += 1
                    print("rep=%02x" % rep)
                    s.close()
                    continue
                print("rep=00", flush=True)
                if a.send:
                    s.sendall(os.urandom(a.send))
                received, how = 0, "timeout"
                t0 = time.monotonic()
                end = t0 + a.timeout
                while time.monotonic() < end:
                    s.settimeout(max(0.01, end - time.monotonic()))
                    try:
                        chunk = s.recv(65536)
                    except socket.timeout:
                        break
                    except ConnectionResetError:
                        how = "reset"
                        break
                    if not chunk:
                        how = "eof"
                        break
                    received += len(chunk)
                print("end=%s" % how)
                print("after=%.1f" % (time.monotonic() - t0))
                print("received=%d" % received, flush=True)
                s.close()
            else:
                raise SystemExit("unknown mode " + a.mode)
            done += 1
        except (OSError, ValueError, s5.Closed) as e:
            print("error=%s: %s" % (type(e).__name__, e), flush=True)
    print("done=%d" % done)
    print("rep_bad=%d" % rep_bad)
    return 0


if __name__ == "__main__":
    sys.exit(main())
