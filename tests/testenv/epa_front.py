#!/usr/bin/python3
"""The CA's HTTPS front with Extended Protection (channel binding), what IIS
does with EPA on /certsrv and what Debian's mod_auth_gssapi cannot: each
request's Negotiate token is accepted with GSS-API channel bindings made of
this front's own TLS certificate (RFC 5929 tls-server-end-point), then the
request goes to the certsrv emulator like Apache sends it (the authenticated
principal in X-Remote-User, any such header from the client dropped).

  epa_front.py --listen IP:PORT --cert PEM --key PEM --keytab FILE
               --backend HOST:PORT --mode required|accept|off
               [--binding-cert PEM] [--error-page FILE] [--auth-log FILE] [--pidfile FILE]
               [--user NAME] [--prefix PATH]...

Modes, as IIS names them:
  required  a token must carry the right bindings (GSS_C_CHANNEL_BOUND_FLAG);
            one without bindings gets 401, wrong bindings get 401
  accept    bindings are checked when the client sends them (wrong ones: 401),
            a token without bindings is accepted
  off       bindings are not checked at all

--binding-cert: check bindings against another certificate than the one this
front serves, which is what IIS sees behind a TLS-terminating proxy (the
client binds to the proxy's certificate, IIS to its own).

--prefix: the paths served (default /certsrv), repeatable; any other path
gets 404 before authentication, as IIS answers for an application that is
not installed.  An empty --prefix "" serves nothing (a CA whose web
enrollment role was removed).  The CEP/CES front (domain.sh ces) serves "/"
in front of ces_emu.py.

Every authentication decision is one JSON line in --auth-log: time, mode,
result (ok, no-token, bad-bindings, unbound, refused), channel_bound, user,
the binding hash, the request line.  Listens where it is told (the CA's
address inside the test domain's private network); binds as root, then runs
as --user.
"""
import argparse
import base64
import hashlib
import http.client
import http.server
import json
import os
import pwd
import socket
import ssl
import sys
import threading
import time

import gssapi.raw as gss
from gssapi.raw import RequirementFlag

