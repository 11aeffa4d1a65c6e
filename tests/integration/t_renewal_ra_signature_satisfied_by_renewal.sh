#!/bin/bash
# A template that needs one enrollment-agent signature (msPKI-RA-Signature =
# 1) and takes a valid existing certificate for reenrollment
# (CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT): a host without a
# certificate of it is not enrolled (pulse says why; a manual request is
# refused by the CA with CERTSRV_E_SIGNATURE_COUNT); a host holding a valid
# certificate of it renews it, the renewal's signature by that certificate
# being the one signature (MS-WCCE 3.2.2.6.2.1.4.8), by pulse or by hand
# (enroll --force sends the same renewal).
. "$TESTS_LIB"

T=RenewRASigned
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
ad_template_add "$T" 1.302 "$V" "$V" || fail "cannot add template $T"
template_set "$T" msPKI-Enrollment-Flag $((0x20 | 0x40)) || fail "cannot set the enrollment flag of $T"
template_set "$T" msPKI-RA-Signature 1 || fail "cannot set msPKI-RA-Signature of $T"

note "pulse 1: no certificate of $T held: not enrolled, nothing sent for it"
n0=$(emu_requests_for "$T" | wc -l)
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/p1.out" 2>&1
OUT=$(cat "$SCRATCH/p1.out")
assert_contains "$OUT" "$T: not enrolled: the template requires 1 enrollment-agent signature (msPKI-RA-Signature) and no certificate of it is held" "pulse 1 output"
assert_eq "$n0" "$(emu_requests_for "$T" | wc -l)" "requests the CA received for $T"
assert_exit 0 "$ADENROLL" "${C[@]}" templates
assert_match "$(printf '%s\n' "$OUT" | grep "^$T ")" "renewal.*valid certificate of this template is renewed|a held valid certificate" "templates line"

note "a manual first enrollment is refused, and so is an unsigned request at the CA"
assert_exit 1 "$ADENROLL" "${C[@]}" enroll "$T"
assert_contains "$OUT" "cannot enroll for $T" "manual enroll output"
assert_contains "$OUT" "enrollment-agent signature" "manual enroll output"
assert_no_file "$CRT"
kinit_client
make_csr "$SCRATCH/plain.key" "$SCRATCH/plain.csr"
page=$(certsrv_submit "$T" "$SCRATCH/plain.csr")
assert_contains "$page" "0x8009480a" "the CA's answer to an unsigned request for $T"
assert_contains "$page" "missing one or more required signatures" "the CA's answer to an unsigned request for $T"

note "the host is given a certificate of $T (an enrollment agent's job; here: the requirement lifted once)"
template_set "$T" msPKI-RA-Signature 0 || fail "cannot lift msPKI-RA-Signature"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll "$T"
template_set "$T" msPKI-RA-Signature 1 || fail "cannot set msPKI-RA-Signature again"
assert_file "$CRT"
cp "$CRT" "$SCRATCH/old.crt"
old_serial=$(cert_serial "$CRT")

note "pulse 2: the held certificate signs its renewal; the CA counts that signature"
renew_due_wait "$CRT" "$V"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$T: renewed \\(serial [0-9A-F]+" "pulse 2 output"
rid=$(emu_requests_for "$T" | tail -n1)
assert_eq issued "$(emu_request_field "$rid" status)" "status of renewal request $rid"
note "$(emu_renewal_check "$rid" "$SCRATCH/old.crt")"
assert_ne "$old_serial" "$(cert_serial "$CRT")" "serial after the renewal"
pair_files "$CRT" "$SCRATCH/certs/$T.key" > /dev/null
archived_serials "$SCRATCH/archive/$T" | grep -qx "$old_serial" || fail "the old certificate is not in the archive"

note "enroll --force by hand: the same signed renewal, which the CA counts too"
cp "$CRT" "$SCRATCH/second.crt"
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll "$T"
assert_match "$OUT" "(^|$(printf '\n'))$T: enrolled \\(serial [0-9A-F]+" "enroll --force output"
rid=$(emu_requests_for "$T" | tail -n1)
assert_eq issued "$(emu_request_field "$rid" status)" "status of the manual renewal request $rid"
note "$(emu_renewal_check "$rid" "$SCRATCH/second.crt")"
# grep reads the whole list (-q would stop early: pipefail)
archived_serials "$SCRATCH/archive/$T" | grep -x "$(cert_serial "$SCRATCH/second.crt")" > /dev/null \
  || fail "the certificate replaced by hand is not in the archive"
exit 0
