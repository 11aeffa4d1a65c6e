#!/usr/bin/python3
"""CEP/CES emulator: the Certificate Enrollment Policy Web Service (MS-XCEP)
and the Certificate Enrollment Web Service (MS-WSTEP) of an AD CS CA, for
adenroll's integration tests.

It is the certsrv emulator's sibling: the same CA key, the same request
database (state/ in $ADCS_EMU_DIR), the same decisions read from Active
Directory (template ACL, the CA's enrollment service, PEND_ALL_REQUESTS,
renewal rules), because it calls certsrv_emu.py's policy module for every
request.  So `domain.sh approve|deny|revoke|requests` work for requests made
over CES too, and a request made on one transport can be polled on the
other, as on a real CA.

It runs on loopback behind epa_front.py, which does Kerberos with channel
binding required (IIS with Extended Protection "Required") and passes the
authenticated name in X-Remote-User.

  POST /ADPolicyProvider_CEP_Kerberos/service.svc/CEP   GetPolicies (MS-XCEP 3.1.4.1)
  POST /ADPolicyProvider_CEP_Kerberos_Standby/service.svc/CEP
                                                        the same policy from a second instance,
         as a second policy server of the same PolicyID would serve it (cost ordering tests;
         a fault with --path ADPolicyProvider_CEP_Kerberos/ reaches the first one only)
  POST /<CA>_CES_Kerberos/service.svc/CES               RequestSecurityToken (MS-WSTEP 3.1.4.1):
         RequestType Issue (or Renew) with a wsse:BinarySecurityToken:
           ValueType ...enrollment#PKCS10  a PKCS#10
           ValueType ...enrollment#PKCS7   a CMS SignedData (renewal signed by the held certificate)
         RequestType .../enrollment/QueryTokenStatus with wstep:RequestID: a pending request's state
  POST /<CA>_CES_Kerberos_Renewal/service.svc/CES       the same, but a renewal-only instance:
         a request that is not a CMS renewal gets a fault (E_ACCESSDENIED)
  GET  .../service.svc                                  the service's help page (200)
  anything else                                         404

Every request is validated against the XML schemas in schemas/ (SOAP 1.2,
WS-Addressing, WS-Trust as MS-WSTEP profiles it, MS-XCEP) plus what the
specifications require beyond a schema (no DOCTYPE, a:Action matches the
endpoint, a:MessageID present, a:To when present names this endpoint (WCF's
AddressFilter), a mustUnderstand header is understood, Issue carries a
token, QueryTokenStatus a RequestID, the Content-Type is
application/soap+xml).  A request that does not validate
gets a SOAP 1.2 Sender fault and a line with "valid": false in
state/ces-access.jsonl, so a test can tell.  The emulator's own answers are
validated too ("response_valid" in the same line).

The template comes from the CSR, as a CA reads it: the template extension
(1.3.6.1.4.1.311.21.7, its OID looked up in AD) or the v1 name extension
(1.3.6.1.4.1.311.20.2); a CertificateTemplate item of auth:AdditionalContext
is the fallback (a CSR that names no template).

Answers, as Windows sends them:
  issued   200 wst:RequestSecurityTokenResponseCollection / RequestSecurityTokenResponse:
           wst:TokenType #X509v3, wstep:DispositionMessage "Issued", a wsse:BinarySecurityToken
           ValueType ...enrollment#PKCS7 (certs-only PKCS#7: the certificate and the CA),
           wst:RequestedSecurityToken / wsse:BinarySecurityToken #X509v3 (the certificate, DER base64),
           wstep:RequestID
  pending  the same without certificates: DispositionMessage "Taken Under Submission",
           RequestedSecurityToken / wsse:SecurityTokenReference / wsse:Reference URI, RequestID
  denied   500 SOAP 1.2 fault (Receiver): Reason = the CA's message with its HRESULT,
           Detail / wstep:CertificateEnrollmentWSDetail: ErrorCode (the HRESULT, signed decimal),
           InvalidRequest true, RequestID
  unknown RequestID in QueryTokenStatus: fault 0x80094004 (CERTSRV_E_PROPERTY_EMPTY)

ces.json (written by domain.sh ces): {"mode": "on"|"only", "endpoints": [{"priority", "auth",
"renewal_only", "url"}...]}: the CA's CES endpoints as msPKI-Enrollment-Servers
lists them; GetPolicies answers them as the CA's cAURI entries.

Faults: fault.json (domain.sh fault, shared with certsrv_emu.py) applies to
CES/CEP requests too; --path _CES_ (or _CEP_) limits it to them:
  delay S     sleep, then answer normally          http500  500 with IIS's HTML error page
  garbage     200 application/soap+xml that is not well-formed XML
  empty       200 with an empty body
  rpc busy notstarted  a SOAP fault carrying 0x800706BA / 0x800706BB / 0x80070426:
              the CES could not reach the CA service (no request is made)

Command line (run by domain.sh as the web server user):
  ces_emu.py serve 127.0.0.1:PORT [PIDFILE]
  ces_emu.py validate FILE      validate a saved SOAP message; prints ok or the errors
"""
import base64
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import certsrv_emu as ca  # noqa: E402  (the shared CA: policy module, request database, keys)

