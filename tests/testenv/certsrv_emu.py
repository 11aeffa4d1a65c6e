#!/usr/bin/python3
"""certsrv emulator: the AD CS "Certification Authority Web Enrollment" pages
(/certsrv/...) for adenroll's integration tests.

It runs behind Apache + mod_auth_gssapi, which does SPNEGO: as a small
HTTP server on loopback that Apache proxies to, with the authenticated name
(CLIENT$@EXAMPLE.TEST, alice@EXAMPLE.TEST) in X-Remote-User (`serve`, what
domain.sh starts), or as a CGI reading REMOTE_USER (no arguments).  What it decides
comes from Active Directory, as a real enterprise CA's policy module does: at
every request it reads the template and its own enrollment-service object,
and the requester's account (dNSHostName, mail, userPrincipalName, objectSid,
tokenGroups) from the DC over LDAP, authenticated with the CA host's machine
keytab (a FILE ccache it owns, renewed when older than 4 hours).

Renewals (MS-WCCE 3.2.1.4.2.1.4.2.1): a CertRequest that is CMS SignedData
is checked as an enterprise CA does: the signature (openssl cms), the signer
issued by this CA, not expired, not revoked, named by the inner PKCS#10's
szOID_RENEWAL_CERTIFICATE attribute (else 0x8009400E) and issued to the
requester (else 0x80094806); CT_FLAG_REQUIRE_SAME_KEY_RENEWAL keeps the key
(else 0x80094816).  With CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT and
a signer of the same template the renewal skips PEND_ALL_REQUESTS and counts
as the one signature msPKI-RA-Signature may ask for (3.2.2.6.2.1.4.8); an
unsigned request for a template that needs signatures gets 0x8009480A.  The
CA's own permissions are its enrollment service's nTSecurityDescriptor
(Enroll, else 0x80094011).

Pages follow the captures and markers in tests/samples/certsrv/; lines end
in CRLF like IIS.

Directory ($ADCS_EMU_DIR, owned by the web server user):
  emu.json                 settings written by domain.sh
  ca.pem ca.key            the issuing CA;  rogue.pem rogue.key: same name, other key
  ca.keytab                the CA computer's keytab (CA$, host/ and HTTP/ca...)
  pages/                   real page templates copied from tests/samples/certsrv
  fault.json               optional, see below
  emu.pid                  pid of the `serve` process
  state/next_id            next request id
  state/req-N.csr          the CSR as received (PEM); for a CMS renewal the inner PKCS#10
  state/req-N.p7           a CMS (renewal) request as received (DER): a test reads the
                           signer and the renewal attribute from it (openssl cms / asn1parse)
  state/req-N.cer          the issued certificate (PEM)
  state/req-N.json         requester, template, attributes, status, disposition, hresult ...
  state/access.jsonl       one line per HTTP request: time, method, path, query, user, status

Command line (run by domain.sh as the web server user):
  certsrv_emu.py serve 127.0.0.1:PORT [PIDFILE]   the server behind Apache's proxy
  certsrv_emu.py approve N   issue pending request N ("certutil -resubmit")
  certsrv_emu.py deny N      deny pending request N (0x80094014, by the CA administrator)
  certsrv_emu.py list        one line per request
  certsrv_emu.py gencrl      sign state/crl.der (the CRL domain.sh publishes at the CDP object)
  certsrv_emu.py revoke N [REASON]  revoke request N's certificate (default keyCompromise), new CRL

fault.json  {"mode": M, "count": N, "seconds": S, "path": "substring"}
  Applied to the next N matching requests (count -1: until removed), then
  the file is removed.  path limits it to request paths containing the text.
    http500   HTTP 500 with an IIS-style error page
    garbage   200 text/html that is no certsrv page
    huge      200 text/html of 50 MiB
    empty     200 text/html with an empty body
    delay     sleep S seconds, then answer normally
    wrongkey  issue the certificate for a freshly generated key, not the CSR's
    badchain  sign the certificate with the rogue CA (same name, other key)
    future    issue the certificate valid from an hour ahead (the CA's clock is
              ahead of the client's: clock skew)
    rpc       the Error page a web enrollment server shows when it cannot reach
              the CA service: 0x800706BA RPC_S_SERVER_UNAVAILABLE in Result, COM
              Error Info and LastStatus, and the suggested cause "The
              Certification Authority Service has not been started"; no request
              is made (use path certfnsh.asp for submissions, certnew.cer for polls)
    busy      the same with 0x800706BB RPC_S_SERVER_TOO_BUSY
    notstarted the same with 0x80070426 ERROR_SERVICE_NOT_ACTIVE
    certtype  certnew.cer answers an issued certificate with Content-Type
              "ctype" (default application/octet-stream) and body "body":
              pem (default), der, or base64 (bare, no armour)
    tamper    a CMS (renewal) request arrives with the last byte of its
              signature flipped, as if changed on the way: the CA refuses it
              (0x80090006); req-N.p7 keeps what arrived
  wrongkey, badchain and future count issuances, certtype certificate answers,
  tamper CMS requests, not HTTP requests.

lang.json  {"lang": "auto"|"en"|"ja"|"de"|"fr"|"zh", "charset": "utf-8"|"shift_jis"}
  The language of the pages (written by `domain.sh lang`): auto (or no file)
  follows the client's Accept-Language, as IIS does; the others pin a culture
  as a site can.  Prose, labels and the CA's disposition messages are
  translated; element IDs, links, script lines, numbers and HRESULTs are not.
  charset shift_jis re-encodes the HTML answers as a transcoding proxy would
  (Content-Type charset=shift_jis; the page's <Meta> still says UTF-8).
"""
import base64
import datetime
import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

BASE = os.environ.get("ADCS_EMU_DIR") or os.path.dirname(os.path.abspath(__file__))
STATE = os.path.join(BASE, "state")
CRLF = "\r\n"

ENROLL_GUID = "0e10c968-78fb-11d2-90d4-00c04f79dc55"
AUTOENROLL_GUID = "a05b8cc2-17bc-4802-a710-e7c15ab866a2"
SD_FLAGS_CONTROL = "!1.2.840.113556.1.4.801=::MAMCAQc="   # OWNER|GROUP|DACL, critical

# msPKI-Certificate-Name-Flag (MS-CRTD 2.28)
ENROLLEE_SUPPLIES_SUBJECT = 0x00000001
ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME = 0x00010000
SUBJECT_ALT_REQUIRE_DOMAIN_DNS = 0x00400000
SUBJECT_ALT_REQUIRE_SPN = 0x00800000
SUBJECT_ALT_REQUIRE_DIRECTORY_GUID = 0x01000000
SUBJECT_ALT_REQUIRE_UPN = 0x02000000
SUBJECT_ALT_REQUIRE_EMAIL = 0x04000000
SUBJECT_ALT_REQUIRE_DNS = 0x08000000
SUBJECT_REQUIRE_DNS_AS_CN = 0x10000000
SUBJECT_REQUIRE_EMAIL = 0x20000000
SUBJECT_REQUIRE_COMMON_NAME = 0x40000000
SUBJECT_REQUIRE_DIRECTORY_PATH = 0x80000000
# msPKI-Enrollment-Flag (MS-CRTD 2.26)
PEND_ALL_REQUESTS = 0x00000002
PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT = 0x00000040
NO_SECURITY_EXTENSION = 0x00080000
# msPKI-Private-Key-Flag (MS-CRTD 2.27)
REQUIRE_SAME_KEY_RENEWAL = 0x00000080
OID_RENEWAL_CERTIFICATE = "1.3.6.1.4.1.311.13.1"
OID_CERTIFICATE_TEMPLATE = "1.3.6.1.4.1.311.21.7"
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"

# HRESULT -> (symbol, winerror text)
HRESULTS = {
    0x80094004: ("CERTSRV_E_PROPERTY_EMPTY", "The requested property value is empty."),
    0x80094012: ("CERTSRV_E_TEMPLATE_DENIED", "The permissions on the certificate template do not allow "
                 "the current user to enroll for this type of certificate."),
    0x80094014: ("CERTSRV_E_ADMIN_DENIED_REQUEST", "The request was denied by a certificate manager or "
                 "CA administrator."),
    0x80094800: ("CERTSRV_E_UNSUPPORTED_CERT_TYPE", "The request was for a certificate template that is "
                 "not supported by the Active Directory Certificate Services policy"),
    0x80094801: ("CERTSRV_E_NO_CERT_TYPE", "The request contains no certificate template information."),
    0x8009480D: ("CERTSRV_E_SUBJECT_UPN_REQUIRED", "The user principal name (UPN) is unavailable and "
                 "cannot be added to the Subject Alternate name."),
    0x8009480E: ("CERTSRV_E_SUBJECT_DIRECTORY_GUID_REQUIRED", "The directory GUID is unavailable and "
                 "cannot be added to the Subject Alternate name."),
    0x8009480F: ("CERTSRV_E_SUBJECT_DNS_REQUIRED", "The Domain Name System (DNS) name is unavailable and "
                 "cannot be added to the Subject Alternate name."),
    0x80094811: ("CERTSRV_E_KEY_LENGTH", "The public key does not meet the minimum size required by the "
                 "specified certificate template."),
    0x80094812: ("CERTSRV_E_SUBJECT_EMAIL_REQUIRED", "The email name is unavailable and cannot be added "
                 "to the Subject or Subject Alternate name."),
    0x8009310B: ("CRYPT_E_ASN1_BADTAG", "ASN1 bad tag value met."),
    # renewals (MS-WCCE 3.2.1.4.2.1.4.2.1, 3.2.2.6.2.1.4.8) and the CA's own permissions
    0x80090006: ("NTE_BAD_SIGNATURE", "Invalid Signature."),
    0x80092010: ("CRYPT_E_REVOKED", "The certificate is revoked."),
    0x800B0101: ("CERT_E_EXPIRED", "A required certificate is not within its validity period when verifying "
                 "against the current system clock or the timestamp in the signed file."),
    0x800B0109: ("CERT_E_UNTRUSTEDROOT", "A certificate chain processed, but terminated in a root certificate "
                 "which is not trusted by the trust provider."),
    0x8009400E: ("CERTSRV_E_BAD_RENEWAL_CERT_ATTRIBUTE", "An attempt was made to renew a certificate that "
                 "is not the one the renewal certificate attribute names."),
    0x80094011: ("CERTSRV_E_ENROLL_DENIED", "The permissions on this certification authority do not allow "
                 "the current user to enroll for certificates."),
    0x80094806: ("CERTSRV_E_BAD_RENEWAL_SUBJECT", "The request was made on behalf of a subject other than "
                 "the caller."),
    0x8009480A: ("CERTSRV_E_SIGNATURE_COUNT", "The request is missing one or more required signatures."),
    0x80094816: ("CERTSRV_E_RENEWAL_BAD_PUBLIC_KEY", "The public key in the renewal request does not "
                 "match the key of the certificate being renewed."),
}

# request dispositions (CR_DISP_*)
DISP_ERROR, DISP_DENIED, DISP_ISSUED, DISP_PENDING = 1, 2, 3, 5


