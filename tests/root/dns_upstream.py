#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""A stand-in upstream resolver for the DNS tests and the benchmark.

Listens on ADDR:PORT, UDP and TCP. Logs every question it receives, one line
"proto qtype name" (name as received, every question of a message), to LOG,
flushed at once. Answers A with 10.53.0.1, AAAA with fd53::1, TXT with "ok",
anything else with an empty NOERROR answer.

    dns_upstream.py ADDR PORT LOG
"""
import socket
import struct
import sys
import threading


def questions(msg):
    """[(name, qtype)] of every question, and the offset after them."""
    qd = struct.unpack(">H", msg[4:6])[0]
    off, out = 12, []
    for _ in range(qd):
        labels = []
        while True:
            n = msg[off]
            if n == 0:
                off += 1
                break
            if n & 0xC0:
                off += 2
                break
            labels.append(msg[off + 1:off + 1 + n].decode("latin-1"))
            off += 1 + n
        qtype = struct.unpack(">H", msg[off:off + 2])[0]
        off += 4
        out.append((".".join(labels), qtype))
    return out, off


def answer(msg):
    qs, end = questions(msg)
    flags = 0x8180 | (struct.unpack(">H", msg[2:4])[0] & 0x0100)
    first_q = msg[12:end] if len(qs) == 1 else b""
    ans = b""
    if len(qs) == 1:
        qtype = qs[0][1]
        if qtype == 1:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([10, 53, 0, 1])
        elif qtype == 28:
            ans = (b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 60, 16) +
                   bytes([0xfd, 0x53] + [0] * 13 + [1]))
        elif qtype == 16:
            ans = b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, 3) + b"\x02ok"
    hdr = msg[:2] + struct.pack(">HHHHH", flags, 1 if first_q else 0,
                                1 if ans else 0, 0, 0)
    return qs, hdr + first_q + ans


def log_qs(log, lock, proto, qs):
    with lock:
        for name, qtype in qs:
            log.write("%s %d %s\n" % (proto, qtype, name))
        log.flush()


def serve_udp(sock, log, lock):
    while True:
        msg, peer = sock.recvfrom(65535)
        try:
            qs, reply = answer(msg)
        except (IndexError, struct.error):
            log_qs(log, lock, "udp", [("<malformed>", 0)])
            continue
        log_qs(log, lock, "udp", qs)
        sock.sendto(reply, peer)


def serve_tcp_conn(conn, log, lock):
    with conn:
        while True:
            hdr = conn.recv(2)
            if len(hdr) < 2:
                return
            n = struct.unpack(">H", hdr)[0]
            msg = b""
            while len(msg) < n:
                chunk = conn.recv(n - len(msg))
                if not chunk:
                    return
                msg += chunk
            try:
                qs, reply = answer(msg)
            except (IndexError, struct.error):
                log_qs(log, lock, "tcp", [("<malformed>", 0)])
                return
            log_qs(log, lock, "tcp", qs)
            conn.sendall(struct.pack(">H", len(reply)) + reply)


def serve_tcp(sock, log, lock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn, log, lock),
                         daemon=True).start()


def main():
    addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    log = open(path, "a")
    lock = threading.Lock()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    u.bind((addr, port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(64)
    threading.Thread(target=serve_tcp, args=(t, log, lock), daemon=True).start()
    print("READY", flush=True)
    serve_udp(u, log, lock)


if __name__ == "__main__":
    main()
