#!/bin/bash
# Two ways a renewal does not happen as a renewal:
# - a renewal whose signature was changed on the way (the emulator's
#   "tamper" fault flips a byte of the CMS signature as it arrives) is
#   refused by the CA, and adenroll reports the CA's code (0x80090006
#   NTE_BAD_SIGNATURE); the held pair stays;
# - an expired certificate cannot sign its renewal (MS-WCCE 3.1.1.4.3.2):
#   explain says so, and pulse sends a new, unsigned PKCS#10 (the CA keeps
#   no CMS request), as Windows does.
. "$TESTS_LIB"

T=RenewExpiring
V=40
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt KEY=$SCRATCH/certs/$T.key

cleanup() {
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.303 "$V" "$V" || fail "cannot add template $T"

note "enroll $T (valid ${V}s, renewal due at once)"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll "$T"
assert_file "$CRT"
before=$(pair_files "$CRT" "$KEY")
na=$(cert_time "$CRT" enddate)

note "a tampered renewal is refused by the CA with its code"
domain fault tamper > /dev/null || fail "domain.sh fault tamper failed"
assert_exit 4 "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "$T: renewal request signed by the held certificate" "pulse log"
assert_match "$OUT" "^$T: denied by $ADCS_CA_NAME: .*0x80090006" "pulse output (the CA's code)"
rid=$(emu_requests_for "$T" | tail -n1)
assert_eq denied "$(emu_request_field "$rid" status)" "status of request $rid"
assert_eq 0x80090006 "$(emu_request_field "$rid" hresult)" "the CA's code for request $rid"
assert_eq tamper "$(emu_request_field "$rid" fault)" "request $rid arrived tampered"
# what arrived does not verify; what adenroll signed (the same bytes but one) did
openssl cms -verify -noverify -binary -inform DER -in "$ADCS_EMU_DIR/state/req-$rid.p7" -out /dev/null > /dev/null 2>&1 \
  && fail "the tampered request $rid verifies"
assert_eq "$before" "$(pair_files "$CRT" "$KEY")" "the held pair after the refused renewal"

now=$(date +%s)
[ "$now" -lt "$na" ] || fail "test setup: the certificate expired before the tamper check ended (a slow machine?)"
[ $(( na + 1 - now )) -gt 0 ] && sleep $(( na + 1 - now ))
note "expired: explain says a new enrollment follows, and why"
assert_exit 0 "$ADENROLL" "${C[@]}" explain "$T"
assert_contains "$OUT" "decision:      enroll: expired at " "explain decision"
assert_contains "$OUT" "request:       new enrollment: an expired certificate cannot sign a renewal" "explain request form"
n_before=$(emu_requests_for "$T" | wc -l)
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "$T: enroll: expired at " "pulse log"
assert_not_contains "$OUT" "$T: renewal request signed by the held certificate" "pulse log"
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse output"
assert_eq $((n_before + 1)) "$(emu_requests_for "$T" | wc -l)" "requests for $T"
rid=$(emu_requests_for "$T" | tail -n1)
assert_eq issued "$(emu_request_field "$rid" status)" "status of request $rid"
assert_no_file "$ADCS_EMU_DIR/state/req-$rid.p7"
assert_ne cms "$(emu_request_field "$rid" format)" "format of request $rid"
openssl req -in "$ADCS_EMU_DIR/state/req-$rid.csr" -noout -text 2>/dev/null | grep -q "1.3.6.1.4.1.311.13.1" \
  && fail "the new enrollment's request $rid carries a renewal attribute"
pair_files "$CRT" "$KEY" > /dev/null
exit 0
