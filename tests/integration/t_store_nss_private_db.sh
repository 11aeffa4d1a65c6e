#!/bin/bash
# An NSS database that group or others can read (as RHEL ships
# /etc/pki/nssdb: directory 0755, key4.db 0644) never gets a private key:
# enroll fails before any request reaches the CA, saying what to do, and the
# database holds no key.  Made private (700/600), the same database takes
# the pair.
. "$TESTS_LIB"

command -v certutil > /dev/null || skip "certutil not installed (libnss3-tools)"
"$ADENROLL" --version 2>&1 | grep -q "NSS database stores: yes" || skip "adenroll built without NSS (configure --with-nss)"

T=LinuxWorkstation
DB=$SCRATCH/shared-nssdb
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" "store.types=nss" "store.nss_db=sql:$DB"
mkdir -m 755 "$DB"
certutil -N -d "sql:$DB" --empty-password || fail "certutil -N failed"
chmod 644 "$DB/key4.db"

note "world-readable database: refused before the request"
before=$(emu_request_count)
"$ADENROLL" --config "$CONF" enroll $T > "$SCRATCH/refused.out" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 3 ] || fail "enroll into a world-readable database exited $rc: $(tail -n 20 "$SCRATCH/refused.out")"
out=$(cat "$SCRATCH/refused.out")
assert_contains "$out" "readable or writable by group or others" "enroll output"
assert_contains "$out" "chmod 700 $DB" "enroll output (what to do)"
assert_contains "$out" "no request was sent" "enroll output"
assert_eq "$before" "$(emu_request_count)" "requests the CA received"
keys=$(certutil -K -d "sql:$DB" < /dev/null 2>&1 | grep -c "adenroll-")
assert_eq 0 "$keys" "keys in the world-readable database"

note "the same database made private takes the pair"
chmod 700 "$DB"
chmod 600 "$DB/key4.db"
assert_exit 3 "$ADENROLL" --config "$CONF" enroll $T
list=$(certutil -L -d "sql:$DB") || fail "certutil -L failed: $list"
assert_contains "$list" "adenroll-$T" "certutil -L"
assert_eq 1 "$(certutil -K -d "sql:$DB" < /dev/null 2>&1 | grep -c "adenroll-$T")" "keys of $T in the private database"
exit 0
