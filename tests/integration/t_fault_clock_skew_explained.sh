#!/bin/bash
# This host's clock off from the domain's: every way it shows up ends with a
# message that says clock skew and how to fix it (sync the time), and the
# held pair stays.
#   1. the CA's certificate starts an hour after our clock (its clock is
#      ahead): not installed, exit 1
#   2. clock 1 h ahead, krb5.conf kdc_timesync = 0 (MIT otherwise corrects
#      the skew in the AS exchange): the KDC refuses, exit 1
#   3. clock behind (default krb5.conf: Kerberos copes): the CA web server's
#      certificate is "not yet valid" by our clock, exit 1 / 4
# 2 and 3 run adenroll under libfaketime (Debian package faketime).
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
trap 'domain fault off > /dev/null 2>&1' EXIT
assert_exit 3 "$ADENROLL" "${C[@]}" enroll LinuxWorkstation
lw=$(pair_state "$SCRATCH/certs" LinuxWorkstation) || exit 1
before=$(store_snapshot)
unchanged() {  # unchanged WHAT
  assert_eq "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "$1: LinuxWorkstation pair"
  assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/archive" "$SCRATCH/state"
  local now; now=$(store_snapshot)
  [ "$before" = "$now" ] || fail "$1: the stores changed:
$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$now"))"
}

note "1: the issued certificate starts an hour after this host's clock"
domain fault future --count 1 > /dev/null || fail "domain.sh fault future failed"
assert_exit 1 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_match "$OUT" "^LinuxWorkstation: failed: the certificate from $ADCS_CA_NAME is valid only from [0-9T:-]+Z, [0-9]+ s after this host's clock: clock skew; sync the time with the domain" "enroll summary"
assert_contains "$OUT" "not installed"
unchanged "[future certificate]"

command -v faketime > /dev/null || skip "faketime not installed (Debian package faketime): the skewed-clock runs need it"
# libfaketime is preloaded: an ASan build must not insist on coming first
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export FAKETIME_DONT_FAKE_MONOTONIC=1   # timeouts keep running in real time
skewed() { local off=$1; shift; faketime -f "$off" "$@"; }
[ "$(skewed +1h date -u +%H)" != "$(date -u +%H)" ] || fail "faketime does not shift the clock here"

note "2: clock 1 h ahead, no KDC time correction: the KDC refuses"
sed 's/^\[libdefaults\]$/[libdefaults]\n\tkdc_timesync = 0/' "$KRB5_CONFIG" > "$SCRATCH/krb5-nosync.conf"
grep -q "kdc_timesync = 0" "$SCRATCH/krb5-nosync.conf" || fail "cannot add kdc_timesync = 0 to the test krb5.conf"
# the ticket the first runs left in the machine ccache would spare the KDC
# exchange that shows the skew: gone
rm -f "$SCRATCH/machine.ccache"
assert_exit 1 env KRB5_CONFIG="$SCRATCH/krb5-nosync.conf" faketime -f +1h "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "cannot get a Kerberos ticket for $ADCS_CLIENT_PRINCIPAL: the clock of this host is off from the KDC's by more than the allowed skew"
assert_contains "$OUT" "sync the time (chrony/ntpd/timedatectl)"
unchanged "[KDC skew]"

note "3: clock behind: the CA web server's certificate is not yet valid"
# an hour behind, unless the test domain (whose TLS certificate dates from
# its start) is older than that
off=-1h
start=$(openssl x509 -in "$TESTENV_DIR/pki/tls.pem" -noout -startdate 2> /dev/null | cut -d= -f2)
if [ -n "$start" ] && [ $(( $(date +%s) - $(date -d "$start" +%s) )) -gt 3000 ]; then off=-1d; fi
assert_exit 1 faketime -f "$off" "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_match "$OUT" "^LinuxWorkstation: failed: TLS verification of $ADCS_CA_HOST failed: .*not yet valid \\(by this host's clock\\): if the clock is wrong \\(clock skew\\), sync it with the domain" "enroll summary"
assert_exit 4 faketime -f "$off" "$ADENROLL" "${C[@]}" --force pulse
assert_match "$OUT" "^ShortLived: failed: TLS verification of $ADCS_CA_HOST failed: .*clock skew" "pulse summary"
unchanged "[clock behind]"

# the clock right again: all is well
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
exit 0
