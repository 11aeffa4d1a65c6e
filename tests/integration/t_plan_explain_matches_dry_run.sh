#!/bin/bash
# explain says what pulse will do (src/plan.h): the same scenarios driven
# through `explain --json` and `pulse --dry-run --json` give, for every
# template, the same plan -- action, rule, dates (notAfter, renew_at and
# both renewal rules), request form, key, transport, CA order -- and that
# plan is the one the scenario calls for:
#   nothing held (enroll), valid (keep), in the renewal window (renew, a
#   request signed by the held certificate, new key), key reuse (renew with
#   the held key), a pending request (poll), --force (reenroll, a renewal
#   signed by the held certificate), superseded
#   (reenroll), renewal, pending retrieval and the whole policy switched off
#   by the local [policy] switches and by a GPO (skip), expired (enroll, a
#   new request), revoked (reenroll).
. "$TESTS_LIB"

DUE=PlanDue OLD=PlanOld NEW=PlanNew
# The CA backdates notBefore by 10 minutes: with a validity of V <= 150 s
# the 80% point lies before issue, so PlanDue is in its renewal window at
# once and expires V seconds after issue.
V=150
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
G=""
cleanup() {
  ad_template_remove "$NEW" "$OLD" "$DUE"
  [ -z "$G" ] || gpo_cleanup "$G"
}
trap cleanup EXIT
ad_template_add "$DUE" 1.401 "$V" "$V" || fail "cannot add template $DUE"
ad_template_add "$OLD" 1.402 $((365 * 86400)) $((42 * 86400)) || fail "cannot add template $OLD"

cat > "$SCRATCH/compare.py" <<'PY'
import json, sys

what, explain_file, pulse_file = sys.argv[1:4]
explain = json.load(open(explain_file))
pulse = json.load(open(pulse_file))
ex = {e["template"]: e for e in explain if e.get("plan") is not None}
pu = {p["template"]: p for p in pulse}
errors = []
if set(ex) != set(pu):
    errors.append("templates planned: explain %s, pulse --dry-run %s" % (sorted(ex), sorted(pu)))
