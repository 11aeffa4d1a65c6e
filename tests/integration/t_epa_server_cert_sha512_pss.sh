#!/bin/bash
# Channel binding follows the server certificate's signature algorithm (RFC
# 5929 4.1): with Extended Protection Required and a certificate signed with
# SHA-512, then with RSASSA-PSS over SHA-384 (libcurl 8.10-8.19 fails on
# these), adenroll's binding is accepted and enrollment succeeds; a binding
# with the SHA-256 hash, or corrupted, is refused.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain epa stop > /dev/null 2>&1' EXIT

for c in sha512:sha512:SHA512 pss:sha384:SHA384; do
  cert=${c%%:*} hash=${c#*:} hash=${hash%%:*} name=${c##*:}
  note "server certificate $cert: binding hash $hash"
  domain epa required --cert "$cert" > /dev/null || fail "cannot start the front with the $cert certificate"
  kinit_client
  assert_eq 200 "$(epa_client right "$hash")" "$cert: token bound with $hash (the control)"
  assert_eq 401 "$(epa_client right sha256)" "$cert: token bound with SHA-256 instead of $hash"
  assert_eq 401 "$(epa_client corrupt "$hash")" "$cert: token with a corrupted binding"
  kdestroy > /dev/null 2>&1

  n=$(epa_auth_lines)
  assert_exit 3 "$ADENROLL" --config "$CONF" -v --force enroll EnrollOnly
  assert_match "$OUT" '^EnrollOnly: enrolled \(serial [0-9A-F]+' "$cert: enroll output"
  assert_contains "$OUT" "Negotiate token bound to the TLS certificate (tls-server-end-point, $name)" "$cert: enroll log"
  log=$(epa_auth_since "$n")
  assert_match "$log" "\"result\": \"ok\", \"channel_bound\": true, \"user\": \"CLIENT\\\$@$ADCS_REALM\", \"hash\": \"$hash\"" "$cert: front's log"
  assert_not_contains "$log" '"result": "bad-bindings"' "$cert: front's log"

  assert_exit 0 "$ADENROLL" --config "$CONF" doctor
  assert_match "$OUT" "^ok    ca $ADCS_CA_NAME channel binding: sent \\(tls-server-end-point, $name of the TLS certificate\\) and accepted by the CA; the CA requires it" "$cert: doctor"
done
