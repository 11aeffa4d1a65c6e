#!/bin/bash
# Each CA's own permissions: two enrollment services publish LinuxWorkstation;
# the first in the documented order (by CA name without case),
# example-AAA-CA, denies Enroll ("Request Certificates") to Domain Computers
# in its nTSecurityDescriptor.  `templates` and `explain` show that verdict
# per CA, pulse never asks that CA (its host is the working CA's, so a
# request sent there would be issued: its absence is what proves the skip),
# and EXAMPLE-CA issues.  pulse and pulse --dry-run work the order out once
# per template: the CA not asked is logged once; so does enroll by hand of a
# template a pulse would not autoenroll (Machine, schema version 1), whose
# CA check is the route's.
. "$TESTS_LIB"

AAA=example-AAA-CA
AAADN="CN=$AAA,CN=Enrollment Services,$ADCS_PKS_DN"
ENR=0e10c968-78fb-11d2-90d4-00c04f79dc55
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")

cleanup() {
  domain ldbmodify > /dev/null 2>&1 <<LDIF
dn: $AAADN
changetype: delete
LDIF
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
cader=$(openssl x509 -in "$ADCS_CA_CERT" -outform DER | base64 -w0)
domain ldbmodify > /dev/null <<LDIF || fail "cannot add enrollment service $AAA"
dn: $AAADN
changetype: add
objectClass: top
objectClass: pKIEnrollmentService
cn: $AAA
displayName: $AAA
dNSHostName: $ADCS_CA_HOST
flags: 10
cACertificate:: $cader
nTSecurityDescriptor: O:EAG:EAD:PAI(OD;;CR;$ENR;;DC)(OA;;CR;$ENR;;AU)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
certificateTemplates: LinuxWorkstation
LDIF

note "templates: the verdict of each CA's security descriptor"
"$ADENROLL" "${C[@]}" --json templates > "$SCRATCH/templates.json" 2> /dev/null || fail "templates --json failed"
/usr/bin/python3 - "$SCRATCH/templates.json" "$AAA" "$ADCS_CA_NAME" <<'PY' || fail "templates --json: $(cat "$SCRATCH/templates.json")"
import json, sys
t = next(t for t in json.load(open(sys.argv[1])) if t["cn"] == "LinuxWorkstation")
assert t["cas"] == [sys.argv[2], sys.argv[3]], t["cas"]
a, b = t["ca_access"]
assert a["name"] == sys.argv[2] and a["enroll_granted"] is False and "Enroll denied by ACE #1" in a["reason"], a
assert b["name"] == sys.argv[3] and b["enroll_granted"] is True, b
assert t["eligible"], t
PY
assert_exit 0 "$ADENROLL" "${C[@]}" templates
line=$(printf '%s\n' "$OUT" | grep "^LinuxWorkstation ")
assert_contains "$line" "$AAA (skipped: Enroll denied by ACE #1" "templates line"
assert_contains "$line" ", $ADCS_CA_NAME" "templates line"

note "explain: which CA is tried and why"
assert_exit 0 "$ADENROLL" "${C[@]}" explain LinuxWorkstation
assert_match "$OUT" "CAs: +$AAA: skipped: Enroll denied by ACE #1" "explain CA line"
assert_match "$OUT" " +$ADCS_CA_NAME: tried: Enroll granted by ACE" "explain CA line"

note "pulse --dry-run works the CA order out once per template: one \"not asking\" line"
assert_exit 0 "$ADENROLL" "${C[@]}" --dry-run pulse
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c "LinuxWorkstation: not asking $AAA: Enroll denied by ACE #1")" \
  "\"not asking $AAA\" lines of pulse --dry-run"
assert_match "$OUT" "^LinuxWorkstation: would .*: would submit a request .* to $ADCS_CA_NAME " "pulse --dry-run output"

note "pulse: $AAA is never asked, $ADCS_CA_NAME issues"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "LinuxWorkstation: not asking $AAA: Enroll denied by ACE #1" "pulse log"
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c "LinuxWorkstation: not asking $AAA")" "\"not asking $AAA\" lines of pulse"
assert_not_contains "$OUT" "submitting a request to $AAA" "pulse log"
assert_contains "$OUT" "LinuxWorkstation: submitting a request to $ADCS_CA_NAME" "pulse log"
assert_match "$OUT" "^LinuxWorkstation: enrolled \\(serial [0-9A-F]+" "pulse output"
ca=$("$ADENROLL" "${C[@]}" --json status 2> /dev/null | /usr/bin/python3 -c '
import json, sys
print(next(c["ca"] for c in json.load(sys.stdin)["certificates"] if c["template"] == "LinuxWorkstation"))')
assert_eq "$ADCS_CA_NAME" "$ca" "CA of the held LinuxWorkstation certificate"

note "enroll by hand: the order is worked out once, $AAA not asked (logged once), $ADCS_CA_NAME issues"
domain ldbmodify > /dev/null <<LDIF || fail "cannot change $AAA"
dn: $AAADN
changetype: modify
add: certificateTemplates
certificateTemplates: Machine
LDIF
assert_exit 3 "$ADENROLL" "${C[@]}" enroll Machine
assert_eq 1 "$(printf '%s\n' "$OUT" | grep -c "Machine: not asking $AAA: Enroll denied by ACE #1")" \
  "\"not asking $AAA\" lines of enroll"
assert_not_contains "$OUT" "submitting a request to $AAA" "enroll log"
assert_contains "$OUT" "Machine: submitting a request to $ADCS_CA_NAME" "enroll log"
assert_match "$OUT" "(^|$(printf '\n'))Machine: enrolled \\(serial [0-9A-F]+" "enroll output"

note "a template only the denying CA publishes is not eligible, with the reason"
domain ldbmodify > /dev/null <<LDIF || fail "cannot change $AAA"
dn: $AAADN
changetype: modify
add: certificateTemplates
certificateTemplates: ShortLived
LDIF
ca_unpublish ShortLived || fail "cannot unpublish ShortLived from $ADCS_CA_NAME"
trap 'cleanup; ca_publish ShortLived > /dev/null 2>&1' EXIT
assert_exit 0 "$ADENROLL" "${C[@]}" templates
assert_contains "$(printf '%s\n' "$OUT" | grep "^ShortLived ")" "no enrollment service publishing it grants Enroll" "templates line"
exit 0
