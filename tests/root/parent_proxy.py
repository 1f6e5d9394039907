#!/usr/bin/env python3
"""A stand-in corporate parent proxy for the --upstream-proxy suite: plain
HTTP in absolute form and CONNECT tunnels, names resolved through a hosts
file of the test. Every request line it gets is logged ("METHOD TARGET").
Prints READY when listening.

    parent_proxy.py --listen IP:PORT --hosts FILE --log FILE
"""
import argparse
import select
import socket
import socketserver
import sys
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    names = {}
    for line in open(a.hosts):
        f = line.split("#")[0].split()
        for n in f[1:]:
            names[n.lower()] = f[0]
    log = open(a.log, "a", buffering=1)

    def resolve(h):
        return names.get(h.lower(), h)

    def pump(x, y):
        socks = [x, y]
        while True:
            r, _, _ = select.select(socks, [], [], 30)
            if not r:
                return
            for s in r:
                d = s.recv(65536)
                if not d:
                    return
                (y if s is x else x).sendall(d)

    class H(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline(8192).decode("latin-1").strip()
            head = []
            while True:
                h = self.rfile.readline(8192)
                if h in (b"\r\n", b"\n", b""):
                    break
                head.append(h)
            try:
                method, target, _ = line.split(" ", 2)
            except ValueError:
                return
            log.write(f"{method} {target}\n")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up = socket.create_connection((resolve(host), int(port)), 10)
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self.wfile.flush()
                pump(self.connection, up)
                up.close()
                return
            u = urllib.parse.urlsplit(target)
            up = socket.create_connection((resolve(u.hostname), u.port or 80), 10)
            path = (u.path or "/") + (("?" + u.query) if u.query else "")
            req = f"{method} {path} HTTP/1.1\r\n".encode()
            keep = [h for h in head if not h.lower().startswith((b"connection", b"proxy-"))]
            up.sendall(req + b"".join(keep) + b"Connection: close\r\n\r\n")
            while True:
                d = up.recv(65536)
                if not d:
                    break
                self.wfile.write(d)
            up.close()

    host, port = a.listen.rsplit(":", 1)
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    srv = socketserver.ThreadingTCPServer((host, int(port)), H)
    srv.daemon_threads = True
    print("READY", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
