#!/bin/bash
# Group Policy names two enrollment policy servers of the same policy
# (PolicyID): the CEP and its standby instance (ces_emu.py), the CA's CES
# endpoint advertised by neither the directory nor anything else
# (domain.sh ces only, then ces unadvertise).
#  - doctor reports both in Cost order, each asked with channel-bound
#    Kerberos, the CA each names matched to the enrollment service, and
#    probes the endpoint they give; exit 0.
#  - adenroll enroll asks the cheaper one only (a run asks a group's
#    servers until one answers), and enrolls over CES; with a valid
#    certificate held it asks nothing (the lazy rule of pulse).
#  - the cheaper one failing: the other is asked, enroll still enrolls.
#  - costs swapped: pulse asks the other one only.
#  - two PolicyIDs: a server of each is asked.
#  - a server without AutoEnrollmentEnabled (Flags 0x4): pulse does not ask
#    it, enroll does; doctor says so.
#  - the only server failing: doctor fails (exit 1) and says why.
. "$TESTS_LIB"

[ -x "${ADENROLL_GPO_FETCH:-}" ] || skip "adenroll-gpo-fetch was not built (libsmbclient-dev missing)"

T=CesPolicyCost
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" policy.source=gpo enroll.transport=auto
C=(--config "$CONF")
CEP_PATH=/${ADCS_CEP_URL#https://*/}
STANDBY_PATH=/${ADCS_CEP_STANDBY_URL#https://*/}

cleanup() {
  gpo_cleanup ${G:-} --
  ad_template_remove "$T"
  ca_publish NeedsEmail > /dev/null 2>&1
  domain ces off > /dev/null 2>&1
}
trap 'domain fault off > /dev/null 2>&1; cleanup' EXIT
# GetPolicies requests at PATH since line N of the emulator's access log
get_policies_at() { ces_log_since "$ADCS_CES_ACCESS_LOG" "$2" | grep -F "\"path\": \"$1\"" | grep -c 'IPolicy/GetPolicies'; }
run() {  # run NAME ARGS...: adenroll's output in $SCRATCH/NAME.out, its status in $rc
  local name=$1; shift
  "$ADENROLL" "${C[@]}" "$@" > "$SCRATCH/$name.out" 2>&1
  rc=$?
  OUT=$(cat "$SCRATCH/$name.out")
}
forget_all() { rm -rf "$SCRATCH/certs" "$SCRATCH/state" "$SCRATCH/archive"; }

ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.332 31536000 3600 || fail "cannot add template $T"
domain ces only > /dev/null || fail "domain.sh ces only failed"
domain ces unadvertise > /dev/null || fail "domain.sh ces unadvertise failed"
[ -n "${ADCS_CEP_STANDBY_URL:-}" ] || fail "env.sh exports no ADCS_CEP_STANDBY_URL"

G=$(gpo_new "adenroll CEP cost") || exit 1
# Group Policy order: the primary first, but the standby costs less
gpo_set "$G" machine 7 --policy-server "$ADCS_CEP_URL" --cost 20 --policy-server "$ADCS_CEP_STANDBY_URL" --cost 10
gpo_link "$G" "$ADCS_DOMAIN_DN"

note "doctor: both servers in Cost order, the endpoint they give probed"
b0=$(ces_log_lines "$ADCS_CES_AUTH_LOG")
run doctor doctor
printf '%s\n' "$OUT" | grep -E 'policy server|ces [0-9]|transport|^(OK|FAIL)' | sed 's/^/    doctor: /' >&2
assert_eq 0 "$rc" "doctor's exit status with both policy servers working"
assert_match "$OUT" "^ok    policy server 1: $ADCS_CEP_STANDBY_URL \\(cost 10, used by pulse and enroll\\): GetPolicies answered over TLS verified against the directory's roots, Kerberos accepted with channel binding \\(tls-server-end-point, SHA[0-9]+\\) and mutual authentication verified; 1 CA" "the cheaper server, first"
assert_match "$OUT" "^ok    policy server 2: $ADCS_CEP_URL \\(cost 20, used by pulse and enroll; asked by a run only when $ADCS_CEP_STANDBY_URL of the same PolicyID fails\\)" "the other one, its stand-in"
assert_match "$OUT" "^ok    policy server 1 ca 0: enrollment service $ADCS_CA_NAME \\(matched by certificate\\): $ADCS_CES_URL \\(priority 1\\)" "the CA it names"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME ces 1: $ADCS_CES_URL \\(from enrollment policy server $ADCS_CEP_STANDBY_URL\\): TLS verified" "the endpoint probed"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME transport: new requests go to $ADCS_CES_URL" "the transport line"
n=$(ces_log_since "$ADCS_CES_AUTH_LOG" "$b0" | grep '"result": "ok", "channel_bound": true' | grep -c '_CEP_Kerberos')
[ "$n" -ge 2 ] || fail "doctor's GetPolicies to both servers were not both channel bound at the front ($n)"

note "enroll: the cheaper server only, enrolled over CES"
a0=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
run enroll1 -v enroll "$T"
[ "$rc" = 3 ] || { cat "$SCRATCH/enroll1.out" >&2; fail "enroll exit status $rc"; }
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "enroll output"
assert_contains "$OUT" "from enrollment policy server $ADCS_CEP_STANDBY_URL" "the endpoint's origin"
assert_eq 1 "$(get_policies_at "$STANDBY_PATH" "$a0")" "GetPolicies at the standby (cost 10)"
assert_eq 0 "$(get_policies_at "$CEP_PATH" "$a0")" "GetPolicies at the primary (cost 20, same policy)"
first=$(emu_requests_for "$T" | tail -n1)
assert_eq ces "$(emu_request_field "$first" transport)" "transport of request $first"

note "enroll with a valid certificate held: kept, no policy server asked"
a1=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
run enroll2 enroll "$T"
assert_eq 0 "$rc" "enroll's exit status when the certificate is kept"
assert_contains "$OUT" "kept" "enroll output"
assert_eq "" "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a1")" "CES/CEP requests of an enroll that sends nothing"

note "the cheaper server fails: the other is asked, enroll --force still enrolls"
domain fault http500 --path "$STANDBY_PATH" --count -1 > /dev/null || fail "domain.sh fault failed"
a2=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
run enroll3 -v --force enroll "$T"
domain fault off > /dev/null
[ "$rc" = 3 ] || { cat "$SCRATCH/enroll3.out" >&2; fail "enroll --force exit status $rc"; }
assert_contains "$OUT" "warning: enrollment policy server $ADCS_CEP_STANDBY_URL (Group Policy PolicyServers) did not answer GetPolicies" "the warning"
assert_contains "$OUT" "its CES endpoints are not used in this run (the next server of its policy is asked)" "the warning's end"
assert_contains "$OUT" "from enrollment policy server $ADCS_CEP_URL" "the endpoint from the stand-in"
assert_eq 1 "$(get_policies_at "$CEP_PATH" "$a2")" "GetPolicies at the primary"

note "costs swapped: pulse asks the primary only"
gpo_set "$G" machine 7 --policy-server "$ADCS_CEP_URL" --cost 5 --policy-server "$ADCS_CEP_STANDBY_URL" --cost 10
forget_all
a3=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
run pulse1 -v pulse
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { cat "$SCRATCH/pulse1.out" >&2; fail "pulse exit status $rc"; }
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse output"
assert_contains "$OUT" "from enrollment policy server $ADCS_CEP_URL" "the endpoint's origin"
assert_eq 1 "$(get_policies_at "$CEP_PATH" "$a3")" "GetPolicies at the primary (cost 5)"
assert_eq 0 "$(get_policies_at "$STANDBY_PATH" "$a3")" "GetPolicies at the standby (cost 10)"

note "two policies (PolicyIDs): enroll asks a server of each"
gpo_set "$G" machine 7 --policy-server "$ADCS_CEP_URL" --cost 5 --policy-server "$ADCS_CEP_STANDBY_URL" --cost 10 \
  --policy-id "{0A0A0A0A-0000-4000-8000-000000000001}"
a5=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
run enroll5 -v --force enroll "$T"
[ "$rc" = 3 ] || { cat "$SCRATCH/enroll5.out" >&2; fail "enroll --force exit status $rc"; }
assert_eq 1 "$(get_policies_at "$CEP_PATH" "$a5")" "GetPolicies at the server of the first policy"
assert_eq 1 "$(get_policies_at "$STANDBY_PATH" "$a5")" "GetPolicies at the server of the second policy"

note "a server not enabled for autoenrollment: enroll asks it, pulse does not"
gpo_set "$G" machine 7 --policy-server "$ADCS_CEP_URL" --flags 0x4
forget_all
a4=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
run pulse2 -v pulse
assert_ne 3 "$rc" "pulse's exit status without a usable endpoint"
assert_contains "$OUT" "enrollment policy server $ADCS_CEP_URL not asked: not enabled for automatic enrollment" "pulse's reason"
assert_eq 0 "$(get_policies_at "$CEP_PATH" "$a4")" "GetPolicies by pulse"
assert_not_contains "$OUT" "from enrollment policy server" "endpoints from a policy server in pulse"
forget_all
run enroll4 -v enroll "$T"
[ "$rc" = 3 ] || { cat "$SCRATCH/enroll4.out" >&2; fail "enroll exit status $rc"; }
assert_contains "$OUT" "from enrollment policy server $ADCS_CEP_URL" "enroll's endpoint origin"
assert_eq 1 "$(get_policies_at "$CEP_PATH" "$a4")" "GetPolicies by enroll"
run doctor2 doctor
assert_match "$OUT" "^ok    policy server 1: $ADCS_CEP_URL \\(cost [0-9]+, used by \`adenroll enroll\` only \\(Flags without AutoEnrollmentEnabled 0x10\\)\\)" "doctor on the flag"

note "the only server fails: doctor fails and says why"
gpo_set "$G" machine 7 --policy-server "$ADCS_CEP_URL"
domain fault http500 --path "$CEP_PATH" --count -1 > /dev/null || fail "domain.sh fault failed"
run doctor3 doctor
domain fault off > /dev/null
printf '%s\n' "$OUT" | grep -E 'policy server|^(OK|FAIL)' | sed 's/^/    doctor: /' >&2
assert_eq 1 "$rc" "doctor's exit status with the policy server failing"
assert_match "$OUT" "^fail  policy server 1: $ADCS_CEP_URL \\(cost [0-9]+, used by pulse and enroll\\): GetPolicies failed: .*500" "the failure"
assert_contains "$OUT" "fix: check that the enrollment policy web service is installed" "the fix line"
exit 0
