#!/bin/bash
# enroll TEMPLATE by hand needs the Enroll right and a publishing CA, not
# AutoEnroll: EnrollOnly is issued, NotPublished and an unknown template are
# refused with the reason; a valid held certificate is kept, and with
# --force replaced and archived.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"

assert_exit 3 "$ADENROLL" --config "$CONF" enroll EnrollOnly
assert_match "$OUT" '^EnrollOnly: enrolled \(serial ' "enroll output"
assert_file "$SCRATCH/certs/EnrollOnly.crt"
first=$(openssl x509 -in "$SCRATCH/certs/EnrollOnly.crt" -noout -serial)

# a valid certificate is kept without --force, replaced with it
assert_exit 0 "$ADENROLL" --config "$CONF" enroll EnrollOnly
assert_contains "$OUT" "EnrollOnly: a valid certificate is held" "enroll output"
assert_eq "$first" "$(openssl x509 -in "$SCRATCH/certs/EnrollOnly.crt" -noout -serial)" "serial without --force"
assert_exit 3 "$ADENROLL" --config "$CONF" --force enroll EnrollOnly
second=$(openssl x509 -in "$SCRATCH/certs/EnrollOnly.crt" -noout -serial)
assert_ne "$first" "$second" "serial after enroll --force"
[ -n "$(ls -A "$SCRATCH/archive" 2>/dev/null)" ] || fail "the replaced certificate was not archived"

assert_exit 1 "$ADENROLL" --config "$CONF" enroll NotPublished
assert_contains "$OUT" "cannot enroll for NotPublished" "refusal"
assert_contains "$OUT" "publish" "refusal reason"
assert_no_file "$SCRATCH/certs/NotPublished.crt"

assert_exit 2 "$ADENROLL" --config "$CONF" enroll NoSuchTemplate
assert_contains "$OUT" 'no certificate template named "NoSuchTemplate"' "error"
