#!/bin/bash
# A run killed (SIGKILL, ADENROLL_TEST_CRASH_AT, store_pem.c) after the
# commit point of a FIRST install, before the steps that follow it:
#   switched  `current` points at the new generation; no stable link yet,
#             no hook run
#   linked    the stable links are there; the hooks have not run
#   archived  the same, one step later
# The next plain pulse completes every step: the <T>.crt/.key/-chain.pem
# links exist and hold the pair that was committed, and the `enrolled` hook
# the killed run owed runs exactly once, with that certificate's serial and
# paths.  Then a renewal killed the same way owes, and gets, `renewed`; and
# an NSS-only first install killed after its certificate went in gets its
# `enrolled` hook from the next pulse too.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
HOOKS=$SCRATCH/hooks.d
LOG=$SCRATCH/hooks.log
T=LinuxWorkstation
CERTS=$SCRATCH/certs
write_config "$CONF" "general.hooks_dir=$HOOKS"
C=(--config "$CONF")
mkdir -p "$HOOKS"
chmod 755 "$HOOKS"
cat > "$HOOKS/10-record" <<EOS
#!/bin/sh
echo "\$ADENROLL_EVENT|\$ADENROLL_TEMPLATE|\$ADENROLL_SERIAL|\$ADENROLL_CERT|\$ADENROLL_KEY" >> '$LOG'
EOS
chmod 755 "$HOOKS/10-record"

lc() { tr '[:upper:]' '[:lower:]'; }
# hook_lines EVENT: the lines the hook wrote for $T and EVENT
hook_lines() { if [ -f "$LOG" ]; then grep -c "^$1|$T|" "$LOG"; else echo 0; fi; }

pulse_after_kill() {  # pulse_after_kill TAG
  "$ADENROLL" "${C[@]}" pulse > "$SCRATCH/pulse-$1.out" 2>&1
  local rc=$?
  [ $rc = 0 ] || [ $rc = 3 ] || [ $rc = 4 ] || fail "[$1] pulse after the kill exited $rc: $(tail -n 30 "$SCRATCH/pulse-$1.out")"
  assert_match "$(cat "$SCRATCH/pulse-$1.out")" "^$T: valid until " "[$1] pulse after the kill keeps the committed pair"
}

for step in switched linked archived; do
  note "first install killed at $step"
  rm -rf "$CERTS" "$SCRATCH/archive" "$SCRATCH/state" "$LOG"
  ADENROLL_TEST_CRASH_AT=$step "$ADENROLL" "${C[@]}" enroll $T > "$SCRATCH/crash-$step.out" 2>&1
  assert_eq 137 "$?" "[$step] exit status of the run killed after the commit"
  [ -L "$CERTS/$T.d/current" ] || fail "[$step] nothing was committed: $(ls -lR "$CERTS")"
  serial=$(cert_serial "$CERTS/$T.d/current/cert.pem" | lc)
  [ -n "$serial" ] || fail "[$step] the committed generation has no certificate"
  if [ $step = switched ]; then
    assert_no_file "$CERTS/$T.crt"
    assert_no_file "$CERTS/$T.key"
  fi
  assert_eq 0 "$(hook_lines enrolled)" "[$step] enrolled hooks run by the killed run"

  pulse_after_kill "$step"
  pair_state "$CERTS" $T > /dev/null || exit 1
  [ -e "$CERTS/$T-chain.pem" ] || fail "[$step] $T-chain.pem missing after the pulse"
  assert_eq "$serial" "$(cert_serial "$CERTS/$T.crt" | lc)" "[$step] serial behind $T.crt after the pulse"
  assert_eq 1 "$(hook_lines enrolled)" "[$step] enrolled hooks run by the pulse after the kill ($(cat "$LOG" 2>/dev/null))"
  line=$(grep "^enrolled|$T|" "$LOG")
  assert_eq "$serial" "$(echo "$line" | cut -d'|' -f3 | lc)" "[$step] ADENROLL_SERIAL of the owed hook"
  assert_eq "$CERTS/$T.crt|$CERTS/$T.key" "$(echo "$line" | cut -d'|' -f4-5)" "[$step] paths of the owed hook"
  assert_no_leftovers "$CERTS" "$SCRATCH/archive" "$SCRATCH/state"
  [ -z "$(ls -A "$SCRATCH/state/hooks-owed" 2>/dev/null)" ] || fail "[$step] hooks still recorded as owed: $(ls "$SCRATCH/state/hooks-owed")"

  # owed once: another pulse runs nothing for $T
  pulse_after_kill "$step-again"
  assert_eq 1 "$(hook_lines enrolled)" "[$step] enrolled hooks after a second pulse"
