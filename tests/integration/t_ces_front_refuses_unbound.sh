#!/bin/bash
# The CEP/CES front requires channel binding (IIS Extended Protection
# "Required", which Microsoft's ESC8 guidance asks for on CES): a Kerberos
# token bound to the served certificate passes (the control), one without
# bindings (a GSS-API client, and curl --negotiate before 8.10) and one with a
# corrupted binding are refused with 401, and the refusals are in the front's
# log.  Behind it, the emulator refuses a request its schemas reject (a SOAP
# Sender fault, "valid": false in its log), and with `ces only` the CA has no
# /certsrv (404).  Needs no adenroll: it proves what the test domain enforces.
. "$TESTS_LIB"

trap 'domain ces off > /dev/null 2>&1' EXIT
domain ces only > /dev/null || fail "domain.sh ces only failed"
assert_eq only "$(domain ces show | head -n1)" "ces mode"
assert_match "$(domain ces show)" "^1 2 0 $ADCS_CES_URL" "msPKI-Enrollment-Servers"

kinit_client
ces_client policies --to "$ADCS_CEP_URL" > "$SCRATCH/policies.xml"
ces_client query --id 999999 --to "$ADCS_CES_URL" > "$SCRATCH/query.xml"

note "the right binding passes (the control)"
n=$(ces_log_lines "$ADCS_CES_AUTH_LOG")
out=$(ces_client post --binding right --cafile "$ADCS_CA_CERT" "$ADCS_CEP_URL" "$SCRATCH/policies.xml") \
  || fail "ces_client failed: $out"
assert_eq 200 "$(printf '%s\n' "$out" | head -n1)" "GetPolicies with the right binding"
assert_contains "$out" "<xcep:uri>$ADCS_CES_URL</xcep:uri>" "GetPoliciesResponse lists the CES URI"
assert_match "$(ces_log_since "$ADCS_CES_AUTH_LOG" "$n")" "\"result\": \"ok\", \"channel_bound\": true, \"user\": \"CLIENT\\\$@$ADCS_REALM\"" "front's log"

note "no binding, a corrupted binding: 401"
n=$(ces_log_lines "$ADCS_CES_AUTH_LOG")
a=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
for b in none corrupt; do
  out=$(ces_client post --binding $b --cafile "$ADCS_CA_CERT" "$ADCS_CES_URL" "$SCRATCH/query.xml") \
    || fail "ces_client failed: $out"
  assert_eq 401 "$(printf '%s\n' "$out" | head -n1)" "QueryTokenStatus with binding $b"
done
log=$(ces_log_since "$ADCS_CES_AUTH_LOG" "$n")
assert_match "$log" '"result": "unbound"' "front's log for the unbound token"
assert_match "$log" '"result": "bad-bindings"' "front's log for the corrupted binding"
curl_num=$(curl-config --vernum 2>/dev/null || echo 0)
if [ $((16#$curl_num)) -lt $((16#080a00)) ]; then
  n=$(ces_log_lines "$ADCS_CES_AUTH_LOG")
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" --negotiate -u : \
    -H 'Content-Type: application/soap+xml; charset=utf-8' --data-binary @"$SCRATCH/policies.xml" "$ADCS_CEP_URL")
  assert_eq 401 "$code" "curl $(curl-config --version 2>/dev/null) --negotiate"
  assert_match "$(ces_log_since "$ADCS_CES_AUTH_LOG" "$n")" '"result": "unbound"' "front's log for curl --negotiate"
else
  note "libcurl $(curl-config --version) sends bindings itself: the curl --negotiate refusal is not checked"
fi
assert_eq "$a" "$(ces_log_lines "$ADCS_CES_ACCESS_LOG")" "requests that reached the emulator without a binding"

note "the schema check refuses what MS-WSTEP does not define"
sed 's/wst:TokenType>/wst:KeySize>/g' "$SCRATCH/query.xml" > "$SCRATCH/bad.xml"
a=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
out=$(ces_client post --cafile "$ADCS_CA_CERT" "$ADCS_CES_URL" "$SCRATCH/bad.xml") || fail "ces_client failed: $out"
assert_eq 500 "$(printf '%s\n' "$out" | head -n1)" "an invalid RequestSecurityToken"
assert_contains "$out" "<s:Value>s:Sender</s:Value>" "a Sender fault"
line=$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a")
assert_eq False "$(ces_json_field "$line" valid)" "the emulator's log"
assert_contains "$(ces_json_field "$line" error)" "KeySize" "the emulator's reason"
# the valid query of an unknown request: CERTSRV_E_PROPERTY_EMPTY, as CES answers it
out=$(ces_client post --cafile "$ADCS_CA_CERT" "$ADCS_CES_URL" "$SCRATCH/query.xml") || fail "ces_client failed: $out"
assert_contains "$out" "<wstep:ErrorCode>-2146877436</wstep:ErrorCode>" "QueryTokenStatus of an unknown request"
assert_eq True "$(ces_json_field "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$((a + 1))")" valid)" "the control query's validity"

note "ces only: no /certsrv"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" "$ADCS_CERTSRV_URL/")" "/certsrv with ces only"
domain ces on > /dev/null || fail "domain.sh ces on failed"
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" "$ADCS_CERTSRV_URL/")" "/certsrv with ces on"
domain ces off > /dev/null || fail "domain.sh ces off failed"
assert_eq "" "$(domain ces show | tail -n +2)" "msPKI-Enrollment-Servers after ces off"
exit 0
