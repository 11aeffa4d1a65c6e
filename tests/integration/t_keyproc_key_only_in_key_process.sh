#!/bin/bash
# Private keys exist only in the key process (keyproc.h), never in the
# process that runs Kerberos, libldap, libcurl and the page parsers.  Two
# pulses: the first enrolls every template (one of them pends at the CA
# manager), the second collects the approved request and renews a
# short-lived template that requires the same key (the key process reads the
# held key and signs the renewal with it).  At the end of each pulse both
# processes wait (ADENROLL_TEST_HOLD_AT_EXIT) and keyscan.py reads their
# memory for every private key the store, the archive and the pending state
# hold: none may be in the network process; the key process, which keeps its
# last key until it exits, must show one (the scan can see a key).
. "$TESTS_LIB"

T=KeyprocSameKey
V=120
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
SCAN=$(dirname "$TESTS_LIB")/keyscan.py

cleanup() {
  [ -n "${bg:-}" ] && kill "$bg" 2> /dev/null
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
# a denied request's key is dropped, so it would leave the key process holding no stored key
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.317 "$V" "$V" || fail "cannot add template $T"
template_set "$T" msPKI-Private-Key-Flag $((0x80)) || fail "cannot set CT_FLAG_REQUIRE_SAME_KEY_RENEWAL on $T"

key_files() {
  find "$SCRATCH/certs" "$SCRATCH/archive" "$SCRATCH/state" \( -name key.pem -o -name '*.key' \) -type f 2> /dev/null | sort
}

# held_pulse TAG EXPECTED-EXIT: a pulse that waits at its end; scans both processes
held_pulse() {
  local tag=$1 want=$2 rc keys net kp
  held_start "$tag" "$ADENROLL" "${C[@]}" pulse
  mapfile -t keys < <(key_files)
  [ "${#keys[@]}" -gt 0 ] || fail "[$tag] no private key on disk to look for"
  note "[$tag] scanning for ${#keys[@]} keys: ${keys[*]}"
  net=$(/usr/bin/python3 "$SCAN" "$(cat "$HOLD/network.pid")" "${keys[@]}") || fail "[$tag] cannot scan the network process"
  [ -n "$KEY_PID" ] || fail "[$tag] the run started no key process"
  kp=$(/usr/bin/python3 "$SCAN" "$KEY_PID" "${keys[@]}") || fail "[$tag] cannot scan the key process"
  touch "$HOLD/go"
  wait "$bg"
  rc=$?
  bg=
  assert_eq "$want" "$rc" "[$tag] exit status of the pulse ($(tail -n 20 "$SCRATCH/$tag.out"))"
  assert_eq "" "$net" "[$tag] key material in the memory of the network process"
  [ -n "$kp" ] || fail "[$tag] the scan found no key in the key process either: it would not see one"
  note "[$tag] in the key process: $(echo "$kp" | tr '\n' ' ')"
}

note "pulse 1: enroll everything, one request pends"
held_pulse p1 3
OUT=$(cat "$SCRATCH/p1.out")
assert_match "$OUT" "(^|$(printf '\n'))$T: enrolled \\(serial" "pulse 1 enrolls $T"
assert_match "$OUT" "PendingApproval: pending \\(request [0-9]+" "pulse 1 leaves PendingApproval pending"
assert_file "$SCRATCH/state/pending/PendingApproval.key"
assert_eq 600 "$(stat -c %a "$SCRATCH/state/pending/PendingApproval.key")" "mode of the pending key"
held=$(openssl pkey -in "$SCRATCH/certs/$T.key" -pubout 2> /dev/null | sha256sum)

rid=$(sed -n 's/^PendingApproval: pending (request \([0-9]*\) at .*/\1/p' "$SCRATCH/p1.out")
[ -n "$rid" ] || fail "no request id for PendingApproval in: $OUT"
domain approve "$rid" > /dev/null || fail "domain.sh approve $rid failed"
renew_due_wait "$SCRATCH/certs/$T.crt" "$V"

note "pulse 2: collect the approved request, renew $T with its held key"
held_pulse p2 3
OUT=$(cat "$SCRATCH/p2.out")
assert_match "$OUT" "PendingApproval: enrolled \\(serial" "pulse 2 collects PendingApproval"
assert_match "$OUT" "$T: renewed \\(serial" "pulse 2 renews $T"
assert_contains "$OUT" "$T: renewal request signed by the held certificate" "pulse 2 signs the renewal with the held key"
assert_contains "$OUT" "$T: renewing with the held key" "pulse 2 keeps the key of $T"
assert_eq "$held" "$(openssl pkey -in "$SCRATCH/certs/$T.key" -pubout 2> /dev/null | sha256sum)" "the renewed $T keeps its key"
assert_no_file "$SCRATCH/state/pending/PendingApproval.key"
exit 0
