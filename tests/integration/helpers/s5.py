"""Minimal hand-written SOCKS5 client pieces (RFC 1928/1929) shared by the
integration helpers. Plain blocking sockets; every read is exact so a reply
split over several TCP segments is handled.
"""
import ipaddress
import socket
import struct


class Closed(Exception):
    """The peer closed (or reset) the connection before a full message."""


def recv_exact(sock, n):
    """Reads exactly n bytes or raises Closed with what was received."""
    buf = b""
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise Closed(buf)
        buf += chunk
    return buf


def encode_addr(host, port, force_domain=False):
    """ATYP + DST.ADDR + DST.PORT for an IPv4/IPv6 literal or a name."""
    if not force_domain:
        try:
            ip = ipaddress.ip_address(host)
            atyp = 1 if ip.version == 4 else 4
            return bytes([atyp]) + ip.packed + struct.pack("!H", port)
        except ValueError:
            pass
    name = host.encode()
    return bytes([3, len(name)]) + name + struct.pack("!H", port)


def read_addr(sock):
    """Reads ATYP + BND.ADDR + BND.PORT from a stream; returns (host, port)."""
    atyp = recv_exact(sock, 1)[0]
    if atyp == 1:
        host = str(ipaddress.IPv4Address(recv_exact(sock, 4)))
    elif atyp == 4:
        host = str(ipaddress.IPv6Address(recv_exact(sock, 16)))
    elif atyp == 3:
        host = recv_exact(sock, recv_exact(sock, 1)[0]).decode("latin-1")
    else:
        raise ValueError("reply with unknown ATYP %d" % atyp)
    port = struct.unpack("!H", recv_exact(sock, 2))[0]
    return host, port


def parse_udp(data):
    """Splits a SOCKS5 UDP datagram into (frag, host, port, payload)."""
    frag, atyp = data[2], data[3]
    if atyp == 1:
        host, off = str(ipaddress.IPv4Address(data[4:8])), 8
    elif atyp == 4:
        host, off = str(ipaddress.IPv6Address(data[4:20])), 20
    elif atyp == 3:
        n = data[4]
        host, off = data[5:5 + n].decode("latin-1"), 5 + n
    else:
        raise ValueError("datagram with unknown ATYP %d" % atyp)
    port = struct.unpack("!H", data[off:off + 2])[0]
    return frag, host, port, data[off + 2:]


def udp_header(host, port, frag=0, force_domain=False):
    """RSV RSV FRAG + address: the header to put before a UDP payload."""
    return b"\x00\x00" + bytes([frag]) + encode_addr(host, port, force_domain)


def udp_exchange(u, relay, host, port, payload, frag=0, wait=2.0,
                 force_domain=False):
    """Sends one datagram through the relay; returns the parsed reply
    (frag, host, port, payload) that echoes it, or None on timeout.
    Late answers to earlier datagrams are skipped."""
    u.sendto(udp_header(host, port, frag, force_domain) + payload, relay)
    u.settimeout(wait)
    try:
        while True:
            r = parse_udp(u.recvfrom(65535)[0])
            if r[3] == payload:
                return r
    except socket.timeout:
        return None


def udp_associate(socks_host, socks_port, timeout=10.0):
    """A UDP ASSOCIATE (DST 0.0.0.0:0, no auth) and a local UDP socket
    to use it with: (control connection, REP, (BND.ADDR, BND.PORT), relay
    address, socket). A BND.ADDR of 0.0.0.0 or :: means the SOCKS host."""
    ctl = open_conn(socks_host, socks_port, timeout)
    greet(ctl)
    rep, bh, bp = request(ctl, 3, "0.0.0.0", 0)
    relay = (socks_host if bh in ("0.0.0.0", "::") else bh, bp)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    return ctl, rep, (bh, bp), relay, u


def greet(sock, methods=b"\x00"):
    """Sends a greeting; returns the method byte the server chose."""
    sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
    ver, method = recv_exact(sock, 2)
    if ver != 5:
        raise ValueError("greeting reply version %d" % ver)
    return method


def userpass(sock, user, password):
    """RFC 1929 sub-negotiation; returns the status byte (0 = success)."""
    u, p = user.encode(), password.encode()
    sock.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    return recv_exact(sock, 2)[1]


def request(sock, cmd, host, port, force_domain=False):
    """Sends a request; returns (REP, bound host, bound port)."""
    sock.sendall(b"\x05" + bytes([cmd, 0]) + encode_addr(host, port, force_domain))
    return read_reply(sock)


def read_reply(sock):
    """Reads a full request reply; returns (REP, bound host, bound port)."""
    ver, rep, _rsv = recv_exact(sock, 3)
    if ver != 5:
        raise ValueError("reply version %d" % ver)
    host, port = read_addr(sock)
    return rep, host, port


async def read_reply_async(reader):
    """read_reply for an asyncio StreamReader: the REP code."""
    head = await reader.readexactly(4)
    if head[0] != 5:
        raise ValueError("reply version %d" % head[0])
    n = {1: 4, 4: 16}.get(head[3])
    if n is None:
        n = (await reader.readexactly(1))[0]
    await reader.readexactly(n + 2)
    return head[1]


def open_conn(socks_host, socks_port, timeout=10.0, source=None):
    """A TCP connection to the SOCKS server with a timeout set, from the
    local address source when given."""
    s = socket.create_connection((socks_host, socks_port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    s.settimeout(timeout)
    return s

