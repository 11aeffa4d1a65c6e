#!/bin/bash
# The stores' file system is read-only (a tmpfs remounted ro: root ignores
# permissions, not that): enroll and a forced pulse fail before anything is
# sent to the CA with "Read-only file system" naming the directory, exit 1
# and 4; the pairs, the archive and the pending request stay as they were,
# status still reads them; writable again, the renewal goes through.
. "$TESTS_LIB"

STORE=$SCRATCH/store
mkdir -p "$STORE"
mount -t tmpfs -o size=1m,mode=0755 adenroll-test-ro "$STORE" || skip "cannot mount a tmpfs here"
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
# one replaced pair in the archive, so that the archive has something to keep
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
lw=$(pair_state "$STORE/certs" LinuxWorkstation) || exit 1
before=$(store_snapshot "$STORE/certs" "$STORE/archive" "$STORE/state/pending")
sub_before=$(submissions)

mount -o remount,ro "$STORE" || skip "cannot remount the tmpfs read-only"
touch "$STORE/certs/probe" 2> /dev/null && fail "the remounted store is still writable"

assert_exit 1 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_match "$OUT" "^LinuxWorkstation: failed: cannot store a new certificate: $STORE/certs: Read-only file system; no request was sent to $ADCS_CA_NAME" "enroll summary"

assert_exit 4 "$ADENROLL" "${C[@]}" --force pulse
for t in LinuxWorkstation ShortLived; do
  assert_match "$OUT" "^$t: failed: cannot store a new certificate: $STORE/certs: Read-only file system" "pulse summary of $t"
done
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "pending request polled"
assert_eq "$sub_before" "$(submissions)" "requests submitted to the CA while the store was read-only"

assert_exit 0 "$ADENROLL" "${C[@]}" status
assert_match "$OUT" "^LinuxWorkstation +[0-9T:-]+Z" "status on a read-only store"

assert_eq "$lw" "$(pair_state "$STORE/certs" LinuxWorkstation)" "LinuxWorkstation pair"
now=$(store_snapshot "$STORE/certs" "$STORE/archive" "$STORE/state/pending")
[ "$before" = "$now" ] || fail "the stores changed:
$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$now"))"

mount -o remount,rw "$STORE" || fail "cannot remount the store read-write"
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_ne "$lw" "$(pair_state "$STORE/certs" LinuxWorkstation)" "LinuxWorkstation pair once writable"
assert_no_leftovers "$STORE"
exit 0
