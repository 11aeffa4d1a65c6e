#!/bin/bash
# Credential problems end the run with exit 1 and a message that says what
# to do; the machine run never touches the default or the caller's ccache.
. "$TESTS_LIB"

# missing keytab
write_config "$SCRATCH/nokt.conf" "machine.keytab=$SCRATCH/missing.keytab"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/nokt.conf" templates
assert_contains "$OUT" "keytab $SCRATCH/missing.keytab does not exist"
assert_contains "$OUT" "join the domain"

# principal not in the keytab
write_config "$SCRATCH/wrongp.conf" "machine.principal=NOBODY\$"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/wrongp.conf" templates
assert_contains "$OUT" "has no key for principal NOBODY\$@$ADCS_REALM"

# principal spelled in another case: the keytab's spelling is used (keytab lookup is case-sensitive, the KDC is not)
lower=$(printf '%s' "${ADCS_CLIENT_PRINCIPAL%@*}" | tr 'A-Z' 'a-z')
write_config "$SCRATCH/case.conf" "machine.principal=$lower"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/case.conf" templates
assert_contains "$OUT" "got a ticket for $ADCS_CLIENT_PRINCIPAL"

# a keytab for a principal the KDC does not know (MIT keytab format v0x502,
# one aes256 entry with a zero key; ktutil cannot be scripted for this)
/usr/bin/python3 - "$SCRATCH/ghost.keytab" "$ADCS_REALM" <<'PY'
import struct, sys, time
def cs(b): return struct.pack(">H", len(b)) + b
realm, comps = sys.argv[2].encode(), [b"GHOST$"]
body = struct.pack(">H", len(comps)) + cs(realm) + b"".join(cs(c) for c in comps)
body += struct.pack(">IIBH", 1, int(time.time()), 1, 18) + cs(bytes(32))
open(sys.argv[1], "wb").write(b"\x05\x02" + struct.pack(">i", len(body)) + body)
PY
klist -k "$SCRATCH/ghost.keytab" 2>&1 | grep -q "GHOST\$@$ADCS_REALM" || fail "could not build the ghost keytab"
write_config "$SCRATCH/ghost.conf" "machine.keytab=$SCRATCH/ghost.keytab"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/ghost.conf" templates
assert_contains "$OUT" "GHOST\$@$ADCS_REALM"
assert_contains "$OUT" "KDC does not know this principal"

# user mode without a ticket
write_config "$SCRATCH/adenroll.conf"
assert_exit 1 env KRB5CCNAME="FILE:$SCRATCH/empty.cc" "$ADENROLL" --config "$SCRATCH/adenroll.conf" --user templates
assert_contains "$OUT" "no valid Kerberos ticket for"
assert_contains "$OUT" "run kinit"

# user mode with an expired ticket
printf '%s\n' "$ADCS_USER_PASSWORD" | KRB5CCNAME="FILE:$SCRATCH/short.cc" kinit -l 2s "$ADCS_USER_PRINCIPAL" > /dev/null 2>&1 \
  || fail "kinit -l 2s as $ADCS_USER_PRINCIPAL failed"
sleep 3
assert_exit 1 env KRB5CCNAME="FILE:$SCRATCH/short.cc" "$ADENROLL" --config "$SCRATCH/adenroll.conf" --user templates
assert_contains "$OUT" "no valid Kerberos ticket for $ADCS_USER_PRINCIPAL: the ticket-granting ticket has expired"

# Machine mode: neither the caller's ccache nor the default one is written.
state() {  # existence, size and checksum of a file
  if [ -e "$1" ]; then printf 'present %s' "$(sha256sum < "$1")"; else printf absent; fi
}
ccfile=${KRB5CCNAME#FILE:}
kinit_user
assert_file "$ccfile"
before_cc=$(state "$ccfile")
default_cc=/tmp/krb5cc_$(id -u)
before_default=$(state "$default_cc")
assert_exit 0 "$ADENROLL" --config "$SCRATCH/adenroll.conf" templates
assert_contains "$OUT" "using the cached ticket of $ADCS_CLIENT_PRINCIPAL"   # the machine ccache of the run above
assert_eq "$before_cc" "$(state "$ccfile")" "caller's ccache $ccfile"
assert_eq "$before_default" "$(state "$default_cc")" "default ccache $default_cc"
klist_out=$(klist 2>&1)
assert_not_contains "$klist_out" "ldap/" "caller's ccache after the machine run"
assert_not_contains "$klist_out" "CLIENT\$" "caller's ccache after the machine run"
# ... and with no KRB5CCNAME at all, the default ccache is still not created or changed
assert_exit 0 env -u KRB5CCNAME "$ADENROLL" --config "$SCRATCH/adenroll.conf" templates
assert_eq "$before_default" "$(state "$default_cc")" "default ccache $default_cc"
exit 0
