#!/bin/bash
# A template whose requests all wait for a CA manager (CT_FLAG_PEND_ALL_REQUESTS)
# but where a previous approval stands for the renewal
# (CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT, MS-WCCE 3.2.2.6.2.1.4.8):
# the first enrollment pends until the manager approves it; the renewal is a
# PKCS#10 carrying the old certificate (szOID_RENEWAL_CERTIFICATE) in CMS
# SignedData signed by the old certificate, and the CA issues it at once.  The
# test reads what the CA received (signer, attribute), and checks that the
# old pair went to the archive.  The template is short-lived with a renewal
# period as long as its validity, so the renewal is due as soon as it is issued.
. "$TESTS_LIB"

T=RenewApproved
V=120
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt

cleanup() {
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.301 "$V" "$V" || fail "cannot add template $T"
# AUTO_ENROLLMENT | PEND_ALL_REQUESTS | PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT
template_set "$T" msPKI-Enrollment-Flag $((0x20 | 0x02 | 0x40)) || fail "cannot set the enrollment flag of $T"

note "pulse 1: the first request pends"
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/p1.out" 2>&1
OUT=$(cat "$SCRATCH/p1.out")
assert_match "$OUT" "^$T: pending" "pulse 1 output"
first=$(emu_requests_for "$T" | tail -n1)
[ -n "$first" ] || fail "the CA received no request for $T"
assert_eq pending "$(emu_request_field "$first" status)" "status of request $first"
assert_no_file "$ADCS_EMU_DIR/state/req-$first.p7"

note "the CA manager approves request $first; pulse 2 installs it"
domain approve "$first" > /dev/null || fail "domain.sh approve $first failed"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse 2 output"
assert_file "$CRT"
old_serial=$(cert_serial "$CRT")
cp "$CRT" "$SCRATCH/old.crt"

note "explain: the renewal will be signed by the held certificate"
renew_due_wait "$CRT" "$V"
assert_exit 0 "$ADENROLL" "${C[@]}" explain "$T"
assert_contains "$OUT" "decision:      renew: renewal due since" "explain decision"
assert_contains "$OUT" "request:       renewal: PKCS#10 with the held certificate in szOID_RENEWAL_CERTIFICATE, in CMS signed by the held certificate and key" "explain request form"

note "pulse 3: the renewal is issued at once, without a new approval"
n_before=$(emu_requests_for "$T" | wc -l)
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "$T: renewal request signed by the held certificate" "pulse 3 log"
assert_match "$OUT" "^$T: renewed \\(serial [0-9A-F]+" "pulse 3 output"
assert_eq $((n_before + 1)) "$(emu_requests_for "$T" | wc -l)" "requests for $T"
rid=$(emu_requests_for "$T" | tail -n1)
assert_eq issued "$(emu_request_field "$rid" status)" "status of renewal request $rid"
assert_eq cms "$(emu_request_field "$rid" format)" "format of request $rid"
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["renewal"]; assert r and r["attribute"] and r["previous_approval"], r' \
  "$ADCS_EMU_DIR/state/req-$rid.json" || fail "the CA did not take request $rid as an approved renewal: $(cat "$ADCS_EMU_DIR/state/req-$rid.json")"
note "$(emu_renewal_check "$rid" "$SCRATCH/old.crt")"
new_serial=$(cert_serial "$CRT")
assert_ne "$old_serial" "$new_serial" "serial after the renewal"
pair_files "$CRT" "$SCRATCH/certs/$T.key" > /dev/null
openssl verify -CAfile "$ADCS_CA_CERT" "$CRT" > /dev/null 2>&1 || fail "the renewed $T.crt does not verify"
# the old pair is in the archive, with its key
archived_serials "$SCRATCH/archive/$T" | grep -qx "$old_serial" \
  || fail "the old certificate (serial $old_serial) is not in the archive: $(archived_serials "$SCRATCH/archive")"
arch=$(find "$SCRATCH/archive/$T" -name cert.pem | while IFS= read -r f; do
  [ "$(cert_serial "$f")" = "$old_serial" ] && echo "$f"; done | head -n1)
pair_files "$arch" "$(dirname "$arch")/key.pem" > /dev/null
exit 0
