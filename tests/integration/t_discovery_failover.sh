#!/bin/bash
# A dead domain controller first in line (configured, or first in DNS SRV
# order) is logged and skipped; discovery succeeds through the next one.
. "$TESTS_LIB"

# 1. configured order: dcs = dead, live
write_config "$SCRATCH/override.conf" "domain.dcs=$ADCS_DC2_HOST $ADCS_DC_HOST"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/override.conf" templates
assert_contains "$OUT" "domain controller $ADCS_DC2_HOST:389 failed: cannot connect"
assert_contains "$OUT" "bound to $ADCS_DC_HOST after 1 failed domain controller"
assert_match "$OUT" 'LinuxWorkstation .* ELIGIBLE'

# 2. DNS SRV order: dc2 at priority 0, dc at priority 10 (RFC 2782: lowest first)
trap 'domain srv-dead-first off >/dev/null 2>&1' EXIT
domain srv-dead-first on > /dev/null 2>&1 || fail "cannot put the dead DC first in SRV"
srv=$(host -t SRV "_ldap._tcp.dc._msdcs.$ADCS_DOMAIN" 2>&1)
assert_contains "$srv" "0 100 389 $ADCS_DC2_HOST" "SRV records"
write_config "$SCRATCH/srv.conf"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/srv.conf" -v templates
assert_contains "$OUT" "SRV _ldap._tcp.dc._msdcs.$ADCS_DOMAIN: $ADCS_DC2_HOST:389 (priority 0"
assert_contains "$OUT" "domain controller $ADCS_DC2_HOST:389 failed"
assert_contains "$OUT" "bound to $ADCS_DC_HOST after 1 failed domain controller"
assert_match "$OUT" 'LinuxWorkstation .* ELIGIBLE'

# 3. every DC dead: one error naming each DC and why, exit 1
write_config "$SCRATCH/dead.conf" "domain.dcs=$ADCS_DC2_HOST nosuchdc.$ADCS_DOMAIN"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/dead.conf" templates
assert_contains "$OUT" "cannot bind to any domain controller"
assert_match "$OUT" "  $ADCS_DC2_HOST:389: cannot connect"
assert_match "$OUT" "  nosuchdc.$ADCS_DOMAIN:389: cannot resolve host name"
# ... and pulse gives up the same way, before anything is stored
assert_exit 1 "$ADENROLL" --config "$SCRATCH/dead.conf" pulse
assert_contains "$OUT" "cannot bind to any domain controller"
assert_match "$OUT" "  $ADCS_DC2_HOST:389: cannot connect"
[ -z "$(ls -A "$SCRATCH/certs" 2>/dev/null)" ] || fail "pulse stored something: $(ls -A "$SCRATCH/certs")"
exit 0
