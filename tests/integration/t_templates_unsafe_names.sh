#!/bin/bash
# Template names and OIDs with control characters are refused at discovery
# (issue 16, finding 5): a cn with CR/LF would add lines to the CertAttrib
# of the request (here a SAN attribute), an ESC would reach the terminal.
# Each such template is listed by `templates` as invalid with the reason,
# is never enrolled (no request reaches the CA), and no output of
# templates/explain/pulse carries a raw control byte.
. "$TESTS_LIB"

b64() { printf '%b' "$1" | base64 -w0; }
# dn_b64 CN-ESCAPES: the template's DN, base64; the RDN value escaped as RFC 4514
# asks (\XX for control bytes, \ before specials), the cn itself stays raw
dn_b64() {
  printf '%b' "$1" | /usr/bin/python3 -c '
import base64, sys
raw = sys.stdin.buffer.read()
out = b""
for i, c in enumerate(raw):
    if c < 0x20 or c == 0x7f or c >= 0x80:
        out += b"\\%02x" % c
    elif chr(c) in ",+\"\\<>;=" or (chr(c) in " #" and i == 0) or (c == 0x20 and i == len(raw) - 1):
        out += b"\\" + bytes([c])
    else:
        out += bytes([c])
print(base64.b64encode(b"CN=" + out + b"," + sys.argv[1].encode()).decode())' "CN=Certificate Templates,$ADCS_PKS_DN"
}
# ldb_ok: ldbmodify exits 0 even when it modified nothing
ldb_ok() { grep -q "Modified 1 records" "$SCRATCH/ldb.out"; }

# add_raw_template NAME-ESCAPES OID DISPLAY-ESCAPES: the template ad_template_add
# (lib.sh) makes, but with cn, displayName, the DN and the OID given as printf
# %b escapes and sent base64-encoded, so any byte reaches the directory as it
# is.  Its own LDIF: Samba refuses to rename (or change the cn of) an object
# of the configuration partition, so a template cannot be made clean first.
add_raw_template() {
  local cn=$1 oid=$2 disp=$3 exp ovl
  exp=$(ad_period 31536000) && ovl=$(ad_period 3628800) || return 1
  domain ldbmodify > "$SCRATCH/ldb.out" 2>&1 <<LDIF || return 1
dn:: $(dn_b64 "$cn")
changetype: add
objectClass: top
objectClass: pKICertificateTemplate
cn:: $(b64 "$cn")
displayName:: $(b64 "$disp")
flags: 131680
revision: 100
msPKI-Template-Schema-Version: 2
msPKI-Template-Minor-Revision: 3
pKIDefaultKeySpec: 1
pKIKeyUsage:: oAA=
pKIMaxIssuingDepth: 0
pKICriticalExtensions: 2.5.29.15
pKIExpirationPeriod:: $exp
pKIOverlapPeriod:: $ovl
pKIDefaultCSPs: 1,Microsoft RSA SChannel Cryptographic Provider
msPKI-RA-Signature: 0
msPKI-Enrollment-Flag: 32
msPKI-Private-Key-Flag: 0
msPKI-Certificate-Name-Flag: 402653184
msPKI-Minimal-Key-Size: 2048
msPKI-Cert-Template-OID:: $(b64 "$oid")
pKIExtendedKeyUsage: 1.3.6.1.5.5.7.3.2
msPKI-Certificate-Application-Policy: 1.3.6.1.5.5.7.3.2
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DC)(OA;;CR;a05b8cc2-17bc-4802-a710-e7c15ab866a2;;DC)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
LDIF
  ldb_ok || return 1
  domain ldbmodify > /dev/null <<LDIF
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
add: certificateTemplates
certificateTemplates:: $(b64 "$cn")
LDIF
}
remove_raw_template() {
  domain ldbmodify > /dev/null 2>&1 <<LDIF
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
delete: certificateTemplates
certificateTemplates:: $(b64 "$1")
LDIF
  domain ldbmodify > /dev/null 2>&1 <<LDIF
dn:: $(dn_b64 "$1")
changetype: delete
LDIF
  return 0
}

P=$ADCS_TEMPLATE_OID_PREFIX
CRLF='UnsafeCrlf\r\nSAN:dns=evil.example.test'
ESC='UnsafeEsc\033]0;owned\007\033[2J'
trap 'remove_raw_template "$CRLF"; remove_raw_template "$ESC"; remove_raw_template UnsafeDisplay;
      remove_raw_template UnsafeOid; remove_raw_template SafeTwin' EXIT

add_raw_template "$ESC" "$P.1.901" "Unsafe Esc" || fail "cannot add the ESC template: $(cat "$SCRATCH/ldb.out")"
add_raw_template UnsafeDisplay "$P.1.902" 'Display \033[31mred\033[0m' || fail "cannot add UnsafeDisplay"
add_raw_template UnsafeOid "$P.1.903\r\nSAN:dns=evil.example.test" "Unsafe Oid" || fail "cannot add UnsafeOid"
add_raw_template SafeTwin "$P.1.904" "Safe Twin" || fail "cannot add SafeTwin"
have_crlf=1
if ! add_raw_template "$CRLF" "$P.1.905" "Unsafe Crlf"; then
  # Samba may refuse a CR or LF inside an RDN; the OID case above carries CR/LF then
  note "the DC refused a cn with CR/LF: $(cat "$SCRATCH/ldb.out")"
  have_crlf=0
