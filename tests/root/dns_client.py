#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""DNS queries the resolvers in libc and dig do not make, for test_dns.sh and
the benchmark. Each command prints "key value" lines.

    dns_client.py ask ADDR NAME [TYPE]        UDP, connected: rcode, answer, peer
    dns_client.py sendto ADDR NAME            unconnected: rcode, reply source
    dns_client.py tcp6 ADDR6 NAME             TCP over an IPv6 socket: rcode
    dns_client.py udp6 ADDR6 NAME             connected UDP over IPv6: rcode, peer
    dns_client.py sendmmsg ADDR FMT N         N queries (FMT %% i) in one sendmmsg(2)
    dns_client.py twoq ADDR NAME1 NAME2       one message, two questions
    dns_client.py burst ADDR ALLOWFMT DENYFMT N   N allowed + N refused, window 100
    dns_client.py bench ADDR FMT N            N lookups one at a time: latency
    dns_client.py rate ADDR FMT N             N lookups, 50 in flight: rate
  (bench and rate: FMT takes two numbers, a salt ($DNS_SALT, else the pid)
   and the index)
"""
import ctypes
import os
import random
import socket
import struct
import sys
import time

TYPES = {"A": 1, "AAAA": 28, "TXT": 16, "MX": 15, "ANY": 255}


def query(name, qtype=1, qid=None, qd=None):
    qid = random.randrange(65536) if qid is None else qid
    qs = qd if qd is not None else [(name, qtype)]
    body = b""
    for n, t in qs:
        for label in n.split("."):
            body += bytes([len(label)]) + label.encode()
        body += b"\0" + struct.pack(">HH", t, 1)
    return struct.pack(">HHHHHH", qid, 0x0100, len(qs), 0, 0, 0) + body, qid


def parse(reply):
    """rcode and the first A/AAAA answer as text (or '-')."""
    rcode = reply[3] & 0xF
    qd, an = struct.unpack(">HH", reply[4:8])
    off = 12
    for _ in range(qd):
        while reply[off]:
            off += 1 + reply[off]
        off += 5
    ans = "-"
    for _ in range(an):
        if reply[off] & 0xC0:
            off += 2
        else:
            while reply[off]:
                off += 1 + reply[off]
            off += 1
        t, _, _, rdlen = struct.unpack(">HHIH", reply[off:off + 10])
        off += 10
        rdata = reply[off:off + rdlen]
        off += rdlen
        if t == 1:
            ans = socket.inet_ntop(socket.AF_INET, rdata)
        elif t == 28:
            ans = socket.inet_ntop(socket.AF_INET6, rdata)
        if ans != "-":
            break
    rc = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
    return rc.get(rcode, str(rcode)), ans


def out(key, value):
    print("%s %s" % (key, value), flush=True)


def ask(addr, name, qtype="A"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((addr, 53))
        out("peer", "%s:%d" % s.getpeername())
        pkt, _ = query(name, TYPES[qtype])
        s.send(pkt)
        rcode, ans = parse(s.recv(4096))
        out("rcode", rcode)
        out("answer", ans)
    except OSError as e:
        out("rcode", "error:%s" % type(e).__name__)


def sendto(addr, name):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        pkt, _ = query(name)
        s.sendto(pkt, (addr, 53))
        reply, src = s.recvfrom(4096)
        out("rcode", parse(reply)[0])
        out("source", "%s:%d" % (src[0], src[1]))
    except OSError as e:
        out("rcode", "error:%s" % type(e).__name__)


def tcp6(addr, name):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((addr, 53))
        out("peer", "%s:%d" % s.getpeername()[:2])
        pkt, _ = query(name)
        s.sendall(struct.pack(">H", len(pkt)) + pkt)
        n = struct.unpack(">H", s.recv(2))[0]
        reply = b""
        while len(reply) < n:
            reply += s.recv(n - len(reply))
        out("rcode", parse(reply)[0])
    except OSError as e:
        out("rcode", "error:%s" % type(e).__name__)


def udp6(addr, name):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.connect((addr, 53))
        out("peer", "%s:%d" % s.getpeername()[:2])
        pkt, _ = query(name)
        s.send(pkt)
        out("rcode", parse(s.recv(4096))[0])
    except OSError as e:
        out("rcode", "error:%s" % type(e).__name__)


class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", Msghdr), ("len", ctypes.c_uint)]


def do_sendmmsg(addr, prefix, n):
    libc = ctypes.CDLL(None, use_errno=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    sin = struct.pack("<H", socket.AF_INET) + struct.pack(">H", 53) + \
        socket.inet_aton(addr) + b"\0" * 8
    sinbuf = ctypes.create_string_buffer(sin, len(sin))
    keep, msgs = [], (Mmsghdr * n)()
    for i in range(n):
        pkt, _ = query(prefix % i)
        buf = ctypes.create_string_buffer(pkt, len(pkt))
        iov = Iovec(ctypes.cast(buf, ctypes.c_void_p), len(pkt))
        keep += [buf, iov]
        msgs[i].hdr.name = ctypes.cast(sinbuf, ctypes.c_void_p)
        msgs[i].hdr.namelen = len(sin)
        msgs[i].hdr.iov = ctypes.pointer(iov)
        msgs[i].hdr.iovlen = 1
    sent = libc.sendmmsg(s.fileno(), msgs, n, 0)
    out("sent", sent if sent >= 0 else "error:%d" % ctypes.get_errno())
    codes = {}
    try:
        for _ in range(max(sent, 0)):
            rcode = parse(s.recv(4096))[0]
            codes[rcode] = codes.get(rcode, 0) + 1
    except OSError:
        pass
    out("rcodes", ",".join("%s=%d" % kv for kv in sorted(codes.items())) or "none")


def twoq(addr, n1, n2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    pkt, _ = query(None, qd=[(n1, 1), (n2, 1)])
    try:
        s.sendto(pkt, (addr, 53))
        reply = s.recv(4096)
        out("rcode", parse(reply)[0])
    except OSError as e:
        out("rcode", "error:%s" % type(e).__name__)


def burst(addr, allow_fmt, deny_fmt, n):
    """n allowed and n refused names, at most 100 in flight, no retries."""
    names = [(allow_fmt % i, True) for i in range(n)] + \
            [(deny_fmt % i, False) for i in range(n)]
    random.shuffle(names)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.settimeout(5)
    s.connect((addr, 53))
    pending, nxt, ok_a, ok_d, bad, qid = {}, 0, 0, 0, 0, 0
    t0 = time.monotonic()
    while nxt < len(names) or pending:
        while nxt < len(names) and len(pending) < 100:
            qid = (qid + 1) & 0xFFFF
            pkt, _ = query(names[nxt][0], qid=qid)
            pending[qid] = names[nxt]
            s.send(pkt)
            nxt += 1
        try:
            reply = s.recv(4096)
        except OSError:
            break
        rid = struct.unpack(">H", reply[:2])[0]
        if rid not in pending:
            continue
        _, allowed = pending.pop(rid)
        rcode, ans = parse(reply)
        if allowed and rcode == "NOERROR" and ans == "10.53.0.1":
            ok_a += 1
        elif not allowed and rcode == "REFUSED":
            ok_d += 1
        else:
            bad += 1
    out("allowed_ok", ok_a)
    out("refused_ok", ok_d)
    out("wrong", bad)
    out("lost", len(pending) + len(names) - nxt)
    out("seconds", "%.2f" % (time.monotonic() - t0))


def rate(addr, fmt, n):
    """n lookups of distinct names, 50 in flight: answers per second."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.settimeout(3)
    s.connect((addr, 53))
    salt = int(os.environ.get("DNS_SALT", os.getpid()))
    pending, nxt, done, qid = set(), 0, 0, 0
    t0 = time.monotonic()
    while nxt < n or pending:
        while nxt < n and len(pending) < 50:
            qid = (qid + 1) & 0xFFFF
            pkt, _ = query(fmt % (salt, nxt), qid=qid)
            pending.add(qid)
            s.send(pkt)
            nxt += 1
        try:
            reply = s.recv(4096)
        except OSError:
            break
        rid = struct.unpack(">H", reply[:2])[0]
        if rid in pending:
            pending.discard(rid)
            done += 1
    total = time.monotonic() - t0
    out("qps", "%.0f" % (done / total if total else 0))
    out("lost", n - done)


