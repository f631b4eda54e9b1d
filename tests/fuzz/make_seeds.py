#!/usr/bin/python3
"""Write the seed corpus of the libFuzzer targets under tests/fuzz/corpus/.

    /usr/bin/python3 tests/fuzz/make_seeds.py

One folder per target (frame, socks5, addr, conf, daemon_conf, dns_msg),
one file
per seed, named for what it holds. The output is committed; run this again
after changing a seed here. Files in the corpus folders that this script
does not write (crash inputs, named crash-*, kept as regression tests) are
left alone. Formats: docs/PROTOCOL.md (frames), RFC 1928/1929 (SOCKS5),
conf/*.conf (configs), RFC 1035 (DNS messages).
"""

import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
ROOT = os.path.dirname(os.path.dirname(HERE))

# ------------------------------------------------------------ addresses


def v4(host, port):
    return b"\x01" + socket.inet_pton(socket.AF_INET, host) + struct.pack("!H", port)


def v6(host, port):
    return b"\x04" + socket.inet_pton(socket.AF_INET6, host) + struct.pack("!H", port)


def dom(name, port):
    name = name.encode() if isinstance(name, str) else name
    return b"\x03" + bytes([len(name)]) + name + struct.pack("!H", port)


ADDRS = {
    "v4": v4("93.184.216.34", 80),
    "v6": v6("2001:db8::1", 443),
    "v4mapped": v6("::ffff:10.1.2.3", 53),
    "domain": dom("example.com", 8080),
    "domain255": dom("a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 63, 1),
    "domain1": dom("x", 65535),
}

# ------------------------------------------------------------ frames

HELLO, OPEN, RESULT, DATA, FIN, RST, WINDOW = 1, 2, 3, 4, 5, 6, 7
UDP_OPEN, UDP_DATA, PING, PONG, GOAWAY, UDP_PATH = 8, 9, 10, 11, 12, 13
SESSION, RESUME, RESUMED, SYNC = 14, 15, 16, 17
MAX_PAYLOAD = 16384 - 8


def frame(ftype, stream, payload=b"", flags=0):
    return struct.pack("!BBHI", ftype, flags, len(payload), stream) + payload


def hello(window=262144, version=1):
    return frame(HELLO, 0, b"PXT1" + bytes([version, 0]) + b"\0\0" + struct.pack("!I", window))


def frame_seeds():
    s = {}
    s["hello"] = hello()
    s["hello-v2"] = hello(version=2)
    s["hello-window-max"] = hello(window=0xFFFFFFFF)
    for name, a in ADDRS.items():
        s["open-" + name] = frame(OPEN, 1, a)
        s["result-ok-" + name] = frame(RESULT, 1, b"\x00" + a)
        s["udp-data-" + name] = frame(UDP_DATA, 3, a + b"datagram")
        s["udp-data-empty-" + name] = frame(UDP_DATA, 3, a)
    for code in range(9):
        s["result-code-%d" % code] = frame(RESULT, 5, bytes([code]))
    s["data-1"] = frame(DATA, 1, b"x")
    s["data-http"] = frame(DATA, 7, b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    s["data-max"] = frame(DATA, 0xFFFFFFFF, bytes(range(256)) * (MAX_PAYLOAD // 256)
                          + bytes(MAX_PAYLOAD % 256))
    s["fin"] = frame(FIN, 1)
    s["rst"] = frame(RST, 1, b"\x05")
    s["window"] = frame(WINDOW, 1, struct.pack("!I", 131072))
    s["udp-open"] = frame(UDP_OPEN, 3)
    s["ping"] = frame(PING, 0, b"12345678")
    s["pong"] = frame(PONG, 0, b"87654321")
    s["goaway"] = frame(GOAWAY, 0, b"\x00")
    s["udp-path"] = frame(UDP_PATH, 0, b"\x01")
    # Datagram-path packets (docs/PROTOCOL.md section 15): the worked
    # example's probe, and one whose sealed part reads as a FRAME
    # plaintext (kind 03 + a UDP_DATA frame) before the 16-byte tag.
    s["dpath-probe"] = bytes.fromhex(
        "4041424344454647000000000000000019b94032a9e3a0d61b"
        "755fa587591687f7ac9883628cefa37f")
    s["dpath-frame"] = (bytes(range(64, 72)) + struct.pack("!Q", 7) + b"\x03" +
                        frame(UDP_DATA, 5, ADDRS["v4"] + b"game") + b"T" * 16)
    # Resume (section 16).
    token = bytes(range(24))
    s["session"] = frame(SESSION, 0, token)
    s["resume"] = frame(RESUME, 0, token + struct.pack("!I", 2))
    s["resumed"] = frame(RESUMED, 0, b"\x02")
    s["sync"] = frame(SYNC, 1, struct.pack("!BQQ", 1, 1 << 20, (1 << 20) + 65536))
    s["window-ack"] = frame(WINDOW, 1, struct.pack("!II", 65536, 0xfffffff0))
    s["bad-sync-limit"] = frame(SYNC, 1, struct.pack("!BQQ", 0, 10, 9))
    s["bad-window-6"] = frame(WINDOW, 1, b"\0\0\0\1\0\0")
    # What the server reads from a client, and the client from a server.
    s["stream-client-to-server"] = b"".join([
        hello(),
        frame(OPEN, 1, ADDRS["domain"]),
        frame(DATA, 1, b"hello"),
        frame(WINDOW, 1, struct.pack("!I", 65536)),
        frame(OPEN, 3, ADDRS["v6"]),
        frame(UDP_OPEN, 5),
        frame(UDP_DATA, 5, ADDRS["v4"] + b"\x12\x34query"),
        frame(PING, 0, b"\0" * 8),
        frame(FIN, 1),
        frame(RST, 3, b"\x01"),
        frame(PONG, 0, b"abcdefgh"),
    ])
    s["stream-server-to-client"] = b"".join([
        hello(window=1 << 20),
        frame(RESULT, 1, b"\x00" + ADDRS["v4"]),
        frame(RESULT, 3, b"\x05"),
        frame(DATA, 1, b"HTTP/1.1 200 OK\r\n\r\n"),
        frame(WINDOW, 1, struct.pack("!I", 1)),
        frame(RESULT, 5, b"\x00" + ADDRS["v6"]),
        frame(UDP_DATA, 5, ADDRS["domain"] + b"answer"),
        frame(FIN, 1),
        frame(PING, 0, b"pingpong"),
        frame(GOAWAY, 0, b"\x00"),
    ])
    s["stream-partial-tail"] = hello() + frame(DATA, 1, b"abcdef")[:10]
    # Refused: each check of the decoder once.
    s["bad-magic"] = frame(HELLO, 0, b"PXT2\x01\0\0\0\0\0\x10\0")
    s["bad-hello-window-0"] = hello(window=0)
    s["bad-flags"] = frame(DATA, 1, b"x", flags=1)
    s["bad-type-0"] = frame(0, 1)
    s["bad-type-18"] = frame(18, 1)
    s["bad-udp-path-2"] = frame(UDP_PATH, 0, b"\x02")
    s["bad-data-stream-0"] = frame(DATA, 0, b"x")
    s["bad-ping-stream-1"] = frame(PING, 1, b"12345678")
    s["bad-data-empty"] = frame(DATA, 1)
    s["bad-length-max"] = struct.pack("!BBHI", DATA, 0, 0xFFFF, 1)
    s["bad-window-0"] = frame(WINDOW, 1, b"\0\0\0\0")
    s["bad-open-trailing"] = frame(OPEN, 1, ADDRS["v4"] + b"x")
    s["bad-open-atyp"] = frame(OPEN, 1, b"\x02\0\0\0\0\0\0")
    s["bad-open-empty-domain"] = frame(OPEN, 1, b"\x03\x00\x00\x50")
    s["bad-open-nul-domain"] = frame(OPEN, 1, dom(b"a\0b", 80))
    s["bad-result-short-addr"] = frame(RESULT, 1, b"\x00\x01\x7f\0")
    s["bad-udp-no-addr"] = frame(UDP_DATA, 3, b"")
    s["bad-rst-long"] = frame(RST, 1, b"\x01\x02")
    s["bad-after-good"] = hello() + frame(FIN, 0)
    return s

# ------------------------------------------------------------ SOCKS5


def greeting(*methods):
    return bytes([5, len(methods)]) + bytes(methods)


def userpass(user, pw):
    return bytes([1, len(user)]) + user + bytes([len(pw)]) + pw


def request(cmd, addr):
    return bytes([5, cmd, 0]) + addr


def socks5_seeds():
    s = {}
    s["greeting-noauth"] = greeting(0)
    s["greeting-userpass"] = greeting(2)
    s["greeting-both"] = greeting(0, 2)
    s["greeting-255"] = greeting(*range(255))
    s["userpass"] = userpass(b"alice", b"correct horse battery staple")
    s["userpass-empty-pass"] = userpass(b"bob", b"")
    s["userpass-max"] = userpass(b"u" * 255, b"p" * 255)
    for name, a in ADDRS.items():
        s["connect-" + name] = request(1, a)
        s["udp-hdr-" + name] = b"\0\0\0" + a + b"payload"
    s["bind-v4"] = request(2, ADDRS["v4"])
    s["udp-associate-v4-any"] = request(3, v4("0.0.0.0", 0))
    s["udp-associate-v6"] = request(3, ADDRS["v6"])
    s["udp-hdr-frag"] = b"\0\0\x01" + ADDRS["v4"] + b"frag"
    s["udp-hdr-empty-payload"] = b"\0\0\0" + ADDRS["domain"]
    # Whole conversations, as one client sends them.
    s["session-noauth-connect"] = greeting(0) + request(1, ADDRS["domain"])
    s["session-userpass-connect"] = (greeting(0, 2) + userpass(b"alice", b"secret")
                                     + request(1, ADDRS["v6"]))
    s["session-udp"] = greeting(0) + request(3, v4("127.0.0.1", 40000))
    s["session-trailing-data"] = (greeting(0) + request(1, ADDRS["v4"])
                                  + b"GET / HTTP/1.0\r\n\r\n")
    # Refused.
    s["bad-version-4"] = b"\x04\x01\x00\x50\x7f\x00\x00\x01\x00"
    s["bad-http"] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    s["bad-no-methods"] = b"\x05\x00"
    s["bad-reserved"] = b"\x05\x01\x01" + ADDRS["v4"]
    s["bad-atyp"] = b"\x05\x01\x00\x02" + b"\0" * 6
    s["bad-empty-domain"] = b"\x05\x01\x00\x03\x00\x00\x50"
    s["bad-nul-domain"] = request(1, dom(b"exa\0mple.com", 80))
    s["bad-auth-version"] = b"\x05\x05alice\x01x"
    s["bad-auth-empty-user"] = b"\x01\x00\x01x"
    s["bad-udp-short"] = b"\0\0\0\x01\x7f\0"
    return s

# ------------------------------------------------------------ addresses (text)


ADDR_TEXT = [
    "1.2.3.4:80", "127.0.0.1", "0.0.0.0:0", "255.255.255.255:65535",
    "[::1]:443", "[::]:1080", "[::1]", "::1", "2001:db8::1", "[2001:db8::1]:53",
    "[::ffff:192.168.1.1]:8080", "::ffff:10.0.0.1",
    "example.com:8080", "example.com", "localhost", "localhost.:80",
    "vps.example.net:443", "a-b_c.d:1", "x" * 63 + ".com:1",
    "*:443", ":443", "*", "host:65536", "host:", "[::1]x", "127.1", "1.2.3.4.",
    "fe80::1%eth0", "[fe80::1%eth0]:80", "-:80", "a..b:80", ".:80", "..",
    "10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/0", "1.2.3.4/32", "1.2.3.4/33",
    "fd00::/8", "::/0", "::1/128", "2001:db8::/129", "::ffff:10.0.0.0/104",
    "::ffff:0:0/96", "::ffff:10.0.0.0/90", "10.0.0.1/", "10.0.0.1/08", "10.0.0.1/0x8",
]


def addr_seeds():
    s = {}
    for i, t in enumerate(ADDR_TEXT):
        s["text-%02d" % i] = t.encode()
    for name, a in ADDRS.items():
        s["wire-" + name] = a
    s["wire-bad-atyp"] = b"\x05\x01\x02\x03"
    s["wire-bad-empty-domain"] = b"\x03\x00\x00\x50"
    s["wire-bad-nul-domain"] = dom(b"a\0", 80)
    # CIDR text, then the 16 bytes of an address to match against it.
    s["cidr-match-v4"] = b"10.0.0.0/8\0" + socket.inet_pton(socket.AF_INET, "10.9.8.7") + bytes(12)
    s["cidr-match-v6"] = b"fd00::/8\0" + socket.inet_pton(socket.AF_INET6, "fd12::1")
    s["cidr-match-mapped"] = (b"::ffff:192.168.0.0/112\0"
                              + socket.inet_pton(socket.AF_INET6, "::ffff:192.168.3.4"))
    return s

# ------------------------------------------------------------ configs

# Placeholders: the parsers only carry the text, nothing decodes it.
PEM_CERT = ("-----BEGIN CERTIFICATE-----\n"
            "ZnV6eiBzZWVkOiBub3QgYSBjZXJ0aWZpY2F0ZQ==\n"
            "-----END CERTIFICATE-----\n")
PEM_KEY = ("-----BEGIN PRIVATE KEY-----\n"
           "ZnV6eiBzZWVkOiBub3QgYSBrZXk=\n"
           "-----END PRIVATE KEY-----\n")


def block(tag, text):
    return "<%s>\n%s</%s>\n" % (tag, text, tag)


INLINE = block("ca", PEM_CERT) + block("cert", PEM_CERT) + block("key", PEM_KEY)

SERVER = ("listen [::]:443\nlisten 127.0.0.1:8443\n" + INLINE +
          "crl crl.pem\n"
          "dns 1.1.1.1 [2606:4700:4700::1111]:53 9.9.9.9:5353\n"
          "deny 10.0.0.0/8 fd00::/8\nallow 127.0.0.1/32 ::1/128\n"
          "log-level debug\nkeepalive 10s 30s\nwindow 256k\nmax-window 4M\n"
          "handshake-timeout 10s\nconnect-timeout 500ms\n")

CLIENT = ("server vps.example.net:443\nserver-name vps.example.net\n"
          "socks 0.0.0.0:1080\n"
          "socks-user alice \"correct horse battery staple\"\n"
          "socks-user bob \"quote \\\" and backslash \\\\\"\n"
          "socks-allow 192.168.1.0/24 10.0.0.0/8\n"
          "log-level info\nkeepalive 5s 15s\nconnect-timeout 10s\n"
          "window 64k\nmax-window 1M\n" + INLINE)

FILES = "ca ca.crt\ncert server.crt\nkey server.key\n"


def conf_seeds():
    s = {}
    for name in ("server.conf", "client.conf"):
        with open(os.path.join(ROOT, "conf", name), "rb") as f:
            s["example-" + name] = f.read()
    s["inline-blocks"] = INLINE.encode()
    s["all-directives"] = (
        "# every directive of the fuzz table\n"
        "ca ca.crt\ncert \"my cert.pem\"\n" + block("key", PEM_KEY) +
        "log-level debug\nkeepalive 10s 30s\nwindow 256k\nlisten [::1]:443\n"
        "dns 1.1.1.1 8.8.8.8:53 [::1]:5353\nallow 10.0.0.0/8 ::/0\n"
        "deny 1.2.3.4 5.6.7.8/32 9.9.9.0/24 fe80::/10\n"
        "socks-user alice \"pass word\"\nmax-flows 1000\nrange a b c\nflag\n"
        "banner\n<banner>\nwelcome\n</banner>\nignored x y\n"
        "  ; a semicolon comment\n\t# indented comment\n").encode()
    s["quotes-escapes"] = (
        "socks-user \"a b\" \"c\\\"d\\\\e\"\nrange \"\" \"#not a comment\" x#y\n"
        "listen 1.2.3.4:80 # trailing comment\n").encode()
    s["crlf-bom"] = ("\ufeffca ca.crt\r\n<cert>\r\nline\r\n</cert>\r\nflag\r\n").encode()
    s["empty-block"] = b"<ca>\n</ca>\n"
    s["blank-lines-in-block"] = b"<key>\n\n  indented\n\n</key>\n"
    s["no-final-newline"] = b"flag\nrange 1 2 3"
    s["err-unterminated-quote"] = b"socks-user \"alice pass\n"
    s["err-unknown-directive"] = b"frobnicate 1\n"
    s["err-arg-count"] = b"keepalive 10s\n"
    s["err-too-many-args"] = ("deny" + " 1.2.3.4" * 16 + "\n").encode()
    s["err-unknown-block"] = b"<listen>\n1.2.3.4\n</listen>\n"
    s["err-nested-block"] = b"<ca>\n<cert>\n</cert>\n</ca>\n"
    s["err-wrong-close"] = b"<ca>\nx\n</key>\n"
    s["err-close-without-open"] = b"</ca>\n"
    s["err-unclosed-block"] = b"<ca>\n" + PEM_CERT.encode()
    s["err-given-twice"] = b"ca a\nca b\n"
    s["err-handler"] = b"broken\n"
    s["err-handler-block"] = b"<broken>\nx\n</broken>\n"
    s["err-bad-values"] = b"window 12q\n"
    s["long-line"] = ("range " + "x" * 4090 + "\n").encode()
    s["too-long-line"] = ("range " + "x" * 4100 + "\n").encode()
    s["nul-byte"] = b"flag\nrange a\0b\n"
    return s


def daemon_conf_seeds():
    s = {}
    for name in ("server.conf", "client.conf"):
        with open(os.path.join(ROOT, "conf", name), "rb") as f:
            s["example-" + name] = f.read()
    s["server-inline"] = SERVER.encode()
    s["client-inline"] = CLIENT.encode()
    s["server-files"] = ("listen *:443\n" + FILES + "allow 10.0.0.0/8\n").encode()
    s["client-files"] = ("server [2001:db8::1]:443\n" + FILES).encode()
    s["client-loopback-only"] = ("server 1.2.3.4\nsocks [::1]:1080\n" + INLINE).encode()
    s["client-lan-no-auth"] = ("server 1.2.3.4\nsocks 0.0.0.0:1080\n" + INLINE).encode()
    s["key-readable-by-others"] = ("ca ca.crt\ncert server.crt\nkey open.key\n").encode()
    s["empty-pem-file"] = ("ca empty.crt\ncert server.crt\nkey server.key\n").encode()
    s["missing-file"] = ("ca nothere.crt\n").encode()
    s["outside-folder"] = ("ca /etc/hostname\ncert ../server.crt\n").encode()
    s["bad-window-order"] = ("window 4M\nmax-window 1M\n" + INLINE).encode()
    s["bad-keepalive"] = ("keepalive 30s 10s\n" + INLINE).encode()
    s["bad-log-level"] = b"log-level loud\n"
    s["bad-listen-domain"] = b"listen example.com:443\n"
    s["bad-dns"] = b"dns 1.1.1.1 resolver.example\n"
    s["control-socket"] = ("control run/proxy.sock\n" + FILES).encode()
    s["control-none"] = b"control none\nlisten bad\n"
    s["bad-socks-user"] = ("socks-user \"\" pw\nsocks-user " + "u" * 256 + " pw\n").encode()
    return s


# ------------------------------------------------------------ DNS


def qname(name):
    out = b""
    for label in name.split(".") if name else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_query(ident, name, qtype=1):
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname(name) + struct.pack("!HH", qtype, 1)


def rr(name, rtype, ttl, rdata):
    # name: bytes already encoded (a name or a compression pointer)
    return name + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def dns_answer(ident, name, records, rcode=0):
    head = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(records), 0, 0)
    return head + qname(name) + struct.pack("!HH", 1, 1) + b"".join(records)


PTR = b"\xc0\x0c"  # the question's name


def dns_msg_seeds():
    a = socket.inet_pton(socket.AF_INET, "198.18.11.5")
    aaaa = socket.inet_pton(socket.AF_INET6, "2001:db8:11::5")
    s = {}
    s["query-a"] = dns_query(0x1234, "lib.campus.example.edu")
    s["query-aaaa"] = dns_query(7, "www.example.com", 28)
    s["query-root"] = dns_query(1, "")
    s["answer-a-aaaa"] = dns_answer(0x1234, "lib.campus.example.edu",
                                    [rr(PTR, 1, 300, a), rr(PTR, 28, 60, aaaa)])
    s["answer-cname"] = dns_answer(9, "www.example.com",
                                   [rr(PTR, 5, 60, qname("cdn.example.net")),
                                    rr(qname("cdn.example.net"), 1, 0x80000000, a)])
    s["answer-servfail"] = dns_answer(3, "x.example", [], rcode=2)
    s["answer-cut"] = dns_answer(4, "y.example", [rr(PTR, 1, 5, a)])[:-2]
    return s


TARGETS = {
    "frame": frame_seeds,
    "socks5": socks5_seeds,
    "addr": addr_seeds,
    "conf": conf_seeds,
    "daemon_conf": daemon_conf_seeds,
    "dns_msg": dns_msg_seeds,
}


def main():
    for target, make in TARGETS.items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        seeds = make()
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%-12s %3d seeds in %s" % (target, len(seeds), os.path.relpath(d, ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
