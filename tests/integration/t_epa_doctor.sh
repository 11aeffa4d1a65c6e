#!/bin/bash
# adenroll doctor reports channel binding as sent and accepted by the CA,
# and whether the CA requires it (Extended Protection Required, Accept/Off),
# in words and in --json; when the CA checks the binding against another
# certificate than the one this host sees (TLS terminated before it) doctor
# fails with that diagnosis and what to do.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain epa stop > /dev/null 2>&1' EXIT
CB="ca $ADCS_CA_NAME channel binding"
# assert_json_binding yes|no: doctor --json passes, and its channel binding
# check is ok with typed facts: sent, SHA-256, accepted, required by the CA or not
assert_json_binding() {
  assert_exit 0 "$ADENROLL" --config "$CONF" --json doctor
  /usr/bin/python3 - "$SCRATCH/last.out" "$CB" "$1" <<'PY' || fail "doctor --json: $OUT"
import json, sys
doc = json.load(open(sys.argv[1]))
c = [c for c in doc["checks"] if c["check"] == sys.argv[2]][0]
assert c["status"] == "ok", c
words = {"yes": "the CA requires it", "no": "the CA does not require it"}[sys.argv[3]]
assert words in c["detail"], c
assert c["channel_binding"] == {"sent": True, "hash": "SHA256", "accepted": True, "required_by_ca": sys.argv[3]}, c
PY
}

note "Extended Protection Required"
domain epa required > /dev/null || fail "cannot start the channel-binding front"
assert_exit 0 "$ADENROLL" --config "$CONF" doctor
assert_match "$OUT" "^ok    ca $ADCS_CA_NAME kerberos: GET /certsrv/ with a ticket for HTTP/$ADCS_CA_HOST: HTTP 200, mutual authentication verified" "doctor output"
assert_match "$OUT" "^ok    $CB: sent \\(tls-server-end-point, SHA256 of the TLS certificate\\) and accepted by the CA; the CA requires it \\(Extended Protection Required" "doctor output"
assert_match "$OUT" "^ok    libcurl: libcurl [0-9.]+ \\(OpenSSL[^)]*\\); Kerberos tokens are made with GSS-API and bound" "doctor output"
assert_json_binding yes

note "Extended Protection Accept: accepted, not required"
domain epa accept > /dev/null || fail "cannot switch the front to accept"
assert_json_binding no

note "Accept, but the CA checks another certificate (TLS terminated before it): bound tokens are refused"
domain epa accept --proxied > /dev/null || fail "cannot switch the front to accept --proxied"
assert_exit 1 "$ADENROLL" --config "$CONF" doctor
assert_match "$OUT" "^fail  ca $ADCS_CA_NAME kerberos: GET /certsrv/ with a Kerberos ticket bound to the TLS certificate was refused \\(HTTP 401\\); the same ticket without channel binding is accepted" "doctor output"
assert_match "$OUT" "^fail  $CB: sent \\(tls-server-end-point, SHA256\\) but refused by the CA \\(HTTP 401\\), which accepts the same ticket without channel binding: the CA sees another TLS certificate" "doctor output"
assert_match "$OUT" "^      fix: terminate TLS on the CA's web server itself" "doctor output"
# enrollment fails with a message that points at doctor, and nothing is stored
assert_exit 1 "$ADENROLL" --config "$CONF" enroll EnrollOnly
assert_contains "$OUT" "Kerberos authentication with channel binding (tls-server-end-point, SHA256) was refused" "enroll output"
assert_contains "$OUT" "run \`adenroll doctor\`" "enroll output"
assert_no_file "$SCRATCH/certs/EnrollOnly.crt"

note "Required behind the same proxy: Kerberos fails either way; the fix names TLS termination"
domain epa required --proxied > /dev/null || fail "cannot switch the front to required --proxied"
assert_exit 1 "$ADENROLL" --config "$CONF" doctor
assert_match "$OUT" "^fail  ca $ADCS_CA_NAME kerberos: GET /certsrv/ with a Kerberos ticket was refused \\(HTTP 401\\)" "doctor output"
assert_match "$OUT" "TLS must end on that web server" "doctor fix"
assert_match "$OUT" "^skip  $CB: sent \\(tls-server-end-point, SHA256\\); the CA refuses the ticket with and without channel binding" "doctor output"

note "HTTPS back to Apache (mod_auth_gssapi, bindings not checked): accepted, not required"
domain epa stop > /dev/null || fail "epa stop failed"
assert_exit 0 "$ADENROLL" --config "$CONF" doctor
assert_match "$OUT" "^ok    $CB: sent \\(tls-server-end-point, SHA256 of the TLS certificate\\) and accepted by the CA; the CA does not require it" "doctor output"
