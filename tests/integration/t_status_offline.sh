#!/bin/bash
# `adenroll status` needs no directory: with an unreachable DC it still lists
# what is stored (nothing yet), pending requests and the last run, and its
# JSON parses.
. "$TESTS_LIB"

write_config "$SCRATCH/adenroll.conf" domain.dcs=192.0.2.1 domain.domain=invalid.example
assert_exit 0 "$ADENROLL" --config "$SCRATCH/adenroll.conf" status
assert_contains "$OUT" "No managed certificates."
assert_contains "$OUT" "Last run: never"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/adenroll.conf" --json status
/usr/bin/python3 - "$SCRATCH/last.out" <<'PY' || fail "status --json is not the expected JSON: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["certificates"] == [] and doc["pending"] == [] and doc["last_run"] is None, doc
assert doc["mode"] == "machine", doc
PY
exit 0
