#!/bin/bash
# Several CAs publish the template: they are tried in a deterministic order
# (by CA name, compared as AD compares names: without case; the order
# `templates` shows) and pulse fails over to the next on a connection error
# or a server error.  A second enrollment service, example-BACKUP-CA, sorts
# before EXAMPLE-CA (and would sort after it byte-wise): first with a host
# name that resolves to an address where nothing listens, then with the real
# CA's host while the CA answers HTTP 500 once.
. "$TESTS_LIB"

BK=example-BACKUP-CA
BKHOST=cabackup.$ADCS_DOMAIN
BKDN="CN=$BK,CN=Enrollment Services,$ADCS_PKS_DN"
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=10
C=(--config "$CONF")

cleanup() {
  domain fault off > /dev/null 2>&1
  domain ldbmodify > /dev/null 2>&1 <<LDIF
dn: $BKDN
changetype: delete
LDIF
  domain samba-tool dns delete "$ADCS_DC_HOST" "$ADCS_DOMAIN" cabackup A "$ADCS_DC2_IP" > /dev/null 2>&1
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
# NeedsEmail is denied on every run (exit 4): unpublished for this test
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"

# cabackup resolves (Samba DNS) to the dead DC's address: nothing listens there
domain samba-tool dns add "$ADCS_DC_HOST" "$ADCS_DOMAIN" cabackup A "$ADCS_DC2_IP" > /dev/null \
  || fail "cannot add the DNS record for $BKHOST"
getent hosts "$BKHOST" | grep -q "^$ADCS_DC2_IP " || fail "$BKHOST does not resolve to $ADCS_DC2_IP"
cader=$(openssl x509 -in "$ADCS_CA_CERT" -outform DER | base64 -w0)
domain ldbmodify > /dev/null <<LDIF || fail "cannot add enrollment service $BK"
dn: $BKDN
changetype: add
objectClass: top
objectClass: pKIEnrollmentService
cn: $BK
displayName: $BK
dNSHostName: $BKHOST
flags: 10
cACertificate:: $cader
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;AU)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
certificateTemplates: LinuxWorkstation
LDIF

note "the order templates shows: $BK, then $ADCS_CA_NAME"
"$ADENROLL" "${C[@]}" --json templates > "$SCRATCH/templates.json" 2> /dev/null || fail "templates --json failed"
cas=$(/usr/bin/python3 -c 'import json,sys; print(",".join(next(t for t in json.load(open(sys.argv[1])) if t["cn"] == "LinuxWorkstation")["cas"]))' \
  "$SCRATCH/templates.json") || fail "templates --json: $(cat "$SCRATCH/templates.json")"
assert_eq "$BK,$ADCS_CA_NAME" "$cas" "CAs publishing LinuxWorkstation (templates --json)"

# held_ca TEMPLATE: the CA that issued the held certificate (status --json)
held_ca() {
  "$ADENROLL" "${C[@]}" --json status 2> /dev/null | /usr/bin/python3 -c '
import json, sys
print(next(c["ca"] for c in json.load(sys.stdin)["certificates"] if c["template"] == sys.argv[1]))' "$1"
}
# submits LOG: "TEMPLATE CA" for each "submitting a request" line, in order
submits() {
  printf '%s\n' "$1" | sed -n 's/^adenroll: \([A-Za-z]*\): submitting a request to \([^ ]*\) (.*/\1 \2/p'
}

note "pulse 1: $BK refuses connections, $ADCS_CA_NAME issues"
start=$(date +%s)
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
took=$(( $(date +%s) - start ))
[ "$took" -lt 30 ] || fail "pulse 1 took ${took}s: a refused connection should fail over at once"
assert_eq "LinuxWorkstation $BK
LinuxWorkstation $ADCS_CA_NAME" "$(submits "$OUT" | grep '^LinuxWorkstation ')" "LinuxWorkstation submissions, in order"
# the failure is logged between the two, naming the CA, its host and the reason
fo=$(printf '%s\n' "$OUT" | grep -n "LinuxWorkstation: $BK ($BKHOST): .*; trying the next CA") \
  || fail "no failover line for $BK in: $OUT"
assert_match "$fo" "[Cc]onnect|refused" "failover line"
n_fo=${fo%%:*}
note "logged: ${fo#*:}"
n_bk=$(printf '%s\n' "$OUT" | grep -n "LinuxWorkstation: submitting a request to $BK " | cut -d: -f1)
n_ca=$(printf '%s\n' "$OUT" | grep -n "LinuxWorkstation: submitting a request to $ADCS_CA_NAME " | cut -d: -f1)
[ "$n_bk" -lt "$n_fo" ] && [ "$n_fo" -lt "$n_ca" ] || fail "log order: $BK at line $n_bk, failure at $n_fo, $ADCS_CA_NAME at $n_ca"
assert_match "$OUT" "^LinuxWorkstation: enrolled \\(serial [0-9A-F]+" "pulse 1 output"
pair_files "$SCRATCH/certs/LinuxWorkstation.crt" "$SCRATCH/certs/LinuxWorkstation.key" > /dev/null
assert_eq "$ADCS_CA_NAME" "$(held_ca LinuxWorkstation)" "CA of the held LinuxWorkstation certificate"
# templates only the real CA publishes go there directly
for t in $(submits "$OUT" | grep -v '^LinuxWorkstation ' | cut -d' ' -f1); do
  assert_eq "$t $ADCS_CA_NAME" "$(submits "$OUT" | grep "^$t ")" "$t submissions"
done

note "pulse 2: $BK now at the real CA host, which answers HTTP 500 once"
domain ldbmodify > /dev/null <<LDIF || fail "cannot change $BK"
dn: $BKDN
changetype: modify
replace: dNSHostName
dNSHostName: $ADCS_CA_HOST
-
add: certificateTemplates
certificateTemplates: ShortLived
LDIF
# both templates are tried at $BK first; whichever comes first gets the 500
# and fails over, the other is issued through $BK
domain fault http500 --count 1 --path certfnsh > /dev/null || fail "domain.sh fault failed"
assert_exit 3 "$ADENROLL" "${C[@]}" --force pulse
assert_eq "" "$(domain fault show | grep http500)" "the fault is used up"
fo=$(printf '%s\n' "$OUT" | grep -E "^adenroll: (warning: )?[A-Za-z]+: $BK \\($ADCS_CA_HOST\\): .*HTTP 500.*; trying the next CA") \
  || fail "no HTTP 500 failover line for $BK in: $OUT"
assert_eq 1 "$(printf '%s\n' "$fo" | wc -l)" "failover lines"
first=$(printf '%s\n' "$fo" | sed -E 's/^adenroll: (warning: )?([A-Za-z]+): .*/\2/')
other=LinuxWorkstation
[ "$first" = LinuxWorkstation ] && other=ShortLived
assert_eq "$first $BK
$first $ADCS_CA_NAME" "$(submits "$OUT" | grep "^$first ")" "$first submissions, in order"
assert_eq "$other $BK" "$(submits "$OUT" | grep "^$other ")" "$other submissions"
for t in LinuxWorkstation ShortLived; do
  assert_match "$OUT" "^$t: enrolled \\(serial [0-9A-F]+" "pulse 2 output"
  pair_files "$SCRATCH/certs/$t.crt" "$SCRATCH/certs/$t.key" > /dev/null
done
assert_eq "$ADCS_CA_NAME" "$(held_ca "$first")" "CA of the held $first certificate"
assert_eq "$BK" "$(held_ca "$other")" "CA of the held $other certificate"
exit 0