def laststatus(hr):
    sym, text = HRESULTS[hr]
    return "%s 0x%x (%d %s)" % (text, hr, hr - (1 << 32), sym)


class Fail(Exception):
    """A policy-module denial or request error: hresult + optional detail."""

    def __init__(self, hr, detail=None):
        super().__init__(hex(hr))
        self.hr = hr
        self.detail = detail

    def message(self):
        text = HRESULTS[self.hr][1]
        if self.hr == 0x8009310B:
            text = "Error Parsing Request  " + text
        if self.detail:
            text = text.rstrip(".") + ": " + self.detail + "."
        return text


def settings():
    with open(os.path.join(BASE, "emu.json")) as f:
        return json.load(f)


# ------------------------------------------------------------------ LDAP
class Directory:
    """Reads AD through ldapsearch -Y GSSAPI as the CA's computer account."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.ccache = os.path.join(BASE, "krb5cc_ca")
        self.env = dict(os.environ, KRB5CCNAME="FILE:" + self.ccache,
                        KRB5_CONFIG=cfg.get("krb5_config", os.environ.get("KRB5_CONFIG", "")))

    def _kinit(self, force=False):
        lock = open(self.ccache + ".lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                fresh = time.time() - os.path.getmtime(self.ccache) < 4 * 3600
            except OSError:
                fresh = False
            if fresh and not force:
                return
            r = subprocess.run(["kinit", "-k", "-t", self.cfg["keytab"], "-c", self.ccache,
                                self.cfg["principal"]], env=self.env, capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError("kinit as %s failed: %s" % (self.cfg["principal"], r.stderr.strip()))
        finally:
            lock.close()

    def _cmd(self, base, scope, filt, attrs, sd):
        cmd = ["ldapsearch", "-Q", "-LLL", "-o", "ldif-wrap=no", "-Y", "GSSAPI",
               "-H", "ldap://" + self.cfg["dc_host"], "-b", base, "-s", scope]
        if sd:
            cmd += ["-E", SD_FLAGS_CONTROL]
        return cmd + [filt] + list(attrs)

    def search_many(self, queries):
        """Runs the searches (base, scope, filter, attrs, sd) in parallel;
        returns their entries in order."""
        self._kinit()
        cmds = [self._cmd(*q) for q in queries]
        for attempt in (0, 1):
            procs = [subprocess.Popen(c, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for c in cmds]
            outs = [p.communicate() + (p.returncode,) for p in procs]
            # 0 = success, 10 = referral (subtree searches from the domain root
            # return continuation references, which we do not follow), 32 = no such object
            bad = [o for o in outs if o[2] not in (0, 10, 32)]
            if not bad:
                return [parse_ldif(o[0]) for o in outs]
            if attempt == 0:
                self._kinit(force=True)
        raise RuntimeError("ldapsearch failed (%d): %s" % (bad[0][2], bad[0][1].decode(errors="replace").strip()))

    def search(self, base, scope, filt, attrs, sd=False):
        return self.search_many([(base, scope, filt, attrs, sd)])[0]


def parse_ldif(data):
    """-LLL -o ldif-wrap=no output -> [(dn, {attr_lower: [bytes|str]})]."""
    entries = []
    for block in data.decode("utf-8", "replace").split("\n\n"):
        dn, attrs = None, {}
        for line in block.split("\n"):
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^([^:]+)(::?) ?(.*)$", line)
            if not m:
                continue
            name, sep, val = m.group(1), m.group(2), m.group(3)
            v = base64.b64decode(val) if sep == "::" else val
            if name.lower() == "dn":
                dn = v.decode("utf-8") if isinstance(v, bytes) else v
            else:
                attrs.setdefault(name.lower(), []).append(v)
        if dn is not None:
            entries.append((dn, attrs))
    return entries


def ldap_escape(s):
    return "".join("\\%02x" % ord(c) if c in "*()\\\0" else c for c in s)


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


def first(attrs, name, default=None):
    vals = attrs.get(name.lower())
    return text(vals[0]) if vals else default


def first_int(attrs, name, default=0):
    v = first(attrs, name)
    return int(v) & 0xFFFFFFFF if v is not None else default


def raw(attrs, name):
    vals = attrs.get(name.lower())
    if not vals:
        return None
    v = vals[0]
    return v if isinstance(v, bytes) else v.encode("utf-8")


# ------------------------------------------------------------------ SIDs, SDs
def sid_from_bytes(b, off=0):
    rev, n = b[off], b[off + 1]
    auth = int.from_bytes(b[off + 2:off + 8], "big")
    subs = struct.unpack_from("<%dI" % n, b, off + 8)
    return "S-%d-%d%s" % (rev, auth, "".join("-%d" % s for s in subs)), 8 + 4 * n


def guid_from_bytes(b, off):
    d1, d2, d3 = struct.unpack_from("<IHH", b, off)
    d4 = b[off + 8:off + 16]
    return "%08x-%04x-%04x-%s-%s" % (d1, d2, d3, d4[:2].hex(), d4[2:].hex())


def has_right(sd, token, right_guid):
    """MS-CRTD 2.5.1/2.5.2 control-access check on a self-relative SD: walk
    the DACL in order, first ACE that applies decides."""
    if sd is None or len(sd) < 20:
        return False
    control, = struct.unpack_from("<H", sd, 2)
    dacl_off, = struct.unpack_from("<I", sd, 16)
    if not control & 0x0004 or dacl_off == 0:    # no DACL / NULL DACL: everything allowed
        return True
    _, _, _, count, _ = struct.unpack_from("<BBHHH", sd, dacl_off)
    off = dacl_off + 8
    for _ in range(count):
        ace_type, ace_flags, size = struct.unpack_from("<BBH", sd, off)
        body = off + 4
        if ace_flags & 0x08:              # INHERIT_ONLY
            off += size
            continue
        if ace_type in (0, 1):
            mask, = struct.unpack_from("<I", sd, body)
            sid, _ = sid_from_bytes(sd, body + 4)
            applies = bool(mask & (0x100 | 0x10000000))
        elif ace_type in (5, 6):
            mask, oflags = struct.unpack_from("<II", sd, body)
            p = body + 8
            obj = None
            if oflags & 1:
                obj = guid_from_bytes(sd, p)
                p += 16
            if oflags & 2:
                p += 16
            sid, _ = sid_from_bytes(sd, p)
            applies = bool(mask & (0x100 | 0x10000000)) and (obj is None or obj == right_guid)
        else:
            off += size
            continue
        if applies and sid in token:
            return ace_type in (0, 5)
        off += size
    return False


# ------------------------------------------------------------------ DER bits for the MS extensions
def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_oid(oid):
    arcs = [int(a) for a in oid.split(".")]
    out = bytes([40 * arcs[0] + arcs[1]])
    for a in arcs[2:]:
        enc = [a & 0x7F]
        a >>= 7
        while a:
            enc.append(0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(reversed(enc))
    return der(0x06, out)


def der_int(v):
    b = v.to_bytes(v.bit_length() // 8 + 1, "big")
    return der(0x02, b)


# ------------------------------------------------------------------ state
def next_id(cfg):
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "next_id"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        cur = int(f.read().strip() or cfg.get("first_request_id", 1))
        f.seek(0)
        f.truncate()
        f.write(str(cur + 1))
    return cur


def req_path(rid, ext):
    return os.path.join(STATE, "req-%d.%s" % (rid, ext))


def load_req(rid):
    try:
        with open(req_path(rid, "json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def save_req(meta):
    tmp = req_path(meta["id"], "json.tmp")
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    os.rename(tmp, req_path(meta["id"], "json"))


def take_fault(path, kinds):
    """Returns the active fault dict if it applies to this request and one of
    kinds, consuming one use of it."""
    fp = os.path.join(BASE, "fault.json")
    if not os.path.exists(fp):
        return None
    with open(os.path.join(BASE, "fault.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(fp) as f:
                fault = json.load(f)
        except (OSError, ValueError):
            return None
        if fault.get("mode") not in kinds or (fault.get("path") and fault["path"] not in path):
            return None
        count = int(fault.get("count", 1))
        if count > 0:
            count -= 1
            if count == 0:
                os.unlink(fp)
            else:
                fault["count"] = count
                with open(fp + ".tmp", "w") as f:
                    json.dump(fault, f)
                os.rename(fp + ".tmp", fp)
        return fault


# ------------------------------------------------------------------ policy module
def account_name(remote_user):
    """CLIENT$@EXAMPLE.TEST -> CLIENT$ ; alice@EXAMPLE.TEST -> alice"""
    return (remote_user or "").split("@", 1)[0]


ACCOUNT_ATTRS = ["sAMAccountName", "objectSid", "objectGUID", "dNSHostName", "mail", "userPrincipalName",
                 "cn", "objectClass", "tokenGroups"]


def read_ad(cfg, template_name, remote_user):
    """The facts a policy module looks at, read fresh from AD: the template and
    the CA's enrollment service (with the SD-flags control, as the CA's
    computer account), and the requester's account with its tokenGroups
    (only on a base search, as on AD).  The requester's DN is remembered
    between requests so that both reads go out in parallel."""
    d = Directory(cfg)
    pks = "CN=Public Key Services,CN=Services," + cfg["config_dn"]
    sam = account_name(remote_user)
    cache_path = os.path.join(STATE, "dn-cache.json")
    try:
        with open(cache_path) as f:
            dn_cache = json.load(f)
    except (OSError, ValueError):
        dn_cache = {}
    pki_query = (pks, "sub", "(|(&(objectClass=pKICertificateTemplate)(cn=%s))"
                 "(&(objectClass=pKIEnrollmentService)(cn=%s)))"
                 % (ldap_escape(template_name), ldap_escape(cfg["ca_name"])), ["*", "nTSecurityDescriptor"], True)
    dn = dn_cache.get(sam.lower())
    if dn:
        objs, acc = d.search_many([pki_query, (dn, "base", "(objectClass=*)", ACCOUNT_ATTRS, False)])
    else:
        objs, found = d.search_many([pki_query, (cfg["domain_dn"], "sub", "(sAMAccountName=%s)" % ldap_escape(sam),
                                                 ["sAMAccountName"], False)])
        acc = d.search(found[0][0], "base", "(objectClass=*)", ACCOUNT_ATTRS) if found else []
    account = None
    if acc and (first(acc[0][1], "sAMAccountName") or "").lower() == sam.lower():
        account = acc[0]
        if dn != account[0]:
            dn_cache[sam.lower()] = account[0]
            with open(cache_path + ".tmp", "w") as f:
                json.dump(dn_cache, f)
            os.rename(cache_path + ".tmp", cache_path)
    elif dn:
        # renamed or deleted since: look it up again
        dn_cache.pop(sam.lower(), None)
        with open(cache_path, "w") as f:
            json.dump(dn_cache, f)
        return read_ad(cfg, template_name, remote_user)
    template = service = None
    for _, attrs in objs:
        classes = [text(c).lower() for c in attrs.get("objectclass", [])]
        if "pkicertificatetemplate" in classes:
            template = attrs
        elif "pkienrollmentservice" in classes:
            service = attrs
    return template, service, account


def decide(cfg, template_name, template, service, account, csr, ignore_pending=False, renewal=None):
    """Returns ("issue"|"pending", profile) or raises Fail.  Mirrors what the
    enterprise policy module checks, in its order.  renewal: the verified
    facts of a CMS renewal (verify_renewal), None for a plain PKCS#10."""
    published = [text(t) for t in (service or {}).get("certificatetemplates", [])]
    if template is None or template_name.lower() not in (t.lower() for t in published):
        raise Fail(0x80094800, template_name)
    if account is None:
        raise Fail(0x80094012)
    dn, acc = account
    token = {"S-1-1-0", "S-1-5-11", "S-1-5-15"}
    sidb = raw(acc, "objectSid")
    if sidb:
        token.add(sid_from_bytes(sidb)[0])
    for g in acc.get("tokengroups", []):
        token.add(sid_from_bytes(g if isinstance(g, bytes) else g.encode())[0])
    # the CA's own permissions (a real CA keeps them in its registry; here
    # its enrollment service object's descriptor stands for them)
    if service is not None and raw(service, "nTSecurityDescriptor") is not None \
            and not has_right(raw(service, "nTSecurityDescriptor"), token, ENROLL_GUID):
        raise Fail(0x80094011)
    if not has_right(raw(template, "nTSecurityDescriptor"), token, ENROLL_GUID):
        raise Fail(0x80094012)
    approved = check_renewal(template, renewal, dn, acc, csr)
    from cryptography.hazmat.primitives.asymmetric import rsa
    minbits = first_int(template, "msPKI-Minimal-Key-Size", 0)
    pub = csr.public_key()
    if isinstance(pub, rsa.RSAPublicKey) and pub.key_size < minbits:
        raise Fail(0x80094811)
    nflag = first_int(template, "msPKI-Certificate-Name-Flag")
    eflag = first_int(template, "msPKI-Enrollment-Flag")
    dns = first(acc, "dNSHostName")
    mail = first(acc, "mail")
    upn = first(acc, "userPrincipalName")
    if nflag & (SUBJECT_ALT_REQUIRE_DNS | SUBJECT_REQUIRE_DNS_AS_CN | SUBJECT_ALT_REQUIRE_DOMAIN_DNS) and not dns:
        raise Fail(0x8009480F)
    if nflag & (SUBJECT_ALT_REQUIRE_EMAIL | SUBJECT_REQUIRE_EMAIL) and not mail:
        raise Fail(0x80094812)
    if nflag & (SUBJECT_ALT_REQUIRE_UPN | SUBJECT_ALT_REQUIRE_SPN) and not upn:
        raise Fail(0x8009480D)
    profile = {"dn": dn, "dns": dns, "mail": mail, "upn": upn, "cn": first(acc, "cn"),
               "sid": sid_from_bytes(sidb)[0] if sidb else None,
               "guid": raw(acc, "objectGUID").hex() if raw(acc, "objectGUID") else None}
    if eflag & PEND_ALL_REQUESTS and not ignore_pending and not approved:
        return "pending", profile
    return "issue", profile