# signature algorithm OID -> hash of the tls-server-end-point binding (RFC 5929
# 4.1: MD5 and SHA-1 become SHA-256); RSASSA-PSS is read from its parameters
SIG_HASH = {
    "1.2.840.113549.1.1.4": "sha256",    # md5WithRSAEncryption
    "1.2.840.113549.1.1.5": "sha256",    # sha1WithRSAEncryption
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.10045.4.1": "sha256",       # ecdsa-with-SHA1
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
HASH_OID = {
    "1.3.14.3.2.26": "sha256",           # SHA-1 -> SHA-256
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
    "2.16.840.1.101.3.4.2.4": "sha224",
}
RSASSA_PSS = "1.2.840.113549.1.1.10"


def der(b, i):
    """(tag, value, next index) of the DER element at b[i]."""
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, b[i:i + n], i + n


def oid_text(v):
    out, acc = [], 0
    for byte in v:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            out.append(acc)
            acc = 0
    first = min(out[0] // 40, 2)
    return ".".join(str(x) for x in [first, out[0] - 40 * first] + out[1:])


def binding_hash_name(cert_der):
    """The tls-server-end-point hash for this certificate, None when RFC
    5929 defines none (Ed25519, Ed448, unknown)."""
    _, cert, _ = der(cert_der, 0)
    _, _, i = der(cert, 0)                 # tbsCertificate
    _, alg, _ = der(cert, i)               # signatureAlgorithm
    _, oid, j = der(alg, 0)
    oid = oid_text(oid)
    if oid != RSASSA_PSS:
        return SIG_HASH.get(oid)
    hash_oid = "1.3.14.3.2.26"             # RSASSA-PSS-params default: SHA-1
    if j < len(alg):
        _, params, _ = der(alg, j)
        k = 0
        while k < len(params):
            tag, val, k = der(params, k)
            if tag == 0xA0:                # [0] hashAlgorithm
                _, halg, _ = der(val, 0)
                _, hoid, _ = der(halg, 0)
                hash_oid = oid_text(hoid)
    return HASH_OID.get(hash_oid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--keytab", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--mode", choices=("required", "accept", "off"), required=True)
    ap.add_argument("--binding-cert")
    ap.add_argument("--error-page")
    ap.add_argument("--auth-log")
    ap.add_argument("--pidfile")
    ap.add_argument("--user")
    ap.add_argument("--prefix", action="append")
    a = ap.parse_args()
    prefixes = [p for p in (a.prefix if a.prefix is not None else ["/certsrv"]) if p]

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(a.cert, a.key)
    with open(a.binding_cert or a.cert, "rb") as f:
        cert_der = ssl.PEM_cert_to_DER_cert(f.read().decode())
    hname = binding_hash_name(cert_der)
    app_data = b"tls-server-end-point:" + hashlib.new(hname, cert_der).digest() if hname else None
    bindings = gss.ChannelBindings(application_data=app_data) if app_data and a.mode != "off" else None
    page = b"<html><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2></body></html>\r\n"
    if a.error_page:
        with open(a.error_page, "rb") as f:
            page = f.read()
    auth_log = open(a.auth_log, "a", buffering=1) if a.auth_log else None
    log_lock = threading.Lock()
    backend_host, backend_port = a.backend.rsplit(":", 1)
    host, port = a.listen.rsplit(":", 1)

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            sock, addr = self.socket.accept()
            # the handshake happens in the request's thread (Handler.setup)
            return tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def handle_error(self, request, client_address):
            print("epa_front: %s: %s" % (client_address[0], sys.exc_info()[1]), file=sys.stderr)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            self.request.settimeout(60)
            self.request.do_handshake()
            super().setup()

        def record(self, result, flags=0, user=None):
            if not auth_log:
                return
            line = {"t": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": a.mode,
                    "result": result, "channel_bound": bool(flags & RequirementFlag.channel_bound),
                    "user": user, "hash": hname, "request": self.requestline}
            with log_lock:
                auth_log.write(json.dumps(line) + "\n")

        def unauthorized(self, result, detail=""):
            self.record(result)
            if detail:
                print("epa_front: 401 %s: %s" % (result, detail), file=sys.stderr)
            self.send_response(401)
            self.send_header("WWW-Authenticate", "Negotiate")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def go(self, method):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            if not any(self.path.startswith(p) for p in prefixes):
                self.send_error(404)
                return
            auth = self.headers.get("Authorization", "")
            if not auth[:10].lower() == "negotiate ":
                self.unauthorized("no-token")
                return
            try:
                token = base64.b64decode(auth[10:].strip(), validate=True)
                # the raw call: the high-level step() hides bad-binding errors
                res = gss.accept_sec_context(token, creds, channel_bindings=bindings)
            except gss.BadChannelBindingsError as e:
                self.unauthorized("bad-bindings", str(e))
                return
            except Exception as e:   # a bad token, an unknown key, a replay
                self.unauthorized("refused", str(e))
                return
            if res.more_steps:
                self.unauthorized("refused", "a multi-leg exchange (only Kerberos is served)")
                return
            if a.mode == "required" and not res.flags & RequirementFlag.channel_bound:
                self.unauthorized("unbound", "the token carries no channel binding")
                return
            user = gss.display_name(res.initiator_name, name_type=False).name.decode()
            self.record("ok", res.flags, user)
            self.proxy(method, body, user, base64.b64encode(res.token).decode() if res.token else None)

        def proxy(self, method, body, user, mutual):
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("authorization", "x-remote-user", "connection", "keep-alive",
                                            "host", "expect", "content-length")}
            headers["X-Remote-User"] = user
            headers["Host"] = self.headers.get("Host", host)
            conn = http.client.HTTPConnection(backend_host, int(backend_port), timeout=300)
            try:
                conn.request(method, self.path, body=body if method == "POST" else None, headers=headers)
                resp = conn.getresponse()
                self.send_response(resp.status)
                if mutual:
                    self.send_header("WWW-Authenticate", "Negotiate " + mutual)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                if resp.getheader("Content-Length") is None:
                    # streamed (the emulator's delay and huge faults): until the end
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                while True:
                    chunk = resp.read(65536)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
            finally:
                conn.close()

        def do_GET(self):
            self.go("GET")

        def do_POST(self):
            self.go("POST")

        def log_message(self, fmt, *args):   # --auth-log has the decisions
            pass

    srv = Server((host, int(port)), Handler)
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if a.user and os.getuid() == 0:
        pw = pwd.getpwnam(a.user)
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    creds = gss.acquire_cred_from({b"keytab": a.keytab.encode()}, usage="accept").creds
    print("epa_front: %s on %s, certificate %s, binding hash %s" % (a.mode, a.listen, a.cert, hname),
          file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
