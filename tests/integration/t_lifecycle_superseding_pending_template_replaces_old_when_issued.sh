#!/bin/bash
# Supersedence through a CA manager's approval (docs/protocol.md 5.2 step 7, 5.3
# step 2): template B supersedes the held template A but its requests pend
# (CT_FLAG_PEND_ALL_REQUESTS).  A's certificate stays live while B is
# pending; when a later pulse collects B's approved certificate, A's
# certificate is archived in that same pulse, and the next pulse does nothing.
. "$TESTS_LIB"

A=LifecyclePendOld B=LifecyclePendNew
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")

cleanup() {
  ad_template_remove "$B" "$A"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
# NeedsEmail is denied on every run (exit 4): unpublished for this test
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$A" 1.205 $((365 * 86400)) $((42 * 86400)) || fail "cannot add template $A"

note "pulse 1: enroll $A"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$A: enrolled \\(serial [0-9A-F]+" "pulse 1 output"
a_fp=$(openssl x509 -in "$SCRATCH/certs/$A.crt" -noout -fingerprint -sha256)
a_serial=$(cert_serial "$SCRATCH/certs/$A.crt")

note "template $B supersedes $A; its requests need a CA manager's approval"
ad_template_add "$B" 1.206 $((365 * 86400)) $((42 * 86400)) "msPKI-Supersede-Templates: $A" \
  || fail "cannot add template $B"
domain ldbmodify > /dev/null <<LDIF || fail "cannot set msPKI-Enrollment-Flag of $B"
dn: CN=$B,CN=Certificate Templates,$ADCS_PKS_DN
changetype: modify
replace: msPKI-Enrollment-Flag
msPKI-Enrollment-Flag: 34
LDIF

note "pulse 2: $B pending, $A's certificate stays"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$B: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "pulse 2 output"
req=$(printf '%s\n' "$OUT" | sed -n "s/^$B: pending (request \\([0-9]*\\) at.*/\\1/p")
assert_eq "$a_serial" "$(cert_serial "$SCRATCH/certs/$A.crt")" "$A's live certificate while $B is pending"
assert_eq "" "$(archived_serials "$SCRATCH/archive")" "serials in the archive while $B is pending"

note "the CA manager approves request $req; pulse 3 collects it and archives $A's certificate"
domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$B: enrolled \\(serial [0-9A-F]+" "pulse 3 output"
pair_files "$SCRATCH/certs/$B.crt" "$SCRATCH/certs/$B.key" > /dev/null
assert_contains "$OUT" "$A: superseded certificate archived to " "pulse 3 log"
assert_no_file "$SCRATCH/certs/$A.crt"
assert_no_file "$SCRATCH/certs/$A.key"
found=0
while IFS= read -r f; do
  [ "$(openssl x509 -in "$f" -noout -fingerprint -sha256)" = "$a_fp" ] && found=1
done < <(find "$SCRATCH/archive" -name cert.pem -type f)
[ $found = 1 ] || fail "$A's certificate (serial $a_serial) is not in the archive: $(find "$SCRATCH/archive")"

note "pulse 4: nothing to do"
reqs=$(emu_request_count)
assert_exit 0 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$B: valid until " "pulse 4 output"
assert_not_contains "$OUT" "$A" "pulse 4 output"
assert_eq "$reqs" "$(emu_request_count)" "requests the CA received during pulse 4"
exit 0
