#!/bin/bash
# NSS database store and trust anchors (docs/stores.md): pulse with
# types = pem, nss puts LinuxWorkstation into a new sql: database under
# nickname adenroll-LinuxWorkstation (the same certificate as the PEM store,
# with its key: certutil -V validates it for TLS client use, and the key
# exported by pk12util matches), and writes the directory's roots to
# anchors_dir (the test CA; adenroll-roots.pem verifies the issued
# certificate).  A forced replacement archives the old NSS pair; an
# install killed after the new certificate went in leaves both complete
# pairs, and the next run leaves exactly one.
. "$TESTS_LIB"

command -v certutil > /dev/null || skip "certutil not installed (libnss3-tools)"
command -v pk12util > /dev/null || skip "pk12util not installed (libnss3-tools)"
"$ADENROLL" --version 2>&1 | grep -q "NSS database stores: yes" || skip "adenroll built without NSS (configure --with-nss)"

DB=$SCRATCH/nssdb
NICK=adenroll-LinuxWorkstation
ANCHORS=$SCRATCH/anchors
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" "store.types=pem, nss" "store.nss_db=sql:$DB" "store.anchors_dir=$ANCHORS" \
  "store.pinned_dcs=$ADCS_DC_HOST"   # the roots of its directory may be trusted (trust_policy.h)
C=(--config "$CONF")
fingerprint() { openssl x509 -noout -fingerprint -sha256 "$@" | cut -d= -f2; }
# The pair NSS readers get for the nickname, exported with pk12util (certutil -L -n
# would also print every other certificate with the same subject, e.g. ShortLived's).
nss_export() {
  rm -f "$SCRATCH/nss.p12"
  pk12util -o "$SCRATCH/nss.p12" -n "$NICK" -d "sql:$DB" -W pw > /dev/null 2>&1 || fail "pk12util could not export $NICK"
}
nss_pem() { openssl pkcs12 -in "$SCRATCH/nss.p12" -passin pass:pw -nokeys -clcerts 2>/dev/null; }
nss_key_pub() { openssl pkcs12 -in "$SCRATCH/nss.p12" -passin pass:pw -nocerts -nodes 2>/dev/null | openssl pkey -pubout; }
# certificates under the nickname (certutil -L lists one line per certificate)
nss_count() { certutil -L -d "sql:$DB" | grep -c "^$NICK "; }

note "pulse into pem + nss, anchors from LDAP"
"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/pulse.out" 2>&1
rc=$?
[ $rc = 3 ] || [ $rc = 4 ] || fail "pulse exited $rc; output: $(tail -n 40 "$SCRATCH/pulse.out")"
assert_contains "$(cat "$SCRATCH/pulse.out")" "LinuxWorkstation: enrolled" "pulse output"

list=$(certutil -L -d "sql:$DB") || fail "certutil -L failed: $list"
assert_match "$list" "^$NICK +u,u,u" "certutil -L (user certificate with its key)"
assert_match "$list" "CT,C,C" "certutil -L (the chain's root, trusted)"
out=$(certutil -V -u C -n "$NICK" -d "sql:$DB" 2>&1) || fail "certutil -V -u C failed: $out"
assert_contains "$out" "certificate is valid" "certutil -V"
nss_export
assert_eq "$(fingerprint -in "$SCRATCH/certs/LinuxWorkstation.crt")" "$(nss_pem | fingerprint)" \
  "the NSS certificate is the PEM store's"
nss_pem | openssl verify -CAfile "$ADCS_CA_CERT" > /dev/null 2>&1 || fail "the NSS certificate does not verify against the test CA"
assert_eq "$(nss_pem | openssl x509 -noout -pubkey)" "$(nss_key_pub)" "NSS key matches the NSS certificate"

assert_exit 0 "$ADENROLL" "${C[@]}" --json status
/usr/bin/python3 - "$SCRATCH/last.out" <<'PY' || fail "status --json does not list the NSS copy: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
c = [x for x in doc["certificates"] if x["template"] == "LinuxWorkstation"]
assert sorted(x["store"] for x in c) == ["nss", "pem"], c
PY

