#!/bin/bash
# A CES endpoint that fails at every level: HTTP 500 (IIS's HTML page, no
# SOAP), malformed XML, an empty body, an answer slower than http_timeout, and
# SOAP faults saying the CES cannot reach the CA (0x800706BA, 0x800706BB,
# 0x80070426).  None is a denial: a new request fails cleanly (no key or
# certificate left, exit 1), a pending request survives every one of them
# with its key and is collected, without a second submission, once the CA
# answers again.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=5 enroll.transport=ces
C=(--config "$CONF")
trap 'domain fault off > /dev/null 2>&1; domain ces off > /dev/null 2>&1' EXIT
domain ces only > /dev/null || fail "domain.sh ces only failed"
pending_submissions() { emu_requests_for PendingApproval | wc -l; }

note "new requests against a failing CES"
for f in http500 garbage empty "delay --seconds 8" rpc busy notstarted; do
  # shellcheck disable=SC2086
  domain fault $f --path _CES_ > /dev/null || fail "domain.sh fault $f failed"
  "$ADENROLL" "${C[@]}" enroll EnrollOnly > "$SCRATCH/new.out" 2>&1
  rc=$?
  OUT=$(cat "$SCRATCH/new.out")
  assert_eq 1 "$rc" "exit status with fault $f (output: $OUT)"
  assert_contains "$OUT" "EnrollOnly: failed" "enroll output with fault $f"
  assert_not_contains "$OUT" "denied" "enroll output with fault $f"
  assert_no_file "$SCRATCH/certs/EnrollOnly.crt"
  assert_no_file "$SCRATCH/certs/EnrollOnly.key"
  domain fault off > /dev/null
done

note "a pending request survives the same faults"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll PendingApproval
req=$(printf '%s\n' "$OUT" | sed -n 's/^PendingApproval: pending (request \([0-9]*\) at.*/\1/p')
[ -n "$req" ] || fail "no pending request; output: $OUT"
n=$(pending_submissions)
domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
for f in http500 garbage empty "delay --seconds 8" rpc busy notstarted; do
  # shellcheck disable=SC2086
  domain fault $f --path _CES_ > /dev/null || fail "domain.sh fault $f failed"
  "$ADENROLL" "${C[@]}" enroll PendingApproval > "$SCRATCH/poll.out" 2>&1
  rc=$?
  OUT=$(cat "$SCRATCH/poll.out")
  assert_eq 1 "$rc" "exit status of the poll with fault $f (output: $OUT)"
  assert_contains "$OUT" "request $req at $ADCS_CA_NAME is kept" "poll output with fault $f"
  assert_file "$SCRATCH/state/pending/PendingApproval.key"
  assert_no_file "$SCRATCH/certs/PendingApproval.crt"
  domain fault off > /dev/null
done
assert_eq "$n" "$(pending_submissions)" "PendingApproval submissions during the faults"

note "the CA answers again: collected"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll PendingApproval
assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "enroll output"
assert_no_file "$SCRATCH/state/pending/PendingApproval.key"
assert_eq "$n" "$(pending_submissions)" "PendingApproval submissions"
exit 0
