#!/bin/bash
# A CA that does not answer its web enrollment server (the Error page with
# 0x800706BA RPC_S_SERVER_UNAVAILABLE, 0x800706BB, or "service not started"
# 0x80070426) is transient, never a denial: a pending request survives it
# (in Japanese pages too) and is collected on the run after, with no second
# submission; a new submission fails cleanly without a request at the CA, and
# tries the next CA when another one publishes the template; a certificate
# issued but not readable (certnew.cer answers 0x800706BA) is collected on
# the next run, not requested again.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF" enroll.http_timeout=10
C=(--config "$CONF")
BK=example-BACKUP-CA
BKDN="CN=$BK,CN=Enrollment Services,$ADCS_PKS_DN"
cleanup() {
  domain fault off > /dev/null 2>&1
  domain lang auto > /dev/null 2>&1
  domain ldbmodify > /dev/null 2>&1 <<LDIF
dn: $BKDN
changetype: delete
LDIF
}
trap cleanup EXIT
ca_count() { domain requests | wc -l; }
pending_req() { printf '%s\n' "$OUT" | sed -n "s/^PendingApproval: pending (request \\([0-9]*\\) at $ADCS_CA_NAME).*/\\1/p"; }

note "run 1: PendingApproval is taken under submission"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll PendingApproval
req=$(pending_req)
[ -n "$req" ] || fail "no pending request; output: $OUT"
assert_file "$SCRATCH/state/pending/PendingApproval.key"
count=$(ca_count)
domain requests | grep -q "^$req pending PendingApproval " || fail "request $req is not pending at the CA: $(domain requests)"

note "run 2: the CA answers every poll with 0x800706BA, in Japanese"
domain lang ja > /dev/null || fail "domain.sh lang ja failed"
domain fault rpc --path certnew.cer --count -1 > /dev/null || fail "domain.sh fault rpc failed"
assert_exit 1 "$ADENROLL" "${C[@]}" enroll PendingApproval
assert_contains "$OUT" "PendingApproval: failed: request $req at $ADCS_CA_NAME is kept and asked about again on the next run: the CA is not answering: " "enroll output"
assert_contains "$OUT" "0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)" "enroll output"
assert_contains "$OUT" "(0x800706BA RPC_S_SERVER_UNAVAILABLE: " "enroll output"
assert_not_contains "$OUT" "denied" "enroll output"
assert_file "$SCRATCH/state/pending/PendingApproval.key"
assert_file "$SCRATCH/state/pending/PendingApproval.req"
assert_eq "$count" "$(ca_count)" "requests at the CA after run 2"
assert_exit 1 "$ADENROLL" "${C[@]}" enroll PendingApproval
assert_contains "$OUT" "PendingApproval: failed: request $req at $ADCS_CA_NAME is kept" "enroll output"
assert_eq "$count" "$(ca_count)" "requests at the CA after run 2"

note "run 3: too busy, then the service not started (German)"
domain fault busy --path certnew.cer --count 1 > /dev/null || fail "domain.sh fault busy failed"
assert_exit 1 "$ADENROLL" "${C[@]}" enroll PendingApproval
assert_contains "$OUT" "(0x800706BB RPC_S_SERVER_TOO_BUSY: " "enroll output"
domain lang de > /dev/null
domain fault notstarted --path certnew.cer --count 1 > /dev/null || fail "domain.sh fault notstarted failed"
assert_exit 1 "$ADENROLL" "${C[@]}" enroll PendingApproval
assert_contains "$OUT" "(0x80070426 ERROR_SERVICE_NOT_ACTIVE: " "enroll output"
assert_file "$SCRATCH/state/pending/PendingApproval.key"
assert_eq "$count" "$(ca_count)" "requests at the CA after run 3"

note "run 4: the CA answers again and request $req was approved: collected"
domain fault off > /dev/null
domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll PendingApproval
assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "enroll output"
pair_files "$SCRATCH/certs/PendingApproval.crt" "$SCRATCH/certs/PendingApproval.key" > /dev/null
assert_no_file "$SCRATCH/state/pending/PendingApproval.key"
assert_eq "$count" "$(ca_count)" "requests at the CA after collecting"
domain requests | grep -q "^$req issued PendingApproval " || fail "request $req is not issued at the CA"

note "a new submission while the CA does not answer: failed, nothing at the CA, nothing stored"
domain lang en > /dev/null
domain fault rpc --path certfnsh.asp --count -1 > /dev/null
assert_exit 1 "$ADENROLL" "${C[@]}" enroll LinuxWorkstation
assert_contains "$OUT" "LinuxWorkstation: failed: the CA is not answering: The RPC server is unavailable. 0x800706ba" "enroll output"
assert_contains "$OUT" "(0x800706BA RPC_S_SERVER_UNAVAILABLE: " "enroll output"
assert_eq "$count" "$(ca_count)" "requests at the CA"
assert_no_file "$SCRATCH/certs/LinuxWorkstation.crt"
assert_no_leftovers "$SCRATCH/certs" "$SCRATCH/state"
domain fault off > /dev/null

note "issued, but certnew.cer answers 0x800706BA: the request is kept and collected, not submitted again"
domain fault rpc --path certnew.cer --count 1 > /dev/null
assert_exit 3 "$ADENROLL" "${C[@]}" enroll LinuxWorkstation
assert_contains "$OUT" "holds request" "enroll output"
lw=$(printf '%s\n' "$OUT" | sed -n "s/^LinuxWorkstation: pending (request \\([0-9]*\\) at $ADCS_CA_NAME).*/\\1/p")
[ -n "$lw" ] || fail "LinuxWorkstation is not recorded as pending; output: $OUT"
domain requests | grep -q "^$lw issued LinuxWorkstation " || fail "request $lw is not issued at the CA"
assert_eq $((count + 1)) "$(ca_count)" "requests at the CA"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll LinuxWorkstation
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial [0-9A-F]+' "enroll output"
assert_eq $((count + 1)) "$(ca_count)" "requests at the CA after collecting"
pair_files "$SCRATCH/certs/LinuxWorkstation.crt" "$SCRATCH/certs/LinuxWorkstation.key" > /dev/null
count=$(ca_count)

note "the next CA is tried: $BK (the same host) answers 0x800706BA once"
cader=$(openssl x509 -in "$ADCS_CA_CERT" -outform DER | base64 -w0)
domain ldbmodify > /dev/null <<LDIF || fail "cannot add enrollment service $BK"
dn: $BKDN
changetype: add
objectClass: top
objectClass: pKIEnrollmentService
cn: $BK
displayName: $BK
dNSHostName: $ADCS_CA_HOST
flags: 10
cACertificate:: $cader
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;AU)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
certificateTemplates: LinuxWorkstation
LDIF
domain fault rpc --path certfnsh.asp --count 1 > /dev/null
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
assert_match "$OUT" "LinuxWorkstation: $BK \\($ADCS_CA_HOST\\): the CA is not answering: .*0x800706BA.*; trying the next CA" "failover line"
assert_contains "$OUT" "LinuxWorkstation: submitting a request to $ADCS_CA_NAME " "enroll output"
assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial [0-9A-F]+' "enroll output"
assert_eq $((count + 1)) "$(ca_count)" "requests at the CA: the one that was issued"
