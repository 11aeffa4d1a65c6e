#!/bin/bash
# --user with alice's own ticket: `enroll LinuxUser` gets a certificate whose
# subject is her directory path and whose SAN carries her UPN; a following
# `--user pulse` keeps it (exit 0) and the machine's stores stay untouched.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" user.pem_dir="$SCRATCH/ucerts" user.archive_dir="$SCRATCH/uarchive" \
  user.state_dir="$SCRATCH/ustate"
kinit_user

assert_exit 3 "$ADENROLL" --config "$CONF" --user enroll LinuxUser
assert_match "$OUT" '^LinuxUser: enrolled \(serial [0-9A-F]+, expires ' "enroll output"
crt=$SCRATCH/ucerts/LinuxUser.crt
assert_file "$crt"
assert_eq 600 "$(stat -L -c %a "$SCRATCH/ucerts/LinuxUser.key")" "mode of LinuxUser.key"
openssl verify -CAfile "$ADCS_CA_CERT" "$crt" > /dev/null 2>&1 || fail "LinuxUser.crt does not verify"
cert_has_ext "$crt" 1.3.6.1.4.1.311.21.7 || fail "LinuxUser.crt has no template extension"
subject=$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253)
assert_contains "$subject" "CN=alice,CN=Users,DC=" "subject of LinuxUser.crt"
# the UPN otherName (1.3.6.1.4.1.311.20.2.3) in the SAN; OpenSSL prints it as "UPN::"
san=$(openssl x509 -in "$crt" -noout -ext subjectAltName 2>/dev/null)
printf '%s\n' "$san" | grep -qi 'UPN::alice@' || fail "no UPN for alice in the SAN of LinuxUser.crt: $san"
# the CA recorded alice as the requester
id=$(emu_last_request_id)
assert_contains "$(emu_request_field "$id" requester)" "alice@" "requester of request $id"
[ -z "$(ls -A "$SCRATCH/certs" 2>/dev/null)" ] || fail "user mode wrote into the machine store"

assert_exit 0 "$ADENROLL" --config "$CONF" --user pulse
assert_match "$OUT" '^LinuxUser: valid until ' "user pulse output"

# a machine template is not enrollable as a user
assert_exit 1 "$ADENROLL" --config "$CONF" --user enroll LinuxWorkstation
assert_contains "$OUT" "machine template" "refusal"
