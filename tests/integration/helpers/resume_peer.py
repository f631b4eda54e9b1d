"""A hand-driven resuming client (docs/PROTOCOL.md section 15), over real
TLS with the certificate of a proxy-client profile.

usage: resume_peer.py HOST PORT PROFILE park DST_IP DST_PORT TOKEN_FILE
       resume_peer.py HOST PORT PROFILE resume TOKEN_FILE [--flip]

park: HELLO with the resume flag, OPEN stream 1 to DST (an echo
server), DATA "abc" and its echo back; the SESSION token goes to
TOKEN_FILE (hex); then the connection is dropped without a word (no
GOAWAY, no close_notify), as a client whose link died. Prints
"token=saved" and "echo=ok".
resume: HELLO with the resume flag, then RESUME with the token of
TOKEN_FILE (--flip: its first byte changed, as a token of another
server process) announcing one SYNC, and SYNC for stream 1 saying 3
bytes ("abc") were received. Prints "resumed=N" (the RESUMED code),
"sync=RECEIVED" for the server's SYNC (what it received of ours),
"rst=CODE" for an RST; when resumed it sends DATA "def" and prints
"echo=ok" once that comes back, then says GOAWAY (a clean end: nothing
is kept). "tls=failed" when the handshake fails.
"""
import socket
import ssl
import struct
import sys
import tempfile
import time

from tunnel_peer import context, frame, hello, open_ipv4

RESULT, DATA, RST, GOAWAY = 0x03, 0x04, 0x06, 0x0c
SESSION, RESUME, RESUMED, SYNC = 0x0e, 0x0f, 0x10, 0x11
F_REASONS, F_RESUME = 0x01, 0x04
WINDOW = 256 << 10


class Peer:
    def __init__(self, host, port, profile):
        with tempfile.TemporaryDirectory() as tmp:
            ctx = context(profile, tmp)
        raw = socket.create_connection((host, port), timeout=10)
        self.raw = raw
        self.s = ctx.wrap_socket(raw, server_hostname=host)
        self.rx = b""

    def frames(self, secs):
        """Yields (type, stream, payload) until secs pass or the end."""
        end = time.monotonic() + secs
        while time.monotonic() < end:
            while len(self.rx) >= 8:
                ftype, _, length, stream = struct.unpack("!BBHI", self.rx[:8])
                if len(self.rx) < 8 + length:
                    break
                payload = self.rx[8:8 + length]
                self.rx = self.rx[8 + length:]
                yield ftype, stream, payload
            self.s.settimeout(max(0.05, end - time.monotonic()))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLError):
                chunk = b""
            if not chunk:
                print("closed", flush=True)
                return
            self.rx += chunk


def park(p, dst_ip, dst_port, token_file):
    p.s.sendall(hello(flags=F_REASONS | F_RESUME))
    opened = False
    for ftype, stream, payload in p.frames(10):
        if ftype == SESSION:
            with open(token_file, "w") as f:
                f.write(payload.hex())
            print("token=saved", flush=True)
            p.s.sendall(open_ipv4(1, dst_ip, dst_port) +
                        frame(DATA, 1, b"abc"))
            opened = True
        elif ftype == RESULT and payload[:1] != b"\0":
            print("result=" + payload.hex())
            return
        elif ftype == DATA and opened and payload == b"abc":
            print("echo=ok", flush=True)
            break
    # a dead link: the socket goes without TLS close_notify
    p.raw.shutdown(socket.SHUT_RDWR)
    p.raw.close()


def resume(p, token_file, flip):
    token = bytearray.fromhex(open(token_file).read().strip())
    if flip:
        token[0] ^= 0xff
    p.s.sendall(hello(flags=F_REASONS | F_RESUME))
    sent = False
    for ftype, stream, payload in p.frames(10):
        if ftype == 0x01 and not sent:  # the server's HELLO
            p.s.sendall(frame(RESUME, 0, bytes(token) + struct.pack("!I", 1)) +
                        frame(SYNC, 1, struct.pack("!BQQ", 0, 3, 3 + WINDOW)))
            sent = True
        elif ftype == RESUMED:
            print("resumed=%d" % payload[0], flush=True)
            if payload[0]:
                break
        elif ftype == SYNC:
            _, received, _ = struct.unpack("!BQQ", payload)
            print("sync=%d" % received, flush=True)
            p.s.sendall(frame(DATA, 1, b"def"))
        elif ftype == RST:
            print("rst=%d" % payload[0], flush=True)
            break
        elif ftype == DATA and payload == b"def":
            print("echo=ok", flush=True)
            break
    try:
        p.s.sendall(frame(GOAWAY, 0, b"\0"))
        time.sleep(0.2)
    except OSError:
        pass
    p.s.close()


def main():
    host, port, profile, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4]
    try:
        p = Peer(host, port, profile)
        p.s.settimeout(10)
        # a revoked certificate fails only when the server's alert is read
        if mode == "resume":
            p.s.sendall(b"")
    except (ssl.SSLError, ConnectionResetError) as e:
        print("tls=failed (%s)" % e)
        return 0
    try:
        if mode == "park":
            park(p, sys.argv[5], int(sys.argv[6]), sys.argv[7])
        elif mode == "resume":
            resume(p, sys.argv[5], "--flip" in sys.argv[6:])
        else:
            raise SystemExit("unknown mode " + mode)
    except (ssl.SSLError, ConnectionResetError) as e:
        print("tls=failed (%s)" % e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
