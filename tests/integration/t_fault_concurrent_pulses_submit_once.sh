#!/bin/bash
# Two pulses at once (the CA slowed down so the first is still running):
# the second waits on the run lock instead of enrolling the same templates
# again.  When the first finishes within the wait (a minute), the second
# finds the new certificates and submits nothing; when it does not, the
# second gives up with exit 1 naming the pid that holds the lock.  Either
# way each template reaches the CA once.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=120
C=(--config "$CONF")
LOCK=$SCRATCH/adenroll.lock
trap 'domain fault off > /dev/null 2>&1; kill "${p1:-}" "${p2:-}" 2> /dev/null' EXIT

# submissions the CA recorded from this machine, per template: "TEMPLATE COUNT" lines
submissions() {
  /usr/bin/python3 - "$ADCS_EMU_DIR/state" <<'PY'
import collections, glob, json, sys
n = collections.Counter()
for f in glob.glob(sys.argv[1] + "/req-*.json"):
    m = json.load(open(f))
    if m.get("requester", "").upper().startswith("CLIENT$"):
        n[m.get("template")] += 1
for t in ("LinuxWorkstation", "ShortLived", "PendingApproval"):
    print(t, n[t])
PY
}
# count TEMPLATE SUBMISSIONS-OUTPUT
count() { printf '%s\n' "$2" | awk -v t="$1" '$1 == t {print $2}'; }
# wait_lock PID: until PID holds the run lock (it writes its pid there once it has it)
wait_lock() {
  local _
  for _ in $(seq 1 200); do
    [ "$(tr -d '\n' 2> /dev/null < "$LOCK")" = "$1" ] && return 0
    kill -0 "$1" 2> /dev/null || fail "pulse $1 ended before taking the lock: $(cat "$SCRATCH"/p1-*.out)"
    sleep 0.1
  done
  fail "pulse $1 never took the run lock $LOCK"
}

note "1: the first pulse finishes while the second waits"
s0=$(submissions)
domain fault delay --seconds 8 --count 1 --path certfnsh > /dev/null || fail "domain.sh fault delay failed"
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/p1-a.out" 2>&1 &
p1=$!
wait_lock $p1
start=$(date +%s)
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/p2-a.out" 2>&1 &
p2=$!
wait $p2; rc2=$?
took=$(( $(date +%s) - start ))
wait $p1; rc1=$?
out1=$(cat "$SCRATCH/p1-a.out") out2=$(cat "$SCRATCH/p2-a.out")
assert_eq 4 "$rc1" "exit status of the first pulse (NeedsEmail is denied)"
assert_match "$out1" '^LinuxWorkstation: enrolled \(serial ' "first pulse"
assert_eq 4 "$rc2" "exit status of the second pulse"
assert_contains "$out2" "waiting up to 60 s for another adenroll run to finish ($LOCK)" "second pulse"
assert_match "$out2" '^LinuxWorkstation: valid until ' "second pulse"
assert_match "$out2" '^ShortLived: valid until ' "second pulse"
req=$(printf '%s\n' "$out1" | sed -n 's/^PendingApproval: pending (request \([0-9]*\) at.*/\1/p')
[ -n "$req" ] || fail "the first pulse did not leave PendingApproval pending: $out1"
assert_match "$out2" "^PendingApproval: pending \\(request $req at " "second pulse"
[ "$took" -ge 4 ] || fail "the second pulse did not wait for the first (${took}s)"
s1=$(submissions)
for t in LinuxWorkstation ShortLived PendingApproval; do
  assert_eq $(( $(count $t "$s0") + 1 )) "$(count $t "$s1")" "submissions of $t by both pulses"
done
assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/state"

note "2: the first pulse outlasts the second's wait (CA answers after 70 s)"
lw=$(pair_state "$SCRATCH/certs" LinuxWorkstation) || exit 1
domain fault delay --seconds 70 --count 1 --path certfnsh > /dev/null || fail "domain.sh fault delay failed"
"$ADENROLL" "${C[@]}" --force pulse > "$SCRATCH/p1-b.out" 2>&1 &
p1=$!
wait_lock $p1
start=$(date +%s)
assert_exit 1 "$ADENROLL" "${C[@]}" --force pulse
took=$(( $(date +%s) - start ))
assert_contains "$OUT" "another adenroll run (pid $p1) holds $LOCK and did not finish in time; try again when it has finished" "second pulse"
assert_not_contains "$OUT" "submitting" "second pulse"
{ [ "$took" -ge 59 ] && [ "$took" -le 75 ]; } || fail "the second pulse gave up after ${took}s, expected about 60"
kill -0 $p1 2> /dev/null || fail "the first pulse had already ended: $(cat "$SCRATCH/p1-b.out")"
wait $p1; rc1=$?
assert_eq 4 "$rc1" "exit status of the first (forced) pulse: $(tail -n 20 "$SCRATCH/p1-b.out")"
assert_match "$(cat "$SCRATCH/p1-b.out")" '^LinuxWorkstation: enrolled \(serial ' "first pulse"
assert_ne "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "LinuxWorkstation pair after the forced pulse"
s2=$(submissions)
for t in LinuxWorkstation ShortLived; do
  assert_eq $(( $(count $t "$s1") + 1 )) "$(count $t "$s2")" "submissions of $t by the two forced pulses; first pulse said: $(cat "$SCRATCH/p1-b.out")"
done
assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/state"
exit 0
