#!/bin/bash
# Unchanged Group Policy costs a pulse at most 2 LDAP operations and no SMB
# (issue 15): after the first read, the SOMs and the GPOs seen linked come
# back in one search, plus the site object (the site from the cache, no
# netlogon ping); the DC's smbd is stopped to prove no SMB is needed.  And a
# change is still seen by the very next pulse: a new link, security
# filtering, a version, a removed link.
. "$TESTS_LIB"

[ -x "${ADENROLL_GPO_FETCH:-}" ] || skip "adenroll-gpo-fetch was not built (libsmbclient-dev missing)"
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" policy.source=gpo
G="" G2="" OU=""
trap 'domain gpo smb start >/dev/null 2>&1; gpo_cleanup $G $G2 -- $OU' EXIT
G=$(gpo_new "adenroll AE lean domain") || exit 1
G2=$(gpo_new "adenroll AE lean OU") || exit 1
OU=$(gpo_client_ou AdenrollGpoLean) || exit 1
gpo_set "$G" machine 0x8000
gpo_set "$G2" machine 0x8000
gpo_link "$G" "$ADCS_DOMAIN_DN"

REAL_FETCH=$ADENROLL_GPO_FETCH
cat > "$SCRATCH/fetch-wrapper" <<EOF
#!/bin/sh
echo run >> "$SCRATCH/fetch.count"
exec "$REAL_FETCH" "\$@"
EOF
chmod +x "$SCRATCH/fetch-wrapper"
export ADENROLL_GPO_FETCH=$SCRATCH/fetch-wrapper
fetches() { if [ -f "$SCRATCH/fetch.count" ]; then wc -l < "$SCRATCH/fetch.count"; else echo 0; fi; }
# gpo_ops: the LDAP operations the Group Policy read took in the last run
gpo_ops() { printf '%s\n' "$OUT" | sed -n 's/.*Group Policy objects read with \([0-9]*\) LDAP operations.*/\1/p' | tail -n1; }
decided_by() { assert_contains "$OUT" "autoenrollment is disabled by GPO $1 ($2) linked at $3" "$4"; }
at_most_2() {
  local ops
  ops=$(gpo_ops)
  [ -n "$ops" ] && [ "$ops" -le 2 ] || fail "$1 took '$ops' LDAP operations (at most 2)"
}

note "first pulse: everything read, the Registry.pol fetched once, the site asked of the DC"
assert_exit 0 "$ADENROLL" --config "$CONF" -v pulse
decided_by "adenroll AE lean domain" "$G" "$ADCS_DOMAIN_DN" "first pulse"
assert_contains "$OUT" "(site asked of the DC)" "first pulse"
assert_eq 1 "$(fetches)" "SYSVOL reads"

note "unchanged: at most 2 LDAP operations, no SMB (smbd stopped), the site from the cache"
domain gpo smb stop
assert_exit 0 timeout 60 "$ADENROLL" --config "$CONF" -v pulse
decided_by "adenroll AE lean domain" "$G" "$ADCS_DOMAIN_DN" "unchanged pulse"
at_most_2 "an unchanged Group Policy"
assert_contains "$OUT" "(site cached)" "unchanged pulse"
assert_eq 1 "$(fetches)" "SYSVOL reads after an unchanged pulse"
domain gpo smb start

note "a new link at the client's OU is seen by the next pulse"
gpo_link "$G2" "$OU"
assert_exit 0 "$ADENROLL" --config "$CONF" -v pulse
decided_by "adenroll AE lean OU" "$G2" "$OU" "pulse after the new link"
assert_eq 2 "$(fetches)" "SYSVOL reads (the new GPO's Registry.pol)"
domain gpo smb stop
assert_exit 0 timeout 60 "$ADENROLL" --config "$CONF" -v pulse
decided_by "adenroll AE lean OU" "$G2" "$OU" "unchanged pulse"
at_most_2 "an unchanged Group Policy with two GPOs"
assert_eq 2 "$(fetches)" "SYSVOL reads"
domain gpo smb start

note "security filtering (no version change) is seen by the next pulse, without SMB"
domain gpo deny-computers "$G2"
domain gpo smb stop
assert_exit 0 timeout 60 "$ADENROLL" --config "$CONF" -v pulse
decided_by "adenroll AE lean domain" "$G" "$ADCS_DOMAIN_DN" "pulse after security filtering"
at_most_2 "the pulse after security filtering"
assert_eq 2 "$(fetches)" "SYSVOL reads"
domain gpo smb start

note "a new version is seen by the next pulse, which reads the new Registry.pol"
domain gpo bump "$G" machine > /dev/null
assert_exit 0 "$ADENROLL" --config "$CONF" -v pulse
decided_by "adenroll AE lean domain" "$G" "$ADCS_DOMAIN_DN" "pulse after the bump"
assert_eq 3 "$(fetches)" "SYSVOL reads (the new version)"

note "the link removed: the next pulse no longer applies the GPO (the local switches do)"
domain gpo unlink "$G" "$ADCS_DOMAIN_DN"
write_config "$CONF" policy.source=gpo policy.disabled=yes
assert_exit 0 "$ADENROLL" --config "$CONF" -v pulse
assert_contains "$OUT" "autoenrollment is disabled by the local configuration" "pulse after the unlink"
assert_not_contains "$OUT" "autoenrollment is disabled by GPO" "pulse after the unlink"
