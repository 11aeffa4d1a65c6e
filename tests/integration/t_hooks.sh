#!/bin/bash
# Hooks after changes (hooks_dir in [general]): every executable in the
# directory, then in <event>.d/, runs once per event with the template, paths,
# CA, serial and notAfter in its environment; a failing hook is logged but
# changes neither the run's exit code nor the other hooks; a writable-by-others
# hook is refused; --dry-run runs none.
# Needs cmd_pulse to call hooks_run_for_report() per acted template.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
HOOKS=$SCRATCH/hooks.d
LOG=$SCRATCH/hooks.log
write_config "$CONF" "general.hooks_dir=$HOOKS"
mkdir -p "$HOOKS/enrolled.d" "$HOOKS/pending.d"
chmod 755 "$HOOKS" "$HOOKS/enrolled.d" "$HOOKS/pending.d"

# 10-record: one line per call, fields separated by '|'
cat > "$HOOKS/10-record" <<EOS
#!/bin/sh
printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "all" "\$ADENROLL_EVENT" "\$ADENROLL_TEMPLATE" "\$ADENROLL_CERT" \
  "\$ADENROLL_KEY" "\$ADENROLL_CA" "\$ADENROLL_SERIAL" "\$ADENROLL_NOT_AFTER" "\$ADENROLL_REQUEST_ID" \
  "\$ADENROLL_MODE" "\${KRB5CCNAME:-no-ccache}" "\$(readlink /proc/\$\$/fd/0)" "\$ADENROLL_ARCHIVED" >> '$LOG'
EOS
cat > "$HOOKS/20-fails" <<'EOS'
#!/bin/sh
echo "reload of the web server failed" >&2
exit 7
EOS
cat > "$HOOKS/enrolled.d/10-only-enrolled" <<EOS
#!/bin/sh
echo "enrolled-only|\$ADENROLL_TEMPLATE" >> '$LOG'
EOS
cat > "$HOOKS/pending.d/10-only-pending" <<EOS
#!/bin/sh
echo "pending-only|\$ADENROLL_TEMPLATE|\$ADENROLL_REQUEST_ID|\$ADENROLL_MESSAGE" >> '$LOG'
EOS
cat > "$HOOKS/30-group-writable" <<EOS
#!/bin/sh
echo "UNSAFE HOOK RAN" >> '$LOG'
EOS
cat > "$HOOKS/40-not-executable" <<EOS
#!/bin/sh
echo "NOT EXECUTABLE RAN" >> '$LOG'
EOS
cp "$HOOKS/10-record" "$HOOKS/10-record~"
chmod 755 "$HOOKS/10-record" "$HOOKS/20-fails" "$HOOKS/enrolled.d/10-only-enrolled" \
  "$HOOKS/pending.d/10-only-pending" "$HOOKS/10-record~"
chmod 775 "$HOOKS/30-group-writable"
chmod 644 "$HOOKS/40-not-executable"

note "--dry-run: no hook runs"
"$ADENROLL" --config "$CONF" --dry-run pulse > "$SCRATCH/dry.out" 2>&1 || true
assert_no_file "$LOG"

