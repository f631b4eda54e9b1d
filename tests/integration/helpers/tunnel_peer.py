"""A tunnel peer that breaks the protocol on purpose, over real TLS with a
client certificate; reports what the server sent back.

usage: tunnel_peer.py HOST PORT PROFILE MODE

PROFILE is a proxy-client profile: its inline <ca>, <cert> and <key>
make the TLS connection. After the handshake the peer does MODE:

  bad-frame      HELLO, then a frame of unknown type (docs/PROTOCOL.md 3.1)
  no-hello       PING as its first frame (section 4)
  second-hello   HELLO twice
  id-in-use      HELLO, then UDP_OPEN twice on stream 1
  version        HELLO of protocol version 2
  goaway         HELLO, then GOAWAY 0 (a clean goodbye: no error)
  old-open       HELLO with flags 0 (a peer from before RESULT reasons),
                 then OPEN 127.0.0.1:9 (refused by the default policy)
  open           the same with HELLO flag 0x01: RESULT may carry a reason
  open-noname    HELLO flag 0x01, then OPEN nosuch.example:80

Prints "hello flags=N" when the server's HELLO came, "goaway=N" for every
GOAWAY (N its code), "result=HEX" for every RESULT (its payload), then
"closed" (the server ended the connection) or "open" (still open after
10 s, or at once after a RESULT in the open modes).
"""
import os
import re
import socket
import ssl
import struct
import sys
import tempfile
import time

HELLO, OPEN, RESULT, UDP_OPEN, PING, GOAWAY = 0x01, 0x02, 0x03, 0x08, 0x0a, \
    0x0c
WINDOW = 256 << 10


def frame(ftype, stream, payload=b""):
    return struct.pack("!BBHI", ftype, 0, len(payload), stream) + payload


def hello(version=1, flags=0):
    return frame(HELLO, 0, b"PXT1" + struct.pack("!BBHI", version, flags, 0,
                                                   WINDOW))


def open_ipv4(stream, ip, port):
    return frame(OPEN, stream, b"\x01" + socket.inet_aton(ip) +
                 struct.pack("!H", port))


def open_name(stream, name, port):
    return frame(OPEN, stream, b"\x03" + bytes([len(name)]) + name.encode() +
                 struct.pack("!H", port))


def context(profile, tmp):
    text = open(profile).read()
    paths = {}
    for tag in ("ca", "cert", "key"):
        m = re.search(r"<%s>\s*(.*?)\s*</%s>" % (tag, tag), text, re.S)
        if not m:
            raise SystemExit("no <%s> in %s" % (tag, profile))
        paths[tag] = os.path.join(tmp, tag + ".pem")
        fd = os.open(paths[tag], os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(m.group(1) + "\n")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False  # the CA below is what we check
    ctx.load_verify_locations(paths["ca"])
    ctx.load_cert_chain(paths["cert"], paths["key"])
    return ctx


MODES = {
    "bad-frame": [hello(), frame(0x7f, 0)],
    "no-hello": [frame(PING, 0, b"\0" * 8)],
    "second-hello": [hello(), hello()],
    "id-in-use": [hello(), frame(UDP_OPEN, 1), frame(UDP_OPEN, 1)],
    "version": [hello(2)],
    "goaway": [hello(), frame(GOAWAY, 0, b"\0")],
    "old-open": [hello(), open_ipv4(1, "127.0.0.1", 9)],
    "open": [hello(flags=1), open_ipv4(1, "127.0.0.1", 9)],
    "open-noname": [hello(flags=1), open_name(1, "nosuch.example", 80)],
}


def main():
    host, port, profile, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4]
    if mode not in MODES:
        raise SystemExit("unknown mode " + mode)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context(profile, tmp)
    raw = socket.create_connection((host, port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=host)
    # The server's HELLO first (it sends it unasked), so a reply to our
    # frames cannot be mistaken for something sent before them.
    rx, closed, sent = b"", False, False
    end = time.monotonic() + 10
    while not closed and time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            closed = True
        rx += chunk
        while len(rx) >= 8:
            ftype, _, length, _ = struct.unpack("!BBHI", rx[:8])
            if len(rx) < 8 + length:
                break
            payload, rx = rx[8:8 + length], rx[8 + length:]
            if ftype == HELLO:
                print("hello flags=%d" % payload[5], flush=True)
                if not sent:
                    s.sendall(b"".join(MODES[mode]))
                    sent = True
            elif ftype == GOAWAY:
                print("goaway=%d" % payload[0], flush=True)
            elif ftype == RESULT:
                print("result=" + payload.hex(), flush=True)
                if "open" in mode:
                    end = time.monotonic()  # the answer we waited for
    print("closed" if closed else "open")
    return 0


if __name__ == "__main__":
    sys.exit(main())
