#!/bin/bash
# Supersedence (docs/protocol.md 5.2 step 7): the machine holds a certificate of
# template A; template B (eligible: AutoEnroll for Domain Computers,
# published) appears with A in msPKI-Supersede-Templates.  `templates` shows
# A superseded by B, explain says why B re-enrolls, the next pulse enrolls B
# and archives A's certificate, and a further pulse does nothing.
. "$TESTS_LIB"

A=LifecycleOld B=LifecycleNew
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")

cleanup() {
  ad_template_remove "$B" "$A"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
# NeedsEmail is denied on every run (exit 4): unpublished for this test
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$A" 1.203 $((365 * 86400)) $((42 * 86400)) || fail "cannot add template $A"

note "pulse 1: enroll $A"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$A: enrolled \\(serial [0-9A-F]+" "pulse 1 output"
assert_file "$SCRATCH/certs/$A.crt"
a_serial=$(cert_serial "$SCRATCH/certs/$A.crt")
a_fp=$(openssl x509 -in "$SCRATCH/certs/$A.crt" -noout -fingerprint -sha256)

note "template $B supersedes $A"
ad_template_add "$B" 1.204 $((365 * 86400)) $((42 * 86400)) "msPKI-Supersede-Templates: $A" \
  || fail "cannot add template $B"

assert_exit 0 "$ADENROLL" "${C[@]}" templates
assert_match "$OUT" "^$A +$A +2 +machine +not eligible +superseded by eligible template $B " "templates: $A"
assert_match "$OUT" "^$B +$B +2 +machine +ELIGIBLE " "templates: $B"
"$ADENROLL" "${C[@]}" --json templates > "$SCRATCH/templates.json" 2> /dev/null || fail "templates --json failed"
/usr/bin/python3 - "$SCRATCH/templates.json" "$A" "$B" <<'PY' || fail "templates --json: $(cat "$SCRATCH/templates.json")"
import json, sys
doc = {t["cn"]: t for t in json.load(open(sys.argv[1]))}
a, b = doc[sys.argv[2]], doc[sys.argv[3]]
assert a["code"] == "superseded" and not a["eligible"] and a["superseded_by"] == sys.argv[3], a
assert b["eligible"] and b["superseded_by"] is None, b
PY

assert_exit 0 "$ADENROLL" "${C[@]}" explain "$B"
assert_contains "$OUT" "  superseded:    the held certificate is of template $A, which $B supersedes" "explain $B"
assert_contains "$OUT" "  decision:      reenroll: held certificate is of template $A, superseded by $B: re-enroll" \
  "explain $B"

note "pulse 2: enroll $B, archive $A's certificate"
reqs=$(emu_request_count)
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$B: enrolled \\(serial [0-9A-F]+" "pulse 2 output"
assert_contains "$OUT" "$A: superseded certificate archived to " "pulse 2 log"
assert_not_contains "$(printf '%s\n' "$OUT" | grep -v '^adenroll: ')" "$A:" "pulse 2 summary"
assert_eq $((reqs + 1)) "$(emu_request_count)" "requests the CA received during pulse 2"
assert_eq "$B" "$(emu_request_field "$(emu_last_request_id)" template)" "template of the CA's request"
pair_files "$SCRATCH/certs/$B.crt" "$SCRATCH/certs/$B.key" > /dev/null
openssl verify -CAfile "$ADCS_CA_CERT" "$SCRATCH/certs/$B.crt" > /dev/null 2>&1 || fail "$B.crt does not verify"
assert_no_file "$SCRATCH/certs/$A.crt"
assert_no_file "$SCRATCH/certs/$A.key"
assert_not_contains "$(cat "$SCRATCH/certs/index")" "$A" "store index"
found=0
while IFS= read -r f; do
  [ "$(openssl x509 -in "$f" -noout -fingerprint -sha256)" = "$a_fp" ] && { found=1; arch=$f; }
done < <(find "$SCRATCH/archive" -name cert.pem -type f)
[ $found = 1 ] || fail "$A's certificate (serial $a_serial) is not in the archive: $(find "$SCRATCH/archive")"
pair_files "$arch" "$(dirname "$arch")/key.pem" > /dev/null
"$ADENROLL" "${C[@]}" --json status > "$SCRATCH/status.json" 2> /dev/null || fail "status --json failed"
/usr/bin/python3 - "$SCRATCH/status.json" "$A" "$B" <<'PY' || fail "status --json: $(cat "$SCRATCH/status.json")"
import json, sys
cns = [c["template"] for c in json.load(open(sys.argv[1]))["certificates"]]
assert sys.argv[3] in cns and sys.argv[2] not in cns, cns
PY

note "pulse 3: nothing to do"
reqs=$(emu_request_count)
b_serial=$(cert_serial "$SCRATCH/certs/$B.crt")
assert_exit 0 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$B: valid until " "pulse 3 output"
assert_not_contains "$OUT" "$A" "pulse 3 output"
assert_eq "$reqs" "$(emu_request_count)" "requests the CA received during pulse 3"
assert_eq "$b_serial" "$(cert_serial "$SCRATCH/certs/$B.crt")" "serial of $B after pulse 3"
exit 0
