#!/bin/bash
# CT_FLAG_AUTO_ENROLLMENT_CHECK_USER_DS_CERTIFICATE (MS-CRTD 2.26): a user
# who already has a valid certificate of the template in her userCertificate
# attribute (enrolled on another host; the CA published it) is not enrolled
# again on this host: pulse and explain say why and the CA receives nothing
# for the template.  Before the certificate is published she is enrolled.
. "$TESTS_LIB"

U=UserOncePerUser
ENR=0e10c968-78fb-11d2-90d4-00c04f79dc55 AE=a05b8cc2-17bc-4802-a710-e7c15ab866a2
conf() {  # conf NAME: a user-mode config with stores of its own ("a host")
  write_config "$SCRATCH/$1.conf" user.pem_dir="$SCRATCH/$1/certs" user.archive_dir="$SCRATCH/$1/archive" \
    user.state_dir="$SCRATCH/$1/state"
}
conf hostA; conf hostB

cleanup() {
  [ -n "${der_b64:-}" ] && domain ldbmodify > /dev/null 2>&1 <<LDIF
dn: $ADCS_USER_DN
changetype: modify
delete: userCertificate
userCertificate:: $der_b64
LDIF
  ad_template_remove "$U"
}
trap cleanup EXIT
ad_template_add "$U" 1.305 86400 3600 || fail "cannot add template $U"
domain ldbmodify > /dev/null <<LDIF || fail "cannot make $U a user template"
dn: CN=$U,CN=Certificate Templates,$ADCS_PKS_DN
changetype: modify
replace: flags
flags: 131616
-
replace: msPKI-Enrollment-Flag
msPKI-Enrollment-Flag: $((0x20 | 0x10))
-
replace: msPKI-Certificate-Name-Flag
msPKI-Certificate-Name-Flag: -2113929216
-
replace: nTSecurityDescriptor
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;RPWPCR;$ENR;;DU)(OA;;RPWPCR;$AE;;DU)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;LCRPLORC;;;AU)
LDIF
kinit_user

note "host A: nothing in userCertificate yet, $U is enrolled"
"$ADENROLL" --config "$SCRATCH/hostA.conf" --user pulse > "$SCRATCH/a.out" 2>&1
OUT=$(cat "$SCRATCH/a.out")
assert_match "$OUT" "^$U: enrolled \\(serial [0-9A-F]+" "host A pulse output"
crt=$SCRATCH/hostA/certs/$U.crt
assert_file "$crt"
n_requests=$(emu_requests_for "$U" | wc -l)

note "the CA publishes it to alice's userCertificate (CT_FLAG_PUBLISH_TO_DS)"
der_b64=$(openssl x509 -in "$crt" -outform DER | base64 -w0)
domain ldbmodify > /dev/null <<LDIF || fail "cannot add alice's userCertificate"
dn: $ADCS_USER_DN
changetype: modify
add: userCertificate
userCertificate:: $der_b64
LDIF

note "host B: explain and pulse see it and do not enroll"
assert_exit 0 "$ADENROLL" --config "$SCRATCH/hostB.conf" --user explain "$U"
assert_contains "$OUT" "decision:      keep: a valid certificate of this template is in the user's userCertificate (serial $(cert_serial "$crt")" "explain decision"
assert_contains "$OUT" "CT_FLAG_AUTO_ENROLLMENT_CHECK_USER_DS_CERTIFICATE" "explain decision"
"$ADENROLL" --config "$SCRATCH/hostB.conf" --user pulse > "$SCRATCH/b.out" 2>&1
OUT=$(cat "$SCRATCH/b.out")
assert_contains "$OUT" "$U: not enrolled: a valid certificate of this template is in the user's userCertificate" "host B pulse output"
assert_not_contains "$OUT" "$U: submitting" "host B pulse log"
assert_no_file "$SCRATCH/hostB/certs/$U.crt"
assert_eq "$n_requests" "$(emu_requests_for "$U" | wc -l)" "requests for $U at the CA"
# a template without the flag is enrolled as before on host B
assert_match "$OUT" "^LinuxUser: enrolled \\(serial " "host B pulse output"
exit 0
