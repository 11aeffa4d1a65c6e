#!/bin/bash
# A CES denial carries the CA's own words: NeedsEmail is allowed by the
# template's ACL, but the CA's policy module needs the account's mail
# attribute and denies (0x80094812).  Over CES the denial is a SOAP fault
# whose Reason holds the CA's message and whose CertificateEnrollmentWSDetail
# holds the HRESULT; adenroll reports it as certsrv's denials are reported,
# keeps no pending request and leaves no key behind.  A transient fault (the
# CES cannot reach the CA: 0x800706BA) is not a denial.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain ces off > /dev/null 2>&1; domain fault off > /dev/null 2>&1' EXIT
domain ces only > /dev/null || fail "domain.sh ces only failed"
a0=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")

note "denied by the CA"
"$ADENROLL" --config "$CONF" enroll NeedsEmail > "$SCRATCH/denied.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/denied.out")
assert_ne 0 "$rc" "exit status of a denied enrollment"
assert_ne 3 "$rc" "exit status of a denied enrollment"
assert_contains "$OUT" "NeedsEmail: denied by $ADCS_CA_NAME: " "enroll output"
assert_contains "$OUT" "The email name is unavailable" "the CA's own message"
assert_contains "$OUT" "0x80094812" "the HRESULT"
rid=$(emu_requests_for NeedsEmail | tail -n1)
assert_eq denied "$(emu_request_field "$rid" status)" "status of request $rid"
assert_eq ces "$(emu_request_field "$rid" transport)" "transport of request $rid"
assert_no_file "$SCRATCH/state/pending/NeedsEmail.req"
assert_no_file "$SCRATCH/certs/NeedsEmail.crt"
assert_no_file "$SCRATCH/certs/NeedsEmail.key"
log=$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a0")
assert_match "$log" '"template": "NeedsEmail".*"status": "denied".*"http": 500' "the emulator's log"
ces_all_valid "$log"

note "the CES cannot reach the CA (RPC): not a denial"
# transport = ces: auto would go on to /certsrv (404 here) and report that last
write_config "$SCRATCH/ces.conf" enroll.transport=ces
n=$(emu_requests_for NeedsEmail | wc -l)
domain fault rpc --path _CES_ > /dev/null
"$ADENROLL" --config "$SCRATCH/ces.conf" enroll EnrollOnly > "$SCRATCH/rpc.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/rpc.out")
assert_ne 0 "$rc" "exit status when the CA is unreachable"
assert_contains "$OUT" "0x800706BA" "the RPC HRESULT"
assert_not_contains "$OUT" "EnrollOnly: denied" "enroll output"
assert_no_file "$SCRATCH/certs/EnrollOnly.crt"
assert_eq "$n" "$(emu_requests_for NeedsEmail | wc -l)" "NeedsEmail requests"
domain fault off > /dev/null
assert_exit 3 "$ADENROLL" --config "$SCRATCH/ces.conf" enroll EnrollOnly
assert_match "$OUT" '^EnrollOnly: enrolled \(serial [0-9A-F]+' "enroll output once the CA answers again"
exit 0
