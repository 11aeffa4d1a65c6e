#!/bin/bash
# A throw-away Active Directory domain for adenroll's integration tests: a real
# Samba AD DC, two hosts joined with adcli (the client and the CA), a domain
# user, AD CS objects (templates with real ACLs, the enrollment service, root,
# AIA and NTAuth), and Apache + mod_auth_gssapi (SPNEGO) in front of the
# certsrv emulator (certsrv_emu.py), which decides from the AD objects.
#
#   domain.sh up                 build and start everything, write $TESTENV_DIR/env.sh
#   domain.sh down               stop every daemon by pid, remove the netns and $TESTENV_DIR
#   domain.sh exec CMD...        run CMD in the domain's network with env.sh loaded
#   domain.sh env                print env.sh
#   domain.sh check              quick self-test (kinit, LDAP, SPNEGO, 401)
#   domain.sh samba-tool ARGS    samba-tool as Administrator against the DC
#   domain.sh ldbmodify [FILE]   apply an LDIF (stdin by default) as Administrator; SDDL allowed
#   domain.sh approve N | deny N the CA administrator resolves pending request N
#   domain.sh requests           list the CA's requests (id status template requester)
#   domain.sh revoke N [REASON]  the CA revokes request N's certificate (default keyCompromise)
#                                and publishes the new CRL at its CDP object
#   domain.sh fault MODE [--count N] [--seconds S] [--path SUBSTR] | fault off | fault show
#                                MODE: http500 garbage huge empty delay wrongkey badchain future tamper
#                                rpc busy notstarted (the Error page of a CA that does not answer:
#                                0x800706BA, 0x800706BB, 0x80070426; --path certfnsh.asp for
#                                submissions, certnew.cer for polls; --count -1 until `fault off`)
#                                certtype [--ctype TYPE] [--body pem|der|base64] (how certnew.cer
#                                sends an issued certificate; default application/octet-stream, pem)
#   domain.sh lang ja|de|fr|zh|en|auto [--charset utf-8|shift_jis] | lang show
#                                the language of the web enrollment pages: pinned (as a site can pin
#                                a culture), or auto = by the client's Accept-Language (the default);
#                                shift_jis re-encodes the pages as a transcoding proxy would
#   domain.sh srv-dead-first on|off
#                                put dc2 (an address where nothing listens) first in the
#                                LDAP SRV records, or restore the normal order
#   domain.sh ca stop|start      stop the CA's web server (nothing listens on the CA's
#                                ports: "CA down"), or start it again
#   domain.sh gpo SUBCOMMAND     Group Policy (the DC serves SYSVOL over SMB):
#     gpo create NAME                        new GPO; prints its {GUID}
#     gpo set GUID machine|user AEPOLICY [PCT] [--policy-server URL]...
#                                            write the side's Registry.pol with the
#                                            AutoEnrollment values (AEPolicy, and
#                                            OfflineExpirationPercent when PCT is given;
#                                            AEPOLICY "none" writes an empty file), upload it
#                                            over SMB, bump versionNumber and GPT.INI;
#                                            --policy-server adds an enrollment policy
#                                            server (PolicyServers\<id>: URL, PolicyID as
#                                            the CEP emulator answers it, Flags 0x14,
#                                            AuthFlags 2 = Kerberos, Cost), e.g. $ADCS_CEP_URL;
#                                            --cost N, --flags N, --auth N, --policy-id ID
#                                            after it change that server's values
#     gpo bump GUID machine|user             bump the version only (a change with the same settings)
#     gpo link GUID DN [enforce] [disable]   link at DN, or re-link with these options (samba-tool gpo setlink)
#     gpo unlink GUID DN                     remove the link
#     gpo block DN on|off                    block inheritance at DN (gPOptions)
#     gpo flags GUID N                       GPO flags: 1 user part disabled, 2 computer part disabled
#     gpo deny-computers GUID                security filtering: Domain Computers denied Apply Group Policy
#     gpo ou NAME                            create OU=NAME under the domain; prints its DN
#     gpo move-client DN                     move the CLIENT$ account into DN; prints its new DN
#     gpo move-user DN                       move alice into DN; prints her new DN
#     gpo smb stop|start                     freeze the DC's smbd (SIGSTOP: SMB connections
#                                            hang, SYSVOL unreachable) or let it run again
#   domain.sh epa required|accept|off [--cert sha256|sha512|pss] [--proxied] | epa stop | epa show
#                                put the channel-binding front (epa_front.py, Extended
#                                Protection as IIS does it) on the CA's HTTPS port in
#                                place of Apache: "required" refuses a Kerberos token
#                                without or with wrong channel bindings, "accept" checks
#                                them when present, "off" ignores them.  --cert picks
#                                the server certificate: signed with SHA-256 (default),
#                                SHA-512, or RSASSA-PSS (SHA-384).  --proxied: bindings are
#                                checked against another certificate than the one served,
#                                as IIS behind a TLS-terminating proxy.  Apache keeps port 80.
#                                Each authentication is a JSON line in $ADCS_EPA_AUTH_LOG.
#                                "stop" gives HTTPS back to Apache (mod_auth_gssapi, no
#                                bindings checked: the default)
#   domain.sh ces on|only [ENDPOINT...] | ces off | ces show
#                                the CA's Certificate Enrollment Web Services (ces_emu.py:
#                                MS-XCEP policy + MS-WSTEP enrollment, same CA, same request
#                                database and AD decisions as /certsrv) on https://CA:8443
#                                behind a Kerberos front with channel binding REQUIRED
#                                (epa_front.py; each authentication a JSON line in
#                                $ADCS_CES_AUTH_LOG, each SOAP request one in $ADCS_CES_ACCESS_LOG
#                                with "valid" from the schema check).  The endpoints are written
#                                to msPKI-Enrollment-Servers on the CA's enrollment service
#                                (priority, auth type, renewal-only, URL) and answered by CEP.
#                                on = beside /certsrv; only = /certsrv is gone (404, as when
#                                the web enrollment role is removed); off = certsrv only, the
#                                attribute removed.  ENDPOINT = KIND[:PRIORITY], default
#                                kerberos:1; KIND: kerberos ($ADCS_CES_URL), renewal (Kerberos,
#                                renewal-only: $ADCS_CES_RENEWAL_URL, refuses new requests),
#                                password (UsernamePassword, auth 4: $ADCS_CES_PASSWORD_URL, not
#                                served), certificate (client certificate, auth 8, not served).
#                                `fault` applies to CES/CEP requests too (--path _CES_ or _CEP_
#                                for those only): delay, http500, garbage (malformed XML),
#                                empty, rpc|busy|notstarted (a SOAP fault with that HRESULT).
#                                show: the mode (on|only|off), then the msPKI-Enrollment-Servers
#                                values one a line: priority auth renewal-only URL
#   domain.sh ces unadvertise    msPKI-Enrollment-Servers removed, CES and CEP still served
#                                (GetPolicies still lists the endpoints): a CA whose CES is
#                                known only through an enrollment policy server ($ADCS_CEP_URL)
#
# Needs root and tests/install-deps.sh.  Knobs (environment):
#   TESTENV_DIR      state directory (default /tmp/adenroll-testenv)
#   TESTENV_INPLACE  1 = use the current network+mount namespaces (run under
#                    `unshare --net --mount ...`, as tests/integration/run.sh does);
#                    otherwise a named netns TESTENV_NS (default adenroll-test)
#   TESTENV_REALM    default EXAMPLE.TEST
#   TESTENV_RESOLVE  hosts (default: /etc/hosts entries, rdns off) | dns (only Samba DNS)
#   TESTENV_NET      first three octets of the private addresses (default 10.53.58)
#   TESTENV_KEEP=1   keep $TESTENV_DIR on down (logs)
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
SAMPLES=${TESTENV_SAMPLES:-$(cd "$HERE/.." && pwd)/samples}
D=${TESTENV_DIR:-/tmp/adenroll-testenv}
PY=/usr/bin/python3        # Debian's python: samba, gssapi and cryptography modules live there

log() { echo "[domain] $*" >&2; }
die() { log "$*"; exit 1; }

# ------------------------------------------------------------------ settings
# After `up` the settings are read back from $D/settings so that every later
# subcommand talks to the same domain whatever its environment says.
load_settings() {
  if [ -r "$D/settings" ]; then
    # shellcheck disable=SC1091
    . "$D/settings"
  else
    INPLACE=${TESTENV_INPLACE:-0}
    NS=${TESTENV_NS:-adenroll-test}
    REALM=${TESTENV_REALM:-EXAMPLE.TEST}
    RESOLVE=${TESTENV_RESOLVE:-hosts}
    NET=${TESTENV_NET:-10.53.58}
  fi
  DNSDOMAIN=$(echo "$REALM" | tr 'A-Z' 'a-z')
  NBDOMAIN=${REALM%%.*}
  BASE=$(echo "$DNSDOMAIN" | sed 's/^/DC=/; s/\./,DC=/g')
  CONFIG_DN="CN=Configuration,$BASE"
  PKS="CN=Public Key Services,CN=Services,$CONFIG_DN"
  ADMINPW='Adm1n.Passw0rd!'
  USERPW='Al1ce.Passw0rd!'
  DC_IP=$NET.10 DC2_IP=$NET.11 CA_IP=$NET.20 CLIENT_IP=$NET.30
  DC=dc.$DNSDOMAIN DC2=dc2.$DNSDOMAIN CA=ca.$DNSDOMAIN CLIENT=client.$DNSDOMAIN
  CANAME=${NBDOMAIN}-CA
  SMBCONF=$D/samba/etc/smb.conf
  EMU=$D/emu
  EMU_LISTEN=127.0.0.1:8880
  CES_LISTEN=127.0.0.1:8881 CES_PORT=8443
  REVZONE=$(echo "$NET" | awk -F. '{print $3"."$2"."$1".in-addr.arpa"}')
  if [ "$INPLACE" = 1 ]; then NSEXEC=(); else NSEXEC=(ip netns exec "$NS"); fi
}
save_settings() {
  printf 'INPLACE=%q\nNS=%q\nREALM=%q\nRESOLVE=%q\nNET=%q\n' \
    "$INPLACE" "$NS" "$REALM" "$RESOLVE" "$NET" > "$D/settings"
}

