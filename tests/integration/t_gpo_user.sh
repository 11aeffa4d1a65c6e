#!/bin/bash
# --user follows the user side of the GPOs linked where the user is: User\Registry.pol
# read with the user's own ticket; 0x8000 there stops her autoenrollment and
# names the GPO; the user part disabled (flags 1) takes the GPO out; the
# machine side of the same GPO does not matter to her.
. "$TESTS_LIB"

[ -x "${ADENROLL_GPO_FETCH:-}" ] || skip "adenroll-gpo-fetch was not built (libsmbclient-dev missing)"
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" policy.source=gpo user.pem_dir="$SCRATCH/ucerts" user.archive_dir="$SCRATCH/uarchive" \
  user.state_dir="$SCRATCH/ustate"
G="" OU=""
trap 'gpo_cleanup $G -- $OU' EXIT
G=$(gpo_new "adenroll AE users") || exit 1
OU=$(gpo_user_ou AdenrollGpoUsers) || exit 1
gpo_set "$G" user 0x8000
gpo_set "$G" machine 7
gpo_link "$G" "$OU"
kinit_user
disabled="autoenrollment is disabled by GPO adenroll AE users ($G) linked at $OU"

note "user side 0x8000 where alice is: nothing for her, the GPO named"
assert_exit 0 "$ADENROLL" --config "$CONF" --user pulse
assert_contains "$OUT" "$disabled" "user pulse"
assert_contains "$OUT" "LinuxUser: not enrolled: $disabled" "per-template line"
[ -z "$(ls -A "$SCRATCH/ucerts" 2>/dev/null)" ] || fail "a certificate was stored although the GPO disables autoenrollment"
assert_file "$SCRATCH/ustate/gpo/$G.user.1.pol"
assert_exit 0 "$ADENROLL" --config "$CONF" --user --json explain LinuxUser
assert_contains "$OUT" "\"gpo_guid\":\"$G\"" "explain --json"
assert_contains "$OUT" "\"disabled\":true" "explain --json"

note "the user part disabled: the GPO does not apply to users (the local switches do)"
domain gpo flags "$G" 1
assert_exit 0 "$ADENROLL" --config "$CONF" --user --dry-run pulse
assert_not_contains "$OUT" "disabled by GPO" "user pulse"
assert_contains "$OUT" "from the local configuration" "user pulse"
domain gpo flags "$G" 0

note "user side 7: she enrolls"
gpo_set "$G" user 7
assert_exit 3 "$ADENROLL" --config "$CONF" --user pulse
assert_contains "$OUT" "autoenrollment policy 0x7 (update_templates, renew_and_remove_revoked, retrieve_pending) from GPO adenroll AE users ($G) linked at $OU" "user pulse"
assert_match "$OUT" '^LinuxUser: enrolled \(serial' "user pulse"
