#!/bin/bash
# pulse --dry-run decides and builds requests but submits nothing and writes
# nothing: no file in the stores, no request at the CA.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
ACCESS=$ADCS_EMU_DIR/state/access.jsonl
count() { if [ -f "$ACCESS" ]; then wc -l < "$ACCESS"; else echo 0; fi; }
before=$(count)
assert_exit 0 "$ADENROLL" --config "$CONF" --dry-run pulse
assert_match "$OUT" "^LinuxWorkstation: would enroll \\(no certificate held.*\\): would submit a request \\(RSA 2048 key\\) to $ADCS_CA_NAME \\($ADCS_CA_HOST\\)" "dry-run output"
assert_match "$OUT" "^PendingApproval: would enroll " "dry-run output"
assert_eq "$before" "$(count)" "HTTP requests the CA saw"
[ -z "$(ls -A "$SCRATCH/certs" 2>/dev/null)" ] || fail "dry run wrote into $SCRATCH/certs: $(ls -A "$SCRATCH/certs")"
[ ! -e "$SCRATCH/state/pending" ] || [ -z "$(ls -A "$SCRATCH/state/pending")" ] || fail "dry run recorded a pending request"
