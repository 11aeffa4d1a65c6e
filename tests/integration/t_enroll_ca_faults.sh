#!/bin/bash
# A misbehaving CA never gets a file stored and always gets a clear error:
# HTTP 500, a page that is no certsrv page, an empty page, a 50 MB answer,
# no answer for 60 s (http_timeout = 5), a certificate for another key and
# one from a rogue CA of the same name.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=5
trap 'domain fault off > /dev/null 2>&1' EXIT

check() {  # check FAULT-ARGS EXPECTED-TEXT
  local fault=$1 want=$2 start took
  # shellcheck disable=SC2086
  domain fault $fault --count 1 > /dev/null || fail "domain.sh fault $fault failed"
  start=$(date +%s)
  assert_exit 1 "$ADENROLL" --config "$CONF" enroll LinuxWorkstation
  took=$(( $(date +%s) - start ))
  domain fault off > /dev/null
  assert_contains "$OUT" "LinuxWorkstation: failed: " "[$fault] output"
  assert_contains "$OUT" "$want" "[$fault] output"
  [ "$took" -lt 30 ] || fail "[$fault] took ${took}s"
  [ -z "$(ls -A "$SCRATCH/certs" 2>/dev/null | grep -v '^index$')" ] \
    || fail "[$fault] something was stored: $(ls -A "$SCRATCH/certs")"
  assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/state"
}

check http500 "answered HTTP 500"
check garbage "unrecognised answer from certfnsh.asp"
check empty "unrecognised answer from certfnsh.asp: empty body"
check huge "is larger than 1048576 bytes: refused"
check "delay --seconds 60" "no complete answer from https://$ADCS_CA_HOST/certsrv/certfnsh.asp within 5 s"
check wrongkey "does not carry our public key: not installed"
check badchain "does not chain to a CA published in the directory"

# and once the CA behaves again, the same command works
assert_exit 3 "$ADENROLL" --config "$CONF" enroll LinuxWorkstation
assert_file "$SCRATCH/certs/LinuxWorkstation.crt"
