#!/bin/bash
# The test domain is a real one: Kerberos from the joined host's keytab,
# GSSAPI LDAP with AD's security-descriptor rules, SPNEGO on the web
# enrollment pages, and a CA whose answers come from the AD objects.
# shellcheck disable=SC1090
. "$TESTS_LIB"

note "keytab -> TGT as the client machine account"
kinit_client
assert_contains "$(klist)" "Default principal: $ADCS_CLIENT_PRINCIPAL" "klist"

note "GSSAPI LDAP: the templates, and their SDs only with the SD-flags control"
tbase="CN=Certificate Templates,$ADCS_PKS_DN"
out=$(ldapsearch -Q -LLL -o ldif-wrap=no -Y GSSAPI -H "ldap://$ADCS_DC_HOST" -b "$tbase" \
  '(objectClass=pKICertificateTemplate)' cn) || fail "ldapsearch of $tbase failed"
for t in LinuxWorkstation EnrollOnly DeniedAutoEnroll PendingApproval NotPublished Machine LinuxUser NeedsEmail ShortLived; do
  assert_contains "$out" "cn: $t" "templates under $tbase"
done
without=$(ldapsearch -Q -LLL -Y GSSAPI -H "ldap://$ADCS_DC_HOST" -b "CN=LinuxWorkstation,$tbase" -s base \
  '(objectClass=*)' nTSecurityDescriptor)
assert_not_contains "$without" "nTSecurityDescriptor" "search without the SD-flags control"
with=$(ldapsearch -Q -LLL -Y GSSAPI -H "ldap://$ADCS_DC_HOST" -E '!1.2.840.113556.1.4.801=::MAMCAQc=' \
  -b "CN=LinuxWorkstation,$tbase" -s base '(objectClass=*)' nTSecurityDescriptor flags msPKI-Certificate-Name-Flag)
assert_contains "$with" "nTSecurityDescriptor::" "search with the SD-flags control"
assert_contains "$with" "flags: 131680" "LinuxWorkstation flags (0x20260, CT_FLAG_MACHINE_TYPE set)"
user_nflag=$(ldapsearch -Q -LLL -Y GSSAPI -H "ldap://$ADCS_DC_HOST" -b "CN=LinuxUser,$tbase" -s base \
  '(objectClass=*)' msPKI-Certificate-Name-Flag | grep -i '^msPKI-Certificate-Name-Flag:')
assert_contains "$user_nflag" "-2113929216" "LinuxUser name flag (0x82000000, signed as AD returns it)"
tg=$(ldapsearch -Q -LLL -Y GSSAPI -H "ldap://$ADCS_DC_HOST" -b "$ADCS_CLIENT_DN" -s base '(objectClass=*)' tokenGroups)
assert_contains "$tg" "tokenGroups::" "tokenGroups of the client"
es=$(ldapsearch -Q -LLL -o ldif-wrap=no -Y GSSAPI -H "ldap://$ADCS_DC_HOST" \
  -b "CN=Enrollment Services,$ADCS_PKS_DN" '(objectClass=pKIEnrollmentService)' dNSHostName certificateTemplates)
assert_contains "$es" "dNSHostName: $ADCS_CA_HOST" "enrollment service"
assert_not_contains "$es" "certificateTemplates: NotPublished" "enrollment service"

note "DNS SRV for DC discovery"
assert_contains "$(host -t SRV "_ldap._tcp.dc._msdcs.$ADCS_DOMAIN")" "389 $ADCS_DC_HOST." "SRV lookup"

note "SPNEGO: 401 Negotiate without a ticket, 200 with one"
hdrs=$(KRB5CCNAME=FILE:$SCRATCH/none curl -sS -D - -o /dev/null --cacert "$ADCS_CA_CERT" \
  --data 'Mode=newreq' "$ADCS_CERTSRV_URL/certfnsh.asp")
assert_match "$hdrs" '^HTTP/[0-9.]+ 401' "response without a ticket"
assert_match "$hdrs" '^[Ww][Ww][Ww]-[Aa]uthenticate: Negotiate' "response without a ticket"
assert_contains "$(certsrv_get '')" "Welcome $ADCS_CLIENT_PRINCIPAL" "home page with a ticket"
assert_contains "$(curl -sS --negotiate -u : "$ADCS_CERTSRV_HTTP_URL/")" "Welcome" "home page over plain http"

note "LinuxWorkstation: issued, with the template extension, chaining to the CA"
make_csr key.pem req.csr
page=$(certsrv_submit LinuxWorkstation req.csr)
assert_contains "$page" "Certificate Issued" "certfnsh.asp page"
id=$(page_reqid "$page")
assert_match "$id" '^[0-9]+$' "ReqID"
# the CACert link comes before the request's own link, as on a real CA
first=$(printf '%s' "$page" | grep -oE 'certnew\.cer\?ReqID=[^&]+' | head -n1)
assert_eq "certnew.cer?ReqID=CACert" "$first" "first certnew.cer link"
certsrv_get "certnew.cer?ReqID=$id&Enc=b64" > cert.pem
openssl x509 -in cert.pem -noout 2>/dev/null || fail "certnew.cer?ReqID=$id did not return a certificate: $(head -c 300 cert.pem)"
assert_contains "$(openssl verify -CAfile "$ADCS_CA_CERT" cert.pem 2>&1)" "cert.pem: OK" "openssl verify"
cert_has_ext cert.pem 1.3.6.1.4.1.311.21.7 || fail "no 1.3.6.1.4.1.311.21.7 in the certificate"
text=$(openssl x509 -in cert.pem -noout -text)
assert_contains "$text" "DNS:$ADCS_CLIENT_FQDN" "SAN"
assert_contains "$text" "Subject: CN = $ADCS_CLIENT_FQDN" "subject"
tmpl_oid=$(ldapsearch -Q -LLL -Y GSSAPI -H "ldap://$ADCS_DC_HOST" -b "CN=LinuxWorkstation,$tbase" -s base \
  '(objectClass=*)' msPKI-Cert-Template-OID | awk '/^msPKI-Cert-Template-OID:/ {print $2}')
