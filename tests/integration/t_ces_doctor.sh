#!/bin/bash
# doctor probes both transports of a CA that offers both (domain.sh ces on):
# /certsrv and the CES endpoint from msPKI-Enrollment-Servers, each reached
# with a channel-bound Kerberos token (the fronts' logs show it), and explain
# names the endpoint a request would go to; with `ces only` doctor reports
# /certsrv missing and CES working, and with the CA's web servers stopped
# (ca stop: nothing listens on its ports) it fails.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain ces off > /dev/null 2>&1; domain ca start > /dev/null 2>&1' EXIT
domain ces on > /dev/null || fail "domain.sh ces on failed"

note "both offered"
f=$(ces_log_lines "$ADCS_CES_AUTH_LOG")
"$ADENROLL" --config "$CONF" doctor > "$SCRATCH/doctor.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/doctor.out")
printf '%s\n' "$OUT" | sed 's/^/    doctor: /' >&2
assert_eq 0 "$rc" "doctor's exit status with both transports working"
assert_contains "$OUT" "/certsrv/" "doctor probes /certsrv"
assert_contains "$OUT" "$ADCS_CES_URL" "doctor names the CES endpoint"
assert_match "$(ces_log_since "$ADCS_CES_AUTH_LOG" "$f")" "\"result\": \"ok\", \"channel_bound\": true, \"user\": \"CLIENT\\\$@$ADCS_REALM\"" \
  "the CES front's log of doctor's probe"

note "explain says which endpoint a request would go to"
assert_exit 0 "$ADENROLL" --config "$CONF" explain LinuxWorkstation
assert_contains "$OUT" "$ADCS_CES_URL" "explain names the CES endpoint"

note "ces only: /certsrv is gone, CES works"
domain ces only > /dev/null || fail "domain.sh ces only failed"
"$ADENROLL" --config "$CONF" doctor > "$SCRATCH/only.out" 2>&1
OUT=$(cat "$SCRATCH/only.out")
printf '%s\n' "$OUT" | sed 's/^/    doctor: /' >&2
assert_contains "$OUT" "404" "doctor reports /certsrv missing"
assert_contains "$OUT" "$ADCS_CES_URL" "doctor names the CES endpoint"

note "the CA's web servers stopped: doctor fails"
domain ca stop > /dev/null || fail "domain.sh ca stop failed"
"$ADENROLL" --config "$CONF" doctor > "$SCRATCH/down.out" 2>&1
rc=$?
assert_ne 0 "$rc" "doctor's exit status with the CA down"
assert_contains "$(cat "$SCRATCH/down.out")" "$ADCS_CES_URL" "doctor names the CES endpoint it could not reach"
exit 0
