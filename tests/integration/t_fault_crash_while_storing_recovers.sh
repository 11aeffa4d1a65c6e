#!/bin/bash
# SIGKILL at every step of storing a renewed pair (ADENROLL_TEST_CRASH_AT,
# store_pem.c: index key cert chain meta generation switched linked
# archived), with a pair already held: right after the kill the stable paths
# hold a complete, matching pair (the old one up to "generation", the new
# one from "switched"); the next plain pulse tidies what the kill left (no
# .new-* or temp file, one generation besides `current`) and nothing is
# lost: every pair that was ever live is the current one or in the archive,
# with its key.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
T=LinuxWorkstation
CERTS=$SCRATCH/certs
assert_exit 3 "$ADENROLL" "${C[@]}" enroll $T

# every pair kept: the live one and each archived generation, "serial pubkey-hash"
kept_pairs() {
  local d
  pair_state "$CERTS" $T || exit 1
  for d in "$SCRATCH/archive/$T"/*/; do
    [ -f "$d/cert.pem" ] || continue
    pair_files "$d/cert.pem" "$d/key.pem" || exit 1
  done
}
gens() { find "$CERTS/$T.d" -mindepth 1 -maxdepth 1 ! -name current -printf '%f\n' | sort; }

ever_live=$(pair_state "$CERTS" $T) || exit 1
for step in index key cert chain meta generation switched linked archived; do
  old=$(pair_state "$CERTS" $T) || exit 1
  ADENROLL_TEST_CRASH_AT=$step "$ADENROLL" "${C[@]}" --force enroll $T > "$SCRATCH/crash-$step.out" 2>&1
  rc=$?
  assert_eq 137 "$rc" "[$step] exit status of the run killed while storing"
  now=$(pair_state "$CERTS" $T) || fail "[$step] no complete pair after the kill: $(ls -lR "$CERTS")"
  case $step in
    index|key|cert|chain|meta|generation) assert_eq "$old" "$now" "[$step] live pair after the kill (the old one)" ;;
    *) assert_ne "$old" "$now" "[$step] live pair after the kill (the new one)"
       ever_live=$(printf '%s\n%s\n' "$ever_live" "$now") ;;
  esac

  # the next run, a plain pulse, tidies up; the live pair stays
  "$ADENROLL" "${C[@]}" pulse > "$SCRATCH/pulse-$step.out" 2>&1
  rc=$?
  [ $rc = 3 ] || [ $rc = 4 ] || fail "[$step] pulse after the kill exited $rc: $(tail -n 30 "$SCRATCH/pulse-$step.out")"
  assert_match "$(cat "$SCRATCH/pulse-$step.out")" "^$T: valid until " "[$step] pulse after the kill"
  assert_eq "$now" "$(pair_state "$CERTS" $T)" "[$step] live pair after the pulse"
  assert_no_leftovers "$CERTS" "$SCRATCH/archive" "$SCRATCH/state"
  assert_eq 1 "$(gens | wc -l)" "[$step] generations in $T.d after the pulse ($(gens | xargs))"
  assert_eq "$(readlink "$CERTS/$T.d/current")" "$(gens)" "[$step] the one generation is current"
  kept=$(kept_pairs)
  while read -r p; do
    [ -n "$p" ] || continue
    assert_contains "$kept" "$p" "[$step] pairs kept (live or archived)"
  done <<< "$ever_live"
done
exit 0
