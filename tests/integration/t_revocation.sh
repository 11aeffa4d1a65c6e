#!/bin/bash
# Revocation (docs/protocol.md 5.3 step 3): the CA revokes the machine's
# LinuxWorkstation certificate and publishes a new CRL at its LDAP CDP
# object; explain reports it revoked, the next pulse reads the CRL over LDAP,
# re-enrolls, archives the revoked certificate, and a further pulse does
# nothing (the cached CRL is fresh: not fetched again).
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
# explain gets a state directory of its own so that its CRL cache does not
# stand in for pulse's own fetch
write_config "$SCRATCH/explain.conf" store.state_dir="$SCRATCH/state-explain"
CACHE=$SCRATCH/state/crl
CRT=$SCRATCH/certs/LinuxWorkstation.crt

# NeedsEmail is denied on every run (exit 4); take it out of the CA's list
# for this test so that "nothing to do" can exit 0, and put it back after.
republish() {
  domain ldbmodify > /dev/null 2>&1 <<LDIF || true
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
add: certificateTemplates
certificateTemplates: NeedsEmail
LDIF
}
domain ldbmodify > /dev/null <<LDIF || fail "cannot unpublish NeedsEmail"
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
delete: certificateTemplates
certificateTemplates: NeedsEmail
LDIF
trap republish EXIT

serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }

note "run 1: enroll"
assert_exit 3 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial [0-9A-F]+' "pulse output"
assert_file "$CRT"
old_serial=$(serial_of "$CRT")
old_fp=$(openssl x509 -in "$CRT" -noout -fingerprint -sha256)
# the CA wrote its LDAP CDP URL into the certificate (spaces %20-encoded, as AD CS does)
cdp=$(openssl x509 -in "$CRT" -noout -ext crlDistributionPoints)
cdp_url="ldap:///CN=$ADCS_CA_NAME,CN=${ADCS_CA_HOST%%.*},CN=CDP,CN=Public%20Key%20Services,CN=Services,$ADCS_CONFIG_DN?certificateRevocationList?base?objectClass=cRLDistributionPoint"
assert_contains "$cdp" "URI:$cdp_url" "the certificate's CRL distribution points"
# a new certificate is not checked: nothing fetched, nothing cached yet
[ -z "$(ls -A "$CACHE" 2>/dev/null)" ] || fail "run 1 cached a CRL without a held certificate to check"

note "explain before the revocation: good"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/explain.conf" explain LinuxWorkstation
assert_contains "$OUT" "  revocation:    good (CRL from $cdp_url, next update " "explain output"
rm -rf "$SCRATCH/state-explain/crl"