def check_renewal(template, renewal, dn, acc, csr):
    """The renewal rules of an enterprise policy module (MS-WCCE
    3.2.2.6.2.1.4.8): raises Fail, or returns True when a previous approval
    stands for this one (the request then skips PEND_ALL_REQUESTS) and
    counts the renewal signature as the one RA signature msPKI-RA-Signature
    may ask for."""
    eflag = first_int(template, "msPKI-Enrollment-Flag")
    pkflag = first_int(template, "msPKI-Private-Key-Flag")
    ra = first_int(template, "msPKI-RA-Signature")
    if renewal is None:
        if ra > 0:
            raise Fail(0x8009480A, "the template needs %d signature%s" % (ra, "" if ra == 1 else "s"))
        return False
    old = renewal["cert"]
    # same requester: the certificate being renewed carries the account's
    # SID (szOID_NTDS_CA_SECURITY_EXT) or its DNS name / UPN
    sidb = raw(acc, "objectSid")
    who = {v for v in (sid_from_bytes(sidb)[0] if sidb else None, first(acc, "dNSHostName"),
                       first(acc, "userPrincipalName")) if v}
    if not who & renewal["names"]:
        raise Fail(0x80094806, "the certificate being renewed was issued to %s"
                   % (", ".join(sorted(renewal["names"])) or "someone else"))
    if pkflag & REQUIRE_SAME_KEY_RENEWAL and renewal["old_key_der"] != renewal["new_key_der"]:
        raise Fail(0x80094816)
    same_template = renewal.get("template_oid") == first(template, "msPKI-Cert-Template-OID")
    approved = bool(eflag & PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT) and same_template
    if ra > 1 or (ra == 1 and not approved):
        raise Fail(0x8009480A, "the template needs %d signature%s; a renewal counts as one only with "
                   "CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT and a certificate of this template"
                   % (ra, "" if ra == 1 else "s"))
    return approved


def der_read(b, off):
    """One DER TLV at off: (tag, content start, content end)."""
    tag = b[off]
    n = b[off + 1]
    off += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad length")
        n = int.from_bytes(b[off:off + k], "big")
        off += k
    if off + n > len(b):
        raise ValueError("truncated")
    return tag, off, off + n


def der_children(b, start, end):
    out = []
    while start < end:
        tag, s0, e0 = der_read(b, start)
        out.append((tag, start, s0, e0))
        start = e0
    return out


def oid_text(content):
    arcs, v = [], 0
    for i, c in enumerate(content):
        v = (v << 7) | (c & 0x7F)
        if not c & 0x80:
            arcs.append(v)
            v = 0
    first_arc = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first_arc, arcs[0] - 40 * first_arc] + arcs[1:])


def is_cms(derbytes):
    """ContentInfo { id-signedData, ... }: a renewal (or CMC) rather than a bare PKCS#10."""
    try:
        tag, s0, e0 = der_read(derbytes, 0)
        kids = der_children(derbytes, s0, e0)
        return tag == 0x30 and kids[0][0] == 0x06 and oid_text(derbytes[kids[0][2]:kids[0][3]]) == OID_SIGNED_DATA
    except (ValueError, IndexError):
        return False


def renewal_attribute(csr_der):
    """The szOID_RENEWAL_CERTIFICATE value of a PKCS#10 (DER bytes), or None."""
    _, s0, e0 = der_read(csr_der, 0)                    # CertificationRequest
    _, s1, e1 = der_read(csr_der, s0)                   # CertificationRequestInfo
    info = der_children(csr_der, s1, e1)
    attrs = [k for k in info if k[0] == 0xA0]
    if not attrs:
        return None
    for _, _, s2, e2 in der_children(csr_der, attrs[0][2], attrs[0][3]):
        kids = der_children(csr_der, s2, e2)
        if kids and oid_text(csr_der[kids[0][2]:kids[0][3]]) == OID_RENEWAL_CERTIFICATE:
            values = der_children(csr_der, kids[1][2], kids[1][3])
            return csr_der[values[0][1]:values[0][3]] if values else b""
    return None


