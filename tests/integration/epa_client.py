#!/usr/bin/python3
"""A Negotiate client for proving what the channel-binding front enforces:
GET URL with a Kerberos token (the current ccache) bound to the server's TLS
certificate as given, wrongly, or not at all; prints the HTTP status.

  epa_client.py --cafile PEM --binding right|corrupt|none [--hash sha256|sha384|sha512] URL

"right" is the control that shows this client can pass at all (so that a
401 for "corrupt" or "none" means the front refused the binding, not that
the client is broken); with "right" the server's mutual authentication token
must also complete the context.
"""
import argparse
import base64
import hashlib
import http.client
import ssl
import sys
import urllib.parse

import gssapi.raw as gss

SPNEGO = gss.OID.from_int_seq("1.3.6.1.5.5.2")


def first_token(hostname, cert, binding, hash_name="sha256"):
    """SPNEGO for HTTP@hostname from the current ccache, with the
    tls-server-end-point binding of cert right, corrupted or absent:
    (target, flags, bindings, init_sec_context result)."""
    bindings = None
    if binding != "none":
        digest = bytearray(hashlib.new(hash_name, cert).digest())
        if binding == "corrupt":
            digest[0] ^= 0x01
        bindings = gss.ChannelBindings(application_data=b"tls-server-end-point:" + bytes(digest))
    target = gss.import_name(("HTTP@" + hostname).encode(), gss.NameType.hostbased_service)
    flags = [gss.RequirementFlag.mutual_authentication, gss.RequirementFlag.out_of_sequence_detection]
    return target, flags, bindings, gss.init_sec_context(target, mech=SPNEGO, flags=flags, channel_bindings=bindings)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--binding", choices=("right", "corrupt", "none"), required=True)
    ap.add_argument("--hash", default="sha256")
    ap.add_argument("url")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                       context=ssl.create_default_context(cafile=a.cafile), timeout=30)
    conn.connect()
    target, flags, bindings, res = first_token(u.hostname, conn.sock.getpeercert(binary_form=True),
                                               a.binding, a.hash)
    conn.request("GET", u.path or "/", headers={"Authorization": "Negotiate " + base64.b64encode(res.token).decode()})
    resp = conn.getresponse()
    resp.read()
    print(resp.status)
    if resp.status == 200 and a.binding == "right":
        challenge = resp.getheader("WWW-Authenticate") or ""
        if not challenge.startswith("Negotiate "):
            print("no mutual authentication token", file=sys.stderr)
            return 1
        done = gss.init_sec_context(target, context=res.context, mech=SPNEGO, flags=flags,
                                    channel_bindings=bindings, input_token=base64.b64decode(challenge[10:]))
        if done.more_steps:
            print("mutual authentication did not complete", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
