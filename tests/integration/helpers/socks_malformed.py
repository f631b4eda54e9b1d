"""Raw, malformed or oddly split SOCKS5 input against the client's SOCKS port.

usage: socks_malformed.py SOCKS_PORT SCENARIO [ARGS...]   (host 127.0.0.1)
  raw HEX [--shutdown]   send these bytes (then half-close with --shutdown)
  garbage N [--after-greeting]
                         N random bytes whose first byte is not 0x05
                         (after a valid no-auth greeting with the flag)
  bytewise HOST PORT     greeting, then CONNECT to HOST:PORT, one byte at a
                         time with small sleeps; then an echo exchange
  pipelined HOST PORT [LEN]
                         greeting + CONNECT + LEN (100) bytes in ONE write
  auth USER PASS         method 02 greeting and RFC 1929 sub-negotiation

Prints observations, one key=value per line: data=<hex of everything
received before close or a 3 s silence>, closed=yes|no; rep=XX and
echo=ok|bad for the CONNECT scenarios; method=XX status=XX for auth.
"""
import os
import socket
import sys
import time

import s5

ECHO_LEN = 100


def observe(s, secs=3.0):
    """Collects what arrives until EOF/reset or secs of silence."""
    data, closed = b"", "no"
    s.settimeout(secs)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = "yes"
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        closed = "yes"
    except socket.timeout:
        pass
    print("data=%s" % data.hex())
    print("closed=%s" % closed)


def send_all(s, data):
    """sendall that treats the peer closing on us as an observation."""
    try:
        s.sendall(data)
        return True
    except (ConnectionResetError, BrokenPipeError):
        print("send=peer closed while we were sending")
        return False


def connect_request(host, port):
    return b"\x05\x01\x00" + s5.encode_addr(host, port)


def main():
    port, scen, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if scen == "raw":
        if send_all(s, bytes.fromhex(args[0])) and "--shutdown" in args:
            s.shutdown(socket.SHUT_WR)
        observe(s)
    elif scen == "garbage":
        prefix = b""
        if "--after-greeting" in args:
            prefix = b"\x05\x01\x00"
        junk = bytearray(os.urandom(int(args[0])))
        if junk[0] == 5:
            junk[0] = 0x47
        send_all(s, prefix + bytes(junk))
        observe(s)
    elif scen in ("bytewise", "pipelined"):
        host, dport = args[0], int(args[1])
        msg = b"\x05\x01\x00" + connect_request(host, dport)
        if scen == "bytewise":
            for b in msg:
                s.sendall(bytes([b]))
                time.sleep(0.05)
            payload = os.urandom(ECHO_LEN)
        else:
            payload = os.urandom(int(args[2]) if len(args) > 2 else ECHO_LEN)
            s.sendall(msg + payload)
        try:
            ver, method = s5.recv_exact(s, 2)
            print("method=%02x" % method)
            rep, _, _ = s5.read_reply(s)
            print("rep=%02x" % rep)
            if rep == 0:
                if scen == "bytewise":
                    s.sendall(payload)
                got = s5.recv_exact(s, len(payload))
                print("echo=%s" % ("ok" if got == payload else "bad"))
        except s5.Closed as e:
            print("error=closed after %d bytes: %s" % (len(e.args[0]), e.args[0].hex()))
        except socket.timeout:
            print("error=timeout")
    elif scen == "auth":
        user, pw = args[0].encode(), args[1].encode()
        s.sendall(b"\x05\x01\x02")
        try:
            ver, method = s5.recv_exact(s, 2)
            print("method=%02x" % method)
            if method == 2:
                s.sendall(b"\x01" + bytes([len(user)]) + user + bytes([len(pw)]) + pw)
                print("status=%02x" % s5.recv_exact(s, 2)[1])
        except s5.Closed:
            print("error=closed")
        observe(s)
    else:
        raise SystemExit("unknown scenario " + scen)
    return 0


if __name__ == "__main__":
    sys.exit(main())
