#!/usr/bin/env python3
"""A test origin for the ssl-bump suite: HTTP or HTTPS on one address,
every request logged (one line: method, Host, path) to LOG and answered 200
with "HELLO NAME PATH". Prints READY when listening.

    tls_origin.py --listen IP:PORT --name NAME --log FILE [--cert PEM --key PEM]
"""
import argparse
import http.server
import ssl
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    log = open(a.log, "a", buffering=1)

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(min(n, 1 << 20))
            log.write(f"{self.command} {self.headers.get('Host', '-')} {self.path}\n")
            body = f"HELLO {a.name} {self.path}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = do_any

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer((host, int(port)), H)
    srv.daemon_threads = True
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("READY", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