req=$("$ADENROLL" --config "$CONF" --json status | /usr/bin/python3 -c '
import json, sys
doc = json.load(sys.stdin)
print(next(c["request_id"] for c in doc["certificates"] if c["template"] == "LinuxWorkstation"))') \
  || fail "no request id for LinuxWorkstation in status --json"
assert_match "$req" '^[0-9]+$' "request id"

note "the CA revokes request $req (serial $old_serial)"
domain revoke "$req" keyCompromise > "$SCRATCH/revoke.out" 2>&1 || fail "domain.sh revoke $req failed: $(cat "$SCRATCH/revoke.out")"

note "explain after the revocation: revoked, re-enroll"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/explain.conf" explain LinuxWorkstation
assert_match "$OUT" '  revocation:    revoked on [0-9-]+T[0-9:]+Z \(keyCompromise\); CRL from ldap:///' "explain output"
assert_contains "$OUT" "decision:      reenroll: certificate revoked: re-enroll" "explain output"
"$ADENROLL" --config "$SCRATCH/explain.conf" --json explain LinuxWorkstation > "$SCRATCH/explain.json" 2> /dev/null \
  || fail "explain --json failed"
/usr/bin/python3 - "$SCRATCH/explain.json" <<'PY' || fail "explain --json: $(cat "$SCRATCH/explain.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
held = doc[0]["held"]
assert held["revocation"] == "revoked", held
assert "keyCompromise" in held["revocation_detail"], held
assert doc[0]["decision"]["action"] == "reenroll", doc[0]["decision"]
PY

note "dry run: would re-enroll, writes nothing (no CRL cached)"
"$ADENROLL" --config "$CONF" --dry-run pulse > "$SCRATCH/dry.out" 2>&1
assert_match "$(cat "$SCRATCH/dry.out")" '^LinuxWorkstation: would reenroll \(certificate revoked: re-enroll; revoked on .*keyCompromise' "dry-run output"
[ -z "$(ls -A "$CACHE" 2>/dev/null)" ] || fail "the dry run cached a CRL"
assert_eq "$old_serial" "$(serial_of "$CRT")" "serial after the dry run"

note "run 2: revoked, re-enrolled, the old certificate archived"
assert_exit 3 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" '^LinuxWorkstation: certificate revoked, re-enrolled \(serial [0-9A-F]+, expires ' "pulse output"
assert_match "$OUT" "LinuxWorkstation: the certificate \\(serial $old_serial\\) is revoked on .* \\(keyCompromise\\)" "pulse log"
new_serial=$(serial_of "$CRT")
assert_ne "$old_serial" "$new_serial" "serial of the re-enrolled certificate"
openssl verify -CAfile "$ADCS_CA_CERT" "$CRT" > /dev/null 2>&1 || fail "the new LinuxWorkstation.crt does not verify"
# the revoked certificate is in the archive
found=0
while IFS= read -r f; do
  [ "$(openssl x509 -in "$f" -noout -fingerprint -sha256 2>/dev/null)" = "$old_fp" ] && found=1
done < <(find "$SCRATCH/archive" -type f 2>/dev/null)
[ $found = 1 ] || fail "the revoked certificate (serial $old_serial) is not in $SCRATCH/archive: $(find "$SCRATCH/archive" 2>/dev/null)"
# exactly one CRL fetched and cached for the one CA
assert_eq 1 "$(find "$CACHE" -name '*.crl' | wc -l)" "CRLs cached"
crl=$(find "$CACHE" -name '*.crl')
openssl crl -inform DER -in "$crl" -noout -text | grep -qi "$old_serial" || fail "the cached CRL does not list $old_serial"
crl_stamp=$(stat -c %Y.%i "$crl")

note "run 3: nothing to do, the cached CRL is fresh"
sleep 1
assert_exit 0 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" '^LinuxWorkstation: valid until ' "pulse output"
# (the policy line names the AEPolicy switch renew_and_remove_revoked: not a verdict)
run3=$(printf '%s\n' "$OUT" | grep -v 'autoenrollment policy ')
assert_not_contains "$run3" "revoked" "pulse output"
assert_not_contains "$run3" "unknown" "pulse output"
assert_eq "$new_serial" "$(serial_of "$CRT")" "serial after run 3"
assert_eq "$crl_stamp" "$(stat -c %Y.%i "$crl")" "the cached CRL (mtime.inode) after run 3"

note "run 4: a no-op with revocation on parses no certificate and no CRL"
# run 3 verified the new certificate's issuer once and indexed it; the CRL's
# facts were written when run 2 fetched it (docs/stores.md)
[ "$(stat -c %a "$CACHE/issuers")" = 600 ] || fail "$CACHE/issuers is not 0600"
for x in "$CACHE"/*.facts; do
  [ "$(stat -c %a "$x")" = 600 ] || fail "$x is not 0600"
done
"$ADENROLL" --config "$CONF" -vv pulse > "$SCRATCH/run4.out" 2>&1; rc=$?
assert_eq 0 "$rc" "exit code of run 4 ($(cat "$SCRATCH/run4.out"))"
run4=$(cat "$SCRATCH/run4.out")
assert_match "$run4" 'PEM store [^ ]*: ([0-9]+) certificates, \1 from the held-certificate index' "run 4 store listing"
assert_match "$run4" 'revocation: [1-9][0-9]* certificates checked from the held-certificate index, 0 parsed to be checked; 0 CRLs parsed, 0 fetched' "run 4 revocation line"
assert_match "$run4" '^LinuxWorkstation: valid until ' "pulse output"
assert_eq "$crl_stamp" "$(stat -c %Y.%i "$crl")" "the cached CRL (mtime.inode) after run 4"

note "the CA revokes the new certificate; once a new CRL is fetched, the next pulse finds it"
req2=$("$ADENROLL" --config "$CONF" --json status | /usr/bin/python3 -c '
import json, sys
doc = json.load(sys.stdin)
print(next(c["request_id"] for c in doc["certificates"] if c["template"] == "LinuxWorkstation"))') \
  || fail "no request id for LinuxWorkstation in status --json"
domain revoke "$req2" superseded > "$SCRATCH/revoke2.out" 2>&1 || fail "domain.sh revoke $req2 failed: $(cat "$SCRATCH/revoke2.out")"
# the cached CRL is fresh until its nextUpdate: a pulse before then does not
# ask (as before the facts); take it away as its expiry would
rm -f "$crl"
assert_exit 3 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" "LinuxWorkstation: the certificate \\(serial $new_serial\\) is revoked on .* \\(superseded\\)" "pulse log"
assert_match "$OUT" '^LinuxWorkstation: certificate revoked, re-enrolled \(serial [0-9A-F]+, expires ' "pulse output"
assert_ne "$new_serial" "$(serial_of "$CRT")" "serial after the second revocation"
exit 0