def verify_renewal(cms_der, rid_path):
    """Checks a CMS renewal as an enterprise CA does (MS-WCCE
    3.2.1.4.2.1.4.2.1): the signature by the certificate it carries, that
    certificate issued by this CA, not expired, not revoked, and named by
    the inner PKCS#10's renewal attribute.  Returns (csr, facts) or raises
    Fail; facts is None when the PKCS#10 has no renewal attribute (then it
    is a new request, as the spec says)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    tmp = rid_path + ".verify"
    os.makedirs(tmp, exist_ok=True)
    try:
        with open(os.path.join(tmp, "in.der"), "wb") as f:
            f.write(cms_der)
        # the signature only (-noverify: the chain is checked below against
        # this CA, as the policy module does)
        r = subprocess.run(["openssl", "cms", "-verify", "-noverify", "-binary", "-inform", "DER",
                            "-in", os.path.join(tmp, "in.der"), "-out", os.path.join(tmp, "content.der"),
                            "-signer", os.path.join(tmp, "signer.pem")], capture_output=True, text=True)
        if r.returncode != 0:
            raise Fail(0x80090006, "the renewal's signature does not verify")
        with open(os.path.join(tmp, "content.der"), "rb") as f:
            content = f.read()
        with open(os.path.join(tmp, "signer.pem"), "rb") as f:
            signers = [x509.load_pem_x509_certificate(m.group(0)) for m in re.finditer(
                rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", f.read(), re.S)]
    finally:
        subprocess.run(["rm", "-rf", tmp])
    try:
        csr = x509.load_der_x509_csr(content)
        ok = csr.is_signature_valid
    except Exception:
        raise Fail(0x8009310B)
    if not ok:
        raise Fail(0x80090006, "the inner request's signature does not verify")
    attr = renewal_attribute(content)
    if attr is None:
        return csr, None
    if len(signers) != 1:
        raise Fail(0x8009400E, "one signer expected")
    signer = signers[0]
    if attr != signer.public_bytes(serialization.Encoding.DER):
        raise Fail(0x8009400E)
    ca_key, ca_cert = signing_pair("ca")
    try:
        from cryptography.hazmat.primitives.asymmetric import padding
        if signer.issuer != ca_cert.subject:
            raise ValueError("issuer")
        ca_cert.public_key().verify(signer.signature, signer.tbs_certificate_bytes, padding.PKCS1v15(),
                                    signer.signature_hash_algorithm)
    except Exception:
        raise Fail(0x800B0109, "the certificate being renewed was not issued by this CA")
    now = datetime.datetime.now(datetime.timezone.utc)
    utc = datetime.timezone.utc
    if not signer.not_valid_before.replace(tzinfo=utc) <= now < signer.not_valid_after.replace(tzinfo=utc):
        raise Fail(0x800B0101)
    if ("%x" % signer.serial_number) in load_revoked():
        raise Fail(0x80092010)
    names = set()
    try:
        for gn in signer.extensions.get_extension_for_class(x509.SubjectAlternativeName).value:
            if isinstance(gn, x509.DNSName):
                names.add(gn.value)
            elif isinstance(gn, x509.OtherName) and gn.type_id.dotted_string == "1.3.6.1.4.1.311.20.2.3":
                names.add(gn.value[2:].decode("utf-8", "replace"))
    except x509.ExtensionNotFound:
        pass
    try:
        sidext = signer.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.311.25.2")).value.value
        m = re.search(rb"S-1-[0-9-]+", sidext)
        if m:
            names.add(m.group(0).decode())
    except x509.ExtensionNotFound:
        pass
    template_oid = None
    try:
        ext = signer.extensions.get_extension_for_oid(x509.ObjectIdentifier(OID_CERTIFICATE_TEMPLATE)).value.value
        _, s0, e0 = der_read(ext, 0)
        kid = der_children(ext, s0, e0)[0]
        template_oid = oid_text(ext[kid[2]:kid[3]])
    except (x509.ExtensionNotFound, ValueError, IndexError):
        pass
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return csr, {"cert": signer, "names": names, "template_oid": template_oid,
                 "serial": "%x" % signer.serial_number,
                 "old_key_der": signer.public_key().public_bytes(*spki),
                 "new_key_der": csr.public_key().public_bytes(*spki)}


def period_seconds(b, default):
    if not b or len(b) != 8:
        return default
    v, = struct.unpack("<q", b)
    return -v // 10 ** 7 if v < 0 else default


def dn_to_name(dn):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    types = {"CN": NameOID.COMMON_NAME, "DC": NameOID.DOMAIN_COMPONENT, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
             "O": NameOID.ORGANIZATION_NAME, "C": NameOID.COUNTRY_NAME, "L": NameOID.LOCALITY_NAME,
             "ST": NameOID.STATE_OR_PROVINCE_NAME}
    rdns = []
    for part in re.split(r"(?<!\\),", dn):
        k, _, v = part.strip().partition("=")
        if k.upper() in types:
            rdns.append(x509.NameAttribute(types[k.upper()], re.sub(r"\\(.)", r"\1", v)))
    # LDAP strings list the leaf first; X.509 names start at the root
    return x509.Name(list(reversed(rdns)))


def issue(cfg, meta, template, csr, profile):
    """Builds and signs the certificate as the CA would for this template."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID, ObjectIdentifier
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    nflag = first_int(template, "msPKI-Certificate-Name-Flag")
    eflag = first_int(template, "msPKI-Enrollment-Flag")
    schema = first_int(template, "msPKI-Template-Schema-Version", 1)
    validity = period_seconds(raw(template, "pKIExpirationPeriod"), 365 * 86400)
    crit = [text(o) for o in template.get("pkicriticalextensions", [])]

    fault = take_fault("issue", ("wrongkey", "badchain", "future"))
    signer = "ca"
    pub = csr.public_key()
    if fault and fault["mode"] == "wrongkey":
        pub = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        meta["fault"] = "wrongkey"
    elif fault and fault["mode"] == "badchain":
        signer = "rogue"
        meta["fault"] = "badchain"
    elif fault and fault["mode"] == "future":
        meta["fault"] = "future"
    ca_key, ca_cert = signing_pair(signer)

    # subject
    if nflag & ENROLLEE_SUPPLIES_SUBJECT:
        subject = csr.subject
    elif nflag & SUBJECT_REQUIRE_DIRECTORY_PATH:
        subject = dn_to_name(profile["dn"])
        if nflag & SUBJECT_REQUIRE_EMAIL:
            subject = x509.Name(list(subject) + [x509.NameAttribute(NameOID.EMAIL_ADDRESS, profile["mail"])])
    elif nflag & SUBJECT_REQUIRE_DNS_AS_CN:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, profile["dns"])])
    elif nflag & SUBJECT_REQUIRE_COMMON_NAME:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, profile["cn"])])
    elif nflag & SUBJECT_REQUIRE_EMAIL:
        subject = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, profile["mail"])])
    else:
        subject = x509.Name([])

    # subject alternative name
    san = []
    if nflag & ENROLLEE_SUPPLIES_SUBJECT_ALT_NAME:
        try:
            san = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            pass
    if nflag & (SUBJECT_ALT_REQUIRE_DNS | SUBJECT_ALT_REQUIRE_DOMAIN_DNS):
        san.append(x509.DNSName(profile["dns"]))
    if nflag & SUBJECT_ALT_REQUIRE_EMAIL:
        san.append(x509.RFC822Name(profile["mail"]))
    if nflag & (SUBJECT_ALT_REQUIRE_UPN | SUBJECT_ALT_REQUIRE_SPN):
        san.append(x509.OtherName(ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"),
                                  der(0x0C, profile["upn"].encode("utf-8"))))
    if nflag & SUBJECT_ALT_REQUIRE_DIRECTORY_GUID and profile["guid"]:
        san.append(x509.OtherName(ObjectIdentifier("1.3.6.1.4.1.311.25.1"),
                                  der(0x04, bytes.fromhex(profile["guid"]))))

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    not_before = now - datetime.timedelta(minutes=int(cfg.get("clock_skew_minutes", 10)))
    if meta.get("fault") == "future":
        not_before = now + datetime.timedelta(hours=1)
    not_after = min(now + datetime.timedelta(seconds=validity), ca_cert.not_valid_after.replace(
        tzinfo=datetime.timezone.utc))
    b = (x509.CertificateBuilder()
         .subject_name(subject).issuer_name(ca_cert.subject).public_key(pub)
         .serial_number(int.from_bytes(os.urandom(15), "big") | (0x61 << 112))
         .not_valid_before(not_before).not_valid_after(not_after))
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                        critical=False)
    ku = raw(template, "pKIKeyUsage") or b"\xa0\x00"
    k0 = ku[0]
    try:
        b = b.add_extension(x509.KeyUsage(
            digital_signature=bool(k0 & 0x80), content_commitment=bool(k0 & 0x40),
            key_encipherment=bool(k0 & 0x20), data_encipherment=bool(k0 & 0x10),
            key_agreement=bool(k0 & 0x08), key_cert_sign=bool(k0 & 0x04), crl_sign=bool(k0 & 0x02),
            encipher_only=bool(k0 & 0x08 and k0 & 0x01),
            decipher_only=bool(k0 & 0x08 and len(ku) > 1 and ku[1] & 0x80)), critical="2.5.29.15" in crit)
    except ValueError:
        pass
    ekus = [text(o) for o in template.get("pkiextendedkeyusage", [])]
    if ekus:
        b = b.add_extension(x509.ExtendedKeyUsage([ObjectIdentifier(o) for o in ekus]),
                            critical="2.5.29.37" in crit)
    if san:
        # RFC 5280 4.2.1.6: critical when the subject is empty
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=len(subject) == 0)
    if schema >= 2:
        # szOID_CERTIFICATE_TEMPLATE: {templateID, major (revision), minor} (MS-WCCE 2.2.2.7.7.2)
        info = der(0x30, der_oid(first(template, "msPKI-Cert-Template-OID"))
                   + der_int(first_int(template, "revision"))
                   + der_int(first_int(template, "msPKI-Template-Minor-Revision")))
        b = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.311.21.7"), info), False)
        apps = [text(o) for o in template.get("mspki-certificate-application-policy", [])]
        if apps:
            # szOID_APPLICATION_CERT_POLICIES: SEQUENCE OF SEQUENCE { policyIdentifier }
            pol = der(0x30, b"".join(der(0x30, der_oid(o)) for o in apps))
            b = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.311.21.10"), pol),
                                False)
    else:
        # szOID_ENROLL_CERTTYPE_EXTENSION: the v1 template name as a bare BMPString, as real CAs write it
        name = first(template, "cn")
        b = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.311.20.2"),
                                                       der(0x1E, name.encode("utf-16-be"))), False)
    if profile.get("sid") and not eflag & NO_SECURITY_EXTENSION and not nflag & ENROLLEE_SUPPLIES_SUBJECT:
        # szOID_NTDS_CA_SECURITY_EXT (KB5014754): otherName {szOID_NTDS_OBJECTSID, [0] OCTET STRING sid}
        sidext = der(0x30, der(0xA0, der_oid("1.3.6.1.4.1.311.25.2.1")
                               + der(0xA0, der(0x04, profile["sid"].encode("ascii")))))
        b = b.add_extension(x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.311.25.2"), sidext), False)
    b = add_cdp(cfg, b)
    cert = b.sign(ca_key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    with open(req_path(meta["id"], "cer"), "wb") as f:
        f.write(pem)
    meta.update(status="issued", disposition=DISP_ISSUED, serial="%x" % cert.serial_number,
                not_before=not_before.isoformat(), not_after=not_after.isoformat(),
                subject=cert.subject.rfc4514_string(), disposition_message="Issued")


_SIGNERS = {}


def signing_pair(name):
    """(private key, certificate) of "ca" or "rogue", loaded once per process:
    loading an RSA key checks it, which costs more than the signature."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    if name not in _SIGNERS:
        with open(os.path.join(BASE, name + ".key"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        with open(os.path.join(BASE, name + ".pem"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        _SIGNERS[name] = (key, cert)
    return _SIGNERS[name]


def load_csr(text_in):
    from cryptography import x509
    t = text_in.strip()
    m = re.search(r"-----BEGIN (NEW )?CERTIFICATE REQUEST-----(.*?)-----END (NEW )?CERTIFICATE REQUEST-----",
                  t, re.S)
    body = m.group(2) if m else t
    try:
        derbytes = base64.b64decode(re.sub(r"\s+", "", body), validate=True)
        csr = x509.load_der_x509_csr(derbytes)
        if not csr.is_signature_valid:
            return None
        return csr
    except Exception:   # any decoding problem is "Error Parsing Request"
        return None


def cert_attrib(form):
    """CertAttrib ("Name:Value" lines) as (text, {name: value})."""
    attrib = form.get("CertAttrib", [""])[0]
    attributes = {}
    for line in re.split(r"\r?\n", attrib):
        k, sep, v = line.partition(":")
        if sep:
            attributes[k.strip()] = v.strip()
    return attrib, attributes


def request_der(text_in):
    """CertRequest as certfnsh.asp takes it (CR_IN_ENCODEANY | CR_IN_FORMATANY):
    base64 with or without a BEGIN line; None when it is not base64."""
    t = re.sub(r"-----(BEGIN|END)[A-Z0-9 #]*-----", "", text_in)
    try:
        return base64.b64decode(re.sub(r"\s+", "", t), validate=True)
    except Exception:
        return None


def submit(cfg, form, remote_user):
    """Mode=newreq.  Returns (kind, meta|Fail)."""
    csr_text = form.get("CertRequest", [""])[0]
    raw_req = request_der(csr_text)
    if raw_req is not None and is_cms(raw_req):
        return submit_renewal(cfg, form, remote_user, csr_text, raw_req)
    attrib, attributes = cert_attrib(form)
    template_name = attributes.get("CertificateTemplate", "")
    csr = load_csr(csr_text)
    if csr is None:
        return "error", Fail(0x8009310B)
    if not template_name:
        return "error", Fail(0x80094801)
    template, service, account = read_ad(cfg, template_name, remote_user)
    try:
        action, profile = decide(cfg, template_name, template, service, account, csr)
    except Fail as f:
        if f.hr == 0x80094800:
            return "error", f
        meta = new_request(cfg, csr_text, remote_user, template_name, attrib, attributes)
        meta.update(status="denied", disposition=DISP_DENIED, hresult="0x%08x" % f.hr,
                    disposition_message="Denied by Policy Module", status_text=f.message())
        save_req(meta)
        return "denied", meta
    meta = new_request(cfg, csr_text, remote_user, template_name, attrib, attributes)
    if action == "pending":
        meta.update(status="pending", disposition=DISP_PENDING, disposition_message="Taken Under Submission")
    else:
        issue(cfg, meta, template, csr, profile)
    save_req(meta)
    return meta["status"], meta


def submit_renewal(cfg, form, remote_user, req_text, cms_der):
    """A CMS-wrapped request (renewal).  Kept as received in state/req-N.p7
    (DER) with the inner PKCS#10 in req-N.csr; req-N.json records
    "renewal": {"signer_serial", "signer_template_oid", "attribute"} or an
    error."""
    from cryptography.hazmat.primitives import serialization
    attrib, attributes = cert_attrib(form)
    template_name = attributes.get("CertificateTemplate", "")
    if not template_name:
        return "error", Fail(0x80094801)
    rid = next_id(cfg)
    fault = take_fault("submit", ("tamper",))
    if fault:
        # SignerInfo is the last element of SignedData and its signature
        # its last field: the final byte is the signature's
        cms_der = cms_der[:-1] + bytes([cms_der[-1] ^ 0x01])
    with open(req_path(rid, "p7"), "wb") as f:
        f.write(cms_der)
    meta = {"id": rid, "requester": remote_user, "template": template_name, "attrib": attrib,
            "attributes": attributes, "format": "cms", "fault": "tamper" if fault else None,
            "submitted": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        csr, facts = verify_renewal(cms_der, req_path(rid, "p7"))
        with open(req_path(rid, "csr"), "wb") as f:
            f.write(csr.public_bytes(serialization.Encoding.PEM))
        meta["renewal"] = None if facts is None else {
            "signer_serial": facts["serial"], "signer_template_oid": facts["template_oid"],
            "attribute": True, "previous_approval": False}
        template, service, account = read_ad(cfg, template_name, remote_user)
        action, profile = decide(cfg, template_name, template, service, account, csr, renewal=facts)
    except Fail as f:
        if f.hr == 0x80094800:
            return "error", f
        meta.update(status="denied", disposition=DISP_DENIED, hresult="0x%08x" % f.hr,
                    disposition_message="Denied by Policy Module", status_text=f.message())
        save_req(meta)
        return "denied", meta
    if facts is not None:
        meta["renewal"]["previous_approval"] = action == "issue" and bool(
            first_int(template, "msPKI-Enrollment-Flag") & PEND_ALL_REQUESTS)
    if action == "pending":
        meta.update(status="pending", disposition=DISP_PENDING, disposition_message="Taken Under Submission")
    else:
        issue(cfg, meta, template, csr, profile)
    save_req(meta)
    return meta["status"], meta


def new_request(cfg, csr_text, remote_user, template_name, attrib, attributes):
    rid = next_id(cfg)
    with open(req_path(rid, "csr"), "w") as f:
        f.write(csr_text.replace("\r\n", "\n").strip() + "\n")
    return {"id": rid, "requester": remote_user, "template": template_name, "attrib": attrib,
            "attributes": attributes, "submitted": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def resolve(rid, approve):
    """certutil -resubmit / -deny for a pending request."""
    cfg = settings()
    meta = load_req(rid)
    if meta is None:
        print("request %d not found" % rid, file=sys.stderr)
        return 1
    if meta.get("status") != "pending":
        print("request %d is %s, not pending" % (rid, meta.get("status")), file=sys.stderr)
        return 1
    if not approve:
        meta.update(status="denied", disposition=DISP_DENIED, hresult="0x80094014",
                    disposition_message="Denied by CA Administrator",
                    status_text=HRESULTS[0x80094014][1])
        save_req(meta)
        print("request %d denied" % rid)
        return 0
    with open(req_path(rid, "csr")) as f:
        csr = load_csr(f.read())
    template, service, account = read_ad(cfg, meta["template"], meta["requester"])
    try:
        _, profile = decide(cfg, meta["template"], template, service, account, csr, ignore_pending=True)
        issue(cfg, meta, template, csr, profile)
    except Fail as f:
        meta.update(status="denied", disposition=DISP_DENIED, hresult="0x%08x" % f.hr,
                    disposition_message="Denied by Policy Module", status_text=f.message())
    save_req(meta)
    print("request %d %s" % (rid, meta["status"]))
    return 0 if meta["status"] == "issued" else 1


# ------------------------------------------------------------------ CRL distribution point
# An enterprise CA writes an LDAP CDP URL into every certificate and
# publishes its CRL at that object (docs/protocol.md 3.2).  Revocations are kept
# in state/revoked.json ({serial hex: {"date", "reason"}}); gencrl signs the
# CRL into state/crl.der, which domain.sh publishes to the CDP object.
CRL_VALIDITY = 86400          # nextUpdate one day ahead (AD CS default: a week)
# RFC 5280 5.3.1 name -> cryptography's ReasonFlags member
CRL_REASONS = {"unspecified": "unspecified", "keyCompromise": "key_compromise", "cACompromise": "ca_compromise",
               "affiliationChanged": "affiliation_changed", "superseded": "superseded",
               "cessationOfOperation": "cessation_of_operation", "certificateHold": "certificate_hold",
               "privilegeWithdrawn": "privilege_withdrawn"}


def cdp_url(cfg):
    """ldap:///CN=<CA>,CN=<CA host>,CN=CDP,CN=Public Key Services,...?certificateRevocationList?base?
    objectClass=cRLDistributionPoint, spaces %20-encoded as AD CS writes them."""
    dn = "CN=%s,CN=%s,CN=CDP,CN=Public Key Services,CN=Services,%s" % (
        cfg["ca_name"], cfg["ca_host"].split(".")[0], cfg["config_dn"])
    return ("ldap:///%s?certificateRevocationList?base?objectClass=cRLDistributionPoint"
            % dn.replace(" ", "%20"))


def add_cdp(cfg, builder):
    from cryptography import x509
    dp = x509.DistributionPoint(full_name=[x509.UniformResourceIdentifier(cdp_url(cfg))],
                                relative_name=None, reasons=None, crl_issuer=None)
    return builder.add_extension(x509.CRLDistributionPoints([dp]), critical=False)


def load_revoked():
    try:
        with open(os.path.join(STATE, "revoked.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def gen_crl(cfg):
    """Signs state/crl.der with the CA key: every revoked serial, CRL number + 1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    os.makedirs(STATE, exist_ok=True)
    ca_key, _ = signing_pair("ca")
    with open(os.path.join(BASE, "ca.pem"), "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(STATE, "crl_number"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        number = int(f.read().strip() or 0) + 1
        f.seek(0)
        f.truncate()
        f.write(str(number))
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    b = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
         .last_update(now - datetime.timedelta(minutes=int(cfg.get("clock_skew_minutes", 10))))
         .next_update(now + datetime.timedelta(seconds=CRL_VALIDITY))
         .add_extension(x509.CRLNumber(number), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    for serial, r in sorted(load_revoked().items()):
        rb = (x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
              .revocation_date(datetime.datetime.fromisoformat(r["date"])))
        if r.get("reason", "unspecified") != "unspecified":
            flag = x509.ReasonFlags[CRL_REASONS[r["reason"]]]
            rb = rb.add_extension(x509.CRLReason(flag), critical=False)
        b = b.add_revoked_certificate(rb.build())
    crl = b.sign(ca_key, hashes.SHA256())
    tmp = os.path.join(STATE, "crl.der.tmp")
    with open(tmp, "wb") as f:
        f.write(crl.public_bytes(serialization.Encoding.DER))
    os.rename(tmp, os.path.join(STATE, "crl.der"))
    print("CRL %d: %d revoked" % (number, len(load_revoked())))
    return 0


def revoke(rid, reason):
    """certutil -revoke <serial> <reason> for request rid's certificate, then a new CRL."""
    cfg = settings()
    meta = load_req(rid)
    if meta is None or meta.get("status") != "issued" or not meta.get("serial"):
        print("request %d has no issued certificate" % rid, file=sys.stderr)
        return 1
    if reason not in CRL_REASONS:
        print("unknown reason %s (%s)" % (reason, " ".join(sorted(CRL_REASONS))), file=sys.stderr)
        return 2
    revoked = load_revoked()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    revoked[meta["serial"].lower()] = {"date": now.isoformat(), "reason": reason, "request": rid}
    tmp = os.path.join(STATE, "revoked.json.tmp")
    with open(tmp, "w") as f:
        json.dump(revoked, f, indent=1, sort_keys=True)
    os.rename(tmp, os.path.join(STATE, "revoked.json"))
    meta["revoked"] = {"date": now.isoformat(), "reason": reason}
    save_req(meta)
    print("request %d (serial %s) revoked: %s" % (rid, meta["serial"], reason))
    return gen_crl(cfg)


# ------------------------------------------------------------------ pages
# ------------------------------------------------------------------ localized pages
# IIS serves certsrv from System32\certsrv\<culture>\ by the browser's
# Accept-Language (or a culture the site pinned): all prose is translated,
# the structure (element IDs, links, script lines, HRESULT formats, numbers)
# is not.  lang.json (written by `domain.sh lang`) pins the language and the
# charset: {"lang": "auto"|"en"|"ja"|"de"|"fr"|"zh", "charset": "utf-8"|"shift_jis"};
# shift_jis re-encodes every HTML answer as a transcoding proxy would (the
# header says charset=shift_jis, the page's own <Meta> still says UTF-8).
LANGS = ("en", "ja", "de", "fr", "zh")
L10N = {
    "ja": {
        "Microsoft": "Microsoft", "Active Directory Certificate Services": "Active Directory 証明書サービス",
        "Home": "ホーム", "Welcome": "ようこそ",
        "Certificate Issued": "証明書は発行されました",
        "The certificate you requested was issued to you.": "要求した証明書は発行されました。",
        "install this CA certificate": "この CA 証明書をインストールする",
        "DER encoded": "DER エンコード", "Base 64 encoded": "Base 64 エンコード",
        "Download certificate": "証明書のダウンロード", "Download certificate chain": "証明書チェーンのダウンロード",
        "Certificate Pending": "証明書の保留中",
        "Your certificate request has been received. However, you must wait for an administrator to issue the "
        "certificate you requested.": "証明書要求を受け取りました。ただし、要求した証明書が発行されるまで管理者を待つ必要があります。",
        "Your certificate request is still pending. You must wait for an administrator to issue the certificate "
        "you requested.": "証明書要求はまだ保留中です。要求した証明書が発行されるまで管理者を待つ必要があります。",
        "Your Request Id is %d.": "要求 ID は %d です。",
        "Certificate Request Denied": "証明書要求は拒否されました",
        "Your certificate request was denied.": "証明書要求は拒否されました。",
        "Contact your administrator for further information.": "詳細については、管理者に問い合わせてください。",
        'The disposition message is "%s".': '処理メッセージは "%s" です。',
        "Error Number: 0x%x": "エラー番号: 0x%x",
        "Error": "エラー",
        "Contact your administrator for further assistance.": "サポートについては、管理者に問い合わせてください。",
        "Request Mode:": "要求モード:", "Disposition:": "処理:", "Disposition message:": "処理メッセージ:",
        "Result:": "結果:", "COM Error Info:": "COM エラー情報:", "LastStatus:": "最終状態:",
        "Suggested Cause:": "考えられる原因:", "(unknown)": "(不明)", "No suggestions.": "推奨事項はありません。",
        "(certnew.cer/certnew.p7b/certcrl.crl certificate/crl fetch)":
            "(certnew.cer/certnew.p7b/certcrl.crl 証明書/CRL の取得)",
        "(certfnsh.asp new request)": "(certfnsh.asp 新しい要求)",
        "The operation completed successfully.": "この操作を正しく終了しました。",
        "Taken Under Submission": "保留中として受け付けました",
        "Denied by Policy Module": "ポリシー モジュールにより拒否されました",
        "Denied by CA Administrator": "CA 管理者により拒否されました",
        "Error retrieving request": "要求の取得中にエラーが発生しました",
        "The RPC server is unavailable.": "RPC サーバーを利用できません。",
        "The server is too busy to complete this operation.": "サーバーはビジー状態のため、この操作を完了できません。",
        "The service has not been started.": "サービスは開始されていません。",
        "The Certification Authority Service has not been started.": "証明機関サービスが開始されていません。",
    },
    "de": {
        "Microsoft": "Microsoft", "Active Directory Certificate Services": "Active Directory-Zertifikatdienste",
        "Home": "Startseite", "Welcome": "Willkommen",
        "Certificate Issued": "Zertifikat wurde ausgestellt",
        "The certificate you requested was issued to you.": "Das angeforderte Zertifikat wurde für Sie ausgestellt.",
        "install this CA certificate": "Dieses Zertifizierungsstellenzertifikat installieren",
        "DER encoded": "DER-codiert", "Base 64 encoded": "Base64-codiert",
        "Download certificate": "Zertifikat herunterladen", "Download certificate chain": "Zertifikatkette herunterladen",
        "Certificate Pending": "Ausstehendes Zertifikat",
        "Your certificate request has been received. However, you must wait for an administrator to issue the "
        "certificate you requested.": "Ihre Zertifikatanforderung wurde empfangen. Sie müssen jedoch warten, bis ein "
        "Administrator das angeforderte Zertifikat ausstellt.",
        "Your certificate request is still pending. You must wait for an administrator to issue the certificate "
        "you requested.": "Ihre Zertifikatanforderung ist noch ausstehend. Sie müssen warten, bis ein Administrator "
        "das angeforderte Zertifikat ausstellt.",
        "Your Request Id is %d.": "Ihre Anforderungs-ID ist %d.",
        "Certificate Request Denied": "Zertifikatanforderung verweigert",
        "Your certificate request was denied.": "Ihre Zertifikatanforderung wurde verweigert.",
        "Contact your administrator for further information.": "Wenden Sie sich an den Administrator, um weitere "
        "Informationen zu erhalten.",
        'The disposition message is "%s".': 'Die Dispositionsmeldung lautet "%s".',
        "Error Number: 0x%x": "Fehlernummer: 0x%x",
        "Error": "Fehler",
        "Contact your administrator for further assistance.": "Wenden Sie sich an den Administrator, um weitere "
        "Unterstützung zu erhalten.",
        "Request Mode:": "Anforderungsmodus:", "Disposition:": "Verfügung:",
        "Disposition message:": "Dispositionsmeldung:", "Result:": "Ergebnis:",
        "COM Error Info:": "COM-Fehlerinformationen:", "LastStatus:": "Letzter Status:",
        "Suggested Cause:": "Mögliche Ursache:", "(unknown)": "(unbekannt)", "No suggestions.": "Keine Vorschläge.",
        "(certnew.cer/certnew.p7b/certcrl.crl certificate/crl fetch)":
            "(certnew.cer/certnew.p7b/certcrl.crl Abruf von Zertifikat/Sperrliste)",
        "(certfnsh.asp new request)": "(certfnsh.asp neue Anforderung)",
        "The operation completed successfully.": "Der Vorgang wurde erfolgreich beendet.",
        "Taken Under Submission": "Zur Bearbeitung angenommen",
        "Denied by Policy Module": "Vom Richtlinienmodul verweigert",
        "Denied by CA Administrator": "Vom Zertifizierungsstellenadministrator verweigert",
        "Error retrieving request": "Fehler beim Abrufen der Anforderung",
        "The RPC server is unavailable.": "Der RPC-Server ist nicht verfügbar.",
        "The server is too busy to complete this operation.": "Der Server ist zu beschäftigt, um den Vorgang "
        "auszuführen.",
        "The service has not been started.": "Der Dienst wurde nicht gestartet.",
        "The Certification Authority Service has not been started.": "Der Zertifizierungsstellendienst wurde nicht "
        "gestartet.",
    },
    "fr": {
        "Microsoft": "Microsoft", "Active Directory Certificate Services": "Services de certificats Active Directory",
        "Home": "Accueil", "Welcome": "Bienvenue",
        "Certificate Issued": "Certificat émis",
        "The certificate you requested was issued to you.": "Le certificat que vous avez demandé vous a été délivré.",
        "install this CA certificate": "installer ce certificat d'autorité de certification",
        "DER encoded": "Codé DER", "Base 64 encoded": "Codé en base 64",
        "Download certificate": "Télécharger le certificat",
        "Download certificate chain": "Télécharger la chaîne de certificats",
        "Certificate Pending": "Certificat en attente",
        "Your certificate request has been received. However, you must wait for an administrator to issue the "
        "certificate you requested.": "Votre demande de certificat a été reçue. Cependant, vous devez attendre "
        "qu'un administrateur délivre le certificat demandé.",
        "Your certificate request is still pending. You must wait for an administrator to issue the certificate "
        "you requested.": "Votre demande de certificat est toujours en attente. Vous devez attendre qu'un "
        "administrateur délivre le certificat demandé.",
        "Your Request Id is %d.": "Votre ID de demande est %d.",
        "Certificate Request Denied": "Demande de certificat refusée",
        "Your certificate request was denied.": "Votre demande de certificat a été refusée.",
        "Contact your administrator for further information.": "Contactez votre administrateur pour obtenir plus "
        "d'informations.",
        # French typography: guillemets, no ASCII quote around the message
        'The disposition message is "%s".': "Le message de décision est « %s ».",
        "Error Number: 0x%x": "Numéro d'erreur : 0x%x",
        "Error": "Erreur",
        "Contact your administrator for further assistance.": "Contactez votre administrateur pour obtenir de l'aide.",
        "Request Mode:": "Mode de demande :", "Disposition:": "Décision :",
        "Disposition message:": "Message de décision :", "Result:": "Résultat :",
        "COM Error Info:": "Informations d'erreur COM :", "LastStatus:": "Dernier état :",
        "Suggested Cause:": "Cause probable :", "(unknown)": "(inconnu)", "No suggestions.": "Aucune suggestion.",
        "(certnew.cer/certnew.p7b/certcrl.crl certificate/crl fetch)":
            "(certnew.cer/certnew.p7b/certcrl.crl récupération de certificat/liste de révocation)",
        "(certfnsh.asp new request)": "(certfnsh.asp nouvelle demande)",
        "The operation completed successfully.": "L'opération a réussi.",
        "Taken Under Submission": "Soumis pour traitement",
        "Denied by Policy Module": "Refusé par le module de stratégie",
        "Denied by CA Administrator": "Refusé par l'administrateur de l'autorité de certification",
        "Error retrieving request": "Erreur lors de la récupération de la demande",
        "The RPC server is unavailable.": "Le serveur RPC n'est pas disponible.",
        "The server is too busy to complete this operation.": "Le serveur est trop occupé pour terminer cette "
        "opération.",
        "The service has not been started.": "Le service n'a pas été démarré.",
        "The Certification Authority Service has not been started.": "Le service d'autorité de certification n'a "
        "pas été démarré.",
    },
    "zh": {
        "Microsoft": "Microsoft", "Active Directory Certificate Services": "Active Directory 证书服务",
        "Home": "主页", "Welcome": "欢迎",
        "Certificate Issued": "证书已颁发",
        "The certificate you requested was issued to you.": "你申请的证书已颁发给你。",
        "install this CA certificate": "安装此 CA 证书",
        "DER encoded": "DER 编码", "Base 64 encoded": "Base 64 编码",
        "Download certificate": "下载证书", "Download certificate chain": "下载证书链",
        "Certificate Pending": "证书挂起",
        "Your certificate request has been received. However, you must wait for an administrator to issue the "
        "certificate you requested.": "已收到你的证书申请。但是，你必须等待管理员颁发你申请的证书。",
        "Your certificate request is still pending. You must wait for an administrator to issue the certificate "
        "you requested.": "你的证书申请仍处于挂起状态。你必须等待管理员颁发你申请的证书。",
        "Your Request Id is %d.": "你的申请 ID 为 %d。",
        "Certificate Request Denied": "证书申请被拒绝",
        "Your certificate request was denied.": "你的证书申请被拒绝。",
        "Contact your administrator for further information.": "请与管理员联系以获取详细信息。",
        'The disposition message is "%s".': "处理消息为“%s”。",
        "Error Number: 0x%x": "错误号: 0x%x",
        "Error": "错误",
        "Contact your administrator for further assistance.": "请与管理员联系以获得进一步帮助。",
        "Request Mode:": "申请模式:", "Disposition:": "处理:", "Disposition message:": "处理消息:",
        "Result:": "结果:", "COM Error Info:": "COM 错误信息:", "LastStatus:": "上次状态:",
        "Suggested Cause:": "建议的原因:", "(unknown)": "(未知)", "No suggestions.": "无建议。",
        "(certnew.cer/certnew.p7b/certcrl.crl certificate/crl fetch)": "(certnew.cer/certnew.p7b/certcrl.crl 证书/CRL 获取)",
        "(certfnsh.asp new request)": "(certfnsh.asp 新申请)",
        "The operation completed successfully.": "操作成功完成。",
        "Taken Under Submission": "已提交待处理",
        "Denied by Policy Module": "被策略模块拒绝",
        "Denied by CA Administrator": "被 CA 管理员拒绝",
        "Error retrieving request": "检索申请时出错",
        "The RPC server is unavailable.": "RPC 服务器不可用。",
        "The server is too busy to complete this operation.": "服务器太忙，无法完成此操作。",
        "The service has not been started.": "服务尚未启动。",
        "The Certification Authority Service has not been started.": "证书颁发机构服务尚未启动。",
    },
}
PAGE = threading.local()      # the language and charset of the request being answered


def lang_settings():
    try:
        with open(os.path.join(BASE, "lang.json")) as f:
            s = json.load(f)
    except (OSError, ValueError):
        s = {}
    return s.get("lang", "auto"), s.get("charset", "utf-8")


def pick_lang(accept_language):
    """The first supported language of an Accept-Language header, by q."""
    best, best_q = "en", -1.0
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q=([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGS and q > best_q and q > 0:
            best, best_q = base, q
    return best


def T(s):
    """s in the language of the page being answered."""
    return L10N.get(getattr(PAGE, "lang", "en"), {}).get(s, s)


def localize_template(text):
    """The English sample templates with their prose translated (IDs, links
    and values untouched): each known phrase between tags or at a line's start."""
    table = L10N.get(getattr(PAGE, "lang", "en"))
    if not table:
        return text
    for en in sorted(table, key=len, reverse=True):
        if "%" in en:
            continue
        text = re.sub(r"(?<=[>\t ])" + re.escape(en) + r"(?=[\s<&])", lambda m, t=table[en]: t, text)
    return text


def chrome(cfg, title, body):
    """The page frame of the real certsrv pages (teal title bar with the CA name)."""
    lines = [
        "<HTML>",
        "<Head>",
        '    <Meta HTTP-Equiv="Content-Type" Content="text/html; charset=UTF-8">',
        '    <Meta HTTP-Equiv="X-UA-Compatible" Content="IE=7">',
        "    <Title>Microsoft %s</Title>" % T("Active Directory Certificate Services"),
        "</Head>",
        '<Body BgColor=#FFFFFF Link=#0000FF VLink=#0000FF ALink=#0000FF><Font ID=locPageFont Face="Arial">',
        "",
        "<Table Border=0 CellSpacing=0 CellPadding=4 Width=100% BgColor=#008080>",
        "<TR>",
        '\t<TD><Font Color=#FFFFFF><LocID ID=locMSCertSrv><Font Face="Arial" Size=-1><B><I>Microsoft</I></B> '
        "%s &nbsp;--&nbsp; %s &nbsp;</Font></LocID></Font></TD>" % (T("Active Directory Certificate Services"),
                                                                    cfg["ca_name"]),
        '\t<TD ID=locHomeAlign Align=Right><A Href="/certsrv"><Font Color=#FFFFFF><LocID ID=locHomeLink>'
        '<Font Face="Arial" Size=-1><B>%s</B></Font></LocID></Font></A></TD>' % T("Home"),
        "</TR>",
        "</Table>",
        "",
        "<P ID=locPageTitle> <B> %s </B>" % T(title),
        '<!-- Green HR --><Table Border=0 CellSpacing=0 CellPadding=0 Width=100%><TR><TD BgColor=#008080>'
        '<Img Src="certspc.gif" Alt="" Height=2 Width=1></TD></TR></Table>',
        "",
    ] + body + ["", "</Font>", "</Body>", "</HTML>", ""]
    return CRLF.join(lines).encode("utf-8")


def page_home(cfg, user):
    return chrome(cfg, "Welcome", [
        "<P ID=locWelcome>Use this Web site to request a certificate for your Web browser, e-mail client, or other "
        "program. By using a certificate, you can verify your identity to people you communicate with over the Web, "
        "sign and encrypt messages, and, depending upon the type of certificate you request, perform other security "
        "tasks.</P>",
        "<P>Welcome %s.</P>" % user,
        "<P ID=locTaskHead><B>Select a task:</B>",
        '<BR>&nbsp;&nbsp;&nbsp;&nbsp;<A Href="certrqus.asp">Request a certificate</A>',
        '<BR>&nbsp;&nbsp;&nbsp;&nbsp;<A Href="certckpn.asp">View the status of a pending certificate request</A>',
        '<BR>&nbsp;&nbsp;&nbsp;&nbsp;<A Href="certcarc.asp">Download a CA certificate, certificate chain, or CRL</A>',
        "</P>"])


def page_issued(cfg, rid):
    return chrome(cfg, "Certificate Issued", [
        "<P ID=locInfo> %s</P>" % T("The certificate you requested was issued to you."),
        # the CA link comes first, as on the real page when the CA is not yet trusted
        '<P><A Href="certnew.cer?ReqID=CACert&amp;Renewal=0&amp;Mode=inst&amp;Enc=b64">%s</A></P>'
        % T("install this CA certificate"),
        "<P>",
        "<Input Type=Radio Name=rbEncoding ID=rbDerEnc onClick=\"handleEncoding();\"><Label For=rbDerEnc>%s</Label> or"
        % T("DER encoded"),
        "<Input Type=Radio Name=rbEncoding ID=rbB64Enc Checked onClick=\"handleEncoding();\"><Label For=rbB64Enc>%s"
        "</Label>" % T("Base 64 encoded"),
        "</P>",
        '<P><A Href="certnew.cer?ReqID=%d&amp;Enc=b64">%s</A><BR>' % (rid, T("Download certificate")),
        '<A Href="certnew.p7b?ReqID=%d&amp;Enc=b64">%s</A></P>' % (rid, T("Download certificate chain")),
        '<Script Language="JavaScript">',
        "\tfunction getEncoding() {",
        '\t\tif (true==document.all.rbB64Enc.checked) { return "Enc=b64"; } else { return "Enc=bin"; }',
        "\t}",
        "\tfunction handleGetCert() {",
        '\t\tlocation="certnew.cer?ReqID=%d&"+getEncoding();' % rid,
        "\t}",
        "\tfunction handleGetChain() {",
        '\t\tlocation="certnew.p7b?ReqID=%d&"+getEncoding();' % rid,
        "\t}",
        "</Script>"])


def page_pending(cfg, rid, recheck=False):
    if recheck:
        info = "<P ID=locInfoStillPending> %s </P>" % T(
            "Your certificate request is still pending. You must wait for an administrator to issue the certificate "
            "you requested.")
    else:
        info = "<P ID=locInfoNewReq> %s </P>" % T(
            "Your certificate request has been received. However, you must wait for an administrator to issue the "
            "certificate you requested.")
    return chrome(cfg, "Certificate Pending", [info, "<P ID=locReqID> %s</P>" % (T("Your Request Id is %d.") % rid)])


def page_denied(cfg, meta):
    hr = int(meta["hresult"], 16)
    if hr == 0x80094014:
        msg = "%s  0x%x, %s" % (T(meta["disposition_message"]), hr, meta["status_text"])
    else:
        msg = "%s  0x%x, %s" % (T("Denied by Policy Module"), hr, meta["status_text"])
    return chrome(cfg, "Certificate Request Denied", [
        "<P ID=locDenied> %s</P>" % T("Your certificate request was denied."),
        "<P ID=locContactAdmin>%s</P>" % T("Contact your administrator for further information."),
        "<P>%s %s</P>" % (T("Your Request Id is %d.") % meta["id"], T('The disposition message is "%s".') % msg)])


def page_error(cfg, fail):
    # no request row: no Request Id on this page
    return chrome(cfg, "Certificate Request Denied", [
        "<P ID=locDenied> %s</P>" % T("Your certificate request was denied."),
        "<P>%s</P>" % (T('The disposition message is "%s".') % fail.message()),
        "<P>%s</P>" % (T("Error Number: 0x%x") % fail.hr)])


def set_field(page, loc_id, value):
    """The value of the Error page's <DT ID=loc_id>...</DT><DD> field."""
    return re.sub(r"(<DT ID=%s>.*?</DT><DD>\n).*?(\n\s*</DD>)" % loc_id,
                  lambda m: m.group(1) + "\t\t" + value + m.group(2), page, count=1, flags=re.S)


def page_disposition(cfg, disposition, message, last, result=None, com_info=None, cause=None, newreq=False):
    """certnew.cer for a request that has no certificate, and any answer the
    CA could not give: the real "Error" page
    (tests/samples/certsrv/nokia-adcs-sim_certnew.cer-disposition.tmpl.html),
    whose values follow two TABs.  Labels and prose in the page's language,
    IDs and values as they are."""
    try:
        with open(os.path.join(BASE, "pages", "nokia-adcs-sim_certnew.cer-disposition.tmpl.html")) as f:
            tmpl = f.read()
    except OSError:
        tmpl = ("<HTML><Body><P ID=locPageTitle> <B> Error </B>\n<DL>\n<DT ID=locDispLabel><B>Disposition:</B></DT>"
                "<DD>\n\t\t5 - (unknown)\n</DD>\n<DT ID=locDispMsgLabel><B>Disposition message:</B></DT><DD>\n"
                "\t\t{{ .DispositionMessage }}\n\t</DD>\n<DT ID=locLastStatLabel><B>LastStatus:</B></DT><DD>\n"
                "\t\t{{ .LastStatus }}\n\t</DD></DL></Body></HTML>\n")
    tmpl = tmpl.replace("\r\n", "\n")
    if newreq:
        tmpl = tmpl.replace("<LocID ID=locModeCertFetch>(certnew.cer/certnew.p7b/certcrl.crl certificate/crl fetch)",
                            "<LocID ID=locModeNewReq>(certfnsh.asp new request)")
    if cause:
        tmpl = re.sub(r"<LocID ID=locSugCauseUnknown>\s*No suggestions.\s*</LocID>",
                      "<LocID ID=locSugCauseNoService>%s</LocID>" % cause, tmpl)
    tmpl = localize_template(tmpl)
    out = (tmpl.replace("{{ .DispositionMessage }}", T(message)).replace("{{ .LastStatus }}", last)
           .replace("NokiaInternalSubCA07", cfg["ca_name"]))
    out = re.sub(r"(<DT ID=locDispLabel>.*?<DD>\n\t\t)5 ", r"\g<1>%d " % disposition, out, flags=re.S)
    if result is not None:
        out = set_field(out, "locResultLabel", result)
    if com_info is not None:
        out = set_field(out, "locComInfoLabel", com_info)
    return out.replace("\n", CRLF).encode("utf-8")


# Faults that make the CA unreachable for the web server: (HRESULT, message, WIN32 name)
UNAVAILABLE = {
    "rpc": (0x800706BA, "The RPC server is unavailable.", "1722 RPC_S_SERVER_UNAVAILABLE"),
    "busy": (0x800706BB, "The server is too busy to complete this operation.", "1723 RPC_S_SERVER_TOO_BUSY"),
    "notstarted": (0x80070426, "The service has not been started.", "1062 ERROR_SERVICE_NOT_ACTIVE"),
}


def page_unavailable(cfg, mode, newreq):
    """What certsrv shows when its call to the CA service fails: the Error
    page with the Win32/RPC HRESULT in Result, COM Error Info and LastStatus,
    and "The Certification Authority Service has not been started" as the
    suggested cause."""
    hr, text, win32 = UNAVAILABLE[mode]
    line = "%s 0x%x (WIN32: %s)" % (T(text), hr, win32)
    call = "CCertRequest::Submit" if newreq else "CCertRequest::RetrievePending"
    return page_disposition(cfg, 0, "", line, result=line, com_info="%s: %s" % (call, line),
                            cause=T("The Certification Authority Service has not been started."), newreq=newreq)


def page_certcarc(cfg):
    try:
        with open(os.path.join(BASE, "pages", "nokia-adcs-sim_certcarc.asp.tmpl.html")) as f:
            tmpl = f.read()
    except OSError:
        tmpl = "<HTML><Body><Script>var nRenewals={{ .Renewals }};</Script></Body></HTML>\n"
    out = tmpl.replace("{{ .Renewals }}", "0").replace("NokiaInternalSubCA07", cfg["ca_name"])
    return out.replace("\r\n", "\n").replace("\n", CRLF).encode("utf-8")


def pem_crlf(derbytes, label="CERTIFICATE"):
    b = base64.b64encode(derbytes).decode()
    return ("-----BEGIN %s-----\r\n%s\r\n-----END %s-----\r\n"
            % (label, "\r\n".join(b[i:i + 64] for i in range(0, len(b), 64)), label)).encode()


def cert_der(path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    with open(path, "rb") as f:
        c = x509.load_pem_x509_certificate(f.read())
    return c, c.public_bytes(serialization.Encoding.DER)


def p7b(certs, enc):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7
    d = pkcs7.serialize_certificates(certs, serialization.Encoding.DER)
    # certsrv's "Base 64 encoded" chain carries the PKCS #7 under a CERTIFICATE armour
    return d if enc == "bin" else pem_crlf(d)


# ------------------------------------------------------------------ HTTP dispatch
def handle(method, path, query, body, remote_user):
    """Returns (status, content_type, body_bytes)."""
    cfg = settings()
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    q = {k.lower(): v for k, v in q.items()}
    path = re.sub(r"^/certsrv", "", path) or "/"
    lpath = path.lower()
    if not remote_user:
        return 401, "text/html", b"401 - Unauthorized: Access is denied due to invalid credentials.\r\n"
    if lpath in ("/", "/default.asp") and method == "GET":
        return 200, "text/html", page_home(cfg, remote_user)
    if lpath == "/certcarc.asp" and method == "GET":
        return 200, "text/html", page_certcarc(cfg)
    if lpath == "/certfnsh.asp" and method == "POST":
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        mode = form.get("Mode", [""])[0].lower()
        if mode == "chkpnd":
            rid = form.get("ReqID", [""])[0]
            meta = load_req(int(rid)) if rid.isdigit() else None
            if meta is None or meta.get("requester") != remote_user:
                return 200, "text/html", page_error(cfg, Fail(0x80094004))
            if meta["status"] == "issued":
                return 200, "text/html", page_issued(cfg, meta["id"])
            if meta["status"] == "pending":
                return 200, "text/html", page_pending(cfg, meta["id"], recheck=True)
            return 200, "text/html", page_denied(cfg, meta)
        if mode != "newreq":
            return 200, "text/html", page_error(cfg, Fail(0x8009310B))
        kind, res = submit(cfg, form, remote_user)
        if kind == "error":
            return 200, "text/html", page_error(cfg, res)
        if kind == "issued":
            return 200, "text/html", page_issued(cfg, res["id"])
        if kind == "pending":
            return 200, "text/html", page_pending(cfg, res["id"])
        return 200, "text/html", page_denied(cfg, res)
    if lpath in ("/certnew.cer", "/certnew.p7b") and method == "GET":
        rid = q.get("reqid", [""])[0]
        enc = q.get("enc", ["b64"])[0].lower()
        if rid.lower() == "cacert":
            ca, ca_d = cert_der(os.path.join(BASE, "ca.pem"))
            if lpath == "/certnew.cer":
                return 200, "application/pkix-cert", ca_d if enc == "bin" else pem_crlf(ca_d)
            return 200, "application/x-pkcs7-certificates", p7b([ca], enc)
        meta = load_req(int(rid)) if rid.isdigit() else None
        # the CA hands a request's certificate only to its requester
        if meta is None or meta.get("requester") != remote_user:
            return 200, "text/html", page_disposition(cfg, 0, "Error retrieving request",
                                                      laststatus(0x80094004))
        if meta["status"] == "issued":
            cert, cert_d = cert_der(req_path(meta["id"], "cer"))
            if lpath == "/certnew.cer":
                variant = take_fault(path, ("certtype",))
                if variant:
                    return cert_variant(variant, cert_d)
                return 200, "application/pkix-cert", cert_d if enc == "bin" else pem_crlf(cert_d)
            ca, _ = cert_der(os.path.join(BASE, "ca.pem"))
            return 200, "application/x-pkcs7-certificates", p7b([cert, ca], enc)
        if meta["status"] == "pending":
            return 200, "text/html", page_disposition(cfg, DISP_PENDING, "Taken Under Submission",
                                                      T("The operation completed successfully.") + " 0x0 (WIN32: 0)")
        return 200, "text/html", page_disposition(cfg, DISP_DENIED, meta.get("disposition_message", "Denied"),
                                                  laststatus(int(meta.get("hresult", "0x80094012"), 16)))
    return 404, "text/html", b"<HTML><Body>404 - File or directory not found.</Body></HTML>\r\n"


def cert_variant(fault, cert_d):
    """certnew.cer with the Content-Type and encoding a proxy or another
    server version uses (fault certtype --ctype T --body pem|der|base64)."""
    body = fault.get("body") or "pem"
    if body == "der":
        data = cert_d
    elif body == "base64":        # bare base64, no armour
        b = base64.b64encode(cert_d).decode()
        data = ("\r\n".join(b[i:i + 64] for i in range(0, len(b), 64)) + "\r\n").encode()
    else:
        data = pem_crlf(cert_d)
    return 200, fault.get("ctype") or "application/octet-stream", data


def apply_fault(path):
    """HTTP-level faults.  Returns (status, ctype, body|generator) or None."""
    fault = take_fault(path, ("http500", "garbage", "huge", "empty", "delay") + tuple(UNAVAILABLE))
    if not fault:
        return None
    mode = fault["mode"]
    if mode in UNAVAILABLE:
        return 200, "text/html", page_unavailable(settings(), mode, "certfnsh" in path.lower())
    if mode == "delay":
        time.sleep(float(fault.get("seconds", 5)))
        return None
    if mode == "http500":
        return 500, "text/html", (b"<HTML><Head><Title>500 - Internal server error.</Title></Head><Body>"
                                  b"<H2>500 - Internal server error.</H2><H3>There is a problem with the resource "
                                  b"you are looking for, and it cannot be displayed.</H3></Body></HTML>\r\n")
    if mode == "garbage":
        return 200, "text/html", (b"<html><body><p>certnew.cer?ReqID=&amp;Enc= Your Request Id is .</p>"
                                  + bytes(range(256)) + b"\r\n<p>The disposition message is \"</body>\r\n")
    if mode == "empty":
        return 200, "text/html", b""
    if mode == "huge":
        chunk = (b"<P>" + b"x" * 1020 + b"</P>\r\n") * 1024      # 1 MiB
        return 200, "text/html", (chunk for _ in range(50))


def process(method, path, query, body, user, accept_language=None):
    """One HTTP request: faults first, then the pages.  Logs it to
    state/access.jsonl and returns (status, content type, bytes or chunks).
    While it runs, state/inflight/<pid>-<thread> exists: a request delayed by
    a fault is still decided (and may be issued) after its client gave up, as
    on a slow real CA, and the test runner waits for it before the next test
    so that one test's late request never counts in another's."""
    start = time.time()
    marker = os.path.join(STATE, "inflight", "%d-%d" % (os.getpid(), threading.get_ident()))
    try:
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "w").close()
    except OSError:
        marker = None
    lang, charset = lang_settings()
    PAGE.lang = pick_lang(accept_language) if lang == "auto" else lang
    try:
        res = apply_fault(path)
        if res is None:
            try:
                res = handle(method, path, query, body, user)
            except Exception as e:   # a bug or an unreachable DC: IIS would answer 500 too
                import traceback
                traceback.print_exc(file=sys.stderr)
                res = 500, "text/plain", ("emulator error: %s\r\n" % e).encode()
    finally:
        if marker:
            try:
                os.unlink(marker)
            except OSError:
                pass
    if charset.lower() in ("shift_jis", "sjis") and res[1] == "text/html" and isinstance(res[2], bytes):
        # a transcoding proxy: the body and the header change, the page's <Meta> does not
        res = res[0], "text/html; charset=shift_jis", res[2].decode("utf-8").encode("cp932", "replace")
    status = res[0]
    log = {"t": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "method": method, "path": path,
           "query": query, "user": user, "status": status, "lang": PAGE.lang, "ms": int((time.time() - start) * 1000)}
    if method == "POST":
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        log["mode"] = form.get("Mode", [""])[0]
    try:
        with open(os.path.join(STATE, "access.jsonl"), "a") as f:
            f.write(json.dumps(log) + "\n")
    except OSError:
        pass
    return res


def cgi_main():
    """Behind Apache as a CGI: slower (a process, imports and key loading per
    request) but with nothing to start; domain.sh uses serve_main."""
    n = int(os.environ.get("CONTENT_LENGTH") or 0)
    status, ctype, out = process(os.environ.get("REQUEST_METHOD", "GET"),
                                 "/certsrv" + os.environ.get("PATH_INFO", "/"),
                                 os.environ.get("QUERY_STRING", ""),
                                 sys.stdin.buffer.read(n) if n else b"", os.environ.get("REMOTE_USER"),
                                 os.environ.get("HTTP_ACCEPT_LANGUAGE"))
    w = sys.stdout.buffer
    if isinstance(out, bytes):
        w.write(("Status: %d\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                 % (status, ctype, len(out))).encode() + out)
    else:
        w.write(("Status: %d\r\nContent-Type: %s\r\n\r\n" % (status, ctype)).encode())
        for chunk in out:
            w.write(chunk)
    w.flush()


def serve_main(listen, pidfile):
    """A long-running server behind Apache's reverse proxy: Apache does
    SPNEGO and passes the authenticated name in X-Remote-User (it removes
    any such header the client sent).  Listens on loopback only."""
    signing_pair("ca")
    http_serve(listen, pidfile, lambda method, path, query, body, headers: process(
        method, path, query, body, headers.get("X-Remote-User") or None, headers.get("Accept-Language")))


def http_serve(listen, pidfile, respond):
    """The threaded HTTP/1.1 server of this emulator and of ces_emu.py:
    respond(method, path, query, body, headers) returns (status, content
    type, bytes or an iterable of chunks, sent until the connection closes)."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def go(self, method):
            u = urllib.parse.urlsplit(self.path)
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            status, ctype, out = respond(method, urllib.parse.unquote(u.path), u.query, body, self.headers)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if isinstance(out, bytes):
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                for chunk in out:
                    self.wfile.write(chunk)

        def do_GET(self):
            self.go("GET")

        def do_POST(self):
            self.go("POST")

        def log_message(self, fmt, *args):   # state/access.jsonl has it
            pass

    host, port = listen.rsplit(":", 1)
    srv = http.server.ThreadingHTTPServer((host, int(port)), Handler)
    srv.daemon_threads = True
    if pidfile:
        with open(pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    srv.serve_forever()


def list_requests():
    rows = []
    for name in os.listdir(STATE) if os.path.isdir(STATE) else []:
        m = re.match(r"^req-(\d+)\.json$", name)
        if m:
            meta = load_req(int(m.group(1)))
            if meta:
                rows.append(meta)
    for meta in sorted(rows, key=lambda r: r["id"]):
        print("%d %s %s %s %s" % (meta["id"], meta["status"], meta["template"], meta["requester"],
                                  meta.get("hresult", "")))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("approve", "deny"):
        sys.exit(resolve(int(sys.argv[2]), sys.argv[1] == "approve"))
    elif len(sys.argv) == 2 and sys.argv[1] == "list":
        sys.exit(list_requests())
    elif len(sys.argv) == 2 and sys.argv[1] == "gencrl":
        sys.exit(gen_crl(settings()))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "revoke":
        sys.exit(revoke(int(sys.argv[2]), sys.argv[3] if len(sys.argv) == 4 else "keyCompromise"))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "serve":
        serve_main(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None)
    elif len(sys.argv) > 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    else:
        cgi_main()