note "run 1: enrolled x2, pending, denied; the failing hook does not change exit 4"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_file "$LOG"
L=$(cat "$LOG")
for t in LinuxWorkstation ShortLived; do
  crt=$SCRATCH/certs/$t.crt
  serial=$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)
  na=$(date -u -d "$(openssl x509 -in "$crt" -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
  line=$(grep "^all|enrolled|$t|" "$LOG") || fail "no enrolled hook call for $t:
$L"
  assert_eq 1 "$(grep -c "^all|enrolled|$t|" "$LOG")" "enrolled hook calls for $t"
  IFS='|' read -r _ ev tmpl cert key ca ser notafter reqid mode ccache stdin archived <<< "$line"
  assert_eq "$crt" "$cert" "ADENROLL_CERT for $t"
  assert_eq "$SCRATCH/certs/$t.key" "$key" "ADENROLL_KEY for $t"
  [ -s "$cert" ] && [ -s "$key" ] || fail "the paths given to the hook do not exist"
  assert_eq "$ADCS_CA_NAME" "$ca" "ADENROLL_CA for $t"
  assert_match "$ser" "^0*$serial\$" "ADENROLL_SERIAL for $t"
  assert_eq "$na" "$notafter" "ADENROLL_NOT_AFTER for $t"
  assert_match "$reqid" '^[0-9]+$' "ADENROLL_REQUEST_ID for $t"
  assert_eq machine "$mode" "ADENROLL_MODE"
  assert_eq no-ccache "$ccache" "KRB5CCNAME must not reach hooks"
  assert_eq /dev/null "$stdin" "hook stdin"
  assert_eq "" "$archived" "ADENROLL_ARCHIVED of a first enrollment"
  assert_contains "$L" "enrolled-only|$t" "event-directory hook"
done
assert_match "$L" '^all\|pending\|PendingApproval\|\|\|'"$ADCS_CA_NAME"'\|\|\|[0-9]+\|machine\|' "pending hook call"
assert_match "$L" '^pending-only\|PendingApproval\|[0-9]+\|' "pending.d hook"
assert_match "$L" '^all\|denied\|NeedsEmail\|' "denied hook call"
assert_not_contains "$L" "enrolled-only|PendingApproval" "hooks of other events"
assert_not_contains "$L" "UNSAFE HOOK RAN" "hook log"
assert_not_contains "$L" "NOT EXECUTABLE RAN" "hook log"
assert_eq 4 "$(grep -c '^all|' "$LOG")" "hook calls in run 1 (10-record~ must not run)"
assert_contains "$OUT" "refusing to run hook $HOOKS/30-group-writable: it is writable by its group" "pulse output"
assert_contains "$OUT" "hook $HOOKS/20-fails (event enrolled, template LinuxWorkstation) failed with exit status 7" "pulse output"
assert_contains "$OUT" "reload of the web server failed" "the hook's own output in the log"

note "run 2: nothing changed (still pending): no hooks"
: > "$LOG"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_not_contains "$(cat "$LOG")" "|enrolled|" "hooks in run 2"
assert_not_contains "$(cat "$LOG")" "|pending|" "hooks in run 2 (a request still pending is not a change)"

note "run 3: --force re-enrolls LinuxWorkstation: the hook gets the archived copy"
: > "$LOG"
"$ADENROLL" --config "$CONF" -v --force pulse > "$SCRATCH/force.out" 2>&1
assert_contains "$(cat "$SCRATCH/force.out")" "LinuxWorkstation: listing the stores for the paths the enrolled hooks get" "pulse output"
line=$(grep "^all|enrolled|LinuxWorkstation|" "$LOG") || fail "no hook call for the forced re-enrollment: $(cat "$SCRATCH/force.out")"
IFS='|' read -r _ ev tmpl cert key ca ser notafter reqid mode ccache stdin archived <<< "$line"
[ -n "$archived" ] || fail "ADENROLL_ARCHIVED is empty for a re-enrollment that replaced a certificate"
[ -e "$archived" ] || fail "ADENROLL_ARCHIVED=$archived does not exist"
assert_contains "$archived" "$SCRATCH/archive" "ADENROLL_ARCHIVED"

note "run 4: hooks_dir with no hook for the event (or missing): the stores are not listed for hooks"
mkdir -p "$SCRATCH/empty-hooks"
chmod 755 "$SCRATCH/empty-hooks"
cat > "$SCRATCH/empty-hooks/not-executable" <<'EOS'
#!/bin/sh
exit 0
EOS
chmod 644 "$SCRATCH/empty-hooks/not-executable"
for dir in "$SCRATCH/empty-hooks" "$SCRATCH/no-such-hooks"; do
  write_config "$SCRATCH/empty.conf" "general.hooks_dir=$dir"
  "$ADENROLL" --config "$SCRATCH/empty.conf" -v --force pulse > "$SCRATCH/empty.out" 2>&1
  E=$(cat "$SCRATCH/empty.out")
  assert_match "$E" "LinuxWorkstation: .*enrolled" "forced re-enrollment with hooks_dir=$dir"
  assert_contains "$E" "LinuxWorkstation: no enrolled hook to run; the stores are not listed" "pulse with hooks_dir=$dir"
  assert_not_contains "$E" "listing the stores for the paths" "pulse with hooks_dir=$dir"
done
exit 0
