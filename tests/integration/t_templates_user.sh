#!/bin/bash
# `adenroll --user templates` with alice's own ticket: user templates are
# evaluated against her token (Domain Users may autoenroll LinuxUser), machine
# templates are the wrong context.
. "$TESTS_LIB"

write_config "$SCRATCH/adenroll.conf"
kinit_user
"$ADENROLL" --config "$SCRATCH/adenroll.conf" --user --json templates > "$SCRATCH/t.json" 2> "$SCRATCH/t.err"
rc=$?
[ "$rc" = 0 ] || fail "--user templates --json exited $rc: $(cat "$SCRATCH/t.err")"
assert_contains "$(cat "$SCRATCH/t.err")" "$ADCS_USER_PRINCIPAL"

code() {
  /usr/bin/python3 -c 'import json,sys; print([t for t in json.load(open(sys.argv[1])) if t["cn"] == sys.argv[2]][0]["code"])' \
    "$SCRATCH/t.json" "$1" || fail "template $1 missing from the output"
}
assert_eq ok "$(code LinuxUser)" "LinuxUser"
for t in LinuxWorkstation EnrollOnly DeniedAutoEnroll PendingApproval NotPublished Machine NeedsEmail ShortLived; do
  assert_eq wrong_context "$(code "$t")" "$t"
done
reason=$(/usr/bin/python3 -c 'import json,sys; print([t for t in json.load(open(sys.argv[1])) if t["cn"] == "LinuxUser"][0]["reason"])' "$SCRATCH/t.json")
assert_match "$reason" 'Enroll granted by ACE #1 .*Domain Users' "LinuxUser reason"

assert_exit 0 "$ADENROLL" --config "$SCRATCH/adenroll.conf" --user templates
assert_match "$OUT" 'LinuxUser +Linux User +2 +user +ELIGIBLE'
assert_contains "$OUT" "User $ADCS_USER on $ADCS_DC_HOST"
exit 0