def bench(addr, fmt, n):
    """n lookups of distinct names, one at a time: median latency (us) and rate."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.connect((addr, 53))
    lat, fails = [], 0
    salt = int(os.environ.get("DNS_SALT", os.getpid()))
    t0 = time.monotonic()
    for i in range(n):
        pkt, qid = query(fmt % (salt, i))
        t = time.monotonic()
        s.send(pkt)
        try:
            while True:
                reply = s.recv(4096)
                if struct.unpack(">H", reply[:2])[0] == qid:
                    break
        except OSError:
            fails += 1
            continue
        lat.append(time.monotonic() - t)
    total = time.monotonic() - t0
    lat.sort()
    out("median_us", "%.0f" % (lat[len(lat) // 2] * 1e6 if lat else 0))
    out("qps", "%.0f" % (len(lat) / total if total else 0))
    out("fails", fails)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ask":
        ask(*args)
    elif cmd == "sendto":
        sendto(*args)
    elif cmd == "tcp6":
        tcp6(*args)
    elif cmd == "udp6":
        udp6(*args)
    elif cmd == "sendmmsg":
        do_sendmmsg(args[0], args[1], int(args[2]))
    elif cmd == "twoq":
        twoq(*args)
    elif cmd == "burst":
        burst(args[0], args[1], args[2], int(args[3]))
    elif cmd == "rate":
        rate(args[0], args[1], int(args[2]))
    elif cmd == "bench":
        bench(args[0], args[1], int(args[2]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
