"""One SOCKS5 UDP association kept across a quiet spell, and a datagram
addressed by name (ATYP 3).

usage: udp_idle.py SOCKS_PORT ECHO_HOST ECHO_PORT IDLE_SECONDS NAME NAME_PORT

Steps, each printed as one key=value observation line (the test asserts):
  assoc_rep        REP of the UDP ASSOCIATE
  before=reply     a datagram to ECHO_HOST:ECHO_PORT came back
  ctl_after_idle   after IDLE_SECONDS without traffic, the TCP control
                   connection is still open | closed
  after_idle       then a datagram on the same relay port: reply | noreply
  after_idle_src   the source address in that reply's header
  name             a datagram to NAME:NAME_PORT (ATYP 3): reply | noreply
  name_src         the source address in that reply's header (an address:
                   the server resolved the name)
SOCKS host is 127.0.0.1.
"""
import errno
import os
import socket
import sys
import time

import s5


def still_open(sock):
    """Whether the peer has neither closed nor reset a quiet connection."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:
        return True
    except OSError as e:
        return e.errno not in (errno.ECONNRESET, errno.EPIPE)


def main():
    socks_port = int(sys.argv[1])
    host, port = sys.argv[2], int(sys.argv[3])
    idle = float(sys.argv[4])
    name, name_port = sys.argv[5], int(sys.argv[6])
    ctl, rep, _, relay, u = s5.udp_associate("127.0.0.1", socks_port)
    print("assoc_rep=%02x" % rep)
    if rep != 0:
        return 0

    r = s5.udp_exchange(u, relay, host, port, b"before " + os.urandom(8),
                        wait=3.0)
    print("before=%s" % ("noreply" if r is None else "reply"))
    sys.stdout.flush()
    time.sleep(idle)
    print("ctl_after_idle=%s" % ("open" if still_open(ctl) else "closed"))
    r = s5.udp_exchange(u, relay, host, port, b"after " + os.urandom(8),
                        wait=3.0)
    print("after_idle=%s" % ("noreply" if r is None else "reply"))
    if r is not None:
        print("after_idle_src=%s:%d" % (r[1], r[2]))
    r = s5.udp_exchange(u, relay, name, name_port, b"name " + os.urandom(8),
                        wait=3.0, force_domain=True)
    print("name=%s" % ("noreply" if r is None else "reply"))
    if r is not None:
        print("name_src=%s:%d" % (r[1], r[2]))
    ctl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
