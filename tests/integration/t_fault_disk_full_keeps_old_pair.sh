#!/bin/bash
# The file system of the stores is full (a 128 KiB tmpfs filled to the last
# block): a forced renewal fails before anything is sent to the CA (an issued
# certificate could not be stored and would be lost) with "No space left on
# device" naming the directory, exit 1 (enroll) and 4 (pulse); the held pair
# and the pending request are untouched and no temp file is left.  With
# space again, the same pulse renews and archives the old pair.
. "$TESTS_LIB"

command -v mount > /dev/null || skip "mount not found"
STORE=$SCRATCH/store
mkdir -p "$STORE"
mount -t tmpfs -o size=128k,mode=0755 adenroll-test-full "$STORE" || skip "cannot mount a tmpfs here"
trap 'umount -l "$STORE" 2> /dev/null' EXIT
CONF=$SCRATCH/adenroll.conf
write_config "$CONF" "store.pem_dir=$STORE/certs" "store.archive_dir=$STORE/archive" "store.state_dir=$STORE/state"
C=(--config "$CONF")
ACCESS=$ADCS_EMU_DIR/state/access.jsonl
submissions() { grep -c '"mode": "newreq"' "$ACCESS" 2> /dev/null || true; }

"$ADENROLL" "${C[@]}" pulse > "$SCRATCH/setup.out" 2>&1
for t in LinuxWorkstation ShortLived; do
  [ -e "$STORE/certs/$t.crt" ] || fail "setup pulse did not enroll $t: $(cat "$SCRATCH/setup.out")"
done
assert_file "$STORE/state/pending/PendingApproval.req"
lw=$(pair_state "$STORE/certs" LinuxWorkstation) || exit 1
sl=$(pair_state "$STORE/certs" ShortLived) || exit 1

# fill it: the filler is outside the stores' directories
dd if=/dev/zero of="$STORE/filler" bs=4k > /dev/null 2>&1
assert_eq 0 "$(df -P -k "$STORE" | awk 'NR == 2 {print $4}')" "free KiB on the full tmpfs"
before=$(store_snapshot "$STORE/certs" "$STORE/archive" "$STORE/state/pending")
sub_before=$(submissions)

assert_exit 1 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_match "$OUT" "^LinuxWorkstation: failed: cannot store a new certificate: $STORE/certs: No space left on device" "enroll summary"
assert_contains "$OUT" "no request was sent to $ADCS_CA_NAME" "enroll summary"

assert_exit 4 "$ADENROLL" "${C[@]}" --force pulse
for t in LinuxWorkstation ShortLived; do
  assert_match "$OUT" "^$t: failed: cannot store a new certificate: .*No space left on device" "pulse summary of $t"
done
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "pending request polled"

assert_eq "$sub_before" "$(submissions)" "requests submitted to the CA while the disk was full"
assert_eq "$lw" "$(pair_state "$STORE/certs" LinuxWorkstation)" "LinuxWorkstation pair"
assert_eq "$sl" "$(pair_state "$STORE/certs" ShortLived)" "ShortLived pair"
assert_no_leftovers "$STORE"
now=$(store_snapshot "$STORE/certs" "$STORE/archive" "$STORE/state/pending")
[ "$before" = "$now" ] || fail "the stores changed on a full disk:
$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$now"))"

# space again: the forced renewal goes through, the old pair is archived
rm -f "$STORE/filler"
assert_exit 4 "$ADENROLL" "${C[@]}" --force pulse
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial ' "pulse with space again"
assert_ne "$lw" "$(pair_state "$STORE/certs" LinuxWorkstation)" "LinuxWorkstation pair after the renewal"
old_serial=${lw%% *}
grep -qs "" "$STORE"/archive/LinuxWorkstation/*/cert.pem || fail "nothing archived: $(find "$STORE/archive" 2>&1)"
archived=$(for c in "$STORE"/archive/LinuxWorkstation/*/cert.pem; do openssl x509 -in "$c" -noout -serial | cut -d= -f2; done)
assert_contains "$archived" "$old_serial" "archived serials"
assert_no_leftovers "$STORE"
exit 0
