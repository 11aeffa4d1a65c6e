#!/bin/bash
# The CA's web server is down (nothing listens on its ports): enroll and a
# forced pulse fail at once with "cannot connect to <CA host>", exit 1 and 4,
# the held pair and the pending request untouched, nothing new stored; once
# the CA is back, the same pulse renews.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=10
C=(--config "$CONF")
trap 'domain ca start > /dev/null 2>&1' EXIT

"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/setup.out" 2>&1
[ -e "$SCRATCH/certs/LinuxWorkstation.crt" ] || fail "setup pulse did not enroll: $(cat "$SCRATCH/setup.out")"
assert_file "$SCRATCH/state/pending/PendingApproval.req"
lw=$(pair_state "$SCRATCH/certs" LinuxWorkstation) || exit 1
before=$(store_snapshot)

domain ca stop > /dev/null || fail "domain.sh ca stop failed"
bash -c "exec 3<>/dev/tcp/$ADCS_CA_IP/443" 2> /dev/null && fail "the CA still accepts connections after 'ca stop'"

start=$(date +%s)
assert_exit 1 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_match "$OUT" "^LinuxWorkstation: failed: cannot connect to $ADCS_CA_HOST: " "enroll summary"
assert_contains "$OUT" "last error from $ADCS_CA_NAME" "enroll error"

assert_exit 4 "$ADENROLL" "${C[@]}" --force pulse
took=$(( $(date +%s) - start ))
for t in LinuxWorkstation ShortLived; do
  assert_match "$OUT" "^$t: failed: cannot connect to $ADCS_CA_HOST: " "pulse summary of $t"
done
assert_match "$OUT" "cannot ask $ADCS_CA_NAME about request [0-9]+: cannot connect to $ADCS_CA_HOST" "pending poll"
[ "$took" -lt 30 ] || fail "a refused connection took ${took}s to report"

assert_eq "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "LinuxWorkstation pair"
assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/archive" "$SCRATCH/state"
[ "$before" = "$(store_snapshot)" ] || fail "the stores changed:
$(diff <(printf '%s\n' "$before") <(store_snapshot))"

domain ca start > /dev/null || fail "domain.sh ca start failed"
assert_exit 4 "$ADENROLL" "${C[@]}" --force pulse
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial ' "pulse once the CA is back"
assert_ne "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "LinuxWorkstation pair after the renewal"
exit 0
