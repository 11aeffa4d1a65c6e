#!/bin/bash
# A misbehaving DC or CA cannot hold a run for ever (issue 16, finding 10):
# what one run reads over LDAP is bounded (ldap_max_entries, ldap_max_bytes:
# a clear error naming the key, exit 1), and run_timeout ends a run stuck on
# a CA that does not answer: it stops cleanly with a message, exit 1, the
# run lock is free at once, and no request or key is left half done.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf

note "ldap_max_entries: the test domain's AD CS objects are more than 10 entries"
write_config "$CONF" "domain.ldap_max_entries=10"
assert_exit 1 "$ADENROLL" --config "$CONF" templates
assert_match "$OUT" "this run read more than 10 entries from the directory \(ldap_max_entries in \[domain\]\)"

note "ldap_max_bytes: their security descriptors and certificates are more than 4096 bytes"
write_config "$CONF" "domain.ldap_max_bytes=4096"
assert_exit 1 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" "this run read more than 4096 bytes from the directory \(ldap_max_bytes in \[domain\]\)"
[ -z "$(ls -A "$SCRATCH/certs" 2>/dev/null)" ] || fail "pulse stored something: $(ls -A "$SCRATCH/certs")"

note "the defaults are far above what the domain needs"
write_config "$CONF"
assert_exit 0 "$ADENROLL" --config "$CONF" templates

note "run_timeout: the CA holds every answer for 120 s"
trap 'domain fault off' EXIT
domain fault delay --seconds 120 --count 1000
write_config "$CONF" "general.run_timeout=10" "enroll.http_timeout=300"
t0=$(date +%s)
assert_exit 1 "$ADENROLL" --config "$CONF" pulse
took=$(( $(date +%s) - t0 ))
note "pulse stopped after ${took}s"
[ "$took" -lt 35 ] || fail "pulse took ${took}s with run_timeout = 10 (the CA held it)"
assert_contains "$OUT" "stopped, run_timeout (10 s) reached"
assert_contains "$OUT" "run_timeout (10 s) reached: stopping before template"
assert_contains "$OUT" "run_timeout (10 s) reached: the run was stopped"
# the lock is free as soon as the run ended
flock -n "$SCRATCH/adenroll.lock" true || fail "the run lock is still held after the run ended"
[ -z "$(ls -A "$SCRATCH/certs" 2>/dev/null)" ] || fail "a certificate was stored: $(ls -A "$SCRATCH/certs")"
assert_no_leftovers "$SCRATCH/certs"
domain fault off
trap - EXIT

note "the next run, with the CA answering again and the default run_timeout, enrolls"
write_config "$CONF"
"$ADENROLL" --config "$CONF" pulse > "$SCRATCH/pulse2.out" 2>&1
rc=$?
[ $rc = 3 ] || [ $rc = 4 ] || fail "pulse after the fault exited $rc: $(tail -n 30 "$SCRATCH/pulse2.out")"
assert_file "$SCRATCH/certs/LinuxWorkstation.crt"
exit 0