fi

write_config "$SCRATCH/adenroll.conf"
"$ADENROLL" --config "$SCRATCH/adenroll.conf" --json templates > "$SCRATCH/t.json" 2> "$SCRATCH/t.err"
rc=$?
[ "$rc" = 0 ] || fail "templates --json exited $rc: $(cat "$SCRATCH/t.err")"

# by_prefix PREFIX KEY: the field of the one template whose cn starts with PREFIX
by_prefix() {
  /usr/bin/python3 - "$SCRATCH/t.json" "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
hits = [t for t in doc if t["cn"].startswith(sys.argv[2])]
assert len(hits) == 1, "%d templates start with %r" % (len(hits), sys.argv[2])
v = hits[0].get(sys.argv[3])
print(json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else v)
PY
}
assert_eq invalid_template "$(by_prefix UnsafeEsc code)" "ESC template code"
assert_eq false "$(by_prefix UnsafeEsc eligible)" "ESC template eligible"
assert_contains "$(by_prefix UnsafeEsc reason)" "cn: control character U+001B (ESC)" "ESC template reason"
# the name itself is only ever shown escaped
assert_eq 'UnsafeEsc\x1b]0;owned\x07\x1b[2J' "$(by_prefix UnsafeEsc cn)" "ESC template cn as listed"
assert_eq invalid_template "$(by_prefix UnsafeDisplay code)" "displayName code"
assert_contains "$(by_prefix UnsafeDisplay reason)" "displayName: control character U+001B (ESC)"
assert_eq invalid_template "$(by_prefix UnsafeOid code)" "OID code"
assert_contains "$(by_prefix UnsafeOid reason)" "msPKI-Cert-Template-OID: control character U+000D (CR)"
assert_eq ok "$(by_prefix SafeTwin code)" "the same template with clean values is eligible"
if [ "$have_crlf" = 1 ]; then
  assert_eq invalid_template "$(by_prefix UnsafeCrlf code)" "CR/LF template code"
  assert_contains "$(by_prefix UnsafeCrlf reason)" "cn: control character U+000D (CR)" "CR/LF reason"
fi

# raw_controls FILE: how many bytes of C0 controls other than LF, DEL, or C1 (UTF-8) the file holds
raw_controls() {
  /usr/bin/python3 -c '
import re, sys
b = open(sys.argv[1], "rb").read()
print(len(re.findall(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", b)))' "$1"
}

assert_exit 0 "$ADENROLL" --config "$SCRATCH/adenroll.conf" templates
assert_eq 0 "$(raw_controls "$SCRATCH/last.out")" "raw control bytes in the templates table"
assert_match "$OUT" 'UnsafeEsc\\x1b\]0;owned\\x07\\x1b\[2J .* not eligible +template is invalid: cn: control character U\+001B \(ESC\)'
"$ADENROLL" --config "$SCRATCH/adenroll.conf" explain > "$SCRATCH/explain.txt" 2>&1
assert_eq 0 "$(raw_controls "$SCRATCH/explain.txt")" "raw control bytes in explain"
assert_contains "$(cat "$SCRATCH/explain.txt")" "UnsafeDisplay: not eligible: template is invalid: displayName"

# A pulse enrolls the clean twin and sends nothing for the others; no request
# at the CA carries more than the one CertificateTemplate attribute line.
before=$(emu_last_request_id); before=${before:-0}
"$ADENROLL" --config "$SCRATCH/adenroll.conf" pulse > "$SCRATCH/pulse.out" 2> "$SCRATCH/pulse.err"
rc=$?
note "pulse exited $rc"
cat "$SCRATCH/pulse.out" "$SCRATCH/pulse.err" > "$SCRATCH/pulse.all"
assert_eq 0 "$(raw_controls "$SCRATCH/pulse.all")" "raw control bytes in pulse output and log"
assert_file "$SCRATCH/certs/SafeTwin.crt"
after=$(emu_last_request_id); after=${after:-0}
[ "$after" -gt "$before" ] || fail "pulse sent no request at all (the clean twin should have been enrolled)"
for id in $(seq $((before + 1)) "$after"); do
  t=$(emu_request_field "$id" template)
  attrib=$(emu_request_field "$id" attrib)
  case "$t" in Unsafe*) fail "request $id was sent for template \"$t\"" ;; esac
  assert_not_contains "$attrib" "SAN:" "CertAttrib of request $id"
  assert_not_contains "$attrib" "evil.example.test" "CertAttrib of request $id"
done
for f in "$SCRATCH"/certs/*; do
  case "$(basename "$f")" in Unsafe*) fail "a file for an unsafe template was written: $f" ;; esac
done
exit 0
