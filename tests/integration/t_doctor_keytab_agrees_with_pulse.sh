#!/bin/bash
# doctor and pulse choose the keytab entry with the same code (krb.h
# krb_keytab_choose), so they agree: with two computer accounts in the keytab
# and neither named after the host, both refuse with the same sentence; with
# one, both use it; with a configured principal the keytab lacks, both refuse.
. "$TESTS_LIB"

KT2=$SCRATCH/two.keytab
cp "$ADCS_CLIENT_KEYTAB" "$KT2" || fail "cannot copy $ADCS_CLIENT_KEYTAB"
# a second computer account (its key is never used: the choice fails first)
printf 'addent -password -p OTHER$@%s -k 1 -e aes256-cts-hmac-sha1-96\nnot-the-real-one\nwkt %s\nquit\n' \
  "$ADCS_REALM" "$KT2" | ktutil > /dev/null 2>&1
klist -k "$KT2" | grep -q "OTHER\\\$@$ADCS_REALM" || fail "ktutil did not add OTHER\$ to $KT2"
klist -k "$KT2" | grep -q "CLIENT\\\$@$ADCS_REALM" || fail "$KT2 lacks CLIENT\$"

# keytab line minus "; it holds: ...": the sentence pulse must log too
doctor_reason() { printf '%s\n' "$1" | sed -n 's/^fail  keytab: \(.*\); it holds: .*/\1/p' | head -n 1; }

note "two computer accounts, neither is this host's: doctor and pulse refuse alike"
write_config "$SCRATCH/two.conf" "machine.keytab=$KT2" "machine.host_fqdn=elsewhere.$ADCS_DOMAIN"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/two.conf" doctor
DOC=$OUT
assert_match "$DOC" "^fail  keytab: keytab $KT2 has several computer accounts and none matches this host \(ELSEWHERE\\\$@$ADCS_REALM\)" "doctor output"
assert_not_contains "$DOC" "would use" "doctor output"
assert_match "$DOC" "^      fix: set principal = in \[machine\]" "doctor output"
assert_match "$DOC" "^fail  kerberos: .*several computer accounts" "doctor output"
assert_match "$DOC" "^skip  ldap: needs a Kerberos ticket" "doctor output"
reason=$(doctor_reason "$DOC")
[ -n "$reason" ] || fail "no reason on doctor's keytab line: $DOC"
"$ADENROLL" --config "$SCRATCH/two.conf" pulse > "$SCRATCH/pulse.out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "pulse succeeded with a keytab doctor refuses: $(cat "$SCRATCH/pulse.out")"
assert_contains "$(cat "$SCRATCH/pulse.out")" "$reason" "pulse output (the reason doctor gave)"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/two.conf" --json doctor
/usr/bin/python3 - "$SCRATCH/last.out" "$reason" <<'PY' || fail "doctor --json does not fail the keytab check: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
kt = [c for c in doc["checks"] if c["check"] == "keytab"]
assert len(kt) == 1 and kt[0]["status"] == "fail", kt
assert kt[0]["detail"].startswith(sys.argv[2]), kt
assert doc["error"]["check"] == "keytab", doc["error"]
PY

note "the configured principal names the right account: both use it"
write_config "$SCRATCH/named.conf" "machine.keytab=$KT2" "machine.host_fqdn=elsewhere.$ADCS_DOMAIN" \
  "machine.principal=client\$"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/named.conf" doctor
assert_match "$OUT" "^ok    keytab: $KT2 has CLIENT\\\$@$ADCS_REALM" "doctor output"
assert_match "$OUT" "^ok    kerberos: ticket for CLIENT\\\$@$ADCS_REALM" "doctor output"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/named.conf" --dry-run pulse
assert_match "$OUT" "Kerberos: (got a ticket for|using the cached ticket of) CLIENT\\\$@$ADCS_REALM" "pulse output"

note "a configured principal the keytab lacks: both refuse alike"
write_config "$SCRATCH/missing.conf" "machine.keytab=$KT2" "machine.principal=NOBODY\$"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/missing.conf" doctor
assert_match "$OUT" "^fail  keytab: keytab $KT2 has no key for principal NOBODY\\\$@$ADCS_REALM" "doctor output"
reason=$(doctor_reason "$OUT")
"$ADENROLL" --config "$SCRATCH/missing.conf" pulse > "$SCRATCH/pulse.out" 2>&1 && fail "pulse succeeded without a key"
assert_contains "$(cat "$SCRATCH/pulse.out")" "$reason" "pulse output (the reason doctor gave)"

note "one computer account, not named after the host: doctor warns, and both use it"
write_config "$SCRATCH/one.conf" "machine.host_fqdn=elsewhere.$ADCS_DOMAIN"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/one.conf" doctor
assert_match "$OUT" "^warn  keytab: $ADCS_CLIENT_KEYTAB has no ELSEWHERE\\\$@$ADCS_REALM; adenroll uses its only computer account CLIENT\\\$@$ADCS_REALM" "doctor output"
assert_match "$OUT" "^ok    kerberos: ticket for CLIENT\\\$@$ADCS_REALM" "doctor output"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/one.conf" --dry-run pulse
assert_match "$OUT" "Kerberos: (got a ticket for|using the cached ticket of) CLIENT\\\$@$ADCS_REALM" "pulse output"
