#!/usr/bin/python3
"""A minimal MS-XCEP / MS-WSTEP client for the tests of the CEP/CES emulator
and its front, independent of adenroll: it builds the SOAP 1.2 messages and
POSTs them with a Kerberos token (the current ccache) whose channel binding
is right, corrupted or absent.

  ces_client.py issue   --csr FILE [--cms] [--template NAME]   a RequestSecurityToken (Issue) envelope
  ces_client.py query   --id N                                 a QueryTokenStatus envelope
  ces_client.py policies                                       a GetPolicies envelope
  ces_client.py post --cafile PEM [--binding right|corrupt|none] [--action URI] URL [FILE]
      POST FILE (default stdin) as application/soap+xml; prints the HTTP status on the
      first line, then the body

The envelopes are written to stdout; --csr takes PEM or DER (a PKCS#10, or a
CMS SignedData with --cms).
"""
import argparse
import base64
import http.client
import os
import re
import ssl
import sys
import urllib.parse
import uuid

NS_WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
NS_WSTEP = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
ACTION_WSTEP = NS_WSTEP + "/RST/wstep"
ACTION_XCEP = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPolicies"


def envelope(action, to, body):
    return ('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
            '<a:Action s:mustUnderstand="1">%s</a:Action><a:MessageID>urn:uuid:%s</a:MessageID>'
            '<a:To s:mustUnderstand="1">%s</a:To></s:Header><s:Body>%s</s:Body></s:Envelope>'
            % (action, uuid.uuid4(), to or "", body))


def read_der(path):
    data = open(path, "rb").read()
    m = re.search(rb"-----BEGIN [A-Z0-9 ]+-----(.*?)-----END", data, re.S)
    return base64.b64decode(re.sub(rb"\s+", b"", m.group(1))) if m else data


def rst(request_type, inner):
    return ('<wst:RequestSecurityToken xmlns:wst="%s" '
            'xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" '
            'xmlns:wstep="%s" xmlns:auth="http://schemas.xmlsoap.org/ws/2006/12/authorization">'
            '<wst:TokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3'
            '</wst:TokenType><wst:RequestType>%s</wst:RequestType>%s</wst:RequestSecurityToken>'
            % (NS_WST, NS_WSTEP, request_type, inner))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("issue")
    p.add_argument("--csr", required=True)
    p.add_argument("--cms", action="store_true")
    p.add_argument("--template")
    p.add_argument("--to", default="")
    p = sub.add_parser("query")
    p.add_argument("--id", required=True, type=int)
    p.add_argument("--to", default="")
    p = sub.add_parser("policies")
    p.add_argument("--to", default="")
    p = sub.add_parser("post")
    p.add_argument("--cafile", required=True)
    p.add_argument("--binding", choices=("right", "corrupt", "none"), default="right")
    p.add_argument("url")
    p.add_argument("file", nargs="?")
    a = ap.parse_args()

    if a.cmd == "issue":
        vt = NS_WSTEP + ("#PKCS7" if a.cms else "#PKCS10")
        ctx = ""
        if a.template:
            ctx = ('<auth:AdditionalContext><auth:ContextItem Name="CertificateTemplate"><auth:Value>%s'
                   '</auth:Value></auth:ContextItem></auth:AdditionalContext>' % a.template)
        bst = ('<wsse:BinarySecurityToken ValueType="%s" EncodingType="http://docs.oasis-open.org/wss/2004/01/'
               'oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">%s</wsse:BinarySecurityToken>'
               % (vt, base64.b64encode(read_der(a.csr)).decode()))
        print(envelope(ACTION_WSTEP, a.to, rst(NS_WST + "/Issue", bst + ctx)))
        return 0
    if a.cmd == "query":
        print(envelope(ACTION_WSTEP, a.to, rst(NS_WSTEP + "/QueryTokenStatus",
                                               "<wstep:RequestID>%d</wstep:RequestID>" % a.id)))
        return 0
    if a.cmd == "policies":
        print(envelope(ACTION_XCEP, a.to,
                       '<GetPolicies xmlns="http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy" '
                       'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><client>'
                       '<lastUpdate xsi:nil="true"/><preferredLanguage xsi:nil="true"/></client>'
                       '<requestFilter><policyOIDs xsi:nil="true"/><clientVersion xsi:nil="true"/>'
                       '<serverVersion xsi:nil="true"/></requestFilter></GetPolicies>'))
        return 0

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from epa_client import first_token
    body = open(a.file, "rb").read() if a.file else sys.stdin.buffer.read()
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                       context=ssl.create_default_context(cafile=a.cafile), timeout=60)
    conn.connect()
    _, _, _, res = first_token(u.hostname, conn.sock.getpeercert(binary_form=True), a.binding)
    conn.request("POST", u.path, body=body, headers={
        "Authorization": "Negotiate " + base64.b64encode(res.token).decode(),
        "Content-Type": "application/soap+xml; charset=utf-8"})
    resp = conn.getresponse()
    out = resp.read()
    print(resp.status)
    sys.stdout.flush()
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.write(b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
