#!/bin/bash
# Renewal over CES: a CA without /certsrv advertises a renewal-only CES
# endpoint first and a general one second (msPKI-Enrollment-Servers
# priorities 1 and 2).  The first enrollment is a PKCS#10 and must not go to
# the renewal-only endpoint; when the renewal is due, adenroll sends the
# renewal as MS-WSTEP wants it: a #PKCS7 BinarySecurityToken, the PKCS#10
# with szOID_RENEWAL_CERTIFICATE in CMS SignedData signed by the held
# certificate.  The CA checks the signature and the signer (same checks as
# for /certsrv) and issues; the old pair goes to the archive.
. "$TESTS_LIB"

T=CesRenew
V=120
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt

cleanup() {
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
  domain ces off > /dev/null 2>&1
}
trap cleanup EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.311 "$V" "$V" || fail "cannot add template $T"
domain ces only renewal:1 kerberos:2 > /dev/null || fail "domain.sh ces only failed"
a0=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")

note "pulse 1: enrolled over CES, not at the renewal-only endpoint"
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/p1.out" 2>&1
OUT=$(cat "$SCRATCH/p1.out")
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse 1 output"
first=$(emu_requests_for "$T" | tail -n1)
assert_eq ces "$(emu_request_field "$first" transport)" "transport of request $first"
assert_eq "$ADCS_CES_URL" "$(emu_request_field "$first" endpoint)" "endpoint of request $first"
log=$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a0")
assert_not_contains "$log" '"endpoint": "ces-renewal", "action": "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep", "valid": true, "request_type": "Issue", "value_type": "PKCS10"' \
  "new requests sent to the renewal-only endpoint"
old_serial=$(cert_serial "$CRT")
cp "$CRT" "$SCRATCH/old.crt"

note "pulse 2: the renewal, signed by the held certificate"
renew_due_wait "$CRT" "$V"
a1=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
n_before=$(emu_requests_for "$T" | wc -l)
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/p2.out" 2>&1
OUT=$(cat "$SCRATCH/p2.out")
assert_match "$OUT" "^$T: renewed \\(serial [0-9A-F]+" "pulse 2 output"
assert_eq $((n_before + 1)) "$(emu_requests_for "$T" | wc -l)" "requests for $T"
rid=$(emu_requests_for "$T" | tail -n1)
assert_eq issued "$(emu_request_field "$rid" status)" "status of renewal request $rid"
assert_eq cms "$(emu_request_field "$rid" format)" "format of request $rid"
assert_eq ces "$(emu_request_field "$rid" transport)" "transport of request $rid"
assert_match "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a1")" "\"request_type\": \"Issue\", \"value_type\": \"PKCS7\", \"template\": \"$T\"" \
  "the renewal's token type"
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["renewal"]; assert r and r["attribute"], r' \
  "$ADCS_EMU_DIR/state/req-$rid.json" || fail "the CA did not take request $rid as a renewal: $(cat "$ADCS_EMU_DIR/state/req-$rid.json")"
note "$(emu_renewal_check "$rid" "$SCRATCH/old.crt")"
new_serial=$(cert_serial "$CRT")
assert_ne "$old_serial" "$new_serial" "serial after the renewal"
pair_files "$CRT" "$SCRATCH/certs/$T.key" > /dev/null
openssl verify -CAfile "$ADCS_CA_CERT" "$CRT" > /dev/null 2>&1 || fail "the renewed $T.crt does not verify"
archived_serials "$SCRATCH/archive/$T" | grep -qx "$old_serial" \
  || fail "the old certificate (serial $old_serial) is not in the archive: $(archived_serials "$SCRATCH/archive")"
ces_all_valid "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a0")"
exit 0
