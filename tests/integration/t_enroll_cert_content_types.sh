#!/bin/bash
# certnew.cer sends the issued certificate under the Content-Types servers and
# proxies really use, as DER, PEM or bare base64: adenroll recognises it by
# its bytes and installs it every time.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
trap 'domain fault off > /dev/null 2>&1' EXIT

prev=""
for combo in application/pkix-cert:der application/x-x509-ca-cert:pem application/x-x509-user-cert:base64 \
             application/octet-stream:der application/octet-stream:base64 text/plain:pem text/plain:base64; do
  ctype=${combo%:*} body=${combo#*:}
  domain fault certtype --ctype "$ctype" --body "$body" --count 1 > /dev/null || fail "domain.sh fault certtype failed"
  assert_exit 3 "$ADENROLL" --config "$CONF" --force enroll LinuxWorkstation
  assert_match "$OUT" '^LinuxWorkstation: enrolled \(serial [0-9A-F]+' "[$ctype $body] enroll output"
  assert_eq "" "$(domain fault show | grep certtype)" "[$ctype $body] the variant was served"
  pair_files "$SCRATCH/certs/LinuxWorkstation.crt" "$SCRATCH/certs/LinuxWorkstation.key" > /dev/null
  serial=$(cert_serial "$SCRATCH/certs/LinuxWorkstation.crt")
  assert_ne "$prev" "$serial" "[$ctype $body] a new certificate"
  prev=$serial
done
