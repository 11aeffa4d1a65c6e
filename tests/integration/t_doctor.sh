#!/bin/bash
# adenroll doctor against the test domain: every check passes (exit 0); a
# broken configuration (missing keytab, dead DC override, NTLM-free but
# unreachable pieces) gives "fail" lines, each with a "fix:", and exit 1;
# --json carries the same verdicts.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
re() { printf '%s' "$1" | sed 's/[][\.*^$()+?{}|]/\\&/g'; }   # ERE-quote a literal
PRINC=$(re "$ADCS_CLIENT_PRINCIPAL")

note "healthy domain: all checks ok"
assert_exit 0 "$ADENROLL" --config "$CONF" doctor
assert_not_contains "$OUT" "fail  " "doctor output"
assert_match "$OUT" "^ok    config: $CONF loaded \(machine mode\)" "doctor output"
assert_match "$OUT" "^ok    keytab: $ADCS_CLIENT_KEYTAB has $PRINC" "doctor output"
assert_match "$OUT" "^ok    kerberos: ticket for $PRINC" "doctor output"
assert_match "$OUT" "^ok    dns: _ldap\._tcp\.dc\._msdcs\.$ADCS_DOMAIN: .*$ADCS_DC_HOST:389" "doctor output"
assert_match "$OUT" "^ok    ldap: bound to $ADCS_DC_HOST with SASL GSSAPI, security layer sign and seal \(SSF [0-9]+\)" "doctor output"
assert_match "$OUT" "^ok    clock: within [0-9]+ s of $ADCS_DC_HOST" "doctor output"
assert_match "$OUT" "^ok    directory: configuration NC $ADCS_CONFIG_DN; Public Key Services readable" "doctor output"
assert_match "$OUT" "^ok    account: CLIENT\\$: .* templates, [1-9][0-9]* this account may autoenroll" "doctor output"
assert_match "$OUT" "^ok    enrollment services: $ADCS_CA_NAME on $ADCS_CA_HOST \([0-9]+ templates\)" "doctor output"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME: $ADCS_CA_HOST:443 accepts connections" "doctor output"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME tls: https://$ADCS_CA_HOST/ certificate verifies" "doctor output"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME negotiate: /certsrv/ offers Negotiate" "doctor output"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME kerberos: GET /certsrv/ with a ticket for HTTP/$ADCS_CA_HOST: HTTP 200" "doctor output"
assert_match "$OUT" "^ok    libcurl: libcurl [0-9.]+ \(OpenSSL[^)]*, GSS-API, SPNEGO\); Kerberos tokens are made with GSS-API and bound" "doctor output"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME channel binding: sent \(tls-server-end-point, SHA256 of the TLS certificate\) and accepted by the CA" "doctor output"
assert_match "$OUT" "^ok    store pem_dir: $SCRATCH/certs (is writable|will be created)" "doctor output"
assert_match "$OUT" "^ok    store state_dir: " "doctor output"
assert_match "$OUT" "^OK: 0 failed, [0-9]+ warnings, [0-9]+ checks$" "doctor summary"
# every warn line has its fix on the next line
printf '%s\n' "$OUT" | awk '/^warn  / { w = 1; next } w { if ($1 != "fix:") { print "no fix after warn"; exit 1 } w = 0 }' \
  || fail "a warn line without a fix line"

note "--json: the same checks, machine-readable"
assert_exit 0 "$ADENROLL" --config "$CONF" --json doctor
/usr/bin/python3 - "$SCRATCH/last.out" <<'PY' || fail "doctor --json is not what was expected: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["result"] in ("ok", "warn"), doc["result"]
names = [c["check"] for c in doc["checks"]]
for want in ("config", "keytab", "kerberos", "dns", "ldap", "clock", "directory", "enrollment services", "libcurl"):
    assert want in names, (want, names)
for c in doc["checks"]:
    assert c["status"] in ("ok", "warn", "skip"), c
    assert (c["fix"] is not None) == (c["status"] in ("warn", "fail")), c
PY

note "broken: the keytab does not exist"
write_config "$SCRATCH/nokt.conf" "machine.keytab=$SCRATCH/missing.keytab"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/nokt.conf" doctor
assert_match "$OUT" "^fail  keytab: cannot read $SCRATCH/missing.keytab: No such file or directory" "doctor output"
assert_match "$OUT" "^      fix: join the domain" "doctor output"
assert_match "$OUT" "^fail  kerberos: keytab $SCRATCH/missing.keytab does not exist" "doctor output"
assert_match "$OUT" "^skip  ldap: needs a Kerberos ticket" "doctor output"
# checks that do not need a ticket still run
assert_match "$OUT" "^ok    dns: " "doctor output"
assert_match "$OUT" "^ok    libcurl: " "doctor output"
assert_match "$OUT" "^FAIL: [0-9]+ failed" "doctor summary"

note "broken: the only configured DC is dead"
write_config "$SCRATCH/deaddc.conf" "domain.dcs=$ADCS_DC2_HOST"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/deaddc.conf" doctor
assert_match "$OUT" "^ok    kerberos: " "doctor output"
assert_match "$OUT" "^ok    dns: DC override in the configuration: $ADCS_DC2_HOST" "doctor output"
assert_match "$OUT" "^fail  ldap: .*$ADCS_DC2_HOST" "doctor output"
assert_match "$OUT" "^      fix: check dcs = in \[domain\]" "doctor output"
assert_match "$OUT" "^skip  clock: " "doctor output"
assert_match "$OUT" "^skip  directory: " "doctor output"

note "broken: a store directory nobody may write"
touch "$SCRATCH/not-a-dir"
write_config "$SCRATCH/badstore.conf" "store.pem_dir=$SCRATCH/not-a-dir"
assert_exit 1 "$ADENROLL" --config "$SCRATCH/badstore.conf" doctor
assert_match "$OUT" "^fail  store pem_dir: $SCRATCH/not-a-dir is not a directory" "doctor output"
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME kerberos: " "doctor output (the other checks still ran)"

note "user mode without a ticket"
assert_exit 1 env KRB5CCNAME="FILE:$SCRATCH/empty.cc" "$ADENROLL" --config "$CONF" --user doctor
assert_match "$OUT" "^fail  kerberos: no valid Kerberos ticket" "doctor output"
assert_match "$OUT" "^      fix: run kinit" "doctor output"
assert_not_contains "$OUT" "keytab:" "user-mode doctor output"

note "broken: the enrollment service names its host by IP: the TLS name check fails"
set_ca_host() {
  domain ldbmodify > /dev/null <<LDIF
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
replace: dNSHostName
dNSHostName: $1
LDIF
}
trap 'set_ca_host "$ADCS_CA_HOST" || true' EXIT
set_ca_host "$ADCS_CA_IP" || fail "cannot change dNSHostName of $ADCS_CA_NAME"
assert_exit 1 "$ADENROLL" --config "$CONF" doctor
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME: $ADCS_CA_IP:443 accepts connections" "doctor output"
assert_match "$OUT" "^fail  ca $ADCS_CA_NAME tls: TLS verification of $ADCS_CA_IP failed" "doctor output"
assert_match "$OUT" "^      fix: give the web server a certificate for this host name" "doctor output"
set_ca_host "$ADCS_CA_HOST" || fail "cannot restore dNSHostName of $ADCS_CA_NAME"
trap - EXIT
assert_exit 0 "$ADENROLL" --config "$CONF" doctor
