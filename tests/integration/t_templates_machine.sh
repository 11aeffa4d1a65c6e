#!/bin/bash
# `adenroll templates` as the machine account (keytab, no ticket of its own)
# classifies every test template with the reason the access check and the
# template flags give (docs/protocol.md 4, 5.2).
. "$TESTS_LIB"

write_config "$SCRATCH/adenroll.conf"
"$ADENROLL" --config "$SCRATCH/adenroll.conf" --json templates > "$SCRATCH/t.json" 2> "$SCRATCH/t.err"
rc=$?
[ "$rc" = 0 ] || fail "templates --json exited $rc: $(cat "$SCRATCH/t.err")"

# field CN KEY: one value of the template's JSON object ("missing" when absent)
field() {
  /usr/bin/python3 - "$SCRATCH/t.json" "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert isinstance(doc, list), "top level is not an array"
hits = [t for t in doc if t["cn"] == sys.argv[2]]
if not hits:
    print("missing")
else:
    v = hits[0].get(sys.argv[3], "missing")
    print(json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else v)
PY
}
check() {  # check CN CODE ELIGIBLE
  assert_eq "$2" "$(field "$1" code)" "$1 code"
  assert_eq "$3" "$(field "$1" eligible)" "$1 eligible"
}

check LinuxWorkstation ok true
check PendingApproval ok true
check NeedsEmail ok true
check ShortLived ok true
check EnrollOnly no_autoenroll_right false
check DeniedAutoEnroll no_autoenroll_right false
check NotPublished not_published false
check Machine v1_template false
check LinuxUser wrong_context false

# The deny ACE is named: first ACE, AutoEnroll, Domain Computers
reason=$(field DeniedAutoEnroll reason)
assert_match "$reason" 'AutoEnroll denied by ACE #1 .*deny.*Domain Computers' "DeniedAutoEnroll reason"
assert_contains "$(field EnrollOnly reason)" "AutoEnroll" "EnrollOnly reason"
assert_contains "$(field LinuxWorkstation reason)" "published by $ADCS_CA_NAME" "LinuxWorkstation reason"
assert_eq "[\"$ADCS_CA_NAME\"]" "$(field LinuxWorkstation cas)" "LinuxWorkstation cas"
assert_eq "[]" "$(field NotPublished cas)" "NotPublished cas"

# Binary periods decoded (MS-CRTD 2.11/2.15), versions and flags carried through
assert_eq 31536000 "$(field LinuxWorkstation validity_seconds)" "LinuxWorkstation validity"
assert_eq 3628800 "$(field LinuxWorkstation renewal_seconds)" "LinuxWorkstation renewal"
assert_eq 600 "$(field ShortLived validity_seconds)" "ShortLived validity"
assert_eq 120 "$(field ShortLived renewal_seconds)" "ShortLived renewal"
assert_eq 2 "$(field LinuxWorkstation schema_version)" "schema version"
assert_eq 100 "$(field LinuxWorkstation major)" "major version"
assert_eq 3 "$(field LinuxWorkstation minor)" "minor version"
assert_eq 1 "$(field Machine schema_version)" "Machine schema version"
assert_eq 34 "$(field PendingApproval enrollment_flag)" "PendingApproval enrollment flag"
assert_eq "$ADCS_TEMPLATE_OID_PREFIX.1.101" "$(field LinuxWorkstation oid)" "LinuxWorkstation OID"
assert_eq true "$(field LinuxWorkstation machine)" "LinuxWorkstation machine"
assert_eq false "$(field LinuxUser machine)" "LinuxUser machine"
# Sorted by cn, so the output is stable
order=$(/usr/bin/python3 -c 'import json,sys; c=[t["cn"] for t in json.load(open(sys.argv[1]))]; print("sorted" if c == sorted(c, key=lambda s: (s.lower(), s)) else c)' "$SCRATCH/t.json")
assert_eq sorted "$order" "template order"

# The table says the same
assert_exit 0 "$ADENROLL" --config "$SCRATCH/adenroll.conf" templates
assert_match "$OUT" 'LinuxWorkstation +Linux Workstation +2 +machine +ELIGIBLE'
assert_match "$OUT" 'DeniedAutoEnroll .* not eligible +AutoEnroll denied by ACE #1'
assert_match "$OUT" 'Machine +Computer +1 +machine +not eligible'
assert_contains "$OUT" "Machine account CLIENT\$ on $ADCS_DC_HOST"
exit 0