done

note "renewal killed at linked: the pulse after runs renewed"
old=$(cert_serial "$CERTS/$T.crt" | lc)
ADENROLL_TEST_CRASH_AT=linked "$ADENROLL" "${C[@]}" --force enroll $T > "$SCRATCH/crash-renew.out" 2>&1
assert_eq 137 "$?" "exit status of the renewal killed after the commit"
new=$(cert_serial "$CERTS/$T.crt" | lc)
assert_ne "$old" "$new" "serial after the renewal's commit"
assert_eq 0 "$(hook_lines renewed)" "renewed hooks run by the killed run"
pulse_after_kill renew
assert_eq 1 "$(hook_lines renewed)" "renewed hooks run by the pulse after the kill ($(cat "$LOG"))"
assert_eq "$new" "$(grep "^renewed|$T|" "$LOG" | cut -d'|' -f3 | lc)" "ADENROLL_SERIAL of the owed renewed hook"

note "a run killed before the commit owes nothing"
rm -f "$LOG"
ADENROLL_TEST_CRASH_AT=meta "$ADENROLL" "${C[@]}" --force enroll $T > "$SCRATCH/crash-meta.out" 2>&1
assert_eq 137 "$?" "exit status of the run killed before the commit"
[ -n "$(ls -A "$SCRATCH/state/hooks-owed" 2>/dev/null)" ] || fail "no hook recorded as owed before the commit point"
pulse_after_kill meta
assert_eq 00 "$(hook_lines enrolled)$(hook_lines renewed)" "hooks run for $T after a kill before the commit"
[ -z "$(ls -A "$SCRATCH/state/hooks-owed" 2>/dev/null)" ] || fail "a record for a never-live certificate stays"
if "$ADENROLL" --version 2>&1 | grep -q "NSS database stores: yes"; then
  note "NSS-only store: first install killed after the certificate went in (nss-chain)"
  rm -rf "$SCRATCH/state" "$SCRATCH/archive" "$LOG"
  NCONF=$SCRATCH/adenroll-nss.conf
  write_config "$NCONF" "general.hooks_dir=$HOOKS" "store.types=nss" "store.nss_db=sql:$SCRATCH/nssdb"
  ADENROLL_TEST_CRASH_AT=nss-chain "$ADENROLL" --config "$NCONF" enroll $T > "$SCRATCH/crash-nss.out" 2>&1
  assert_eq 137 "$?" "exit status of the NSS install killed after the commit"
  assert_eq 0 "$(hook_lines enrolled)" "enrolled hooks run by the killed NSS run"
  "$ADENROLL" --config "$NCONF" pulse > "$SCRATCH/pulse-nss.out" 2>&1
  rc=$?
  [ $rc = 0 ] || [ $rc = 3 ] || [ $rc = 4 ] || fail "pulse after the NSS kill exited $rc: $(tail -n 30 "$SCRATCH/pulse-nss.out")"
  assert_match "$(cat "$SCRATCH/pulse-nss.out")" "^$T: valid until " "pulse after the NSS kill"
  assert_eq 1 "$(hook_lines enrolled)" "enrolled hooks run by the pulse after the NSS kill ($(cat "$LOG" 2>/dev/null))"
  assert_contains "$(grep "^enrolled|$T|" "$LOG")" "sql:$SCRATCH/nssdb:adenroll-$T" "ADENROLL_CERT of the owed NSS hook"
fi
exit 0