for t in sorted(set(ex) & set(pu)):
    a, b = ex[t]["plan"], pu[t]["plan"]
    if a != b:
        diff = {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        errors.append("%s: explain and pulse --dry-run plan differently: %s" % (t, diff))
    # the keys both commands had before the plan agree with it
    if pu[t]["action"] != b["action"]:
        errors.append("%s: pulse action %s, its plan %s" % (t, pu[t]["action"], b["action"]))
    decision = ex[t]["decision"]["action"]
    if (decision if decision != "wait-pending" else "poll") != a["action"]:
        errors.append("%s: explain decision %s, its plan %s" % (t, decision, a["action"]))
    if ex[t]["decision"]["renew_at"] != a["renew_at"]:
        errors.append("%s: explain renew_at %s, its plan %s" % (t, ex[t]["decision"]["renew_at"], a["renew_at"]))
# TEMPLATE=ACTION[^FIELD=VALUE...]: what the scenario calls for (a list
# as its items joined by ","; rule~=TEXT: the rule contains TEXT)
for want in sys.argv[4:]:
    t, _, rest = want.partition("=")
    fields = rest.split("^")
    if t not in pu:
        errors.append("%s: not planned by pulse --dry-run (want %s)" % (t, rest))
        continue
    plan = pu[t]["plan"]
    if plan["action"] != fields[0]:
        errors.append("%s: action %s (%s), want %s" % (t, plan["action"], plan["rule"], fields[0]))
    for f in fields[1:]:
        k, _, v = f.partition("=")
        got = plan.get(k)
        if isinstance(got, list):
            got = ",".join(got)
        if k == "rule~":
            if v not in plan["rule"]:
                errors.append("%s: rule %r does not contain %r" % (t, plan["rule"], v))
        elif str(got).lower() != v.lower():
            errors.append("%s: %s is %r, want %r" % (t, k, got, v))
if errors:
    print("%s:\n  %s" % (what, "\n  ".join(errors)))
    sys.exit(1)
print("%s: %d templates, the same plan: %s" % (what, len(pu), ", ".join(
    "%s %s" % (t, pu[t]["plan"]["action"]) for t in sorted(pu))))
PY

# same_plans WHAT [--config FILE] [ADENROLL-OPTION...] -- TEMPLATE=ACTION[^FIELD=VALUE]...
same_plans() {
  local what=$1 conf=$CONF opts=() rc; shift
  if [ "${1:-}" = --config ]; then conf=$2; shift 2; fi
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  "$ADENROLL" --config "$conf" "${opts[@]}" --json explain > "$SCRATCH/explain.json" 2> "$SCRATCH/explain.err" \
    || fail "$what: explain --json ${opts[*]} failed: $(cat "$SCRATCH/explain.err")"
  "$ADENROLL" --config "$conf" "${opts[@]}" --json --dry-run pulse > "$SCRATCH/pulse.json" 2> "$SCRATCH/pulse.err"
  rc=$?
  [ "$rc" = 0 ] || fail "$what: pulse --dry-run --json ${opts[*]} exited $rc: $(tail -n 20 "$SCRATCH/pulse.err")"
  /usr/bin/python3 "$SCRATCH/compare.py" "$what" "$SCRATCH/explain.json" "$SCRATCH/pulse.json" "$@" >&2 \
    || fail "$what (explain.json: $(cat "$SCRATCH/explain.json"); pulse.json: $(cat "$SCRATCH/pulse.json"))"
}

note "nothing held"
same_plans "nothing held" -- LinuxWorkstation=enroll^request=new^key=new^"transport=certsrv^ca_order=$ADCS_CA_NAME" \
  "$DUE=enroll^request=new^key=new^not_after=None" "$OLD=enroll" PendingApproval=enroll NeedsEmail=enroll

note "pulse: enroll (PendingApproval waits for approval, NeedsEmail is denied: exit 4)"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" "^$DUE: enrolled \\(serial" "pulse output"
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+" "pulse output"
na=$(cert_time "$SCRATCH/certs/$DUE.crt" enddate)
in_window() {
  [ $(( $(date +%s) + 20 )) -lt "$na" ] || fail "test setup: $DUE expires at $(iso_time "$na") before '$1' could run (a slow machine?)"
}

in_window "in the renewal window"
same_plans "held: valid, due, pending" -- "LinuxWorkstation=keep^request=none^key=none^ca_order=" \
  "$DUE=renew^request=renewal^key=new^not_after=$(iso_time "$na")^rule~=renewal due since" \
  "$OLD=keep" "PendingApproval=poll^request=poll^key=pending^pending=true" NeedsEmail=enroll

in_window "key reuse"
write_config "$SCRATCH/reuse.conf" enroll.reuse_key=yes
same_plans "[enroll] reuse_key" --config "$SCRATCH/reuse.conf" -- "$DUE=renew^request=renewal^key=held" \
  LinuxWorkstation=keep

in_window "renewal switched off"
write_config "$SCRATCH/norenew.conf" policy.renew_and_remove_revoked=no
same_plans "renew_and_remove_revoked = no" --config "$SCRATCH/norenew.conf" -- \
  "$DUE=skip^request=none^rule~=renew_and_remove_revoked (AEPolicy 0x2) is off (the local configuration" \
  LinuxWorkstation=keep NeedsEmail=enroll PendingApproval=poll

note "waiting for $DUE to expire ($(iso_time "$na"))"
now=$(date +%s)
[ $(( na + 1 - now )) -gt 0 ] && sleep $(( na + 1 - now ))
same_plans "expired" -- "$DUE=enroll^request=new^key=new^rule~=expired at $(iso_time "$na")" LinuxWorkstation=keep

note "--force replaces what is kept, nothing else"
same_plans "--force" --force -- "LinuxWorkstation=reenroll^forced=true^request=renewal^rule~=--force, although: certificate good" \
  "$OLD=reenroll^forced=true" "$DUE=enroll^forced=false" "PendingApproval=poll^forced=false"

note "pending retrieval and the whole policy off through the local switches"
write_config "$SCRATCH/nopending.conf" policy.retrieve_pending=no
same_plans "retrieve_pending = no" --config "$SCRATCH/nopending.conf" -- \
  "PendingApproval=skip^request=none^pending=true^rule~=retrieve_pending (AEPolicy 0x4) is off" LinuxWorkstation=keep
write_config "$SCRATCH/disabled.conf" policy.disabled=yes
same_plans "[policy] disabled" --config "$SCRATCH/disabled.conf" --force -- \
  "LinuxWorkstation=skip^forced=false^rule~=autoenrollment is disabled by the local configuration" \
  "$DUE=skip" "$OLD=skip" PendingApproval=skip NeedsEmail=skip

note "superseded: $NEW supersedes $OLD"
ad_template_add "$NEW" 1.403 $((365 * 86400)) $((42 * 86400)) "msPKI-Supersede-Templates: $OLD" \
  || fail "cannot add template $NEW"
same_plans "superseded" -- "$NEW=reenroll^superseded_template=$OLD^request=new^key=new" LinuxWorkstation=keep

if [ -x "${ADENROLL_GPO_FETCH:-}" ]; then
  note "Group Policy: renewal off (AEPolicy 0x5), then disabled (0x8000)"
  write_config "$SCRATCH/gpo.conf" policy.source=gpo
  G=$(gpo_new "adenroll plan") || exit 1
  gpo_set "$G" machine 5
  gpo_link "$G" "$ADCS_DOMAIN_DN"
  same_plans "GPO AEPolicy 0x5" --config "$SCRATCH/gpo.conf" -- \
    "$DUE=skip^rule~=renew_and_remove_revoked (AEPolicy 0x2) is off (GPO adenroll plan ($G)" \
    "$NEW=reenroll" LinuxWorkstation=keep PendingApproval=poll
  gpo_set "$G" machine 0x8000
  same_plans "GPO AEPolicy 0x8000" --config "$SCRATCH/gpo.conf" -- \
    "LinuxWorkstation=skip^rule~=autoenrollment is disabled by GPO adenroll plan ($G)" \
    "$NEW=skip" "$DUE=skip" PendingApproval=skip
  gpo_cleanup "$G"
  G=""
else
  note "adenroll-gpo-fetch was not built: the GPO scenarios are left out"
fi

note "revoked (the CRL explain cached before is dropped: it predates the revocation)"
rm -rf "$SCRATCH/state/crl"
req=$("$ADENROLL" --config "$CONF" --json status | /usr/bin/python3 -c '
import json, sys
print(next(c["request_id"] for c in json.load(sys.stdin)["certificates"] if c["template"] == "LinuxWorkstation"))') \
  || fail "no request id for LinuxWorkstation in status --json"
domain revoke "$req" keyCompromise > "$SCRATCH/revoke.out" 2>&1 || fail "domain.sh revoke $req failed: $(cat "$SCRATCH/revoke.out")"
same_plans "revoked" -- "LinuxWorkstation=reenroll^revocation=revoked^request=new^key=new^rule~=keyCompromise" \
  "$NEW=reenroll"
note "status shows the same plan for what it holds (offline: no CRL, no directory)"
"$ADENROLL" --config "$CONF" --json status > "$SCRATCH/status.json" 2> /dev/null || fail "status --json failed"
/usr/bin/python3 - "$SCRATCH/status.json" "$SCRATCH/explain.json" <<'PY' || fail "status --json plan: $(cat "$SCRATCH/status.json")"
import json, sys
status = {c["template"]: c for c in json.load(open(sys.argv[1]))["certificates"]}
explain = {e["template"]: e for e in json.load(open(sys.argv[2]))}
lw = status["LinuxWorkstation"]
assert lw["plan"]["action"] == "keep" and lw["plan"]["revocation"] == "not checked", lw["plan"]
for k in ("not_after", "renew_at", "renew_by_period", "renew_by_80pct"):
    assert lw["plan"][k] == explain["LinuxWorkstation"]["plan"][k], k
assert lw["plan"]["renew_at"] == lw["renew_at"], lw
PY
