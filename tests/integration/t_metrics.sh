#!/bin/bash
# The Prometheus textfile pulse writes (metrics_file in [general]): valid
# exposition format (our strict checker, and promtool when installed), one
# series per managed certificate with its real notAfter, the pending request,
# the run's outcome; a run that fails before reaching the directory still
# reports itself (and the certificates it holds), and the last successful
# run's time survives failing runs.
# Needs cmd_pulse to call metrics_write_for_run() at its end.
. "$TESTS_LIB"

PROM=$SCRATCH/textfile/adenroll.prom
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" "general.metrics_file=$PROM"
CHECK=$TOP_SRCDIR/tests/integration/prom_check.py

valid() {
  assert_file "$PROM"
  /usr/bin/python3 "$CHECK" "$PROM" || fail "$PROM is not valid exposition format:
$(cat "$PROM")"
  if command -v promtool > /dev/null; then
    promtool check metrics < "$PROM" || fail "promtool check metrics rejects $PROM"
  fi
}
# value NAME [LABELS]: the sample's value ('' when absent)
value() {
  local sel=$1${2:+\{$2\}}
  awk -v s="$sel" '$1 == s { print $2 }' "$PROM"
}

republish() {
  domain ldbmodify > /dev/null 2>&1 <<LDIF || true
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
add: certificateTemplates
certificateTemplates: NeedsEmail
LDIF
}
unpublished=0
trap '[ "$unpublished" = 1 ] && republish' EXIT

note "run 1: two enrolled, one pending, one denied (exit 4)"
t0=$(date +%s)
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
t1=$(date +%s)
valid
assert_eq 644 "$(stat -c %a "$PROM")" "mode of $PROM"
assert_eq 2 "$(value adenroll_certificates_managed)" "adenroll_certificates_managed"
for t in LinuxWorkstation ShortLived; do
  l="template=\"$t\",store=\"pem\""
  na=$(date -d "$(openssl x509 -in "$SCRATCH/certs/$t.crt" -noout -enddate | cut -d= -f2)" +%s)
  nb=$(date -d "$(openssl x509 -in "$SCRATCH/certs/$t.crt" -noout -startdate | cut -d= -f2)" +%s)
  assert_eq "$na" "$(value adenroll_certificate_not_after_seconds "$l")" "notAfter of $t"
  ran=$(value adenroll_last_run_timestamp_seconds)
  assert_eq $((na - ran)) "$(value adenroll_certificate_seconds_to_expiry "$l")" "seconds to expiry of $t"
  ren=$(value adenroll_certificate_next_renewal_seconds "$l")
  [ -n "$ren" ] && [ "$ren" -gt "$nb" ] && [ "$ren" -lt "$na" ] \
    || fail "renewal time of $t ($ren) is not within its validity ($nb..$na)"
  serial=$(openssl x509 -in "$SCRATCH/certs/$t.crt" -noout -serial | cut -d= -f2)
  assert_match "$(cat "$PROM")" "^adenroll_certificate_info\{$l,ca=\"$ADCS_CA_NAME\",serial=\"0*$serial\"\} 1$" "info of $t"
done
assert_eq 1 "$(value adenroll_pending_requests)" "adenroll_pending_requests"
assert_match "$(value adenroll_pending_request_age_seconds "template=\"PendingApproval\",ca=\"$ADCS_CA_NAME\"")" '^[0-9]+$' "pending age"
assert_eq 4 "$(value adenroll_last_run_exit_code)" "adenroll_last_run_exit_code"
assert_eq 0 "$(value adenroll_last_run_success)" "adenroll_last_run_success"
ran=$(value adenroll_last_run_timestamp_seconds)
[ "$ran" -ge "$t0" ] && [ "$ran" -le "$t1" ] || fail "last run timestamp $ran not within $t0..$t1"
assert_match "$(value adenroll_last_run_duration_seconds)" '^[0-9]+\.[0-9]{3}$' "duration"
assert_eq 2 "$(value adenroll_last_run_certificates 'result="enrolled"')" "enrolled in run 1"
assert_eq 1 "$(value adenroll_last_run_certificates 'result="pending"')" "pending in run 1"
assert_eq 1 "$(value adenroll_last_run_certificates 'result="denied"')" "denied in run 1"
assert_eq "" "$(value adenroll_last_success_timestamp_seconds)" "last success before any success"

note "run 2: nothing to do but the pending poll (NeedsEmail unpublished): success"
domain ldbmodify > /dev/null <<LDIF || fail "cannot unpublish NeedsEmail"
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
delete: certificateTemplates
certificateTemplates: NeedsEmail
LDIF
unpublished=1
assert_exit 0 "$ADENROLL" --config "$CONF" pulse
valid
assert_eq 0 "$(value adenroll_last_run_exit_code)" "exit code of run 2"
assert_eq 1 "$(value adenroll_last_run_success)" "success of run 2"
ok_at=$(value adenroll_last_run_timestamp_seconds)
assert_eq "$ok_at" "$(value adenroll_last_success_timestamp_seconds)" "last success after run 2"
assert_eq 0 "$(value adenroll_last_run_certificates 'result="enrolled"')" "enrolled in run 2"

note "run 3: the DC is unreachable: the failure and the held certificates are still reported"
sleep 1
write_config "$SCRATCH/dead.conf" "general.metrics_file=$PROM" "domain.dcs=$ADCS_DC2_HOST"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/dead.conf" pulse
valid
assert_eq 1 "$(value adenroll_last_run_exit_code)" "exit code of run 3"
assert_eq 0 "$(value adenroll_last_run_success)" "success of run 3"
assert_eq 2 "$(value adenroll_certificates_managed)" "certificates still held after run 3"
assert_eq "$ok_at" "$(value adenroll_last_success_timestamp_seconds)" "last success kept through a failing run"
[ "$(value adenroll_last_run_timestamp_seconds)" -gt "$ok_at" ] || fail "run 3 did not update the run timestamp"

note "--dry-run writes no metrics"
before=$(sha256sum < "$PROM")
"$ADENROLL" --config "$CONF" --dry-run pulse > "$SCRATCH/dry.out" 2>&1 || true
assert_eq "$before" "$(sha256sum < "$PROM")" "metrics after --dry-run"