from lxml import etree  # noqa: E402

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://www.w3.org/2005/08/addressing"
NS_WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSTEP = "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"
NS_XCEP = "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
NS_AUTH = "http://schemas.xmlsoap.org/ws/2006/12/authorization"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

ACTION_GETPOLICIES = NS_XCEP + "/IPolicy/GetPolicies"
ACTION_GETPOLICIES_RESPONSE = NS_XCEP + "/IPolicy/GetPoliciesResponse"
ACTION_WSTEP = NS_WSTEP + "/RST/wstep"
ACTION_WSTEP_RESPONSE = NS_WSTEP + "/RSTRC/wstep"
ACTION_FAULT = "http://www.w3.org/2005/08/addressing/soap/fault"
REQ_ISSUE = NS_WST + "/Issue"
REQ_RENEW = NS_WST + "/Renew"
REQ_QUERY = NS_WSTEP + "/QueryTokenStatus"
VT_PKCS10 = NS_WSTEP + "#PKCS10"
VT_PKCS7 = NS_WSTEP + "#PKCS7"
VT_X509 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
ENC_B64 = NS_WSSE + "#base64binary"

CEP_PATH = "/ADPolicyProvider_CEP_Kerberos/service.svc/CEP"
CEP_STANDBY_PATH = "/ADPolicyProvider_CEP_Kerberos_Standby/service.svc/CEP"
OID_TEMPLATE_V1 = "1.3.6.1.4.1.311.20.2"

# HRESULTs this service adds to the CA's table (certsrv_emu.HRESULTS)
EXTRA_HRESULTS = {
    0x80070005: ("E_ACCESSDENIED", "Access is denied."),
    0x800706BA: ("RPC_S_SERVER_UNAVAILABLE", "The RPC server is unavailable."),
    0x800706BB: ("RPC_S_SERVER_TOO_BUSY", "The server is too busy to complete this operation."),
    0x80070426: ("ERROR_SERVICE_NOT_ACTIVE", "The service has not been started."),
}
UNAVAILABLE = {"rpc": 0x800706BA, "busy": 0x800706BB, "notstarted": 0x80070426}

for _prefix, _ns in (("wst", NS_WST), ("wsse", NS_WSSE), ("wstep", NS_WSTEP), ("xcep", NS_XCEP), ("xsi", NS_XSI)):
    etree.register_namespace(_prefix, _ns)

_SCHEMA = None
_SCHEMA_LOCK = threading.Lock()


def schema():
    global _SCHEMA
    with _SCHEMA_LOCK:
        if _SCHEMA is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            _SCHEMA = etree.XMLSchema(etree.parse(os.path.join(HERE, "schemas", "envelope.xsd"), parser))
        return _SCHEMA


def hr_text(hr):
    sym, text = ca.HRESULTS.get(hr) or EXTRA_HRESULTS.get(hr) or ("", "Unknown error.")
    return sym, text


def signed(hr):
    return hr - (1 << 32) if hr & 0x80000000 else hr


class Invalid(Exception):
    """A request that does not follow the schemas or the protocol."""


