#!/bin/bash
# The policy-change check and the policy cache: check-policy pulses when
# nothing is cached or a GPO's version changed, and otherwise neither pulses
# nor touches SMB (the DC's smbd is frozen to prove it); SMB down after a
# change: the cached policy is used, said so, exit 5; SMB down and nothing
# cached: nothing at all is enrolled, exit 5.
. "$TESTS_LIB"

[ -x "${ADENROLL_GPO_FETCH:-}" ] || skip "adenroll-gpo-fetch was not built (libsmbclient-dev missing)"
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" policy.source=gpo
G="" OU=""
trap 'gpo_cleanup $G -- $OU' EXIT
G=$(gpo_new "adenroll AE check") || exit 1
OU=$(gpo_client_ou AdenrollGpoCheck) || exit 1
gpo_set "$G" machine 0x8000
gpo_link "$G" "$OU"
disabled="autoenrollment is disabled by GPO adenroll AE check ($G) linked at $OU"

# every run of the SYSVOL reader is counted
REAL_FETCH=$ADENROLL_GPO_FETCH
cat > "$SCRATCH/fetch-wrapper" <<EOF
#!/bin/sh
echo run >> "$SCRATCH/fetch.count"
exec "$REAL_FETCH" "\$@"
EOF
chmod +x "$SCRATCH/fetch-wrapper"
export ADENROLL_GPO_FETCH=$SCRATCH/fetch-wrapper
fetches() { if [ -f "$SCRATCH/fetch.count" ]; then wc -l < "$SCRATCH/fetch.count"; else echo 0; fi; }

note "nothing cached yet: check-policy pulses, which reads SYSVOL once"
assert_exit 0 "$ADENROLL" --config "$CONF" check-policy
assert_contains "$OUT" "no policy cached yet: running a pulse" "check-policy"
assert_contains "$OUT" "$disabled" "the pulse it ran"
assert_eq 1 "$(fetches)" "SYSVOL reads"

note "unchanged: no pulse and no SMB at all (the DC's smbd is frozen)"
domain gpo smb stop
assert_exit 0 timeout 60 "$ADENROLL" --config "$CONF" -v check-policy
assert_contains "$OUT" "policy unchanged: no change in the links or versions" "check-policy"
assert_not_contains "$OUT" "running a pulse" "check-policy"
ops=$(printf '%s\n' "$OUT" | sed -n 's/.*policy check cost: \([0-9]*\) LDAP operations.*/\1/p')
[ -n "$ops" ] && [ "$ops" -le 4 ] || fail "the check took '$ops' LDAP operations (bind + SOMs + GPOs + site: at most 4)"
assert_eq 1 "$(fetches)" "SYSVOL reads after an unchanged check"
note "... and a pulse with no GPO changed reads no SYSVOL either"
assert_exit 0 timeout 60 "$ADENROLL" --config "$CONF" pulse
assert_contains "$OUT" "$disabled" "pulse"
assert_eq 1 "$(fetches)" "SYSVOL reads after an unchanged pulse"

note "SMB down after a change: the cached policy, said so, exit 5, nothing enrolled"
# (the bump writes GPT.INI over SMB: with smbd running)
domain gpo smb start
domain gpo bump "$G" machine > /dev/null
domain gpo smb stop
assert_exit 5 timeout 120 "$ADENROLL" --config "$CONF" pulse
assert_contains "$OUT" "Group Policy could not be read" "pulse"
assert_contains "$OUT" "$disabled (cached policy)" "pulse"
assert_no_file "$SCRATCH/certs/LinuxWorkstation.crt"

note "SMB down and nothing cached: nothing is enrolled, exit 5"
write_config "$SCRATCH/fresh.conf" policy.source=gpo store.state_dir="$SCRATCH/fresh-state" \
  store.pem_dir="$SCRATCH/fresh-certs" store.archive_dir="$SCRATCH/fresh-archive"
assert_exit 5 timeout 120 "$ADENROLL" --config "$SCRATCH/fresh.conf" pulse
assert_contains "$OUT" "no earlier policy is cached: nothing is enrolled, renewed or collected" "pulse"
assert_not_contains "$OUT" "enrolled (serial" "pulse"
[ -z "$(ls -A "$SCRATCH/fresh-certs" 2>/dev/null)" ] || fail "certificates were stored without a policy"
domain gpo smb start

note "SMB back: the version change is seen by the check, which pulses"
assert_exit 0 "$ADENROLL" --config "$CONF" check-policy
assert_contains "$OUT" "Group Policy changed at: gpo $G" "check-policy"
assert_contains "$OUT" "$disabled" "the pulse it ran"
n=$(fetches)

note "the GPO enables autoenrollment: the check sees it and the pulse enrolls"
gpo_set "$G" machine 7
assert_exit 4 "$ADENROLL" --config "$CONF" check-policy
assert_contains "$OUT" "Group Policy changed at: gpo $G" "check-policy"
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial' "the pulse it ran"
assert_eq $((n + 1)) "$(fetches)" "SYSVOL reads"
assert_exit 0 "$ADENROLL" --config "$CONF" status
assert_contains "$OUT" "Autoenrollment policy: AEPolicy 0x7" "status (offline, from the cache)"
assert_exit 0 "$ADENROLL" --config "$CONF" check-policy
assert_contains "$OUT" "policy unchanged" "check-policy"
