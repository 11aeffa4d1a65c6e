#!/bin/bash
# The CA emulator's other pages and its test controls (faults, deny), and the
# dead-DC switch for failover tests.
# shellcheck disable=SC1090
. "$TESTS_LIB"

kinit_client
make_csr key.pem req.csr

note "CA certificate, chain and certcarc.asp"
certsrv_get "certnew.cer?ReqID=CACert&Renewal=0&Enc=b64" > ca.pem
assert_eq "$(openssl x509 -in "$ADCS_CA_CERT" -noout -fingerprint)" "$(openssl x509 -in ca.pem -noout -fingerprint)" "CACert"
assert_contains "$(certsrv_get certcarc.asp)" "var nRenewals=0;" "certcarc.asp"
assert_contains "$(certsrv_get "certnew.p7b?ReqID=CACert&Enc=b64")" $'-----BEGIN CERTIFICATE-----\r\n' "certnew.p7b b64 armour"
assert_contains "$(certsrv_get "certnew.cer?ReqID=424242&Enc=b64")" "CERTSRV_E_PROPERTY_EMPTY" "unknown ReqID"
assert_contains "$(certsrv_get "certnew.cer?ReqID=$(emu_last_request_id)0&Enc=b64")" "0x80094004" "unknown ReqID"

note "pages end lines with CRLF"
page=$(certsrv_submit LinuxWorkstation req.csr)
[ "$(printf '%s' "$page" | grep -c $'\r$')" -gt 10 ] || fail "certfnsh.asp page lines do not end in CRLF"

note "deny: a pending request denied by the CA administrator"
before=$(emu_request_count)
page=$(certsrv_submit PendingApproval req.csr)
id=$(page_reqid "$page")
assert_eq $((before + 1)) "$(emu_request_count)" "requests recorded"
assert_contains "$(curl -sS --cacert "$ADCS_CA_CERT" --negotiate -u : --data "Mode=chkpnd&ReqID=$id" "$ADCS_CERTSRV_URL/certfnsh.asp")" \
  "still pending" "chkpnd while pending"
domain deny "$id" > /dev/null || fail "domain.sh deny $id"
assert_contains "$(certsrv_get "certnew.cer?ReqID=$id&Enc=b64")" "CERTSRV_E_ADMIN_DENIED_REQUEST" "certnew.cer after deny"
assert_exit 1 domain approve "$id"

note "faults"
domain fault http500
assert_eq 500 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" --negotiate -u : "$ADCS_CERTSRV_URL/")" "http500 fault"
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" --negotiate -u : "$ADCS_CERTSRV_URL/")" "after the fault"
domain fault huge --path certfnsh.asp
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ADCS_CA_CERT" --negotiate -u : "$ADCS_CERTSRV_URL/")" "fault limited to another path"
size=$(curl -s -o /dev/null -w '%{size_download}' --cacert "$ADCS_CA_CERT" --negotiate -u : --data-urlencode Mode=newreq \
  --data-urlencode CertRequest@req.csr --data-urlencode CertAttrib=CertificateTemplate:LinuxWorkstation "$ADCS_CERTSRV_URL/certfnsh.asp")
[ "$size" -ge $((50 * 1024 * 1024)) ] || fail "huge fault sent $size bytes"
domain fault garbage --count 2
for i in 1 2; do assert_not_contains "$(certsrv_get '')" "Welcome" "garbage fault $i"; done
assert_contains "$(certsrv_get '')" "Welcome" "after 2 garbage answers"
domain fault delay --seconds 3
t0=$(date +%s); certsrv_get '' > /dev/null; [ $(( $(date +%s) - t0 )) -ge 3 ] || fail "delay fault did not delay"
domain fault wrongkey
id=$(page_reqid "$(certsrv_submit LinuxWorkstation req.csr)")
certsrv_get "certnew.cer?ReqID=$id&Enc=b64" > wk.pem
assert_ne "$(openssl pkey -in key.pem -pubout)" "$(openssl x509 -in wk.pem -noout -pubkey)" "wrongkey certificate key"
domain fault badchain
id=$(page_reqid "$(certsrv_submit LinuxWorkstation req.csr)")
certsrv_get "certnew.cer?ReqID=$id&Enc=b64" > bc.pem
assert_eq "$(openssl pkey -in key.pem -pubout)" "$(openssl x509 -in bc.pem -noout -pubkey)" "badchain certificate key"
assert_exit 2 openssl verify -CAfile "$ADCS_CA_CERT" bc.pem
domain fault show | grep -q "no fault" || fail "faults left over: $(domain fault show)"

note "dead DC first in SRV"
domain srv-dead-first on > /dev/null || fail "srv-dead-first on"
srv=$(host -t SRV "_ldap._tcp.dc._msdcs.$ADCS_DOMAIN")
assert_contains "$srv" "0 100 389 $ADCS_DC2_HOST." "SRV with the dead DC first"
assert_contains "$srv" "10 100 389 $ADCS_DC_HOST." "SRV with the dead DC first"
assert_contains "$(host "$ADCS_DC2_HOST")" "$ADCS_DC2_IP" "dc2 address"
( exec 3<>"/dev/tcp/$ADCS_DC2_IP/389" ) 2>/dev/null && fail "something listens on the dead DC"
domain srv-dead-first off > /dev/null || fail "srv-dead-first off"
assert_not_contains "$(host -t SRV "_ldap._tcp.dc._msdcs.$ADCS_DOMAIN")" "$ADCS_DC2_HOST" "SRV after off"
exit 0
