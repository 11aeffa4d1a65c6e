#!/bin/bash
# The KDC cannot be reached (krb5.conf names a KDC where nothing listens; the
# DC's LDAP and the CA are up): pulse and enroll stop before any LDAP or CA
# traffic with exit 1 and a message that says no KDC of the realm answered
# and where to look; the held pair and the pending request are untouched.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
ACCESS=$ADCS_EMU_DIR/state/access.jsonl
ca_http_count() { if [ -f "$ACCESS" ]; then wc -l < "$ACCESS"; else echo 0; fi; }

"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/setup.out" 2>&1
[ -e "$SCRATCH/certs/LinuxWorkstation.crt" ] || fail "setup pulse did not enroll: $(cat "$SCRATCH/setup.out")"
lw=$(pair_state "$SCRATCH/certs" LinuxWorkstation) || exit 1
before=$(store_snapshot)

# the test krb5.conf with the realm's KDC moved to dc2 (resolves, refuses)
sed "s/^\([[:space:]]*kdc = \).*/\1$ADCS_DC2_HOST/" "$KRB5_CONFIG" > "$SCRATCH/krb5-deadkdc.conf"
grep -q "kdc = $ADCS_DC2_HOST" "$SCRATCH/krb5-deadkdc.conf" || fail "cannot point the test krb5.conf at $ADCS_DC2_HOST"
grep -q "dns_lookup_kdc = false" "$SCRATCH/krb5-deadkdc.conf" || fail "the test krb5.conf looks KDCs up in DNS"
http_before=$(ca_http_count)
# the setup pulse left a valid TGT and LDAP ticket in the machine ccache,
# with which a run needs no KDC: gone, the run must ask one
rm -f "$SCRATCH/machine.ccache"

start=$(date +%s)
assert_exit 1 env KRB5_CONFIG="$SCRATCH/krb5-deadkdc.conf" "$ADENROLL" "${C[@]}" pulse
took=$(( $(date +%s) - start ))
assert_contains "$OUT" "cannot get a Kerberos ticket for $ADCS_CLIENT_PRINCIPAL: no KDC for realm $ADCS_REALM reachable"
assert_contains "$OUT" "Cannot contact any KDC for realm"
assert_contains "$OUT" "krb5.conf"
assert_not_contains "$OUT" "LinuxWorkstation:" "pulse output"
[ "$took" -lt 30 ] || fail "pulse took ${took}s to give up on a refusing KDC"

assert_exit 1 env KRB5_CONFIG="$SCRATCH/krb5-deadkdc.conf" "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_contains "$OUT" "no KDC for realm $ADCS_REALM reachable"

assert_eq "$http_before" "$(ca_http_count)" "HTTP requests the CA saw"
assert_eq "$lw" "$(pair_state "$SCRATCH/certs" LinuxWorkstation)" "LinuxWorkstation pair"
assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/archive" "$SCRATCH/state"
[ "$before" = "$(store_snapshot)" ] || fail "the stores changed:
$(diff <(printf '%s\n' "$before") <(store_snapshot))"

# the KDC back: the same run works
assert_exit 4 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" '^LinuxWorkstation: valid until ' "pulse with the KDC back"
exit 0
