#!/bin/bash
# pulse as the machine account: enrolls every template it may autoenroll,
# records a pending request and collects it after approval without a second
# submission, reports a denial with the CA's words and exit code 4, and a
# pulse with nothing to do exits 0 without a single HTTP request to the CA.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
ACCESS=$ADCS_EMU_DIR/state/access.jsonl
ca_http_count() { if [ -f "$ACCESS" ]; then wc -l < "$ACCESS"; else echo 0; fi; }
# submissions (certfnsh.asp) the CA recorded for template $1 by this machine
submissions() {
  local n=0 f
  for f in "$ADCS_EMU_DIR"/state/req-*.json; do
    [ -e "$f" ] || continue
    /usr/bin/python3 - "$f" "$1" <<'PY' && n=$((n + 1))
import json, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if m.get("template") == sys.argv[2] and m.get("requester", "").upper().startswith("CLIENT$") else 1)
PY
  done
  echo "$n"
}
pending_before=$(submissions PendingApproval)

# NeedsEmail is taken out of the CA's list at the end; put it back whatever happens.
republish() {
  domain ldbmodify > /dev/null 2>&1 <<LDIF || true
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
add: certificateTemplates
certificateTemplates: NeedsEmail
LDIF
}
unpublished=0
trap '[ "$unpublished" = 1 ] && republish' EXIT

note "run 1: enroll, pending, denied"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial [0-9A-F]+, expires [0-9-]+T' "pulse output"
assert_match "$OUT" '^ShortLived: enrolled \(serial [0-9A-F]+' "pulse output"
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "pulse output"
assert_contains "$OUT" "NeedsEmail: denied by $ADCS_CA_NAME: " "pulse output"
assert_contains "$OUT" "The email name is unavailable" "the CA's own message"
assert_contains "$OUT" "(0x80094812 CERTSRV_E_SUBJECT_EMAIL_REQUIRED: " "the HRESULT in words"
req=$(printf '%s\n' "$OUT" | sed -n 's/^PendingApproval: pending (request \([0-9]*\) at.*/\1/p')
[ -n "$req" ] || fail "no request id for PendingApproval"

for t in LinuxWorkstation ShortLived; do
  crt=$SCRATCH/certs/$t.crt key=$SCRATCH/certs/$t.key
  assert_file "$crt"
  assert_file "$key"
  assert_eq 600 "$(stat -L -c %a "$key")" "mode of $t.key"
  openssl verify -CAfile "$ADCS_CA_CERT" "$crt" > /dev/null 2>&1 || fail "$t.crt does not verify against the test CA"
  cert_has_ext "$crt" 1.3.6.1.4.1.311.21.7 || fail "$t.crt has no template extension 1.3.6.1.4.1.311.21.7"
  assert_eq "$(openssl x509 -in "$crt" -noout -pubkey | openssl sha256)" \
            "$(openssl pkey -in "$key" -pubout | openssl sha256)" "public key of $t.crt vs $t.key"
done
assert_contains "$(openssl x509 -in "$SCRATCH/certs/LinuxWorkstation.crt" -noout -ext subjectAltName)" \
  "DNS:$ADCS_CLIENT_FQDN" "SAN of LinuxWorkstation"
for t in EnrollOnly DeniedAutoEnroll NotPublished Machine LinuxUser NeedsEmail PendingApproval; do
  assert_no_file "$SCRATCH/certs/$t.crt"
done
assert_eq $((pending_before + 1)) "$(submissions PendingApproval)" "PendingApproval submissions after run 1"
assert_eq 600 "$(stat -c %a "$SCRATCH/state/pending/PendingApproval.key")" "mode of the pending key"

note "run 2: still pending, nothing submitted again"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" "^PendingApproval: pending \\(request $req at $ADCS_CA_NAME\\)" "pulse output"
assert_match "$OUT" '^LinuxWorkstation: valid until ' "pulse output"
assert_eq $((pending_before + 1)) "$(submissions PendingApproval)" "PendingApproval submissions after run 2"

note "run 3: the CA manager approved request $req"
domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
assert_exit 4 "$ADENROLL" --config "$CONF" pulse
assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "pulse output"
assert_file "$SCRATCH/certs/PendingApproval.crt"
openssl verify -CAfile "$ADCS_CA_CERT" "$SCRATCH/certs/PendingApproval.crt" > /dev/null 2>&1 \
  || fail "PendingApproval.crt does not verify"
assert_eq $((pending_before + 1)) "$(submissions PendingApproval)" "PendingApproval submissions after approval"
assert_no_file "$SCRATCH/state/pending/PendingApproval.req"
assert_no_file "$SCRATCH/state/pending/PendingApproval.key"

note "run 4: everything valid (NeedsEmail no longer published): exit 0, no HTTP request"
domain ldbmodify > /dev/null <<LDIF || fail "cannot unpublish NeedsEmail"
dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
delete: certificateTemplates
certificateTemplates: NeedsEmail
LDIF
unpublished=1
before=$(ca_http_count)
assert_exit 0 "$ADENROLL" --config "$CONF" pulse
for t in LinuxWorkstation ShortLived PendingApproval; do
  assert_match "$OUT" "^$t: valid until " "pulse output"
done
assert_not_contains "$OUT" "NeedsEmail" "pulse output"
assert_eq "$before" "$(ca_http_count)" "HTTP requests the CA saw during run 4"
