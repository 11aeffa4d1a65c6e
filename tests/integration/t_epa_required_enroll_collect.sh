#!/bin/bash
# A CA whose /certsrv requires channel binding (Extended Protection
# "Required", domain.sh epa required): the front really enforces it (a token
# without bindings, from curl --negotiate or from a GSS-API client, and one
# with a corrupted binding are refused, the right binding passes), and
# adenroll, on the system's libcurl whatever its version, enrolls, and
# collects a pending request after approval, every request bound.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain epa stop > /dev/null 2>&1' EXIT
domain epa required > /dev/null || fail "cannot put the channel-binding front on $ADCS_EPA_LISTEN"
assert_eq "required tls.pem" "$(domain epa show)" "front mode"

note "the front enforces the binding"
kinit_client
assert_eq 200 "$(epa_client right)" "token with the right binding (the control)"
n=$(epa_auth_lines)
assert_eq 401 "$(epa_client corrupt)" "token with a corrupted binding"
assert_eq 401 "$(epa_client none)" "token without binding"
assert_match "$(epa_auth_since "$n")" '"result": "bad-bindings"' "front's log for the corrupted binding"
assert_match "$(epa_auth_since "$n")" '"result": "unbound"' "front's log for the unbound token"
curl_num=$(curl-config --vernum 2>/dev/null || echo 0)
if [ $((16#$curl_num)) -lt $((16#080a00)) ]; then
  # libcurl before 8.10 sends no channel bindings: refused
  n=$(epa_auth_lines)
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" --negotiate -u : "$ADCS_EPA_URL/")
  assert_eq 401 "$code" "curl $(curl-config --version 2>/dev/null) --negotiate"
  assert_match "$(epa_auth_since "$n")" '"result": "unbound"' "front's log for curl --negotiate"
else
  note "libcurl $(curl-config --version) sends bindings itself: the curl --negotiate refusal is not checked"
fi
kdestroy > /dev/null 2>&1

# adenroll's libcurl is the system's (Debian 12: 7.88, no channel binding of its own)
note "$("$ADENROLL" --version | grep -i libcurl)"

note "enroll through the front"
n=$(epa_auth_lines)
assert_exit 3 "$ADENROLL" --config "$CONF" enroll EnrollOnly
assert_match "$OUT" '^EnrollOnly: enrolled \(serial [0-9A-F]+' "enroll output"
openssl verify -CAfile "$ADCS_CA_CERT" "$SCRATCH/certs/EnrollOnly.crt" > /dev/null 2>&1 \
  || fail "EnrollOnly.crt does not verify"
log=$(epa_auth_since "$n")
# every request, the first included, carries a token bound to the
# connection's certificate and is accepted: none goes without a token
assert_match "$log" "\"result\": \"ok\", \"channel_bound\": true, \"user\": \"CLIENT\\\$@$ADCS_REALM\", \"hash\": \"sha256\", \"request\": \"POST /certsrv/certfnsh.asp" "front's log"
assert_not_contains "$log" '"result": "bad-bindings"' "front's log"
assert_not_contains "$log" '"result": "unbound"' "front's log"
assert_not_contains "$log" '"result": "no-token"' "front's log"
assert_not_contains "$log" '"channel_bound": false, "user": "' "front's log"

note "pending, approved, collected"
pending_submissions() { grep -l '"template": "PendingApproval"' "$ADCS_EMU_DIR"/state/req-*.json 2>/dev/null | wc -l; }
pending_before=$(pending_submissions)
assert_exit 3 "$ADENROLL" --config "$CONF" enroll PendingApproval
assert_match "$OUT" "^PendingApproval: pending \\(request [0-9]+ at $ADCS_CA_NAME\\)" "enroll output"
req=$(printf '%s\n' "$OUT" | sed -n 's/^PendingApproval: pending (request \([0-9]*\) at.*/\1/p')
[ -n "$req" ] || fail "no request id for PendingApproval"
assert_eq "$ADCS_CLIENT_PRINCIPAL" "$(emu_request_field "$req" requester)" "requester the CA recorded"
domain approve "$req" > /dev/null || fail "domain.sh approve $req failed"
n=$(epa_auth_lines)
assert_exit 3 "$ADENROLL" --config "$CONF" enroll PendingApproval
assert_match "$OUT" '^PendingApproval: enrolled \(serial [0-9A-F]+' "enroll output after approval"
assert_no_file "$SCRATCH/state/pending/PendingApproval.req"
openssl verify -CAfile "$ADCS_CA_CERT" "$SCRATCH/certs/PendingApproval.crt" > /dev/null 2>&1 \
  || fail "PendingApproval.crt does not verify"
assert_match "$(epa_auth_since "$n")" "\"result\": \"ok\", \"channel_bound\": true, .*\"request\": \"GET /certsrv/certnew.cer\\?ReqID=$req&" "front's log of the collection"
assert_eq $((pending_before + 1)) "$(pending_submissions)" "PendingApproval submissions"