# nsx CMD...: run inside the domain's network with the test krb5.conf.  Acceptor
# replay caches (Apache) go under $D, not /var/tmp.
nsx() { "${NSEXEC[@]}" env KRB5_CONFIG="$D/krb5.conf" KRB5RCACHEDIR="$D/rcache" "$@"; }
now() { date +%s.%N; }
step() {
  local name=$1 s dt; shift; s=$(now)
  "$@"
  dt=$(printf %.2f "$(echo "$(now) - $s" | bc)")
  echo "$name $dt" >> "$D/timings.txt"
  log "$name: ${dt}s"
}
wait_tcp() {  # wait_tcp IP PORT: up to 20 s
  local i
  for i in $(seq 1 400); do
    "${NSEXEC[@]}" bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.05
  done
  log "timeout waiting for $1:$2"; return 1
}
stop_pid() {  # stop_pid PID [seconds]: TERM, then KILL
  local p=$1 t=${2:-15} i
  kill -0 "$p" 2>/dev/null || return 0
  kill "$p" 2>/dev/null || true
  for i in $(seq 1 $((t * 20))); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.05; done
  log "pid $p did not stop in ${t}s: SIGKILL"; kill -9 "$p" 2>/dev/null || true
}
stop_pidfile() { [ -s "$1" ] && stop_pid "$(cat "$1")" "${2:-15}"; return 0; }

# ------------------------------------------------------------------ network
net_up() {
  local etc=/etc/netns/$NS a
  [ "$INPLACE" = 1 ] && etc=$D/etc
  mkdir -p "$etc"
  if [ "$RESOLVE" = dns ]; then
    printf '127.0.0.1 localhost\n::1 localhost\n' > "$etc/hosts"
  else
    cat > "$etc/hosts" <<EOF
127.0.0.1 localhost
::1 localhost
$DC_IP $DC dc
$DC2_IP $DC2 dc2
$CA_IP $CA ca
$CLIENT_IP $CLIENT client
EOF
  fi
  printf 'nameserver %s\nsearch %s\n' "$DC_IP" "$DNSDOMAIN" > "$etc/resolv.conf"
  if [ "$INPLACE" = 1 ]; then
    [ "$(ip -o link | grep -vc ': lo:')" = 0 ] \
      || { log "TESTENV_INPLACE=1 needs an empty private network namespace (unshare --net --mount)"; return 1; }
    mount --bind "$etc/hosts" /etc/hosts
    mount --bind "$etc/resolv.conf" /etc/resolv.conf
    ip link set lo up
    for a in $DC_IP $CA_IP $CLIENT_IP $DC2_IP; do ip addr add "$a/32" dev lo; done
  else
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    for a in $DC_IP $CA_IP $CLIENT_IP $DC2_IP; do ip -n "$NS" addr add "$a/32" dev lo; done
  fi
  # dc2 ($DC2_IP) is the "dead DC": the address exists, nothing listens (connection refused)
  if [ "$RESOLVE" = dns ]; then
    printf '[libdefaults]\n\tdefault_realm = %s\n\tdns_lookup_kdc = true\n\tdns_lookup_realm = false\n\tudp_preference_limit = 0\n' \
      "$REALM" > "$D/krb5.conf"
  else
    cat > "$D/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 0

[realms]
	$REALM = {
		kdc = $DC
		admin_server = $DC
	}

[domain_realm]
	.$DNSDOMAIN = $REALM
	$DNSDOMAIN = $REALM
EOF
  fi
  chmod 644 "$D/krb5.conf"
}

