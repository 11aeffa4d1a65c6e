#!/bin/bash
# A CA without web enrollment (no /certsrv: 404) whose enrollment service
# advertises a CES endpoint in msPKI-Enrollment-Servers (domain.sh ces only):
# adenroll finds the endpoint in AD, enrolls over MS-WSTEP through the
# channel-binding front, and a template that needs a CA manager's approval
# goes pending; after `domain.sh approve` a later run collects it with
# QueryTokenStatus and the same request id, without submitting again.  Every
# message adenroll sent passed the emulator's schema check, and every
# authentication was channel-bound, the first request's included.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain ces off > /dev/null 2>&1' EXIT
domain ces only > /dev/null || fail "domain.sh ces only failed"
a0=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
f0=$(ces_log_lines "$ADCS_CES_AUTH_LOG")

note "enroll EnrollOnly over CES"
assert_exit 3 "$ADENROLL" --config "$CONF" enroll EnrollOnly
assert_match "$OUT" '^EnrollOnly: enrolled \(serial [0-9A-F]+' "enroll output"
openssl verify -CAfile "$ADCS_CA_CERT" "$SCRATCH/certs/EnrollOnly.crt" > /dev/null 2>&1 \
  || fail "EnrollOnly.crt does not verify"
rid=$(emu_requests_for EnrollOnly | tail -n1)
assert_eq issued "$(emu_request_field "$rid" status)" "status of request $rid"
assert_eq ces "$(emu_request_field "$rid" transport)" "transport of request $rid"
assert_eq "$ADCS_CLIENT_PRINCIPAL" "$(emu_request_field "$rid" requester)" "requester of request $rid"

note "PendingApproval: pending"
pending_submissions() { grep -l '"template": "PendingApproval"' "$ADCS_EMU_DIR"/state/req-*.json 2>/dev/null | wc -l; }
before=$(pending_submissions)
assert_exit 3 "$ADENROLL" --config "$CONF" enroll PendingApproval
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "enroll output"
req=$(printf '%s\n' "$OUT" | sed -n 's/^PendingApproval: pending (request \([0-9]*\) at.*/\1/p')
[ -n "$req" ] || fail "no request id for PendingApproval"
assert_eq pending "$(emu_request_field "$req" status)" "status of request $req"
assert_eq ces "$(emu_request_field "$req" transport)" "transport of request $req"
assert_eq $((before + 1)) "$(pending_submissions)" "PendingApproval submissions"

note "a run before the approval: still pending, asked with QueryTokenStatus"
a1=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
"$ADENROLL" --config "$CONF" enroll PendingApproval > "$SCRATCH/still.out" 2>&1
assert_match "$(cat "$SCRATCH/still.out")" "PendingApproval: (still )?pending" "output while pending"
assert_match "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a1")" "\"request_type\": \"QueryTokenStatus\", \"value_type\": null, \"request_id\": $req," "the poll"
assert_eq $((before + 1)) "$(pending_submissions)" "PendingApproval submissions while pending"

note "approved, collected by a later run"
domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
a2=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
assert_exit 3 "$ADENROLL" --config "$CONF" enroll PendingApproval
assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "enroll output after approval"
assert_no_file "$SCRATCH/state/pending/PendingApproval.req"
openssl verify -CAfile "$ADCS_CA_CERT" "$SCRATCH/certs/PendingApproval.crt" > /dev/null 2>&1 \
  || fail "PendingApproval.crt does not verify"
log=$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a2")
assert_match "$log" "\"request_type\": \"QueryTokenStatus\", \"value_type\": null, \"request_id\": $req, \"status\": \"issued\"" "the collection"
assert_not_contains "$log" '"request_type": "Issue"' "requests after the approval"
assert_eq $((before + 1)) "$(pending_submissions)" "PendingApproval submissions"

note "every request valid, every authentication bound"
all=$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a0")
ces_all_valid "$all"
assert_contains "$all" '"valid": true' "the emulator's log"
auth=$(ces_log_since "$ADCS_CES_AUTH_LOG" "$f0")
assert_match "$auth" "\"result\": \"ok\", \"channel_bound\": true, \"user\": \"CLIENT\\\$@$ADCS_REALM\"" "front's log"
assert_not_contains "$auth" '"result": "unbound"' "front's log"
assert_not_contains "$auth" '"result": "bad-bindings"' "front's log"
# the token goes with the first request of each connection too
assert_not_contains "$auth" '"result": "no-token"' "front's log"
exit 0
