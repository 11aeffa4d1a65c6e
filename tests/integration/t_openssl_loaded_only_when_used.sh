#!/bin/bash
# OpenSSL is opened with dlopen only when an OpenSSL function is first
# called (openssl_loader.h; lean_link.test checks that the binary is not
# linked with libcrypto or libssl).  At the end of each pulse both processes
# wait (ADENROLL_TEST_HOLD_AT_EXIT) and their /proc/PID/maps are read:
#  - a pulse that enrolls: the key process, which made the key and the
#    request, maps libcrypto; so does the network process, which checked the
#    issued certificate;
#  - once the pending request is collected, a no-op pulse (revocation
#    checked, from the held-certificate index): it starts no key process
#    (keyproc.h) and does not map libcrypto or libssl;
#  - with a libssl.so.3 that cannot be loaded, a no-op pulse still succeeds
#    (it needs no OpenSSL at all), while a run that does need it stops with
#    an error that says what to install.
. "$TESTS_LIB"

OSSL_RE='/lib(crypto|ssl)\.so[.0-9]*'
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"

# NeedsEmail is denied on every run (a new request each time); take it out of
# the CA's list so that a run can have nothing to do, and put it back after.
cleanup() {
  [ -n "${bg:-}" ] && kill "$bg" 2> /dev/null
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"

# held_pulse TAG: a pulse that waits at its end; NET_OSSL and KEY_OSSL get the
# OpenSSL libraries the network and the key process map ("" for none)
held_pulse() {
  local tag=$1 rc
  held_maps "$tag" "$ADENROLL" --config "$CONF" -vv pulse
  rc=$HELD_RC
  case $rc in 0|3) ;; *) fail "[$tag] pulse exited $rc: $(tail -n 30 "$SCRATCH/$tag.out")" ;; esac
  NET_OSSL=$(echo "$NET_MAPS" | grep -oE "$OSSL_RE" | sort -u | tr '\n' ' ')
  KEY_OSSL=$(echo "$KEY_MAPS" | grep -oE "$OSSL_RE" | sort -u | tr '\n' ' ')
  note "[$tag] exit $rc; OpenSSL in the network process: '${NET_OSSL}', in the key process: '${KEY_OSSL}'"
}

note "a pulse that enrolls"
held_pulse enroll
assert_contains "$(cat "$SCRATCH/enroll.out")" "LinuxWorkstation: enrolled" "the first pulse enrolls"
[ -n "$KEY_PID" ] || fail "the enrolling pulse started no key process"
assert_match "$KEY_OSSL" 'libcrypto' "the key process, which made the key, maps libcrypto"
assert_match "$NET_OSSL" 'libcrypto' "the network process, which checked the certificate, maps libcrypto"

note "the pending request approved and collected"
req=$(sed -n 's/^PendingApproval: pending (request \([0-9][0-9]*\) at .*/\1/p' "$SCRATCH/enroll.out")
[ -n "$req" ] || fail "no pending request in the first pulse's output"
domain approve "$req" > /dev/null || fail "cannot approve request $req"
assert_exit 3 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "the pending certificate is collected"

# a certificate installed by a run is indexed by the next one, which reads it
note "the next pulse indexes the collected certificate"
"$ADENROLL" --config "$CONF" -vv pulse > "$SCRATCH/index.out" 2>&1
assert_eq 0 "$?" "exit code of the pulse after the collect ($(tail -n 20 "$SCRATCH/index.out"))"
assert_match "$(cat "$SCRATCH/index.out")" 'PEM store [^ ]*: 3 certificates, 2 from the held-certificate index' "the pulse after the collect"

note "a no-op pulse"
held_pulse noop
OUT=$(cat "$SCRATCH/noop.out")
assert_match "$OUT" 'PEM store [^ ]*: ([0-9]+) certificates, \1 from the held-certificate index' "the no-op pulse reads the store from its index"
assert_match "$OUT" '^LinuxWorkstation: valid until ' "the second pulse keeps the certificate"
assert_match "$OUT" 'revocation: [1-9][0-9]* certificates checked from the held-certificate index' "the no-op pulse checks revocation"
assert_eq "" "$NET_OSSL" "OpenSSL libraries in the network process of a no-op pulse"
assert_eq "" "$KEY_PID" "the key process of a no-op pulse (it needs no key, so none is started)"

note "a libssl.so.3 that cannot be loaded"
mkdir -p "$SCRATCH/badlib"
: > "$SCRATCH/badlib/libssl.so.3"
LD_LIBRARY_PATH=$SCRATCH/badlib "$ADENROLL" --config "$CONF" pulse > "$SCRATCH/badlib-noop.out" 2>&1
assert_eq 0 "$?" "exit code of a no-op pulse without a usable libssl ($(cat "$SCRATCH/badlib-noop.out"))"
assert_match "$(cat "$SCRATCH/badlib-noop.out")" '^LinuxWorkstation: valid until ' "the no-op pulse without a usable libssl"

# a certificate that must be read: the index entry is stale once the file changed
CRT=$SCRATCH/certs/LinuxWorkstation.crt
cp -p "$CRT" "$SCRATCH/crt.keep"
touch -d '1 minute ago' "$CRT"
LD_LIBRARY_PATH=$SCRATCH/badlib "$ADENROLL" --config "$CONF" pulse > "$SCRATCH/badlib-parse.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/badlib-parse.out")
assert_eq 1 "$rc" "exit code of a pulse that must parse a certificate without a usable libssl ($OUT)"
assert_contains "$OUT" "cannot load OpenSSL" "the error names OpenSSL"
assert_contains "$OUT" "install libssl3" "the error says what to install"
cmp -s "$CRT" "$SCRATCH/crt.keep" || fail "the certificate changed in a run that stopped"
assert_file "$SCRATCH/certs/LinuxWorkstation.key"

note "the same pulse with OpenSSL back: the certificate is read again and kept"
assert_exit 0 "$ADENROLL" --config "$CONF" pulse
exit 0