# ------------------------------------------------------------------ CA material
# The issuing CA (what the enterprise CA's certificate would be), TLS
# certificates for the CA web server and the DC (LDAPS), and a second "rogue"
# CA with the same name that the emulator signs with for the badchain fault.
tls_cert() {  # tls_cert NAME CN SAN EKU (in the pki dir)
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
    "$3" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
make_pki() {
  local p=$D/pki subj
  mkdir -p "$p"; chmod 700 "$p"
  subj="/$(echo "$DNSDOMAIN" | tr . '\n' | tac | sed 's/^/DC=/' | paste -sd/)/CN=$CANAME"
  (
    cd "$p"
    for k in ca rogue; do
      openssl req -x509 -newkey rsa:2048 -nodes -keyout $k.key -out $k.pem -days 3650 -sha256 \
        -subj "$subj" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,digitalSignature,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" -addext "1.3.6.1.4.1.311.21.1=DER:020100" 2>/dev/null
    done
    openssl x509 -in ca.pem -outform DER -out ca.der
    tls_cert tls "$CA" "DNS:$CA" serverAuth
    # the same key and names signed with SHA-512 and with RSASSA-PSS (SHA-384) for the
    # channel-binding front: the binding's hash follows the signature (RFC 5929 4.1)
    openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -sha512 \
      -extfile tls.ext -out tls-sha512.pem 2>/dev/null
    openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -sha384 \
      -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -extfile tls.ext -out tls-pss.pem 2>/dev/null
    tls_cert dc-tls "$DC" "DNS:$DC,DNS:$DNSDOMAIN" serverAuth,clientAuth
    chmod 600 ./*.key
  )
  cp "$p/ca.pem" "$D/ca.pem"; chmod 644 "$D/ca.pem"
}

# ------------------------------------------------------------------ Samba DC
samba_provision() {
  : > "$D/empty.conf"   # keep the host's /etc/samba/smb.conf out of the new domain
  nsx samba-tool domain provision -s "$D/empty.conf" \
      --realm="$REALM" --domain="$NBDOMAIN" --server-role=dc \
      --dns-backend=SAMBA_INTERNAL --adminpass="$ADMINPW" \
      --host-name=dc --host-ip="$DC_IP" --targetdir="$D/samba" \
      --option="interfaces=$DC_IP" --option="bind interfaces only=yes" \
      --option="dns forwarder=" > "$D/logs/provision.log" 2>&1 \
    || { tail -20 "$D/logs/provision.log" >&2; return 1; }
  mkdir -p "$D/samba/run" "$D/samba/log"
  # Everything under $D.  No NetBIOS/WINS (broadcasts), replication or KCC;
  # keep dnsupdate (it registers the DC's SPNs), winbindd (NTLM binds need it)
  # and the file server s3fs (SYSVOL: Group Policy).  GSSAPI over LDAPS like AD does.
  sed -i "s#^\[global\]#[global]\n\tpid directory = $D/samba/run\n\tlog file = $D/samba/log/samba.log\n\tlog level = 1\n\tncalrpc dir = $D/samba/run/ncalrpc\n\twinbindd socket directory = $D/samba/run/winbindd\n\tntp signd socket directory = $D/samba/run/ntp_signd\n\tserver services = -nbt -wrepl -ntp_signd -kcc -drepl\n\tldap server require strong auth = allow_sasl_over_tls\n\ttls enabled = yes\n\ttls keyfile = $D/pki/dc-tls.key\n\ttls certfile = $D/pki/dc-tls.pem\n\ttls cafile = $D/pki/ca.pem#" "$SMBCONF"
}
samba_start() {
  # daemons must not inherit our stdout/stderr: a caller reading them through
  # a pipe would wait for them forever
  # The file server's smbd asks winbindd through libwbclient, which ignores
  # "winbindd socket directory" and always uses /run/samba/winbindd (and
  # refuses a symlink there): the DC gets a private /run/samba with this
  # domain's socket directory bind-mounted at that place, so it never talks
  # to the host's or another test domain's winbindd.
  mkdir -p /run/samba "$D/samba/run/winbindd"
  chmod 0755 "$D/samba/run/winbindd"
  nsx unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=0755 adenroll-samba-run /run/samba && mkdir -m 0755 /run/samba/winbindd &&
     mount --bind "$1" /run/samba/winbindd &&
     exec samba -M single -s "$2" -l "$3" -D' sh "$D/samba/run/winbindd" "$SMBCONF" "$D/samba/log" \
    < /dev/null > "$D/logs/samba.out" 2>&1
  wait_tcp "$DC_IP" 389; wait_tcp "$DC_IP" 88; wait_tcp "$DC_IP" 53; wait_tcp "$DC_IP" 445
  # samba_spnupdate (dnsupdate task) adds ldap/dc... about a second after start;
  # GSSAPI binds fail with "Server not found in Kerberos database" before that.
  local i
  for i in $(seq 1 200); do
    nsx ldbsearch -H "$D/samba/private/sam.ldb" "(sAMAccountName=DC\$)" servicePrincipalName 2>/dev/null \
      | grep -qi "servicePrincipalName: ldap/$DC\$" && return 0
    sleep 0.1
  done
  log "the DC never registered ldap/$DC"; return 1
}
st() { nsx samba-tool "$@" -s "$SMBCONF" -U "Administrator%$ADMINPW"; }

# bg_wait PID...: wait for every background job, fail if any failed
bg_wait() { local p rc=0; for p in "$@"; do wait "$p" || rc=1; done; return $rc; }

join_hosts() {
  local pids=()
  # the same machine keytabs realmd/sssd would produce: CLIENT$, host/..., RestrictedKrbHost/...
  echo "$ADMINPW" | nsx adcli join --domain="$DNSDOMAIN" --domain-realm="$REALM" \
      --domain-controller="$DC" --host-fqdn="$CLIENT" --computer-name=CLIENT \
      --host-keytab="$D/client.keytab" -U Administrator --stdin-password > "$D/logs/adcli-client.log" 2>&1 &
  pids+=($!)
  # the CA's computer account, with the HTTP SPN Apache accepts tickets for
  echo "$ADMINPW" | nsx adcli join --domain="$DNSDOMAIN" --domain-realm="$REALM" \
      --domain-controller="$DC" --host-fqdn="$CA" --computer-name=CA \
      --service-name=HTTP --service-name=host \
      --host-keytab="$D/ca.keytab" -U Administrator --stdin-password > "$D/logs/adcli-ca.log" 2>&1 &
  pids+=($!)
  st user create alice "$USERPW" --use-username-as-cn --given-name=Alice --surname=Tester > "$D/logs/user.log" 2>&1 &
  pids+=($!)
  # adcli does not register DNS
  { st dns add "$DC" "$DNSDOMAIN" ca A "$CA_IP"; st dns add "$DC" "$DNSDOMAIN" client A "$CLIENT_IP"; } \
    > "$D/logs/dns-a.log" 2>&1 &
  pids+=($!)
  { st dns add "$DC" "$DNSDOMAIN" dc2 A "$DC2_IP"; st dns zonecreate "$DC" "$REVZONE"; } \
    > "$D/logs/dns-zone.log" 2>&1 &
  pids+=($!)
  bg_wait "${pids[@]}" || { tail -n 5 "$D"/logs/adcli-*.log "$D"/logs/user.log "$D"/logs/dns-*.log >&2; return 1; }
  pids=()
  local h
  for h in 10:dc 11:dc2 20:ca 30:client; do
    st dns add "$DC" "$REVZONE" "${h%%:*}" PTR "${h#*:}.$DNSDOMAIN" > "$D/logs/dns-ptr-${h#*:}.log" 2>&1 &
    pids+=($!)
  done
  # a real enterprise CA's computer is in Cert Publishers
  st group addmembers "Cert Publishers" 'CA$' > "$D/logs/groups.log" 2>&1 &
  pids+=($!)
  bg_wait "${pids[@]}" || { tail -n 5 "$D"/logs/dns-ptr-*.log "$D/logs/groups.log" >&2; return 1; }
}

# ------------------------------------------------------------------ AD CS objects
# Certificate-Enrollment and Certificate-AutoEnrollment extended rights
ENROLL_GUID=0e10c968-78fb-11d2-90d4-00c04f79dc55
AUTOENROLL_GUID=a05b8cc2-17bc-4802-a710-e7c15ab866a2
# forest OID arc for templates (fixed, so certificates are predictable)
OID_PREFIX=1.3.6.1.4.1.311.21.8.4216373.7459528.13350455.14937417.1185641.212
# validity / renewal periods: negative 100-ns intervals, little-endian int64 (MS-CRTD 2.11/2.15)
P_1Y=AEA5hy7h/v8=     # 365 days
P_6W=AICmCv/e//8=     # 42 days
P_10M=AERfmv7///8=    # 600 s
P_2M=AHR5uP////8=     # 120 s

# template CN DISPLAY SCHEMA FLAGS ENROLLFLAG NAMEFLAG "EKU..." OIDSUFFIX DACL-SDDL [EXPIRY OVERLAP]
#   FLAGS: 0x20260 = IS_MODIFIED|ADD_TEMPLATE_NAME|MACHINE_TYPE|AUTO_ENROLLMENT (machine),
#          0x20220 = the same without MACHINE_TYPE (user); integers are written signed, as AD returns them
template_ldif() {
  local cn=$1 disp=$2 schema=$3 flags=$4 eflag=$5 nflag=$6 ekus=$7 oid=$OID_PREFIX.$8 dacl=$9
  local exp=${10:-$P_1Y} ovl=${11:-$P_6W} e
  cat <<EOF
dn: CN=$cn,CN=Certificate Templates,$PKS
objectClass: top
objectClass: pKICertificateTemplate
cn: $cn
displayName: $disp
flags: $flags
revision: 100
msPKI-Template-Schema-Version: $schema
msPKI-Template-Minor-Revision: 3
pKIDefaultKeySpec: 1
pKIKeyUsage:: oAA=
pKIMaxIssuingDepth: 0
pKICriticalExtensions: 2.5.29.15
pKIExpirationPeriod:: $exp
pKIOverlapPeriod:: $ovl
pKIDefaultCSPs: 1,Microsoft RSA SChannel Cryptographic Provider
msPKI-RA-Signature: 0
msPKI-Enrollment-Flag: $eflag
msPKI-Private-Key-Flag: 0
msPKI-Certificate-Name-Flag: $nflag
msPKI-Minimal-Key-Size: 2048
msPKI-Cert-Template-OID: $oid
nTSecurityDescriptor: O:EAG:EAD:PAI$dacl(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
EOF
  for e in $ekus; do echo "pKIExtendedKeyUsage: $e"; done
  if [ "$schema" -ge 2 ]; then for e in $ekus; do echo "msPKI-Certificate-Application-Policy: $e"; done; fi
  echo
  # the template's OID object, as the Certificate Templates console creates it
  cat <<EOF
dn: CN=${8}.$(printf '%s' "$cn" | md5sum | cut -c1-32 | tr a-f A-F),CN=OID,$PKS
objectClass: top
objectClass: msPKI-Enterprise-Oid
displayName: $disp
flags: 1
msPKI-Cert-Template-OID: $oid

EOF
}

pki_ldif() {
  # CAE = 0x20260 (machine), UE = 0x20220 (user): see template_ldif
  local cader ENR=$ENROLL_GUID AE=$AUTOENROLL_GUID CAE=131680 UE=131616
  cader=$(base64 -w0 "$D/pki/ca.der")
  local CLIENTAUTH=1.3.6.1.5.5.7.3.2 SERVERAUTH=1.3.6.1.5.5.7.3.1
  # name flags: 0x18000000 = SUBJECT_ALT_REQUIRE_DNS|SUBJECT_REQUIRE_DNS_AS_CN (like Machine),
  # 0x08000000 = SUBJECT_ALT_REQUIRE_DNS (like Workstation, empty subject),
  # 0x0C000000 = + SUBJECT_ALT_REQUIRE_EMAIL, 0x82000000 (signed -2113929216) = DIRECTORY_PATH|ALT_REQUIRE_UPN
  # Autoenrollment on LinuxWorkstation: the right for Domain Computers, masks RPWPCR (0x130)
  template_ldif LinuxWorkstation "Linux Workstation" 2 $CAE 32 402653184 "$CLIENTAUTH $SERVERAUTH" 1.101 \
    "(OA;;RPWPCR;$ENR;;DC)(OA;;RPWPCR;$AE;;DC)"
  # Enroll but no AutoEnroll: an autoenrollment client must skip it; the CA would issue it
  template_ldif EnrollOnly "Enroll Only" 2 $CAE 32 134217728 "$CLIENTAUTH" 1.102 "(OA;;CR;$ENR;;DC)"
  # explicit DENY of AutoEnroll for Domain Computers before an ALLOW for Authenticated Users
  template_ldif DeniedAutoEnroll "Denied AutoEnroll" 2 $CAE 32 134217728 "$CLIENTAUTH" 1.103 \
    "(OD;;CR;$AE;;DC)(OA;;CR;$ENR;;DC)(OA;;CR;$ENR;;AU)(OA;;CR;$AE;;AU)"
  # CT_FLAG_PEND_ALL_REQUESTS (0x2) + AUTO_ENROLLMENT: the CA answers "pending"
  template_ldif PendingApproval "Pending Approval" 2 $CAE 34 134217728 "$CLIENTAUTH" 1.104 \
    "(OA;;CR;$ENR;;DC)(OA;;CR;$AE;;DC)"
  # all rights, but not in the CA's certificateTemplates
  template_ldif NotPublished "Not Published" 2 $CAE 32 134217728 "$CLIENTAUTH" 1.105 \
    "(OA;;CR;$ENR;;DC)(OA;;CR;$AE;;DC)"
  # v1 "Computer" as AD CS installs it (flags 0x10260 with IS_DEFAULT): Enroll only, schema 1
  template_ldif Machine "Computer" 1 66144 32 402653184 "$CLIENTAUTH $SERVERAUTH" 1.14 "(OA;;RPWPCR;$ENR;;DC)"
  # a user template: UPN in the SAN, the account's DN as subject; Domain Users may autoenroll
  template_ldif LinuxUser "Linux User" 2 $UE 32 -2113929216 "$CLIENTAUTH" 1.106 \
    "(OA;;RPWPCR;$ENR;;DU)(OA;;RPWPCR;$AE;;DU)"
  # eligible in AD, but the CA needs the account's mail attribute (computers have none): 0x80094812
  template_ldif NeedsEmail "Needs Email" 2 $CAE 32 201326592 "$CLIENTAUTH" 1.107 \
    "(OA;;CR;$ENR;;DC)(OA;;CR;$AE;;DC)"
  # 10 minutes of validity, renew in the last 2 minutes
  template_ldif ShortLived "Short Lived" 2 $CAE 32 402653184 "$CLIENTAUTH" 1.108 \
    "(OA;;CR;$ENR;;DC)(OA;;CR;$AE;;DC)" "$P_10M" "$P_2M"
  local o
  # enterprise root, intermediate (AIA) and NTAuth stores all hold the one CA
  for o in "$CANAME,CN=Certification Authorities" "$CANAME,CN=AIA" "NTAuthCertificates"; do
    cat <<EOF
dn: CN=$o,$PKS
objectClass: top
objectClass: certificationAuthority
cn: ${o%%,*}
cACertificate:: $cader
authorityRevocationList:: AA==
certificateRevocationList:: AA==

EOF
  done
  cat <<EOF
dn: CN=$CANAME,CN=Enrollment Services,$PKS
objectClass: top
objectClass: pKIEnrollmentService
cn: $CANAME
displayName: $CANAME
dNSHostName: $CA
flags: 10
cACertificate:: $cader
cACertificateDN: CN=$CANAME, $(echo "$BASE" | sed 's/,/, /g')
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;CR;$ENR;;AU)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
certificateTemplates: LinuxWorkstation
certificateTemplates: EnrollOnly
certificateTemplates: DeniedAutoEnroll
certificateTemplates: PendingApproval
certificateTemplates: Machine
certificateTemplates: LinuxUser
certificateTemplates: NeedsEmail
certificateTemplates: ShortLived

EOF
}
pki_objects() {
  pki_ldif > "$D/pki.ldif"
  nsx ldbadd -H "ldap://$DC" -U "Administrator%$ADMINPW" "$D/pki.ldif" > "$D/logs/pki.log" 2>&1 \
    || { cat "$D/logs/pki.log" >&2; return 1; }
}

# ------------------------------------------------------------------ web enrollment
web_up() {
  mkdir -p "$EMU/state" "$EMU/pages" "$D/apache/run" "$D/apache/log"
  install -m 755 "$HERE/certsrv_emu.py" "$EMU/certsrv_emu.py"
  # the CEP/CES emulator imports certsrv_emu.py (domain.sh ces starts it)
  install -m 755 "$HERE/ces_emu.py" "$EMU/ces_emu.py"
  mkdir -p "$EMU/schemas"
  install -m 644 "$HERE"/schemas/*.xsd "$EMU/schemas/"
  install -m 600 "$D/pki/ca.key" "$EMU/ca.key"
  install -m 600 "$D/pki/rogue.key" "$EMU/rogue.key"
  install -m 644 "$D/pki/ca.pem" "$EMU/ca.pem"
  install -m 644 "$D/pki/rogue.pem" "$EMU/rogue.pem"
  install -m 600 "$D/ca.keytab" "$EMU/ca.keytab"
  # real page captures the emulator fills in (tests/samples/certsrv)
  local f
  for f in nokia-adcs-sim_certcarc.asp.tmpl.html nokia-adcs-sim_certnew.cer-disposition.tmpl.html \
           nokia-adcs-sim_unauth-401.html; do
    [ -r "$SAMPLES/certsrv/$f" ] && install -m 644 "$SAMPLES/certsrv/$f" "$EMU/pages/$f"
  done
  # the IIS 401 page: only the first copy (the sample has a second one pasted after </html>)
  if [ -r "$EMU/pages/nokia-adcs-sim_unauth-401.html" ]; then
    sed '/<\/html>/q' "$EMU/pages/nokia-adcs-sim_unauth-401.html" | sed 's/$/\r/' > "$EMU/pages/401.html"
  else
    printf '<html><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2></body></html>\r\n' \
      > "$EMU/pages/401.html"
  fi
  cat > "$EMU/emu.json" <<EOF
{
  "ca_name": "$CANAME",
  "ca_host": "$CA",
  "realm": "$REALM",
  "dc_host": "$DC",
  "domain_dn": "$BASE",
  "config_dn": "$CONFIG_DN",
  "principal": "CA\$@$REALM",
  "keytab": "$EMU/ca.keytab",
  "krb5_config": "$D/krb5.conf",
  "clock_skew_minutes": 10,
  "first_request_id": 2
}
EOF
  chown -R www-data:www-data "$EMU"
  chmod 755 "$EMU"
  # The emulator: by default a server on loopback that Apache proxies to
  # (imports and keys loaded once); TESTENV_EMU=cgi runs it as a CGI per request.
  local emu_map emu_loc
  if [ "${TESTENV_EMU:-server}" = cgi ]; then
    emu_map="ScriptAlias /certsrv $EMU/certsrv_emu.py"
    emu_loc=""
  else
    emu_map="# /certsrv -> certsrv_emu.py serve on $EMU_LISTEN"
    # the name mod_auth_gssapi authenticated; a client's own X-Remote-User is dropped first
    emu_loc=$(printf '    RequestHeader unset X-Remote-User early\n    RequestHeader set X-Remote-User expr=%%{REMOTE_USER}\n    ProxyPass http://%s/certsrv\n    ProxyPassReverse http://%s/certsrv' "$EMU_LISTEN" "$EMU_LISTEN")
    nsx setpriv --reuid=www-data --regid=www-data --init-groups env ADCS_EMU_DIR="$EMU" \
      "$PY" "$EMU/certsrv_emu.py" serve "$EMU_LISTEN" "$EMU/emu.pid" < /dev/null > "$D/logs/emu.log" 2>&1 &
    wait_tcp "${EMU_LISTEN%:*}" "${EMU_LISTEN#*:}" || { cat "$D/logs/emu.log" >&2; return 1; }
  fi
  cat > "$D/apache/httpd.conf" <<EOF
ServerRoot $D/apache
ServerName $CA
PidFile $D/apache/run/httpd.pid
DefaultRuntimeDir $D/apache/run
Mutex file:$D/apache/run
ErrorLog $D/apache/log/error.log
LogLevel warn auth_gssapi:info
LogFormat "%h %u \"%r\" %>s %b %Dus" basic
CustomLog $D/apache/log/access.log basic
User www-data
Group www-data
Listen $CA_IP:80
# EPA_FRONT: the channel-binding front has HTTPS (domain.sh epa)
<IfDefine !EPA_FRONT>
Listen $CA_IP:443
</IfDefine>
Timeout 300
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule env_module /usr/lib/apache2/modules/mod_env.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
LoadModule headers_module /usr/lib/apache2/modules/mod_headers.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
LoadModule auth_gssapi_module /usr/lib/apache2/modules/mod_auth_gssapi.so
TypesConfig /etc/mime.types
ScriptSock $D/apache/run/cgid.sock
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
SetEnv ADCS_EMU_DIR $EMU
SetEnv KRB5_CONFIG $D/krb5.conf
SetEnv KRB5RCACHEDIR $D/rcache
<IfDefine !NO_CERTSRV>
$emu_map
</IfDefine>
ProxyTimeout 300
Alias /adcs-errors $EMU/pages
<Directory $EMU/pages>
    Require all granted
</Directory>
# NO_CERTSRV (domain.sh ces only): the web enrollment role is not installed, /certsrv is 404
<IfDefine !NO_CERTSRV>
<Location /certsrv>
    AuthType GSSAPI
    AuthName "certsrv"
    GssapiCredStore keytab:$EMU/ca.keytab
    GssapiAllowedMech krb5
    GssapiBasicAuth Off
    GssapiLocalName Off
    Require valid-user
    ErrorDocument 401 /adcs-errors/401.html
$emu_loc
</Location>
</IfDefine>
SSLSessionCache shmcb:$D/apache/run/ssl_scache(512000)
<IfDefine !EPA_FRONT>
<VirtualHost $CA_IP:443>
    ServerName $CA
    SSLEngine on
    SSLCertificateFile $D/pki/tls.pem
    SSLCertificateKeyFile $D/pki/tls.key
</VirtualHost>
</IfDefine>
EOF
  : > "$D/logs/apache.out"
  apache_start
}
# apache_start: Apache with HTTPS, or without it while the channel-binding front has it
apache_start() {
  local defs=()
  [ "$(cat "$D/ces/mode" 2>/dev/null)" = only ] && defs=(-D NO_CERTSRV)
  if [ -s "$D/epa/mode" ]; then
    nsx apache2 -f "$D/apache/httpd.conf" -D EPA_FRONT "${defs[@]}" -k start < /dev/null >> "$D/logs/apache.out" 2>&1
  else
    nsx apache2 -f "$D/apache/httpd.conf" "${defs[@]}" -k start < /dev/null >> "$D/logs/apache.out" 2>&1
    wait_tcp "$CA_IP" 443
  fi
  wait_tcp "$CA_IP" 80
}

# ------------------------------------------------------------------ env.sh
write_env() {
  cat > "$D/env.sh" <<EOF
# written by domain.sh up; source it
export TESTENV_DIR='$D'
export TESTENV_INPLACE=$INPLACE
export TESTENV_NS='$NS'
export TESTENV_DOMAIN_SH='$SELF'
export KRB5_CONFIG='$D/krb5.conf'
export KRB5CCNAME='FILE:$D/krb5cc.test'   # never the host default /tmp/krb5cc_0
export KRB5RCACHEDIR='$D/rcache'
export ADCS_REALM='$REALM'
export ADCS_DOMAIN='$DNSDOMAIN'
export ADCS_NETBIOS='$NBDOMAIN'
export ADCS_DOMAIN_DN='$BASE'
export ADCS_CONFIG_DN='$CONFIG_DN'
export ADCS_PKS_DN='$PKS'
export ADCS_DC_HOST='$DC'
export ADCS_DC_IP='$DC_IP'
export ADCS_DC2_HOST='$DC2'       # dead DC: resolves, nothing listens
export ADCS_DC2_IP='$DC2_IP'
export ADCS_CA_HOST='$CA'
export ADCS_CA_IP='$CA_IP'
export ADCS_CA_NAME='$CANAME'
export ADCS_CA_CERT='$D/ca.pem'
export ADCS_CERTSRV_URL='https://$CA/certsrv'
export ADCS_CERTSRV_HTTP_URL='http://$CA/certsrv'
export ADCS_CLIENT_KEYTAB='$D/client.keytab'
export ADCS_CLIENT_PRINCIPAL='CLIENT\$@$REALM'
export ADCS_CLIENT_FQDN='$CLIENT'
export ADCS_CLIENT_IP='$CLIENT_IP'
export ADCS_CLIENT_DN='CN=CLIENT,CN=Computers,$BASE'
export ADCS_USER=alice
export ADCS_USER_PRINCIPAL='alice@$REALM'
export ADCS_USER_DN='CN=alice,CN=Users,$BASE'
export ADCS_USER_PASSWORD='$USERPW'
export ADCS_ADMIN_USER=Administrator
export ADCS_ADMIN_PASSWORD='$ADMINPW'
export ADCS_SMB_CONF='$SMBCONF'
export ADCS_EMU_DIR='$EMU'
export ADCS_TEMPLATE_OID_PREFIX='$OID_PREFIX'
# the channel-binding front (domain.sh epa): where it listens, its certificates and key
export ADCS_EPA_URL='https://$CA/certsrv'
export ADCS_EPA_LISTEN='$CA_IP:443'
export ADCS_EPA_PORT=443
export ADCS_EPA_AUTH_LOG='$D/epa/auth.jsonl'
export ADCS_TLS_KEY='$D/pki/tls.key'
export ADCS_TLS_CERT_SHA256='$D/pki/tls.pem'
export ADCS_TLS_CERT_SHA512='$D/pki/tls-sha512.pem'
export ADCS_TLS_CERT_PSS='$D/pki/tls-pss.pem'     # RSASSA-PSS with SHA-384
# the CEP/CES emulator (domain.sh ces): endpoints, the front's log, the emulator's request log
export ADCS_CES_URL='https://$CA:$CES_PORT/${CANAME}_CES_Kerberos/service.svc/CES'
export ADCS_CES_RENEWAL_URL='https://$CA:$CES_PORT/${CANAME}_CES_Kerberos_Renewal/service.svc/CES'
export ADCS_CES_PASSWORD_URL='https://$CA:$CES_PORT/${CANAME}_CES_UsernamePassword/service.svc/CES'
export ADCS_CEP_URL='https://$CA:$CES_PORT/ADPolicyProvider_CEP_Kerberos/service.svc/CEP'
export ADCS_CEP_STANDBY_URL='https://$CA:$CES_PORT/ADPolicyProvider_CEP_Kerberos_Standby/service.svc/CEP'
export ADCS_CES_LISTEN='$CA_IP:$CES_PORT'
export ADCS_CES_PORT=$CES_PORT
export ADCS_CES_AUTH_LOG='$D/ces/auth.jsonl'
export ADCS_CES_ACCESS_LOG='$EMU/state/ces-access.jsonl'
# Apache's access log of the CA's web server, one line per request (client, user or -, the
# quoted request line, status, bytes, time): the 401s mod_auth_gssapi answers itself included
# (the emulator's access.jsonl sees only authenticated requests)
export ADCS_CERTSRV_ACCESS_LOG='$D/apache/log/access.log'
export ADCS_ENROLLMENT_SERVICE_DN='CN=$CANAME,CN=Enrollment Services,$PKS'
EOF
}

# ------------------------------------------------------------------ up / down
up_failed() {
  # subshells and background jobs inherit the trap (set -E): only the main shell tears down
  [ "$BASHPID" = "$$" ] || exit 1
  trap - ERR INT TERM
  log "up failed; tearing down (TESTENV_KEEP=1 keeps $D/logs)"
  down_quiet
  exit 1
}
up() {
  if [ -e "$D/settings" ] || { [ "${TESTENV_INPLACE:-0}" != 1 ] && ip netns list 2>/dev/null | grep -qw "${TESTENV_NS:-adenroll-test}"; }; then
    die "a domain is already up in $D (or netns ${TESTENV_NS:-adenroll-test} exists): run '$0 down' first"
  fi
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, daemons)"
  local b
  for b in samba samba-tool ldbadd ldbsearch adcli kinit ldapsearch curl openssl apache2 ip bc; do
    command -v "$b" >/dev/null || die "missing $b: run tests/install-deps.sh"
  done
  [ -e /usr/lib/apache2/modules/mod_auth_gssapi.so ] || die "missing mod_auth_gssapi: run tests/install-deps.sh"
  $PY -c 'import cryptography' 2>/dev/null || die "missing python3-cryptography: run tests/install-deps.sh"
  mkdir -p "$D/logs" "$D/rcache"
  chmod 711 "$D"            # www-data (Apache/CGI) must reach $D/emu and krb5.conf
  chmod 1777 "$D/rcache"
  : > "$D/timings.txt"
  INPLACE=${TESTENV_INPLACE:-0}; NS=${TESTENV_NS:-adenroll-test}; REALM=${TESTENV_REALM:-EXAMPLE.TEST}
  RESOLVE=${TESTENV_RESOLVE:-hosts}; NET=${TESTENV_NET:-10.53.58}
  save_settings
  load_settings
  local s; s=$(now)
  trap up_failed ERR INT TERM
  step network net_up
  step pki make_pki
  step provision samba_provision
  step samba_start samba_start
  step accounts join_hosts
  step adcs_objects pki_objects
  step web web_up
  step crl crl_init
  write_env
  step check check
  trap - ERR INT TERM
  echo "total_up $(printf %.2f "$(echo "$(now) - $s" | bc)")" >> "$D/timings.txt"
  log "up in $(tail -1 "$D/timings.txt" | cut -d' ' -f2)s: source $D/env.sh, or $0 exec CMD"
}

# kill every process still running with $D in its command line (the CGI, a
# stray samba child): they were started by us
kill_leftovers() {
  local f p cmd ancestors=" " a=$$
  # never ourselves or whoever called us (a test runner may have $D in its arguments)
  while [ -n "$a" ] && [ "$a" != 0 ]; do
    ancestors+="$a "
    a=$(awk '{print $4}' "/proc/$a/stat" 2>/dev/null || true)
  done
  for f in $(grep -lsF -- "$D/" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${f#/proc/}; p=${p%/cmdline}
    case "$ancestors" in *" $p "*) continue ;; esac
    cmd=$(tr '\0' ' ' 2>/dev/null < "$f") || continue
    log "leftover pid $p: $cmd"; kill -9 "$p" 2>/dev/null || true
  done
}

down_quiet() {
  trap - ERR
  set +e
  stop_pidfile "$D/apache/run/httpd.pid" 10
  stop_pidfile "$D/epa/epa.pid" 5
  stop_pidfile "$EMU/emu.pid" 5
  stop_pidfile "$D/ces/front.pid" 5
  stop_pidfile "$EMU/ces.pid" 5
  # a frozen smbd (gpo smb stop) would hold the DC's shutdown
  pkill -CONT -f "smbd.*$D/samba" 2>/dev/null
  stop_pidfile "$D/samba/run/samba.pid" 20
  kill_leftovers
  if [ "$INPLACE" = 1 ]; then
    umount /etc/resolv.conf 2>/dev/null; umount /etc/hosts 2>/dev/null
  else
    if ip netns list 2>/dev/null | grep -qw "$NS"; then
      local p
      for p in $(ip netns pids "$NS" 2>/dev/null); do
        log "leftover pid $p in netns $NS: $(tr "\\0" " " 2>/dev/null < "/proc/$p/cmdline")"; kill -9 "$p" 2>/dev/null
      done
      ip netns del "$NS"
    fi
    rm -rf "/etc/netns/$NS"; rmdir /etc/netns 2>/dev/null
  fi
  if [ "${TESTENV_KEEP:-0}" = 1 ]; then rm -f "$D/settings"; else rm -rf "$D"; fi
  set -e
  return 0
}
down() {
  if [ ! -e "$D/settings" ] && [ ! -d "$D" ]; then log "nothing to take down in $D"; return 0; fi
  local s; s=$(now)
  down_quiet
  log "down: $(printf %.2f "$(echo "$(now) - $s" | bc)")s"
}

# ------------------------------------------------------------------ checks
check() {
  local cc=FILE:$D/check.ccache ok=0 fail=0 pre=""
  [ "$INPLACE" = 1 ] || pre="ip netns exec $NS"
  chk() {
    local n=$1; shift
    if "$@" > "$D/logs/check-$n.log" 2>&1; then ok=$((ok + 1)); else fail=$((fail + 1)); log "check FAILED: $n (see $D/logs/check-$n.log)"; fi
  }
  chk srv nsx host -t SRV "_ldap._tcp.dc._msdcs.$DNSDOMAIN"
  chk kinit nsx env KRB5CCNAME=$cc kinit -k -t "$D/client.keytab" "CLIENT\$@$REALM"
  chk ldap_sd bash -c "$pre env KRB5_CONFIG=$D/krb5.conf KRB5CCNAME=$cc ldapsearch -Q -LLL -Y GSSAPI -H ldap://$DC -E '!1.2.840.113556.1.4.801=::MAMCAQc=' -b 'CN=Certificate Templates,$PKS' '(cn=LinuxWorkstation)' nTSecurityDescriptor | grep -q nTSecurityDescriptor::"
  chk certsrv_401 bash -c "[ \"\$($pre curl -s -o /dev/null -w '%{http_code}' --cacert $D/ca.pem https://$CA/certsrv/)\" = 401 ]"
  chk certsrv_negotiate bash -c "$pre env KRB5_CONFIG=$D/krb5.conf KRB5CCNAME=$cc curl -sf --cacert $D/ca.pem --negotiate -u : https://$CA/certsrv/ | grep -q 'Welcome'"
  rm -f "$D/check.ccache"
  [ "$fail" = 0 ] || { log "check: $ok passed, $fail failed"; return 1; }
}

# ------------------------------------------------------------------ admin controls
emu_cli() {  # the emulator's command line, as the web server's user, in the domain's network
  nsx runuser -u www-data -- env ADCS_EMU_DIR="$EMU" KRB5_CONFIG="$D/krb5.conf" "$PY" "$EMU/certsrv_emu.py" "$@"
}

fault() {
  local mode=${1:-} count=1 seconds=0 path=""
  [ -n "$mode" ] || die "usage: fault MODE [--count N] [--seconds S] [--path SUBSTR] | off | show"
  shift
  case "$mode" in
    off) rm -f "$EMU/fault.json"; return 0 ;;
    show) cat "$EMU/fault.json" 2>/dev/null || echo "no fault"; return 0 ;;
    http500|garbage|huge|empty|delay|wrongkey|badchain|future|rpc|busy|notstarted|certtype|tamper) ;;
    *) die "unknown fault $mode (http500 garbage huge empty delay wrongkey badchain future rpc busy notstarted certtype tamper)" ;;
  esac
  local ctype="" body=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --count) count=$2; shift 2 ;;
      --seconds) seconds=$2; shift 2 ;;
      --path) path=$2; shift 2 ;;
      --ctype) ctype=$2; shift 2 ;;
      --body) case "$2" in pem|der|base64) body=$2 ;; *) die "fault: --body pem|der|base64" ;; esac; shift 2 ;;
      *) die "fault: unknown option $1" ;;
    esac
  done
  [ "$mode" = delay ] && [ "$seconds" = 0 ] && seconds=5
  printf '{"mode": "%s", "count": %d, "seconds": %s, "path": "%s", "ctype": "%s", "body": "%s"}\n' \
    "$mode" "$count" "$seconds" "$path" "$ctype" "$body" > "$EMU/fault.json.tmp"
  chown www-data:www-data "$EMU/fault.json.tmp"
  mv "$EMU/fault.json.tmp" "$EMU/fault.json"
}

# srv-dead-first on|off: the DC's own LDAP/Kerberos SRV records get priority
# 10 and dc2 (nothing listens there) priority 0, so a client that follows
# RFC 2782 tries the dead one first; off restores the provisioned state (only
# dc, priority 0).  Each record change is allowed to fail (already in that
# state); the result is checked on the SRV name clients ask first.
srv_dead_first() {
  local recs=("$DNSDOMAIN:_ldap._tcp" "_msdcs.$DNSDOMAIN:_ldap._tcp.dc"
              "$DNSDOMAIN:_ldap._tcp.Default-First-Site-Name._sites"
              "_msdcs.$DNSDOMAIN:_ldap._tcp.Default-First-Site-Name._sites.dc"
              "$DNSDOMAIN:_kerberos._tcp" "_msdcs.$DNSDOMAIN:_kerberos._tcp.dc")
  local r zone n port pids=() want
  case "${1:-}" in on) want=yes ;; off) want=no ;; *) die "usage: srv-dead-first on|off" ;; esac
  for r in "${recs[@]}"; do
    zone=${r%%:*} n=${r#*:}
    case "$n" in _kerberos*) port=88 ;; *) port=389 ;; esac
    if [ $want = yes ]; then
      { st dns update "$DC" "$zone" "$n" SRV "$DC $port 0 100" "$DC $port 10 100"
        st dns add "$DC" "$zone" "$n" SRV "$DC2 $port 0 100"; } >> "$D/logs/srv.log" 2>&1 &
    else
      { st dns delete "$DC" "$zone" "$n" SRV "$DC2 $port 0 100"
        st dns update "$DC" "$zone" "$n" SRV "$DC $port 10 100" "$DC $port 0 100"; } >> "$D/logs/srv.log" 2>&1 &
    fi
    pids+=($!)
  done
  bg_wait "${pids[@]}" || true
  local srv
  srv=$(nsx host -t SRV "_ldap._tcp.dc._msdcs.$DNSDOMAIN" 2>&1 || true)
  if [ $want = yes ]; then
    echo "$srv" | grep -q "SRV record 0 100 389 $DC2\." && echo "$srv" | grep -q "SRV record 10 100 389 $DC\." \
      || { echo "$srv" >&2; tail -n 20 "$D/logs/srv.log" >&2; die "srv-dead-first on failed"; }
    : > "$D/srv-dead-first"     # run.sh turns it off again after a test that left it on
  else
    ! echo "$srv" | grep -q "$DC2" && echo "$srv" | grep -q "SRV record 0 100 389 $DC\." \
      || { echo "$srv" >&2; tail -n 20 "$D/logs/srv.log" >&2; die "srv-dead-first off failed"; }
    rm -f "$D/srv-dead-first"
  fi
}

# ------------------------------------------------------------------ CRL distribution point
# The CA's CDP object, the target of the LDAP CDP URL the emulator writes into
# every certificate (docs/protocol.md 3.2): CN=<CA>,CN=<CA host>,CN=CDP,<PKS> with
# the CRL the emulator signs (certsrv_emu.py gencrl / revoke).
cdp_dn() { echo "CN=$CANAME,CN=${CA%%.*},CN=CDP,$PKS"; }
crl_init() {
  emu_cli gencrl > "$D/logs/crl.log" 2>&1 || { cat "$D/logs/crl.log" >&2; return 1; }
  cat > "$D/cdp.ldif" <<EOF
dn: CN=${CA%%.*},CN=CDP,$PKS
objectClass: top
objectClass: container
cn: ${CA%%.*}

dn: $(cdp_dn)
objectClass: top
objectClass: cRLDistributionPoint
cn: $CANAME
certificateRevocationList:: $(base64 -w0 "$EMU/state/crl.der")

EOF
  nsx ldbadd -H "ldap://$DC" -U "Administrator%$ADMINPW" "$D/cdp.ldif" >> "$D/logs/crl.log" 2>&1 \
    || { cat "$D/logs/crl.log" >&2; return 1; }
}
crl_publish() {
  nsx ldbmodify -H "ldap://$DC" -U "Administrator%$ADMINPW" >> "$D/logs/crl.log" 2>&1 <<EOF \
    || { tail -n 20 "$D/logs/crl.log" >&2; die "publishing the CRL at $(cdp_dn) failed"; }
dn: $(cdp_dn)
changetype: modify
replace: certificateRevocationList
certificateRevocationList:: $(base64 -w0 "$EMU/state/crl.der")
EOF
}
revoke() {
  [ $# -ge 1 ] && [ $# -le 2 ] || die "usage: revoke REQUEST-ID [REASON]"
  emu_cli revoke "$@" || die "revoke $* failed"
  crl_publish
}

# ------------------------------------------------------------------ CA web server down/up
# ca stop: Apache stopped, its ports refuse connections ("CA down"); a marker
# tells run.sh to start it again after a test that left it stopped.
ca_web() {
  local pidf=$D/apache/run/httpd.pid i
  case "${1:-}" in
    stop)
      stop_pidfile "$pidf" 15
      stop_pidfile "$D/epa/epa.pid" 10
      stop_pidfile "$D/ces/front.pid" 10
      for i in $(seq 1 200); do
        "${NSEXEC[@]}" bash -c "exec 3<>/dev/tcp/$CA_IP/443" 2>/dev/null || break
        sleep 0.05
      done
      : > "$D/ca-stopped" ;;
    start)
      [ -s "$D/epa/mode" ] && epa_front_start
      [ -s "$D/ces/mode" ] && ces_start
      if ! { [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }; then
        rm -f "$pidf"
        apache_start
      fi
      wait_tcp "$CA_IP" 443; wait_tcp "$CA_IP" 80
      rm -f "$D/ca-stopped" ;;
    *) die "usage: ca stop|start" ;;
  esac
}

# ------------------------------------------------------------------ Group Policy
APPLY_GP_GUID=edacfd8f-ffb3-11d1-b41d-00a0c968f939
gpo_dn() { echo "CN=$1,CN=Policies,CN=System,$BASE"; }
gpo_version() {  # gpo_version GUID: versionNumber
  nsx ldbsearch -H "$D/samba/private/sam.ldb" -b "$(gpo_dn "$1")" -s base versionNumber 2>/dev/null \
    | sed -n 's/^versionNumber: //p'
}
gpo_set_version() {  # gpo_set_version GUID N: versionNumber in LDAP and Version in GPT.INI, as GPMC writes both
  local g=$1 v=$2 tmp
  printf 'dn: %s\nchangetype: modify\nreplace: versionNumber\nversionNumber: %s\n' "$(gpo_dn "$g")" "$v" \
    | nsx ldbmodify -H "ldap://$DC" -U "Administrator%$ADMINPW" >/dev/null
  tmp=$(mktemp "$D/gpt.XXXXXX")
  printf '[General]\r\nVersion=%s\r\n' "$v" > "$tmp"
  nsx smbclient -s "$D/empty.conf" "//$DC/sysvol" -U "Administrator%$ADMINPW" \
    -c "cd $DNSDOMAIN/Policies/$g; put $tmp GPT.INI" >/dev/null 2>&1
  rm -f "$tmp"
}
gpo_bump() {  # gpo_bump GUID machine|user: computer side = low 16 bits, user side = high 16 bits
  local v; v=$(gpo_version "$1")
  case "$2" in
    machine) v=$(( v + 1 )) ;;
    user) v=$(( v + 65536 )) ;;
    *) die "usage: gpo bump GUID machine|user" ;;
  esac
  gpo_set_version "$1" "$v"
  echo "$v"
}
gpo_cmd() {
  local sub=${1:-}; shift || true
  case "$sub" in
    create)
      [ $# = 1 ] || die "usage: gpo create NAME"
      st gpo create "$1" 2>&1 | grep -o '{[0-9A-Fa-f-]*}' | head -n 1 | tr 'a-f' 'A-F' ;;
    set)
      [ $# -ge 3 ] || die "usage: gpo set GUID machine|user AEPOLICY [PCT] [--policy-server URL]..."
      local g=$1 side=$2 ae=$3 pct="" dir pol servers=()
      shift 3
      while [ $# -gt 0 ]; do
        case "$1" in
          --policy-server) [ $# -ge 2 ] || die "gpo set: --policy-server needs a URL"; servers+=("$2|||"); shift 2 ;;
          --cost|--flags|--auth|--policy-id)
            # these four change the --policy-server given before them
            [ $# -ge 2 ] && [ ${#servers[@]} -gt 0 ] || die "gpo set: $1 needs a value and a --policy-server before it"
            local last=${servers[-1]} u c f a i
            IFS='|' read -r u c f a i <<< "$last"
            case "$1" in --cost) c=$2 ;; --flags) f=$2 ;; --auth) a=$2 ;; --policy-id) i=$2 ;; esac
            servers[-1]="$u|$c|$f|$a|$i"; shift 2 ;;
          *) [ -z "$pct" ] || die "gpo set: unexpected $1"; pct=$1; shift ;;
        esac
      done
      case "$side" in machine) dir=Machine ;; user) dir=User ;; *) die "side must be machine or user" ;; esac
      pol=$(mktemp "$D/registry.XXXXXX")
      # Samba's own PReg encoder writes the file GPMC would
      $PY - "$pol" "$ae" "$pct" "$BASE" "${servers[@]}" <<'PYEOF'
import hashlib, sys, uuid
from samba.dcerpc import misc, preg
from samba.ndr import ndr_pack
out, ae, pct, base, servers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
key = 'Software\\Policies\\Microsoft\\Cryptography\\AutoEnrollment'
entries = []
def value(k, name, t, v):
    e = preg.entry(); e.keyname = k; e.valuename = name; e.type = t; e.data = v
    entries.append(e)
def dword(name, v):
    value(key, name, misc.REG_DWORD, v)
if ae != 'none':
    dword('AEPolicy', int(ae, 0))
if pct:
    dword('OfflineExpirationPercent', int(pct, 0))
# Enrollment policy servers (MS-CAESO 4.4.5.3.2.1), as GPMC's "Certificate Services
# Client - Certificate Enrollment Policy" writes them: one subkey per server;
# PolicyID is the policyID the CEP emulator answers (ces_emu.py)
ps = 'Software\\Policies\\Microsoft\\Cryptography\\PolicyServers'
if servers:
    value(ps, 'Flags', misc.REG_DWORD, 0)
policy_id = '{%s}' % str(uuid.uuid5(uuid.NAMESPACE_URL, 'ldap:///' + base)).upper()
for i, spec in enumerate(servers):
    # URL|cost|flags|auth|policy id (gpo set --cost --flags --auth --policy-id; empty: the default)
    url, cost, flags, auth, pid = (spec.split('|') + [''] * 5)[:5]
    k = ps + '\\' + hashlib.sha1(url.encode()).hexdigest()
    value(k, 'URL', misc.REG_SZ, url)
    value(k, 'PolicyID', misc.REG_SZ, pid or policy_id)
    value(k, 'FriendlyName', misc.REG_SZ, 'Active Directory Enrollment Policy')
    value(k, 'Flags', misc.REG_DWORD, int(flags, 0) if flags else 0x14)  # AutoEnrollmentEnabled (0x10) | 0x4
    value(k, 'AuthFlags', misc.REG_DWORD, int(auth, 0) if auth else 2)   # Kerberos
    value(k, 'Cost', misc.REG_DWORD, int(cost, 0) if cost else 2147483645 + i)
f = preg.file(); f.num_entries = len(entries); f.entries = entries
open(out, 'wb').write(ndr_pack(f))
PYEOF
      nsx smbclient -s "$D/empty.conf" "//$DC/sysvol" -U "Administrator%$ADMINPW" \
        -c "cd $DNSDOMAIN/Policies/$g; mkdir $dir; cd $dir; put $pol Registry.pol" >/dev/null 2>&1 \
        || nsx smbclient -s "$D/empty.conf" "//$DC/sysvol" -U "Administrator%$ADMINPW" \
             -c "cd $DNSDOMAIN/Policies/$g/$dir; put $pol Registry.pol" >/dev/null
      rm -f "$pol"
      gpo_bump "$g" "$side" >/dev/null ;;
    bump) [ $# = 2 ] || die "usage: gpo bump GUID machine|user"; gpo_bump "$1" "$2" ;;
    link)
      [ $# -ge 2 ] || die "usage: gpo link GUID DN [enforce] [disable]"
      local g=$1 dn=$2 opts=(); shift 2
      for o in "$@"; do case "$o" in enforce) opts+=(--enforce) ;; disable) opts+=(--disable) ;; *) die "unknown link option $o" ;; esac; done
      # setlink does not change an existing link: re-link with the new options
      st gpo dellink "$dn" "$g" >/dev/null 2>&1 || true
      st gpo setlink "$dn" "$g" "${opts[@]}" >/dev/null ;;
    unlink) [ $# = 2 ] || die "usage: gpo unlink GUID DN"; st gpo dellink "$2" "$1" >/dev/null ;;
    block)
      [ $# = 2 ] || die "usage: gpo block DN on|off"
      st gpo setinheritance "$1" "$( [ "$2" = on ] && echo block || echo inherit )" >/dev/null ;;
    flags)
      [ $# = 2 ] || die "usage: gpo flags GUID N"
      printf 'dn: %s\nchangetype: modify\nreplace: flags\nflags: %s\n' "$(gpo_dn "$1")" "$2" \
        | nsx ldbmodify -H "ldap://$DC" -U "Administrator%$ADMINPW" >/dev/null ;;
    deny-computers)
      [ $# = 1 ] || die "usage: gpo deny-computers GUID"
      # GPMC's default DACL with a deny of Apply Group Policy for Domain Computers first
      printf 'dn: %s\nchangetype: modify\nreplace: nTSecurityDescriptor\nnTSecurityDescriptor: %s\n' "$(gpo_dn "$1")" \
        "O:DAG:DAD:PAI(OD;;CR;$APPLY_GP_GUID;;DC)(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;DA)(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;EA)(A;CI;RPWPCCDCLCLORCWOWDSDDTSW;;;SY)(A;CI;RPLCLORC;;;AU)(OA;CI;CR;$APPLY_GP_GUID;;AU)(A;CI;RPLCLORC;;;ED)" \
        | nsx ldbmodify -H "ldap://$DC" -U "Administrator%$ADMINPW" >/dev/null ;;
    ou)
      [ $# = 1 ] || die "usage: gpo ou NAME"
      st ou create "OU=$1,$BASE" >/dev/null 2>&1 || true
      echo "OU=$1,$BASE" ;;
    move-client)
      [ $# = 1 ] || die "usage: gpo move-client DN"
      st computer move CLIENT "$1" >/dev/null
      echo "CN=CLIENT,$1" ;;
    move-user)
      [ $# = 1 ] || die "usage: gpo move-user DN"
      st user move alice "$1" >/dev/null
      echo "CN=alice,$1" ;;
    smb)
      local p
      p=$(pgrep -f "smbd.*$D/samba" || true)
      [ -n "$p" ] || die "no smbd of this domain runs"
      case "${1:-}" in
        stop) kill -STOP $p ;;
        start) kill -CONT $p ;;
        *) die "usage: gpo smb stop|start" ;;
      esac ;;
    *) die "unknown gpo subcommand '$sub' (see the header of $SELF)" ;;
  esac
}

# ------------------------------------------------------------------ page language
# lang LANG [--charset C]: pin the emulator's page language (lang.json, read at
# every request); auto (no lang.json) follows Accept-Language.
page_lang() {
  local lang=${1:-} charset=utf-8
  case "$lang" in
    show) cat "$EMU/lang.json" 2>/dev/null || echo '{"lang": "auto", "charset": "utf-8"}'; return 0 ;;
    ja|de|fr|zh|en|auto) ;;
    *) die "usage: lang ja|de|fr|zh|en|auto [--charset utf-8|shift_jis] | lang show" ;;
  esac
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --charset) case "$2" in utf-8|shift_jis) charset=$2 ;; *) die "lang: --charset utf-8|shift_jis" ;; esac; shift 2 ;;
      *) die "lang: unknown option $1" ;;
    esac
  done
  if [ "$lang" = auto ] && [ "$charset" = utf-8 ]; then
    rm -f "$EMU/lang.json"
    return 0
  fi
  printf '{"lang": "%s", "charset": "%s"}\n' "$lang" "$charset" > "$EMU/lang.json.tmp"
  chown www-data:www-data "$EMU/lang.json.tmp"
  mv "$EMU/lang.json.tmp" "$EMU/lang.json"
}

# ------------------------------------------------------------------ channel-binding front
# epa_front.py on the CA's HTTPS port in Apache's place ($D/epa/mode and
# $D/epa/cert say how; run.sh gives HTTPS back to Apache after each test).
epa_front_start() {
  local mode cert other=()
  mode=$(cat "$D/epa/mode") cert=$(cat "$D/epa/cert")
  if [ -e "$D/epa/proxied" ]; then
    if [ -z "$cert" ]; then other=(--binding-cert "$D/pki/tls-sha512.pem"); else other=(--binding-cert "$D/pki/tls.pem"); fi
  fi
  # domain.sh ces only: the web enrollment role is gone, /certsrv is 404
  [ "$(cat "$D/ces/mode" 2>/dev/null)" = only ] && other+=(--prefix "")
  stop_pidfile "$D/epa/epa.pid" 10
  rm -f "$D/epa/epa.pid"
  install -m 755 "$HERE/epa_front.py" "$D/epa/epa_front.py"
  touch "$D/epa/auth.jsonl"
  nsx "$PY" "$D/epa/epa_front.py" --listen "$CA_IP:443" --cert "$D/pki/tls$cert.pem" --key "$D/pki/tls.key" \
    --keytab "$EMU/ca.keytab" --backend "$EMU_LISTEN" --mode "$mode" --error-page "$EMU/pages/401.html" \
    --auth-log "$D/epa/auth.jsonl" --pidfile "$D/epa/epa.pid" --user www-data "${other[@]}" \
    < /dev/null >> "$D/logs/epa.log" 2>&1 &
  local i
  for i in $(seq 1 200); do
    grep -q "^epa_front: $mode on " "$D/logs/epa.log" 2>/dev/null && [ -s "$D/epa/epa.pid" ] && break
    kill -0 $! 2>/dev/null || break
    sleep 0.05
  done
  wait_tcp "$CA_IP" 443 && kill -0 $! 2>/dev/null || { tail -n 20 "$D/logs/epa.log" >&2; return 1; }
}
epa() {
  local mode=${1:-} cert=sha256 proxied=0
  [ $# -gt 0 ] && shift
  case "$mode" in
    required|accept|off) ;;
    show) if [ -s "$D/epa/mode" ]; then
            echo "$(cat "$D/epa/mode") tls$(cat "$D/epa/cert").pem$([ -e "$D/epa/proxied" ] && echo " proxied")"
          else echo "apache"; fi
          return 0 ;;
    stop)
      [ -s "$D/epa/mode" ] || return 0
      stop_pidfile "$D/epa/epa.pid" 10
      rm -f "$D/epa/mode" "$D/epa/cert" "$D/epa/epa.pid" "$D/epa/proxied"
      stop_pidfile "$D/apache/run/httpd.pid" 15
      apache_start
      return 0 ;;
    *) die "usage: epa required|accept|off [--cert sha256|sha512|pss] [--proxied] | epa stop | epa show" ;;
  esac
  while [ $# -gt 0 ]; do
    case "$1" in
      --cert) cert=${2:-}; shift 2 || die "--cert needs sha256, sha512 or pss" ;;
      --proxied) proxied=1; shift ;;
      *) die "epa: unknown option $1" ;;
    esac
  done
  case "$cert" in sha256) cert="" ;; sha512|pss) cert=-$cert ;; *) die "--cert: sha256, sha512 or pss" ;; esac
  mkdir -p "$D/epa"
  local was_front=0
  [ -s "$D/epa/mode" ] && was_front=1
  echo "$mode" > "$D/epa/mode"
  echo "$cert" > "$D/epa/cert"
  if [ $proxied = 1 ]; then : > "$D/epa/proxied"; else rm -f "$D/epa/proxied"; fi
  if [ $was_front = 0 ]; then
    # Apache gives up HTTPS (port 80 stays)
    stop_pidfile "$D/apache/run/httpd.pid" 15
    apache_start
  fi
  if ! epa_front_start; then
    rm -f "$D/epa/mode" "$D/epa/cert" "$D/epa/proxied"
    stop_pidfile "$D/apache/run/httpd.pid" 15
    apache_start
    die "the channel-binding front did not start (see $D/logs/epa.log); Apache has HTTPS again"
  fi
}
# ------------------------------------------------------------------ CEP/CES
# ces_emu.py on loopback ($CES_LISTEN) behind epa_front.py on the CA's
# address, port $CES_PORT, channel binding required.  $D/ces/mode (on|only)
# says it is wanted; $EMU/ces.json lists the endpoints CEP answers with.
ces_url() {  # ces_url KIND
  case "$1" in
    kerberos) echo "https://$CA:$CES_PORT/${CANAME}_CES_Kerberos/service.svc/CES" ;;
    renewal) echo "https://$CA:$CES_PORT/${CANAME}_CES_Kerberos_Renewal/service.svc/CES" ;;
    password) echo "https://$CA:$CES_PORT/${CANAME}_CES_UsernamePassword/service.svc/CES" ;;
    certificate) echo "https://$CA:$CES_PORT/${CANAME}_CES_Certificate/service.svc/CES" ;;
    *) return 1 ;;
  esac
}
ces_start() {
  mkdir -p "$D/ces"
  touch "$D/ces/auth.jsonl"
  if ! { [ -s "$EMU/ces.pid" ] && kill -0 "$(cat "$EMU/ces.pid")" 2>/dev/null; }; then
    rm -f "$EMU/ces.pid"
    # the current emulator and schemas, as epa_front_start does for its script
    install -m 755 -o www-data -g www-data "$HERE/ces_emu.py" "$HERE/certsrv_emu.py" "$EMU/"
    install -m 644 -o www-data -g www-data "$HERE"/schemas/*.xsd "$EMU/schemas/"
    nsx setpriv --reuid=www-data --regid=www-data --init-groups env ADCS_EMU_DIR="$EMU" \
      "$PY" "$EMU/ces_emu.py" serve "$CES_LISTEN" "$EMU/ces.pid" < /dev/null >> "$D/logs/ces.log" 2>&1 &
    wait_tcp "${CES_LISTEN%:*}" "${CES_LISTEN#*:}" || { tail -n 20 "$D/logs/ces.log" >&2; return 1; }
  fi
  stop_pidfile "$D/ces/front.pid" 10
  rm -f "$D/ces/front.pid"
  install -m 755 "$HERE/epa_front.py" "$D/ces/epa_front.py"
  nsx "$PY" "$D/ces/epa_front.py" --listen "$CA_IP:$CES_PORT" --cert "$D/pki/tls.pem" --key "$D/pki/tls.key" \
    --keytab "$EMU/ca.keytab" --backend "$CES_LISTEN" --mode required --prefix / \
    --error-page "$EMU/pages/401.html" --auth-log "$D/ces/auth.jsonl" --pidfile "$D/ces/front.pid" \
    --user www-data < /dev/null >> "$D/logs/ces-front.log" 2>&1 &
  local i
  for i in $(seq 1 200); do
    [ -s "$D/ces/front.pid" ] && grep -q "^epa_front: required on $CA_IP:$CES_PORT" "$D/logs/ces-front.log" && break
    kill -0 $! 2>/dev/null || break
    sleep 0.05
  done
  wait_tcp "$CA_IP" "$CES_PORT" && kill -0 $! 2>/dev/null || { tail -n 20 "$D/logs/ces-front.log" >&2; return 1; }
}
ces_stop() {
  stop_pidfile "$D/ces/front.pid" 10
  stop_pidfile "$EMU/ces.pid" 10
  rm -f "$D/ces/front.pid" "$EMU/ces.pid"
  # a request the stopped emulator was delaying (fault slow) will never be
  # decided: its in-flight marker would make every later caller wait for it
  rm -f "$EMU/state/inflight"/ces-*
}
# ces_advertise [VALUE...]: msPKI-Enrollment-Servers on the enrollment service
# (each value "priority\nauth\nrenewalOnly\nURL\n"); none removes the attribute
ces_advertise() {
  local dn="CN=$CANAME,CN=Enrollment Services,$PKS" v
  {
    printf 'dn: %s\nchangetype: modify\n' "$dn"
    if [ $# = 0 ]; then
      printf 'replace: msPKI-Enrollment-Servers\n'
    else
      printf 'replace: msPKI-Enrollment-Servers\n'
      for v in "$@"; do printf 'msPKI-Enrollment-Servers:: %s\n' "$(printf '%b' "$v" | base64 -w0)"; done
    fi
    printf -- '-\n'
  } | nsx ldbmodify -H "ldap://$DC" -U "Administrator%$ADMINPW" > "$D/logs/ces-ldif.log" 2>&1 \
    || { cat "$D/logs/ces-ldif.log" >&2; return 1; }
}
ces_cmd() {
  local mode=${1:-} was
  [ $# -gt 0 ] && shift
  was=$(cat "$D/ces/mode" 2>/dev/null || echo off)
  case "$mode" in
    show)
      echo "$was"
      nsx ldbsearch -H "ldap://$DC" -U "Administrator%$ADMINPW" -b "CN=$CANAME,CN=Enrollment Services,$PKS" \
        -s base msPKI-Enrollment-Servers 2>/dev/null | awk '/^ / { printf "%s", substr($0, 2); next } NR > 1 { print "" } { printf "%s", $0 } END { print "" }' \
        | sed -n 's/^msPKI-Enrollment-Servers:: //p' \
        | while read -r v; do printf '%s' "$v" | base64 -d | tr '\n' ' '; echo; done
      return 0 ;;
    off)
      [ "$was" = off ] && return 0
      ces_stop
      ces_advertise
      rm -f "$EMU/ces.json" "$D/ces/mode"
      if [ "$was" = only ]; then
        # /certsrv comes back
        [ -s "$D/epa/mode" ] && epa_front_start
        stop_pidfile "$D/apache/run/httpd.pid" 15
        [ -e "$D/ca-stopped" ] || apache_start
      fi
      return 0 ;;
    unadvertise)
      # the services keep running and CEP keeps answering with the endpoints;
      # only the directory stops naming them (a CA found through Group
      # Policy's enrollment policy servers alone)
      [ "$was" != off ] || die "ces unadvertise: CES is off (domain.sh ces on|only first)"
      ces_advertise
      return 0 ;;
    on|only) ;;
    *) die "usage: ces on|only [KIND[:PRIORITY]...] | ces unadvertise | ces off | ces show  (KIND: kerberos renewal password certificate)" ;;
  esac
  [ $# -gt 0 ] || set -- kerberos:1
  local spec kind prio auth ro url values=() json="" n=0
  for spec in "$@"; do
    kind=${spec%%:*} prio=${spec#*:}
    [ "$prio" = "$spec" ] && prio=$((n + 1))
    [[ "$prio" =~ ^[0-9]+$ ]] || die "ces: priority of $spec is not a number"
    url=$(ces_url "$kind") || die "ces: unknown endpoint kind $kind (kerberos renewal password certificate)"
    case "$kind" in kerberos) auth=2 ro=0 ;; renewal) auth=2 ro=1 ;; password) auth=4 ro=0 ;; certificate) auth=8 ro=0 ;; esac
    values+=("$prio\\n$auth\\n$ro\\n$url\\n")
    [ $n -gt 0 ] && json+=", "
    json+=$(printf '{"priority": %d, "auth": %d, "renewal_only": %s, "url": "%s"}' "$prio" "$auth" \
      "$([ $ro = 1 ] && echo true || echo false)" "$url")
    n=$((n + 1))
  done
  mkdir -p "$D/ces"
  printf '{"mode": "%s", "endpoints": [%s]}\n' "$mode" "$json" > "$EMU/ces.json.tmp"
  chown www-data:www-data "$EMU/ces.json.tmp"
  mv "$EMU/ces.json.tmp" "$EMU/ces.json"
  ces_advertise "${values[@]}"
  echo "$mode" > "$D/ces/mode"
  ces_start || { ces_cmd off; die "the CES front did not start (see $D/logs/ces.log, $D/logs/ces-front.log)"; }
  if [ "$mode" != "$was" ] && { [ "$mode" = only ] || [ "$was" = only ]; }; then
    # /certsrv goes (only) or comes back (on after only): restart what serves it
    [ -s "$D/epa/mode" ] && epa_front_start
    stop_pidfile "$D/apache/run/httpd.pid" 15
    [ -e "$D/ca-stopped" ] || apache_start
  fi
  return 0
}
need_up() { [ -r "$D/settings" ] || die "no domain in $D: run '$0 up' first (or set TESTENV_DIR)"; }

cmd=${1:-}; shift || true
load_settings
case "$cmd" in
  up) up ;;
  down) down ;;
  check) need_up; check && log "check: ok" ;;
  env) need_up; cat "$D/env.sh" ;;
  exec)
    need_up
    # shellcheck disable=SC1091
    . "$D/env.sh"
    exec "${NSEXEC[@]}" env KRB5_CONFIG="$D/krb5.conf" "$@" ;;
  samba-tool) need_up; st "$@" ;;
  ldbmodify) need_up; nsx ldbmodify -H "ldap://$DC" -U "Administrator%$ADMINPW" "${1:-/dev/stdin}" ;;
  approve|deny) need_up; [ $# = 1 ] || die "usage: $cmd REQUEST-ID"; emu_cli "$cmd" "$1" ;;
  requests) need_up; emu_cli list ;;
  revoke) need_up; revoke "$@" ;;
  fault) need_up; fault "$@" ;;
  lang) need_up; page_lang "$@" ;;
  srv-dead-first) need_up; srv_dead_first "$@" ;;
  ca) need_up; ca_web "$@" ;;
  gpo) need_up; gpo_cmd "$@" ;;
  epa) need_up; epa "$@" ;;
  ces) need_up; ces_cmd "$@" ;;
  *) sed -n '2,/^set -E/{/^set -E/!p}' "$SELF" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
