#!/bin/bash
# A forced renewal (pulse --force) against a misbehaving CA: HTTP 500, a page
# that is no certsrv page, an empty page, a 50 MB answer, no answer within
# http_timeout, a certificate for another key, one that does not chain.
# Every time: exit 4, a failed line per template naming the problem, the CA
# named in the error, and the held pairs, the archive and the pending request
# exactly as they were (no new generation, no temp file).
# (t_enroll_ca_faults.sh covers the same faults for `enroll` with no pair held.)
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=5
trap 'domain fault off > /dev/null 2>&1' EXIT
C=(--config "$CONF")

# the pairs to keep: LinuxWorkstation and ShortLived; PendingApproval pending
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/setup.out" 2>&1
for t in LinuxWorkstation ShortLived; do
  [ -e "$SCRATCH/certs/$t.crt" ] || fail "setup pulse did not enroll $t: $(cat "$SCRATCH/setup.out")"
done
assert_file "$SCRATCH/state/pending/PendingApproval.req"

lw=$(pair_state "$SCRATCH/certs" LinuxWorkstation) || exit 1
sl=$(pair_state "$SCRATCH/certs" ShortLived) || exit 1
before=$(store_snapshot)

check() {  # check FAULT-ARGS EXPECTED-TEXT
  local fault=$1 want=$2 start took
  # shellcheck disable=SC2086
  domain fault $fault --count -1 > /dev/null || fail "domain.sh fault $fault failed"
  start=$(date +%s)
  assert_exit 4 "$ADENROLL" "${C[@]}" --force pulse
  took=$(( $(date +%s) - start ))
  domain fault off > /dev/null
  for t in LinuxWorkstation ShortLived; do
    assert_match "$OUT" "^$t: failed: .*$want" "[$fault] summary of $t"
  done
  assert_contains "$OUT" "$ADCS_CA_NAME" "[$fault] output (the CA's name)"
  assert_not_contains "$OUT" "enrolled (serial" "[$fault] output"
  [ "$took" -lt 60 ] || fail "[$fault] pulse took ${took}s"
  assert_eq "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "[$fault] LinuxWorkstation pair"
  assert_eq "$sl" "$(pair_state "$SCRATCH/certs" ShortLived)" "[$fault] ShortLived pair"
  assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/archive" "$SCRATCH/state"
  [ "$before" = "$(store_snapshot)" ] || fail "[$fault] the stores changed:
$(diff <(printf '%s\n' "$before") <(store_snapshot))"
}

check http500 "answered HTTP 500"
check garbage "unrecognised answer from certfnsh.asp"
check empty "unrecognised answer from certfnsh.asp: empty body"
check huge "is larger than 1048576 bytes: refused"
check "delay --seconds 30" "no complete answer from https://$ADCS_CA_HOST/certsrv/certfnsh.asp within 5 s"
check wrongkey "the certificate from $ADCS_CA_NAME does not carry our public key: not installed"
check badchain "the certificate from $ADCS_CA_NAME does not chain to a CA published in the directory"

# the pending request survived every failed poll: still pending, not resubmitted
assert_exit 4 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "final pulse"
assert_match "$OUT" '^LinuxWorkstation: valid until ' "final pulse"
assert_eq "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "LinuxWorkstation pair after the final pulse"
exit 0