# the extension's DER holds the template OID: compare through openssl's dump
ext_dump=$(openssl x509 -in cert.pem -outform DER | openssl asn1parse -inform DER | grep -A1 ':1.3.6.1.4.1.311.21.7$' | tail -n1)
off=$(printf '%s' "$ext_dump" | cut -d: -f1 | tr -d ' ')
inner=$(openssl x509 -in cert.pem -outform DER | openssl asn1parse -inform DER -strparse "$off")
assert_contains "$inner" ":$tmpl_oid" "template OID in 1.3.6.1.4.1.311.21.7"
assert_contains "$inner" ":64" "major version (revision 100) in 1.3.6.1.4.1.311.21.7"
assert_eq "$ADCS_CLIENT_PRINCIPAL" "$(emu_request_field "$id" requester)" "requester the CA recorded"
assert_eq "LinuxWorkstation" "$(emu_request_field "$id" template)" "template the CA recorded"
chain=$(certsrv_get "certnew.p7b?ReqID=$id&Enc=bin" | openssl pkcs7 -inform DER -print_certs -noout)
assert_contains "$chain" "subject=CN = $ADCS_CLIENT_FQDN" "certnew.p7b"
assert_contains "$chain" "CN = $ADCS_CA_NAME" "certnew.p7b"

note "NeedsEmail: allowed by the ACL, denied by the CA for want of a mail attribute"
page=$(certsrv_submit NeedsEmail req.csr)
assert_contains "$page" 'Denied by Policy Module  0x80094812' "certfnsh.asp page"
did=$(page_reqid "$page")
assert_match "$did" '^[0-9]+$' "Request Id of the denied request"
disp=$(certsrv_get "certnew.cer?ReqID=$did&Enc=b64")
# the values follow two TABs, which is what clients' regexes rely on
assert_contains "$disp" $'Disposition message:</B></Font></DT><DD>\r\n\t\tDenied by Policy Module\r\n' "certnew.cer page"
assert_contains "$disp" "0x80094812 (-2146875374 CERTSRV_E_SUBJECT_EMAIL_REQUIRED)" "certnew.cer LastStatus"

note "NotPublished: unsupported template, no request id"
page=$(certsrv_submit NotPublished req.csr)
assert_contains "$page" "Error Number: 0x80094800" "certfnsh.asp page"
assert_not_contains "$page" "Request Id" "certfnsh.asp page"

note "EnrollOnly for a user: the CA checks Enroll against the requester's token"
kdestroy
kinit_user
make_csr ukey.pem ureq.csr "/CN=$ADCS_USER"
page=$(certsrv_submit LinuxWorkstation ureq.csr)
assert_contains "$page" "0x80094012" "LinuxWorkstation requested by $ADCS_USER"
page=$(certsrv_submit LinuxUser ureq.csr)
uid=$(page_reqid "$page")
assert_contains "$page" "Certificate Issued" "LinuxUser requested by $ADCS_USER"
ucert=$(certsrv_get "certnew.cer?ReqID=$uid&Enc=b64")
assert_contains "$(printf '%s\n' "$ucert" | openssl x509 -noout -ext subjectAltName)" "UPN::alice@$ADCS_DOMAIN" "user SAN"
assert_contains "$(printf '%s\n' "$ucert" | openssl x509 -noout -subject)" "CN = Users, CN = $ADCS_USER" "user subject (DN)"
# the certificate is the requester's only
kdestroy
kinit_client
assert_not_contains "$(certsrv_get "certnew.cer?ReqID=$uid&Enc=b64")" "BEGIN CERTIFICATE" "someone else's certificate"

note "PendingApproval: pending, then issued once the CA administrator approves it"
page=$(certsrv_submit PendingApproval req.csr)
assert_contains "$page" "Certificate Pending" "certfnsh.asp page"
pid=$(printf '%s' "$page" | grep -oE 'Your Request Id is [0-9]+\.' | grep -oE '[0-9]+')
assert_match "$pid" '^[0-9]+$' "pending Request Id"
assert_contains "$(certsrv_get "certnew.cer?ReqID=$pid&Enc=b64")" $'Disposition message:</B></Font></DT><DD>\r\n\t\tTaken Under Submission' "certnew.cer while pending"
domain approve "$pid" > /dev/null || fail "domain.sh approve $pid failed"
certsrv_get "certnew.cer?ReqID=$pid&Enc=b64" > pending.pem
openssl x509 -in pending.pem -noout 2>/dev/null || fail "no certificate after approve: $(head -c 300 pending.pem)"
assert_eq "$(openssl pkey -in key.pem -pubout)" "$(openssl x509 -in pending.pem -noout -pubkey)" "key of the approved certificate"

note "ShortLived: validity from pKIExpirationPeriod (10 minutes)"
page=$(certsrv_submit ShortLived req.csr)
sid=$(page_reqid "$page")
certsrv_get "certnew.cer?ReqID=$sid&Enc=b64" > short.pem
end=$(date -d "$(openssl x509 -in short.pem -noout -enddate | cut -d= -f2)" +%s)
left=$(( end - $(date +%s) ))
[ $left -gt 500 ] && [ $left -le 600 ] || fail "ShortLived certificate expires in ${left}s, expected about 600"
exit 0
