#!/bin/bash
# CES endpoints from Group Policy: the CA serves CES and CEP but does not
# advertise them in msPKI-Enrollment-Servers (domain.sh ces only, then ces
# unadvertise: /certsrv is gone too).  A GPO names the CEP as enrollment
# policy server (PolicyServers, Kerberos); pulse asks it (MS-XCEP
# GetPolicies, Kerberos with channel binding through the EPA front), matches
# its CA to the directory's enrollment service and enrolls over CES with
# transport = auto.  A policy server that answers HTTP 500 is a warning, not
# the end of the run.  With the GPO gone the same pulse has no CES endpoint,
# says so, and sends no CES request.
. "$TESTS_LIB"

[ -x "${ADENROLL_GPO_FETCH:-}" ] || skip "adenroll-gpo-fetch was not built (libsmbclient-dev missing)"

T=CesPolicyServer
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" policy.source=gpo enroll.transport=auto
C=(--config "$CONF")

cleanup() {
  gpo_cleanup ${G:-} --
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
  domain ces off > /dev/null 2>&1
}
trap 'cleanup; domain fault off > /dev/null 2>&1' EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.331 31536000 3600 || fail "cannot add template $T"
domain ces only > /dev/null || fail "domain.sh ces only failed"
domain ces unadvertise > /dev/null || fail "domain.sh ces unadvertise failed"
assert_eq "only" "$(domain ces show)" "msPKI-Enrollment-Servers after unadvertise (mode only, no value)"

G=$(gpo_new "adenroll CEP") || exit 1
gpo_set "$G" machine 7 --policy-server "$ADCS_CEP_URL"
gpo_link "$G" "$ADCS_DOMAIN_DN"

note "pulse with the policy server in Group Policy: enrolled over CES"
a0=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
b0=$(ces_log_lines "$ADCS_CES_AUTH_LOG")
"$ADENROLL" "${C[@]}" -v pulse > "$SCRATCH/p1.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/p1.out")
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat "$SCRATCH/p1.out" >&2; fail "pulse exit status $rc"; }
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse output"
assert_contains "$OUT" "from enrollment policy server $ADCS_CEP_URL" "the endpoint's origin in the log"
first=$(emu_requests_for "$T" | tail -n1)
[ -n "$first" ] || fail "no request for $T at the CA"
assert_eq ces "$(emu_request_field "$first" transport)" "transport of request $first"
assert_eq "$ADCS_CES_URL" "$(emu_request_field "$first" endpoint)" "endpoint of request $first"
log=$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a0")
assert_contains "$log" "IPolicy/GetPolicies\", \"valid\": true" "a valid GetPolicies at the CEP"
ces_log_since "$ADCS_CES_AUTH_LOG" "$b0" | grep '"result": "ok", "channel_bound": true' | grep -q '_CEP_Kerberos/service.svc/CEP' \
  || fail "no channel-bound Kerberos authentication for GetPolicies at the front"

note "the policy server fails: a warning, and the run goes on without its endpoints"
rm -rf "$SCRATCH/certs" "$SCRATCH/state" "$SCRATCH/archive"
domain fault http500 --path _CEP_ --count -1 > /dev/null || fail "domain.sh fault failed"
"$ADENROLL" "${C[@]}" -v pulse > "$SCRATCH/pf.out" 2>&1
rc=$?
domain fault off > /dev/null
OUT=$(cat "$SCRATCH/pf.out")
assert_ne 3 "$rc" "exit status with the policy server failing"
[ "$rc" -lt 64 ] || fail "pulse ended with status $rc"
assert_contains "$OUT" "warning: enrollment policy server $ADCS_CEP_URL (Group Policy PolicyServers) did not answer GetPolicies" "the warning"
assert_not_contains "$OUT" "from enrollment policy server" "endpoints from the failing server"
assert_match "$OUT" "^$T: failed: " "the template, tried on the other endpoints"

note "GPO gone: no endpoint, and pulse says why"
domain gpo unlink "$G" "$ADCS_DOMAIN_DN" > /dev/null || fail "cannot unlink $G"
rm -rf "$SCRATCH/certs" "$SCRATCH/state" "$SCRATCH/archive"
n=$(emu_requests_for "$T" | wc -l)
a1=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
"$ADENROLL" "${C[@]}" -v pulse > "$SCRATCH/p2.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/p2.out")
assert_ne 0 "$rc" "exit status without an endpoint"
assert_ne 3 "$rc" "exit status without an endpoint"
assert_eq "$n" "$(emu_requests_for "$T" | wc -l)" "requests made at the CA"
assert_eq "" "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a1")" "CES/CEP requests"
assert_not_contains "$OUT" "from enrollment policy server" "endpoints from a policy server"
assert_contains "$OUT" "$ADCS_CA_NAME: no CES endpoint with Kerberos for new requests in msPKI-Enrollment-Servers nor from an enrollment policy server of Group Policy" "the reason"
assert_match "$OUT" "^$T: failed: HTTP status 404" "the web enrollment attempt (gone in ces only)"
exit 0
