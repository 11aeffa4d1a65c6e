#!/bin/bash
# "Reenroll All Certificate Holders" (docs/protocol.md 5.3 step 4): the template's
# revision (major version) is raised in AD after enrollment; the CA then
# issues certificates carrying the new major version in 1.3.6.1.4.1.311.21.7;
# explain names the rule, the next pulse re-enrolls (exit 3) and archives the
# old certificate, and the pulse after that does nothing (exit 0).  A minor
# revision change alone re-enrolls nothing.
. "$TESTS_LIB"

T=LifecycleMajor
OID=$ADCS_TEMPLATE_OID_PREFIX.1.202
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt KEY=$SCRATCH/certs/$T.key

cleanup() {
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
# NeedsEmail is denied on every run (exit 4): unpublished for this test
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.202 $((365 * 86400)) $((42 * 86400)) || fail "cannot add template $T"

# template_version CERT: "OID major minor" from the certificate's
# 1.3.6.1.4.1.311.21.7 extension (MS-WCCE 2.2.2.7.7.2), read without adenroll
template_version() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
from cryptography import x509
cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
v = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.4.1.311.21.7")).value.value
def tlv(b, i):
    tag, n = b[i], b[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[i:i + k], "big")
        i += k
    return tag, b[i:i + n], i + n
tag, body, _ = tlv(v, 0)
assert tag == 0x30
tag, oid, i = tlv(body, 0)
arcs, acc = [oid[0] // 40, oid[0] % 40], 0
for c in oid[1:]:
    acc = (acc << 7) | (c & 0x7F)
    if not c & 0x80:
        arcs.append(acc)
        acc = 0
out = [".".join(map(str, arcs))]
while i < len(body):
    tag, val, i = tlv(body, i)
    out.append(str(int.from_bytes(val, "big")))
print(" ".join(out))
PY
}
set_attr() {  # set_attr ATTRIBUTE VALUE: on the template, as Administrator
  domain ldbmodify > /dev/null <<LDIF || fail "cannot set $1 of $T"
dn: CN=$T,CN=Certificate Templates,$ADCS_PKS_DN
changetype: modify
replace: $1
$1: $2
LDIF
}

note "pulse 1: enroll at major version 100"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse 1 output"
assert_file "$CRT"
assert_eq "$OID 100 3" "$(template_version "$CRT")" "template extension of the first certificate"
old_serial=$(cert_serial "$CRT")

note "a minor revision change (an ordinary template edit) re-enrolls nothing"
set_attr msPKI-Template-Minor-Revision 4
reqs=$(emu_request_count)
assert_exit 0 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$T: valid until " "pulse output after the minor change"
assert_eq "$reqs" "$(emu_request_count)" "requests the CA received"
assert_eq "$old_serial" "$(cert_serial "$CRT")" "serial after the minor change"

note "Reenroll All Certificate Holders: revision 100 -> 101"
set_attr revision 101
assert_exit 0 "$ADENROLL" "${C[@]}" explain "$T"
assert_match "$OUT" "^$T \\(\"$T\"\\): OID $OID, version 101\\.4\$" "explain header"
assert_contains "$OUT" "major 100 minor 3" "explain: the held certificate's version"
assert_contains "$OUT" "  decision:      reenroll: template major version 101 > certificate's 100: re-enroll" \
  "explain decision"

note "pulse 2: re-enroll"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "$T: reenroll: template major version 101 > certificate's 100: re-enroll" "pulse 2 log"
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse 2 output"
assert_eq $((reqs + 1)) "$(emu_request_count)" "requests the CA received during pulse 2"
assert_eq "$T" "$(emu_request_field "$(emu_last_request_id)" template)" "template of the CA's last request"
new_serial=$(cert_serial "$CRT")
assert_ne "$old_serial" "$new_serial" "serial after the re-enrollment"
# the CA read the new revision from AD when it issued
assert_eq "$OID 101 4" "$(template_version "$CRT")" "template extension of the new certificate"
pair_files "$CRT" "$KEY" > /dev/null
openssl verify -CAfile "$ADCS_CA_CERT" "$CRT" > /dev/null 2>&1 || fail "the new $T.crt does not verify"
assert_contains "$(archived_serials "$SCRATCH/archive/$T")" "$old_serial" "serials in the archive"

note "pulse 3: nothing to do"
reqs=$(emu_request_count)
assert_exit 0 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$T: valid until " "pulse 3 output"
assert_eq "$reqs" "$(emu_request_count)" "requests the CA received during pulse 3"
assert_eq "$new_serial" "$(cert_serial "$CRT")" "serial after pulse 3"
exit 0