# ------------------------------------------------------------------ settings
def ces_settings():
    try:
        with open(os.path.join(ca.BASE, "ces.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"mode": "off", "endpoints": []}


def endpoint_kind(path, cfg):
    """'cep', 'ces', 'ces-renewal' or None for a request path."""
    p = path.rstrip("/")
    if p.lower() in (CEP_PATH.lower(), CEP_STANDBY_PATH.lower()):
        return "cep"
    name = cfg["ca_name"]
    if p.lower() == ("/%s_CES_Kerberos/service.svc/CES" % name).lower():
        return "ces"
    if p.lower() == ("/%s_CES_Kerberos_Renewal/service.svc/CES" % name).lower():
        return "ces-renewal"
    return None


# ------------------------------------------------------------------ parsing and validation
def parse_and_validate(body, content_type, kind, path):
    """Returns (envelope root, body child, header dict).  Raises Invalid."""
    if not content_type.lower().startswith("application/soap+xml"):
        raise Invalid("Content-Type %r is not application/soap+xml (SOAP 1.2)" % content_type)
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=False, remove_comments=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as e:
        raise Invalid("not well-formed XML: %s" % e)
    if root.getroottree().docinfo.doctype:
        # SOAP 1.2 Part 1, 5: a SOAP message MUST NOT contain a Document Type Declaration
        raise Invalid("the message has a DOCTYPE")
    if root.tag != "{%s}Envelope" % NS_S:
        raise Invalid("the root element is %s, not a SOAP 1.2 Envelope" % root.tag)
    s = schema()
    if not s.validate(root):
        raise Invalid("schema: " + "; ".join("line %d: %s" % (e.line, e.message) for e in s.error_log))
    header = root.find("{%s}Header" % NS_S)
    hdr = {}
    for el in (header if header is not None else []):
        if not isinstance(el.tag, str):
            continue
        qn = etree.QName(el)
        if qn.namespace == NS_A:
            hdr[qn.localname] = (el.text or "").strip()
        elif el.get("{%s}mustUnderstand" % NS_S) in ("1", "true"):
            # SOAP 1.2 Part 1 5.2.3: a mandatory header block not understood
            raise Invalid("header %s is mustUnderstand and not understood" % el.tag)
    if "Action" not in hdr:
        raise Invalid("no a:Action header")
    if "MessageID" not in hdr:
        # WS-Addressing 1.0 Core 3.4: a request that expects a reply carries a message id
        raise Invalid("no a:MessageID header")
    if hdr.get("To") and urllib.parse.urlsplit(hdr["To"]).path.rstrip("/").lower() != path.rstrip("/").lower():
        # what WCF answers when a:To names another endpoint than the one posted to
        raise Invalid("The message with To '%s' cannot be processed at the receiver, due to an AddressFilter "
                      "mismatch at the EndpointDispatcher" % hdr["To"])
    want = ACTION_GETPOLICIES if kind == "cep" else ACTION_WSTEP
    if hdr["Action"] != want:
        raise Invalid("a:Action %r, this endpoint takes %r" % (hdr["Action"], want))
    child = [c for c in root.find("{%s}Body" % NS_S) if isinstance(c.tag, str)][0]
    want_el = "{%s}GetPolicies" % NS_XCEP if kind == "cep" else "{%s}RequestSecurityToken" % NS_WST
    if child.tag != want_el:
        raise Invalid("the body holds %s, this endpoint takes %s" % (child.tag, want_el))
    return root, child, hdr


def rst_fields(rst):
    """The RequestSecurityToken's facts, checked beyond the schema (MS-WSTEP 3.1.4.1.2)."""
    rtype = (rst.findtext("{%s}RequestType" % NS_WST) or "").strip()
    bst = rst.find("{%s}BinarySecurityToken" % NS_WSSE)
    rid = rst.findtext("{%s}RequestID" % NS_WSTEP)
    ctx = {}
    for item in rst.iterfind("{%s}AdditionalContext/{%s}ContextItem" % (NS_AUTH, NS_AUTH)):
        ctx[item.get("Name")] = (item.findtext("{%s}Value" % NS_AUTH) or "").strip()
    f = {"request_type": rtype, "context": ctx}
    if rtype in (REQ_ISSUE, REQ_RENEW):
        if bst is None:
            raise Invalid("RequestType Issue without a wsse:BinarySecurityToken")
        f["value_type"] = bst.get("ValueType")
        if f["value_type"] not in (VT_PKCS10, VT_PKCS7):
            raise Invalid("BinarySecurityToken ValueType %r is no request (#PKCS10 or #PKCS7)" % f["value_type"])
        try:
            f["der"] = base64.b64decode(re.sub(r"\s+", "", bst.text or ""), validate=True)
        except ValueError:
            raise Invalid("BinarySecurityToken is not base64")
        if not f["der"]:
            raise Invalid("empty BinarySecurityToken")
        if rtype == REQ_RENEW and f["value_type"] != VT_PKCS7:
            raise Invalid("RequestType Renew needs a #PKCS7 (CMS) token")
    else:
        if rid is None or not rid.strip():
            raise Invalid("QueryTokenStatus without a wstep:RequestID")
        if bst is not None:
            raise Invalid("QueryTokenStatus carries a BinarySecurityToken")
        f["request_id"] = int(rid.strip())
    return f


# ------------------------------------------------------------------ the template named by a CSR
def cms_content(cms_der):
    """The encapsulated content (the inner PKCS#10) of a CMS SignedData, DER."""
    d = ca.der_read
    _, s0, e0 = d(cms_der, 0)                                  # ContentInfo
    kids = ca.der_children(cms_der, s0, e0)
    sd_tag, sd_s, sd_e = d(cms_der, kids[1][2])                # [0] -> SignedData
    sd = ca.der_children(cms_der, sd_s, sd_e)
    eci = ca.der_children(cms_der, sd[2][2], sd[2][3])         # encapContentInfo
    _, os_s, os_e = d(cms_der, eci[1][2])                      # [0] -> OCTET STRING
    return cms_der[os_s:os_e]


def csr_template(csr_der, cfg):
    """(template name or None, how it was named)."""
    from cryptography import x509
    try:
        csr = x509.load_der_x509_csr(csr_der)
        exts = csr.extensions
    except Exception:
        return None, None
    for ext in exts:
        oid = ext.oid.dotted_string
        if oid == ca.OID_CERTIFICATE_TEMPLATE:
            v = ext.value.value
            _, s0, e0 = ca.der_read(v, 0)
            kid = ca.der_children(v, s0, e0)[0]
            toid = ca.oid_text(v[kid[2]:kid[3]])
            pks = "CN=Public Key Services,CN=Services," + cfg["config_dn"]
            found = ca.Directory(cfg).search(
                pks, "sub", "(&(objectClass=pKICertificateTemplate)(msPKI-Cert-Template-OID=%s))"
                % ca.ldap_escape(toid), ["cn"])
            if found:
                return ca.first(found[0][1], "cn"), "template extension " + toid
            return "{%s}" % toid, "template extension " + toid
        if oid == OID_TEMPLATE_V1:
            v = ext.value.value
            tag, s0, e0 = ca.der_read(v, 0)
            raw = v[s0:e0]
            name = raw.decode("utf-16-be" if tag == 0x1E else "utf-8", "replace")
            return name, "template name extension"
    return None, None


# ------------------------------------------------------------------ SOAP output
def E(tag, text=None, attrib=None, children=()):
    el = etree.Element(tag, attrib or {})
    if text is not None:
        el.text = text
    for c in children:
        el.append(c)
    return el


def nil(tag):
    return E(tag, attrib={"{%s}nil" % NS_XSI: "true"})


def envelope(action, relates_to, body_child):
    nsmap = {"s": NS_S, "a": NS_A}
    env = etree.Element("{%s}Envelope" % NS_S, nsmap=nsmap)
    hdr = etree.SubElement(env, "{%s}Header" % NS_S)
    hdr.append(E("{%s}Action" % NS_A, action, {"{%s}mustUnderstand" % NS_S: "1"}))
    if relates_to:
        hdr.append(E("{%s}RelatesTo" % NS_A, relates_to))
    body = etree.SubElement(env, "{%s}Body" % NS_S)
    body.append(body_child)
    return env


def serialize(env):
    return etree.tostring(env, xml_declaration=False, encoding="utf-8")


def hr_line(hr, message=None):
    """'<message> 0x80094004 (-2146877436 CERTSRV_E_PROPERTY_EMPTY)', the CA's way of writing an error."""
    sym, text = hr_text(hr)
    return "%s 0x%x (%d %s)" % (message or text, hr, signed(hr), sym)


def fault(code, hr, reason, relates_to=None, request_id=None):
    """A SOAP 1.2 fault as CES sends it: the CA's message with the HRESULT in
    the Reason, and CertificateEnrollmentWSDetail with ErrorCode (signed
    decimal) and the RequestID when there is one."""
    detail_kids = []
    if hr:
        detail_kids += [E("{%s}BinaryResponse" % NS_WSTEP, attrib={"{%s}nil" % NS_XSI: "true"}),
                        E("{%s}ErrorCode" % NS_WSTEP, str(signed(hr))),
                        E("{%s}InvalidRequest" % NS_WSTEP, "true" if code == "Sender" or request_id else "false")]
        if request_id is not None:
            detail_kids.append(E("{%s}RequestID" % NS_WSTEP, str(request_id)))
    f = E("{%s}Fault" % NS_S, children=[
        E("{%s}Code" % NS_S, children=[E("{%s}Value" % NS_S, "s:" + code)]),
        E("{%s}Reason" % NS_S, children=[E("{%s}Text" % NS_S, reason,
                                           {"{http://www.w3.org/XML/1998/namespace}lang": "en-US"})])])
    if detail_kids:
        f.append(E("{%s}Detail" % NS_S, children=[
            E("{%s}CertificateEnrollmentWSDetail" % NS_WSTEP, children=detail_kids)]))
    return envelope(ACTION_FAULT, relates_to, f)


def b64_crlf(b):
    """base64 in lines of 64 with CRLF, as Windows writes tokens."""
    t = base64.b64encode(b).decode()
    return "\r\n".join(t[i:i + 64] for i in range(0, len(t), 64))


def rstr(meta, url, relates_to):
    """RequestSecurityTokenResponseCollection for an issued or pending request."""
    kids = [E("{%s}TokenType" % NS_WST, VT_X509)]
    issued = meta["status"] == "issued"
    kids.append(E("{%s}DispositionMessage" % NS_WSTEP, "Issued" if issued else "Taken Under Submission",
                  {"{http://www.w3.org/XML/1998/namespace}lang": "en-US"}))
    if issued:
        cert, cert_d = ca.cert_der(ca.req_path(meta["id"], "cer"))
        cacert, _ = ca.cert_der(os.path.join(ca.BASE, "ca.pem"))
        kids.append(E("{%s}BinarySecurityToken" % NS_WSSE, b64_crlf(ca.p7b([cert, cacert], "bin")),
                      {"ValueType": VT_PKCS7, "EncodingType": ENC_B64}))
        kids.append(E("{%s}RequestedSecurityToken" % NS_WST, children=[
            E("{%s}BinarySecurityToken" % NS_WSSE, b64_crlf(cert_d),
              {"ValueType": VT_X509, "EncodingType": ENC_B64})]))
    else:
        kids.append(E("{%s}RequestedSecurityToken" % NS_WST, children=[
            E("{%s}SecurityTokenReference" % NS_WSSE, children=[
                E("{%s}Reference" % NS_WSSE, attrib={"URI": "%s?RequestID=%d" % (url, meta["id"])})])]))
    kids.append(E("{%s}RequestID" % NS_WSTEP, str(meta["id"])))
    coll = E("{%s}RequestSecurityTokenResponseCollection" % NS_WST, children=[
        E("{%s}RequestSecurityTokenResponse" % NS_WST, children=kids)])
    return envelope(ACTION_WSTEP_RESPONSE, relates_to, coll)


def denial(meta, relates_to):
    # as certsrv words it: "Denied by Policy Module  0x80094812, The email name is unavailable ..."
    hr = int(meta.get("hresult", "0x80094012"), 16)
    msg = meta.get("status_text") or hr_text(hr)[1]
    return fault("Receiver", hr, "%s  0x%x, %s" % (meta.get("disposition_message", "Denied"), hr, msg),
                 relates_to, meta["id"])


# ------------------------------------------------------------------ WSTEP
def wstep(cfg, kind, f, user, url, relates_to, log):
    """One RequestSecurityToken.  Returns (HTTP status, envelope)."""
    if f["request_type"] == REQ_QUERY:
        rid = f["request_id"]
        log["request_id"] = rid
        meta = ca.load_req(rid)
        if meta is None or meta.get("requester") != user:
            return 500, fault("Receiver", 0x80094004, hr_line(0x80094004), relates_to)
        log["status"] = meta["status"]
        if meta["status"] in ("issued", "pending"):
            return 200, rstr(meta, url, relates_to)
        return 500, denial(meta, relates_to)
    der = f["der"]
    is_cms = f["value_type"] == VT_PKCS7
    if is_cms != ca.is_cms(der):
        return 500, fault("Sender", 0x8009310B, hr_line(0x8009310B, "Error Parsing Request  " + hr_text(0x8009310B)[1]),
                          relates_to)
    if kind == "ces-renewal" and not is_cms:
        # a CES installed for renewals only takes requests signed by the certificate being renewed
        return 500, fault("Receiver", 0x80070005, hr_line(0x80070005, "This enrollment web service accepts "
                                                          "renewal requests only. Access is denied."), relates_to)
    try:
        inner = cms_content(der) if is_cms else der
    except (ValueError, IndexError):
        return 500, fault("Sender", 0x8009310B, hr_line(0x8009310B, "Error Parsing Request  " + hr_text(0x8009310B)[1]),
                          relates_to)
    template, how = csr_template(inner, cfg)
    if template is None:
        template = f["context"].get("CertificateTemplate") or None
        how = "AdditionalContext" if template else None
    log["template"], log["template_from"] = template, how
    form = {"CertRequest": [base64.b64encode(der).decode()],
            "CertAttrib": ["CertificateTemplate:%s" % template if template else ""]}
    kind_, res = ca.submit(cfg, form, user)
    if kind_ == "error":
        return 500, fault("Receiver" if res.hr == 0x80094800 else "Sender", res.hr, hr_line(res.hr, res.message()),
                          relates_to)
    res["transport"] = "ces"
    res["endpoint"] = url
    ca.save_req(res)
    log["request_id"], log["status"] = res["id"], res["status"]
    if kind_ == "denied":
        return 500, denial(res, relates_to)
    return 200, rstr(res, url, relates_to)


# ------------------------------------------------------------------ XCEP
def period_seconds(b, default):
    return ca.period_seconds(b, default)


def get_policies(cfg, user, relates_to):
    """GetPoliciesResponse (MS-XCEP 3.1.4.1.2.2): the templates the caller
    may enroll for, each pointing to this CA when it publishes it, and the CA
    with its CES URIs from ces.json."""
    pks = "CN=Public Key Services,CN=Services," + cfg["config_dn"]
    # no template by that name: read_ad then returns the service and the account only
    _, service, account = ca.read_ad(cfg, "adenroll-ces-emu-no-such-template", user)
    templates = ca.Directory(cfg).search(pks, "sub", "(objectClass=pKICertificateTemplate)",
                                         ["*", "nTSecurityDescriptor"], True)
    token = set()
    if account is not None:
        acc = account[1]
        token = {"S-1-1-0", "S-1-5-11", "S-1-5-15"}
        sidb = ca.raw(acc, "objectSid")
        if sidb:
            token.add(ca.sid_from_bytes(sidb)[0])
        for g in acc.get("tokengroups", []):
            token.add(ca.sid_from_bytes(g if isinstance(g, bytes) else g.encode())[0])
    published = {ca.text(t).lower() for t in (service or {}).get("certificatetemplates", [])}
    oids, policies = [], []
    for _, t in sorted(templates, key=lambda e: (ca.first(e[1], "cn") or "").lower()):
        sd = ca.raw(t, "nTSecurityDescriptor")
        enroll = ca.has_right(sd, token, ca.ENROLL_GUID)
        if not enroll:
            continue
        auto = ca.has_right(sd, token, ca.AUTOENROLL_GUID)
        cn = ca.first(t, "cn")
        toid = ca.first(t, "msPKI-Cert-Template-OID")
        ref = len(oids) + 1
        oids.append(E("{%s}oID" % NS_XCEP, children=[
            E("{%s}value" % NS_XCEP, toid or "1.3.6.1.4.1.311.21.8"),
            E("{%s}group" % NS_XCEP, "9"),                 # CRYPT_TEMPLATE_OID_GROUP_ID
            E("{%s}oIDReferenceID" % NS_XCEP, str(ref)),
            E("{%s}defaultName" % NS_XCEP, ca.first(t, "displayName") or cn)]))
        sup = [ca.text(s) for s in t.get("mspki-supersede-templates", [])]
        ra = ca.first_int(t, "msPKI-RA-Signature")
        attrs = E("{%s}attributes" % NS_XCEP, children=[
            E("{%s}commonName" % NS_XCEP, cn),
            E("{%s}policySchema" % NS_XCEP, str(ca.first_int(t, "msPKI-Template-Schema-Version", 1))),
            E("{%s}certificateValidity" % NS_XCEP, children=[
                E("{%s}validityPeriodSeconds" % NS_XCEP,
                  str(period_seconds(ca.raw(t, "pKIExpirationPeriod"), 365 * 86400))),
                E("{%s}renewalPeriodSeconds" % NS_XCEP,
                  str(period_seconds(ca.raw(t, "pKIOverlapPeriod"), 42 * 86400)))]),
            E("{%s}permission" % NS_XCEP, children=[
                E("{%s}enroll" % NS_XCEP, "true"), E("{%s}autoEnroll" % NS_XCEP, "true" if auto else "false")]),
            E("{%s}privateKeyAttributes" % NS_XCEP, children=[
                E("{%s}minimalKeyLength" % NS_XCEP, str(ca.first_int(t, "msPKI-Minimal-Key-Size", 2048))),
                E("{%s}keySpec" % NS_XCEP, str(ca.first_int(t, "pKIDefaultKeySpec", 1))),
                nil("{%s}keyUsageProperty" % NS_XCEP), nil("{%s}permissions" % NS_XCEP),
                nil("{%s}algorithmOIDReference" % NS_XCEP), nil("{%s}cryptoProviders" % NS_XCEP)]),
            E("{%s}revision" % NS_XCEP, children=[
                E("{%s}majorRevision" % NS_XCEP, str(ca.first_int(t, "revision"))),
                E("{%s}minorRevision" % NS_XCEP, str(ca.first_int(t, "msPKI-Template-Minor-Revision")))]),
            E("{%s}supersededPolicies" % NS_XCEP, children=[E("{%s}commonName" % NS_XCEP, s) for s in sup])
            if sup else nil("{%s}supersededPolicies" % NS_XCEP),
            E("{%s}privateKeyFlags" % NS_XCEP, str(ca.first_int(t, "msPKI-Private-Key-Flag"))),
            E("{%s}subjectNameFlags" % NS_XCEP, str(ca.first_int(t, "msPKI-Certificate-Name-Flag"))),
            E("{%s}enrollmentFlags" % NS_XCEP, str(ca.first_int(t, "msPKI-Enrollment-Flag"))),
            E("{%s}generalFlags" % NS_XCEP, str(ca.first_int(t, "flags"))),
            nil("{%s}hashAlgorithmOIDReference" % NS_XCEP),
            E("{%s}rARequirements" % NS_XCEP, children=[
                E("{%s}rASignatures" % NS_XCEP, str(ra)), nil("{%s}rAEKUs" % NS_XCEP),
                nil("{%s}rAPolicies" % NS_XCEP)]) if ra else nil("{%s}rARequirements" % NS_XCEP),
            nil("{%s}keyArchivalAttributes" % NS_XCEP),
            nil("{%s}extensions" % NS_XCEP)])
        policies.append(E("{%s}policy" % NS_XCEP, children=[
            E("{%s}policyOIDReference" % NS_XCEP, str(ref)),
            E("{%s}cAs" % NS_XCEP, children=[E("{%s}cAReference" % NS_XCEP, "0")])
            if cn.lower() in published else nil("{%s}cAs" % NS_XCEP),
            attrs]))
    forest = cfg["domain_dn"]
    response = E("{%s}response" % NS_XCEP, children=[
        E("{%s}policyID" % NS_XCEP, "{%s}" % str(uuid.uuid5(uuid.NAMESPACE_URL, "ldap:///" + forest)).upper()),
        E("{%s}policyFriendlyName" % NS_XCEP, "Active Directory Enrollment Policy"),
        E("{%s}nextUpdateHours" % NS_XCEP, "8"),
        nil("{%s}policiesNotChanged" % NS_XCEP),
        E("{%s}policies" % NS_XCEP, children=policies) if policies else nil("{%s}policies" % NS_XCEP)])
    uris = [E("{%s}cAURI" % NS_XCEP, children=[
        E("{%s}clientAuthentication" % NS_XCEP, str(ep["auth"])),
        E("{%s}uri" % NS_XCEP, ep["url"]),
        E("{%s}priority" % NS_XCEP, str(ep["priority"])),
        E("{%s}renewalOnly" % NS_XCEP, "true" if ep.get("renewal_only") else "false")])
        for ep in ces_settings().get("endpoints", [])]
    cas = nil("{%s}cAs" % NS_XCEP)
    if uris and service is not None:
        _, ca_d = ca.cert_der(os.path.join(ca.BASE, "ca.pem"))
        sd = ca.raw(service, "nTSecurityDescriptor")
        cas = E("{%s}cAs" % NS_XCEP, children=[E("{%s}cA" % NS_XCEP, children=[
            E("{%s}uris" % NS_XCEP, children=uris),
            E("{%s}certificate" % NS_XCEP, base64.b64encode(ca_d).decode()),
            E("{%s}enrollPermission" % NS_XCEP,
              "true" if sd is None or ca.has_right(sd, token, ca.ENROLL_GUID) else "false"),
            E("{%s}cAReferenceID" % NS_XCEP, "0")])])
    resp = E("{%s}GetPoliciesResponse" % NS_XCEP, children=[
        response, cas, E("{%s}oIDs" % NS_XCEP, children=oids) if oids else nil("{%s}oIDs" % NS_XCEP)])
    return 200, envelope(ACTION_GETPOLICIES_RESPONSE, relates_to, resp)


# ------------------------------------------------------------------ HTTP
IIS_500 = (b"<HTML><Head><Title>500 - Internal server error.</Title></Head><Body>"
           b"<H2>500 - Internal server error.</H2><H3>There is a problem with the resource "
           b"you are looking for, and it cannot be displayed.</H3></Body></HTML>\r\n")
IIS_404 = b"<HTML><Body>404 - File or directory not found.</Body></HTML>\r\n"
HELP = (b"<HTML><HEAD><TITLE>Service</TITLE></HEAD><BODY><H1>Service</H1><P>You have created a service.</P>"
        b"</BODY></HTML>\r\n")
SOAP_CT = "application/soap+xml; charset=utf-8"


def apply_fault(cfg, path, relates_to):
    fl = ca.take_fault(path, ("http500", "garbage", "empty", "delay") + tuple(UNAVAILABLE))
    if not fl:
        return None
    mode = fl["mode"]
    if mode == "delay":
        time.sleep(float(fl.get("seconds", 5)))
        return None
    if mode == "http500":
        return 500, "text/html", IIS_500, mode
    if mode == "garbage":
        return 200, SOAP_CT, (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
                              b'<RequestSecurityTokenResponseCollection><&\x00 </s:Bo'), mode
    if mode == "empty":
        return 200, SOAP_CT, b"", mode
    hr = UNAVAILABLE[mode]
    return 500, SOAP_CT, serialize(fault("Receiver", hr, hr_line(hr), relates_to)), mode


def handle(method, path, ctype, body, user, host):
    """Returns (status, content type, body bytes, log dict)."""
    cfg = ca.settings()
    log = {"t": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": method, "path": path,
           "user": user}
    kind = endpoint_kind(path, cfg)
    log["endpoint"] = kind
    if method == "GET" and (kind or path.rstrip("/").lower().endswith("/service.svc")):
        return 200, "text/html", HELP, log
    if kind is None or method != "POST":
        return 404, "text/html", IIS_404, log
    if not user:
        return 401, "text/html", b"401 - Unauthorized\r\n", log
    relates = None
    try:
        root, child, hdr = parse_and_validate(body, ctype or "", kind, path)
        relates = hdr.get("MessageID")
        log["action"] = hdr["Action"]
        f = rst_fields(child) if kind != "cep" else None
        log["valid"] = True
    except Invalid as e:
        log["valid"] = False
        log["error"] = str(e)
        print("ces_emu: invalid request on %s from %s: %s" % (path, user, e), file=sys.stderr, flush=True)
        env = fault("Sender", 0, "The request does not follow the schema: %s" % e, relates)
        return 500, SOAP_CT, serialize(env), log
    if f:
        log["request_type"] = f["request_type"].rsplit("/", 1)[-1]
        log["value_type"] = (f.get("value_type") or "").rsplit("#", 1)[-1] or None
    res = apply_fault(cfg, path, relates)
    if res is not None:
        log["fault"] = res[3]
        return res[0], res[1], res[2], log
    url = "https://%s%s" % (host, path)
    if kind == "cep":
        status, env = get_policies(cfg, user, relates)
    else:
        status, env = wstep(cfg, kind, f, user, url, relates, log)
    log["response_valid"] = bool(schema().validate(env))
    if not log["response_valid"]:
        print("ces_emu: own answer does not validate: %s" % schema().error_log, file=sys.stderr, flush=True)
    return status, SOAP_CT, serialize(env), log


def process(method, path, ctype, body, user, host):
    marker = os.path.join(ca.STATE, "inflight", "ces-%d-%d" % (os.getpid(), threading.get_ident()))
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "w").close()
    except OSError:
        marker = None
    start = time.time()
    try:
        try:
            status, ct, out, log = handle(method, path, ctype, body, user, host)
        except Exception as e:   # a bug or an unreachable DC: IIS would answer 500 too
            import traceback
            traceback.print_exc(file=sys.stderr)
            status, ct, out, log = 500, "text/plain", ("emulator error: %s\r\n" % e).encode(), \
                {"method": method, "path": path, "user": user, "error": str(e)}
    finally:
        if marker:
            try:
                os.unlink(marker)
            except OSError:
                pass
    log["http"] = status
    log["ms"] = int((time.time() - start) * 1000)
    try:
        with open(os.path.join(ca.STATE, "ces-access.jsonl"), "a") as fh:
            fh.write(json.dumps(log) + "\n")
    except OSError:
        pass
    return status, ct, out


def serve_main(listen, pidfile):
    ca.signing_pair("ca")
    schema()
    print("ces_emu: serving on %s" % listen, file=sys.stderr, flush=True)
    ca.http_serve(listen, pidfile, lambda method, path, query, body, headers: process(
        method, path, headers.get("Content-Type"), body, headers.get("X-Remote-User") or None,
        headers.get("Host") or ""))


def validate_main(path):
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        root = etree.fromstring(data, etree.XMLParser(no_network=True, resolve_entities=False))
    except etree.XMLSyntaxError as e:
        print("not well-formed: %s" % e)
        return 1
    s = schema()
    if s.validate(root):
        print("ok")
        return 0
    for e in s.error_log:
        print("line %d: %s" % (e.line, e.message))
    return 1


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "serve":
        serve_main(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None)
    elif len(sys.argv) == 3 and sys.argv[1] == "validate":
        sys.exit(validate_main(sys.argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