note "anchors"
ls "$ANCHORS"/adenroll-*.crt > /dev/null 2>&1 || fail "no root written to $ANCHORS: $(ls -R "$ANCHORS" 2>&1)"
ca_fp=$(fingerprint -in "$ADCS_CA_CERT")
found=0
for f in "$ANCHORS"/adenroll-*.crt; do
  [ "$(fingerprint -in "$f")" = "$ca_fp" ] && found=1
done
[ $found = 1 ] || fail "the test CA is not among the anchors: $(ls "$ANCHORS")"
openssl verify -CAfile "$ANCHORS/adenroll-roots.pem" "$SCRATCH/certs/LinuxWorkstation.crt" > /dev/null 2>&1 \
  || fail "openssl verify -CAfile adenroll-roots.pem failed"
touch -d '2000-01-01' "$ANCHORS/adenroll-roots.pem"
echo "not ours" > "$ANCHORS/local.crt"
"$ADENROLL" "${C[@]}" pulse > /dev/null 2>&1
assert_eq 946684800 "$(stat -c %Y "$ANCHORS/adenroll-roots.pem")" "unchanged bundle not rewritten (mtime)"
assert_eq "not ours" "$(cat "$ANCHORS/local.crt")" "a file adenroll did not write"

note "replacement archives the old NSS pair"
nss_export
serial1=$(nss_pem | openssl x509 -noout -serial | cut -d= -f2)
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
nss_export
serial2=$(nss_pem | openssl x509 -noout -serial | cut -d= -f2)
assert_ne "$serial1" "$serial2" "NSS serial after replacement"
assert_eq 1 "$(nss_count)" "certificates under $NICK"
assert_eq "$(fingerprint -in "$SCRATCH/certs/LinuxWorkstation.crt")" "$(nss_pem | fingerprint)" "NSS and PEM agree"
arch=$(find "$SCRATCH/archive/nss/LinuxWorkstation" -mindepth 1 -maxdepth 1 -type d ! -name '.*' 2>/dev/null | head -n1)
[ -n "$arch" ] || fail "nothing archived: $(find "$SCRATCH/archive" 2>&1)"
assert_eq "$serial1" "$(openssl x509 -in "$arch/cert.pem" -noout -serial | cut -d= -f2)" "archived serial"
assert_eq 600 "$(stat -c %a "$arch/key.pem")" "archived key mode"
assert_eq "$(openssl x509 -in "$arch/cert.pem" -noout -pubkey)" "$(openssl pkey -in "$arch/key.pem" -pubout)" \
  "archived key matches archived certificate"

note "SIGKILL after the new certificate went in"
ADENROLL_TEST_CRASH_AT=nss-cert "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation > "$SCRATCH/crash.out" 2>&1
rc=$?
assert_eq 137 "$rc" "exit status of the killed run"
# Both pairs are complete (NSS readers take the newer: test_store_nss.c checks that through NSS).
assert_eq 2 "$(nss_count)" "certificates under $NICK after the crash"
assert_eq 2 "$(certutil -K -d "sql:$DB" < /dev/null 2>&1 | grep -c "$NICK")" "keys labelled $NICK after the crash"
out=$(certutil -V -u C -n "$NICK" -d "sql:$DB" 2>&1) || fail "certutil -V after the crash: $out"
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_eq 1 "$(nss_count)" "certificates under $NICK after recovery"
nss_export
assert_eq "$(fingerprint -in "$SCRATCH/certs/LinuxWorkstation.crt")" "$(nss_pem | fingerprint)" "NSS and PEM agree"
assert_eq "$(nss_pem | openssl x509 -noout -pubkey)" "$(nss_key_pub)" "NSS key matches the NSS certificate"
keys=$(certutil -K -d "sql:$DB" < /dev/null 2>&1 | grep -c "$NICK")
assert_eq 1 "$keys" "private keys labelled $NICK"
exit 0
