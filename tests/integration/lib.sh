# Helpers for integration tests (tests/integration/t_*.sh).  run.sh sources
# the domain's env.sh, sets ADENROLL (the binary under test) and SCRATCH (an
# empty directory, also the working directory), then runs each test with
#   . "$TESTS_LIB"
# A test exits 0 to pass, 77 to skip, anything else to fail; the first failed
# assertion ends it with a message saying what was expected.
# shellcheck shell=bash

set -uo pipefail

: "${SCRATCH:=$PWD}"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "--- $*" >&2; }

assert_eq() {  # assert_eq EXPECTED ACTUAL [WHAT]
  [ "$1" = "$2" ] || fail "${3:-value}: expected '$1', got '$2'"
}
assert_ne() {  # assert_ne UNEXPECTED ACTUAL [WHAT]
  [ "$1" != "$2" ] || fail "${3:-value}: did not expect '$1'"
}
assert_contains() {  # assert_contains HAYSTACK NEEDLE [WHAT]  (fixed string)
  case "$1" in
    *"$2"*) ;;
    *) fail "${3:-output} does not contain '$2'; it was:
$(printf '%s\n' "$1" | head -n 40)" ;;
  esac
}
assert_not_contains() {  # assert_not_contains HAYSTACK NEEDLE [WHAT]
  case "$1" in
    *"$2"*) fail "${3:-output} contains '$2'; it was:
$(printf '%s\n' "$1" | head -n 40)" ;;
  esac
}
assert_match() {  # assert_match HAYSTACK ERE [WHAT]
  # not `printf | grep -q`: grep exits at the first match, and under load the
  # builtin's next line then dies of SIGPIPE, which pipefail reports as no match
  grep -Eq -- "$2" <<< "$1" || fail "${3:-output} does not match /$2/; it was:
$(printf '%s\n' "$1" | head -n 40)"
}
assert_file() {  # assert_file PATH
  [ -f "$1" ] || fail "expected file $1 to exist"
}
assert_no_file() {
  [ ! -e "$1" ] || fail "expected $1 not to exist"
}

# assert_exit CODE CMD... : runs CMD, output (stdout+stderr) in $OUT and in
# $SCRATCH/last.out; fails showing the output when the exit status differs.
OUT=
assert_exit() {
  local want=$1 rc; shift
  "$@" > "$SCRATCH/last.out" 2>&1
  rc=$?
  OUT=$(cat "$SCRATCH/last.out")
  [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want; output:
$(tail -n 60 "$SCRATCH/last.out")"
}

# write_config FILE [SECTION.KEY=VALUE ...]: an adenroll.conf for the test
# domain and the client host, with every store under $SCRATCH.  Each extra
# argument sets (or replaces) one key; an empty VALUE removes the key.
# The DC is found through DNS SRV unless domain.dc=... is given.
write_config() {
  local file=$1; shift
  local base
  base=$(cat <<EOF
[domain]
realm = $ADCS_REALM
domain = $ADCS_DOMAIN

[machine]
keytab = $ADCS_CLIENT_KEYTAB
host_fqdn = $ADCS_CLIENT_FQDN

[enroll]
http_timeout = 30

[store]
pem_dir = $SCRATCH/certs
archive_dir = $SCRATCH/archive
state_dir = $SCRATCH/state

[general]
hooks_dir = $SCRATCH/hooks.d
lock_file = $SCRATCH/adenroll.lock
EOF
)
  local kv sec key val
  for kv in "$@"; do
    sec=${kv%%.*}; kv=${kv#*.}; key=${kv%%=*}; val=${kv#*=}
    base=$(printf '%s\n' "$base" | awk -v sec="$sec" -v key="$key" -v val="$val" '
      function emit() { if (val != "") print key " = " val; done = 1 }
      /^\[/ { if (insec && !done) emit(); insec = ($0 == "[" sec "]"); print; if (insec) seen = 1; next }
      insec && $1 == key && $2 == "=" { if (!done) emit(); next }
      { print }
      END { if (insec && !done) emit(); else if (!seen) { print ""; print "[" sec "]"; emit() } }')
  done
  # one blank line before each section, none elsewhere
  printf '%s\n' "$base" | awk 'NF == 0 { next } /^\[/ && NR > 1 { print "" } { print }' > "$file"
}

# Kerberos: a private ccache per test (run.sh sets KRB5CCNAME under $SCRATCH)
kinit_client() { kinit -k -t "$ADCS_CLIENT_KEYTAB" "$ADCS_CLIENT_PRINCIPAL" || fail "kinit -k as $ADCS_CLIENT_PRINCIPAL failed"; }
kinit_user() { printf '%s\n' "$ADCS_USER_PASSWORD" | kinit "$ADCS_USER_PRINCIPAL" > /dev/null || fail "kinit as $ADCS_USER_PRINCIPAL failed"; }

# domain administration (approve/deny/fault/srv-dead-first/ldbmodify/samba-tool)
domain() { "$TESTENV_DOMAIN_SH" "$@"; }

# make_csr KEYFILE CSRFILE [SUBJECT] (RSA 2048)
make_csr() {
  openssl req -new -newkey rsa:2048 -nodes -keyout "$1" -out "$2" -subj "${3:-/CN=$ADCS_CLIENT_FQDN}" 2>/dev/null \
    || fail "openssl req failed"
}

# certsrv_submit TEMPLATE CSRFILE: POSTs like a certsrv client with the
# current ticket; the page goes to stdout
certsrv_submit() {
  curl -sS --cacert "$ADCS_CA_CERT" --negotiate -u : \
    --data-urlencode Mode=newreq --data-urlencode "CertRequest@$2" \
    --data-urlencode "CertAttrib=CertificateTemplate:$1" \
    --data-urlencode TargetStoreFlags=0 --data-urlencode SaveCert=yes \
    "$ADCS_CERTSRV_URL/certfnsh.asp"
}
# certsrv_get PATH-AND-QUERY: GET with the current ticket
certsrv_get() { curl -sS --cacert "$ADCS_CA_CERT" --negotiate -u : "$ADCS_CERTSRV_URL/$1"; }
# page_reqid PAGE: the issued certificate's ReqID (digits only), or the pending/denied Request Id
page_reqid() {
  printf '%s' "$1" | grep -oE 'certnew\.cer\?ReqID=[0-9]+&' | head -n1 | grep -oE '[0-9]+' \
    || printf '%s' "$1" | grep -oE 'Your Request Id is [0-9]+' | grep -oE '[0-9]+'
}

# The CA emulator's records ($ADCS_EMU_DIR/state/req-N.{csr,cer,json})
emu_request_count() { find "$ADCS_EMU_DIR/state" -name 'req-*.json' 2>/dev/null | wc -l; }
emu_last_request_id() {
  find "$ADCS_EMU_DIR/state" -name 'req-*.json' 2>/dev/null | sed 's/.*req-\([0-9]*\)\.json/\1/' | sort -n | tail -n1
}
# emu_request_field ID FIELD: one field of the request's JSON record
emu_request_field() {
  /usr/bin/python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2], ""); print(v)' \
    "$ADCS_EMU_DIR/state/req-$1.json" "$2"
}

# cert_has_ext CERTFILE OID: true when the PEM certificate carries the extension
cert_has_ext() {
  openssl x509 -in "$1" -noout -text 2>/dev/null | grep -q "$2" \
    || openssl x509 -in "$1" -outform DER 2>/dev/null | openssl asn1parse -inform DER 2>/dev/null | grep -q ":$2\$"
}

# pair_files CRT KEY: "<serial> <sha256 of the public key>" of a pair; fails
# unless both files are there, parse, and the key is the certificate's.
pair_files() {
  local crt=$1 key=$2 cpub kpub serial
  serial=$(openssl x509 -in "$crt" -noout -serial 2>/dev/null) || fail "$crt is missing or not a certificate"
  openssl pkey -in "$key" -noout 2>/dev/null || fail "$key is missing or not a private key"
  cpub=$(openssl x509 -in "$crt" -noout -pubkey 2>/dev/null | openssl sha256 | awk '{print $NF}')
  kpub=$(openssl pkey -in "$key" -pubout 2>/dev/null | openssl sha256 | awk '{print $NF}')
  [ "$cpub" = "$kpub" ] || fail "$key does not belong to $crt"
  printf '%s %s\n' "${serial#serial=}" "$cpub"
}
# pair_state DIR NAME: pair_files of the stable paths DIR/NAME.crt, DIR/NAME.key
pair_state() { pair_files "$1/$2.crt" "$1/$2.key"; }

# assert_no_leftovers DIR...: nothing an interrupted or failed write leaves
# (never-live .new-* generations, .NAME.tmp-* files) under the directories
assert_no_leftovers() {
  local d left
  for d in "$@"; do
    [ -e "$d" ] || continue
    left=$(find "$d" \( -name '.new-*' -o -name '.*.tmp-*' \) 2>/dev/null)
    [ -z "$left" ] || fail "left behind in $d: $left"
  done
}

# store_snapshot [DIR...]: every file, link and directory under the stores
# (default: $SCRATCH's certs, archive and state/pending) with sizes, link
# targets and checksums; equal snapshots mean nothing was added, removed or
# rewritten
store_snapshot() {
  local dirs=("$@")
  [ ${#dirs[@]} -gt 0 ] || dirs=("$SCRATCH/certs" "$SCRATCH/archive" "$SCRATCH/state/pending")
  find "${dirs[@]}" -printf '%p %y %s %l\n' 2>/dev/null | sort
  find "${dirs[@]}" -type f -exec sha256sum {} + 2>/dev/null | sort
}

# ---- AD CS objects a test adds.  Tests share one domain per run: remove what
# you add in an EXIT trap (the removers ignore errors, for that purpose).

# ca_publish CN [CA] / ca_unpublish CN [CA]: add or remove template CN in the
# certificateTemplates of enrollment service CA (default $ADCS_CA_NAME)
ca_publish() {
  domain ldbmodify > /dev/null <<LDIF
dn: CN=${2:-$ADCS_CA_NAME},CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
add: certificateTemplates
certificateTemplates: $1
LDIF
}
ca_unpublish() {
  domain ldbmodify > /dev/null <<LDIF
dn: CN=${2:-$ADCS_CA_NAME},CN=Enrollment Services,$ADCS_PKS_DN
changetype: modify
delete: certificateTemplates
certificateTemplates: $1
LDIF
}

# ad_period SECONDS: a pKIExpirationPeriod / pKIOverlapPeriod value in base64
# (MS-CRTD 2.11, 2.15: negative count of 100-ns intervals, little-endian int64)
ad_period() {
  /usr/bin/python3 -c 'import base64,struct,sys; print(base64.b64encode(struct.pack("<q", -int(sys.argv[1]) * 10**7)).decode())' "$1"
}

# ad_template_add CN OID-SUFFIX VALIDITY-SECONDS RENEWAL-SECONDS [LDIF-LINE...]:
# a schema-2 machine template like LinuxWorkstation (Enroll and AutoEnroll for
# Domain Computers, names from the directory, client authentication), revision
# 100, minor revision 3, OID $ADCS_TEMPLATE_OID_PREFIX.OID-SUFFIX, each extra
# "attribute: value" line added, published by $ADCS_CA_NAME
ad_template_add() {
  local cn=$1 oid=$ADCS_TEMPLATE_OID_PREFIX.$2 exp ovl l extra=""
  exp=$(ad_period "$3") && ovl=$(ad_period "$4") || return 1
  shift 4
  for l in "$@"; do extra+="$l"$'\n'; done
  domain ldbmodify > /dev/null <<LDIF || return 1
dn: CN=$cn,CN=Certificate Templates,$ADCS_PKS_DN
changetype: add
objectClass: top
objectClass: pKICertificateTemplate
cn: $cn
displayName: $cn
flags: 131680
revision: 100
msPKI-Template-Schema-Version: 2
msPKI-Template-Minor-Revision: 3
pKIDefaultKeySpec: 1
pKIKeyUsage:: oAA=
pKIMaxIssuingDepth: 0
pKICriticalExtensions: 2.5.29.15
pKIExpirationPeriod:: $exp
pKIOverlapPeriod:: $ovl
pKIDefaultCSPs: 1,Microsoft RSA SChannel Cryptographic Provider
msPKI-RA-Signature: 0
msPKI-Enrollment-Flag: 32
msPKI-Private-Key-Flag: 0
msPKI-Certificate-Name-Flag: 402653184
msPKI-Minimal-Key-Size: 2048
msPKI-Cert-Template-OID: $oid
pKIExtendedKeyUsage: 1.3.6.1.5.5.7.3.2
msPKI-Certificate-Application-Policy: 1.3.6.1.5.5.7.3.2
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DC)(OA;;CR;a05b8cc2-17bc-4802-a710-e7c15ab866a2;;DC)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
${extra}
LDIF
  ca_publish "$cn"
}
# ad_template_remove CN...: unpublish and delete the templates
ad_template_remove() {
  local cn
  for cn in "$@"; do
    ca_unpublish "$cn" > /dev/null 2>&1
    domain ldbmodify > /dev/null 2>&1 <<LDIF
dn: CN=$cn,CN=Certificate Templates,$ADCS_PKS_DN
changetype: delete
LDIF
  done
  return 0
}

# cert_serial FILE: the certificate's serial (hex, as openssl prints it)
cert_serial() { openssl x509 -in "$1" -noout -serial 2>/dev/null | sed 's/^serial=//'; }
# cert_time FILE startdate|enddate: notBefore / notAfter in seconds since the epoch
cert_time() { date -u -d "$(openssl x509 -in "$1" -noout -"$2" | cut -d= -f2)" +%s; }
# iso_time SECONDS: "2025-11-19T10:00:00Z", as adenroll prints times
iso_time() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# archived_serials DIR: the serials of every cert.pem under DIR, one per line
archived_serials() {
  local f
  find "$1" -name cert.pem -type f 2>/dev/null | while IFS= read -r f; do cert_serial "$f"; done
}

# ---- Group Policy (domain.sh gpo ...).  adenroll reads SYSVOL through its
# helper; the one next to the binary under test is used.
if [ -z "${ADENROLL_GPO_FETCH:-}" ] && [ -n "${ADENROLL:-}" ] && [ -x "$(dirname "$ADENROLL")/adenroll-gpo-fetch" ]; then
  export ADENROLL_GPO_FETCH=$(dirname "$ADENROLL")/adenroll-gpo-fetch
fi
# Tests share one domain: what they change with these is undone by
# gpo_cleanup, which a test calls from its EXIT trap.  Call the helpers that
# print as VAR=$(helper ...) || exit 1 (a failure inside $() ends only the subshell).
# gpo_new NAME: creates a GPO, prints its {GUID}
gpo_new() {
  local g
  g=$(domain gpo create "$1") && [ -n "$g" ] || fail "cannot create GPO $1"
  echo "$g"
}
# gpo_link GUID DN [enforce] [disable]
gpo_link() { domain gpo link "$@" || fail "cannot link $1 at $2"; }
gpo_set() { domain gpo set "$@" || fail "cannot write the Registry.pol of $1"; }
# gpo_client_ou NAME: the client in OU=NAME (created); prints the OU's DN
gpo_client_ou() {
  local ou
  ou=$(domain gpo ou "$1") || fail "cannot create OU $1"
  domain gpo move-client "$ou" > /dev/null || fail "cannot move CLIENT into $ou"
  echo "$ou"
}
gpo_user_ou() {
  local ou
  ou=$(domain gpo ou "$1") || fail "cannot create OU $1"
  domain gpo move-user "$ou" > /dev/null || fail "cannot move alice into $ou"
  echo "$ou"
}
# gpo_cleanup GUID... [-- OU-DN...]: deletes the GPOs (with their links),
# moves the client and alice back to their default containers, unblocks and
# deletes the OUs.  Errors are ignored (it runs from EXIT traps).
gpo_cleanup() {
  local g ous=() seen=0
  for g in "$@"; do
    if [ "$g" = -- ]; then seen=1; continue; fi
    if [ $seen = 1 ]; then ous+=("$g"); continue; fi
    domain samba-tool gpo del "$g" > /dev/null 2>&1
  done
  domain samba-tool computer move CLIENT "CN=Computers,$ADCS_DOMAIN_DN" > /dev/null 2>&1
  domain samba-tool user move alice "CN=Users,$ADCS_DOMAIN_DN" > /dev/null 2>&1
  domain gpo block "$ADCS_DOMAIN_DN" off > /dev/null 2>&1
  for g in "${ous[@]}"; do
    domain gpo block "$g" off > /dev/null 2>&1
    domain samba-tool ou delete "$g" --force-subtree-delete > /dev/null 2>&1
  done
  domain gpo smb start > /dev/null 2>&1
  return 0
}
# ---- the channel-binding front (domain.sh epa; tests/integration/epa_client.py)
# epa_client right|corrupt|none [HASH]: the HTTP status of GET $ADCS_EPA_URL/
# with a Kerberos token from the current ccache whose tls-server-end-point
# binding is right, has one bit flipped, or is absent (HASH: the binding's
# hash for the served certificate, default sha256)
epa_client() {
  /usr/bin/python3 "$(dirname "$TESTS_LIB")/epa_client.py" --cafile "$ADCS_CA_CERT" --binding "$1" \
    --hash "${2:-sha256}" "$ADCS_EPA_URL/" 2> "$SCRATCH/epa_client.err" || cat "$SCRATCH/epa_client.err" >&2
}
# epa_auth_lines: how many decisions the front has logged; epa_auth_since N:
# the decisions after the first N, one JSON object a line
epa_auth_lines() { if [ -f "$ADCS_EPA_AUTH_LOG" ]; then wc -l < "$ADCS_EPA_AUTH_LOG"; else echo 0; fi; }
epa_auth_since() { tail -n +"$(($1 + 1))" "$ADCS_EPA_AUTH_LOG" 2>/dev/null; }
# ---- renewals signed by the old certificate (MS-WCCE 3.1.1.4.3.2.1)

# emu_requests_for TEMPLATE: the CA's request ids for TEMPLATE, ascending
emu_requests_for() {
  /usr/bin/python3 - "$ADCS_EMU_DIR/state" "$1" <<'PY'
import glob, json, os, re, sys
ids = []
for p in glob.glob(os.path.join(sys.argv[1], "req-*.json")):
    try:
        m = json.load(open(p))
    except (OSError, ValueError):
        continue
    if m.get("template", "").lower() == sys.argv[2].lower():
        ids.append(m["id"])
print("\n".join(str(i) for i in sorted(ids)))
PY
}
# emu_renewal_check ID OLDCERT: the CA kept request ID as a CMS SignedData
# (state/req-ID.p7) whose signature verifies, whose signer is OLDCERT and
# whose inner PKCS#10 carries OLDCERT in szOID_RENEWAL_CERTIFICATE
# (1.3.6.1.4.1.311.13.1); read with openssl cms and asn1parse, as a CA
# administrator would.  Prints "signer <serial>".
emu_renewal_check() {
  local id=$1 old=$2 p7=$ADCS_EMU_DIR/state/req-$1.p7 d
  [ -s "$p7" ] || fail "the CA kept no CMS request for request $id (state/req-$id.p7): not a signed renewal"
  d=$(mktemp -d "$SCRATCH/p7.XXXXXX")
  openssl cms -verify -noverify -binary -inform DER -in "$p7" -signer "$d/signer.pem" -out "$d/inner.der" \
    > /dev/null 2>&1 || fail "the signature of request $id does not verify (openssl cms -verify)"
  assert_eq "$(cert_serial "$old")" "$(cert_serial "$d/signer.pem")" "signer of request $id"
  openssl asn1parse -inform DER -in "$d/inner.der" > "$d/asn1.txt" 2>&1 || fail "request $id: inner PKCS#10 does not parse"
  grep -q "1.3.6.1.4.1.311.13.1" "$d/asn1.txt" || fail "request $id: no szOID_RENEWAL_CERTIFICATE attribute: $(cat "$d/asn1.txt")"
  openssl x509 -in "$old" -outform DER -out "$d/old.der"
  /usr/bin/python3 -c 'import sys; sys.exit(0 if open(sys.argv[1],"rb").read() in open(sys.argv[2],"rb").read() else 1)' \
    "$d/old.der" "$d/inner.der" || fail "request $id: the renewal attribute is not the old certificate"
  openssl req -inform DER -in "$d/inner.der" -noout -verify > /dev/null 2>&1 || fail "request $id: the inner PKCS#10's own signature does not verify"
  echo "signer $(cert_serial "$d/signer.pem")"
}
# template_set CN ATTRIBUTE VALUE: replace one attribute of template CN
template_set() {
  domain ldbmodify > /dev/null <<LDIF
dn: CN=$1,CN=Certificate Templates,$ADCS_PKS_DN
changetype: modify
replace: $2
$2: $3
LDIF
}
# renew_due_wait CERT RENEWAL-SECONDS: sleep until a pulse renews CERT (renew_at,
# the later of notAfter - renewal period and notBefore + 80% of the lifetime,
# from its own dates), plus a second
renew_due_wait() {
  local nb na by80 byp at now
  nb=$(cert_time "$1" startdate) na=$(cert_time "$1" enddate)
  by80=$(( nb + (na - nb) * 4 / 5 )) byp=$(( na - $2 ))
  at=$by80; [ "$byp" -gt "$at" ] && at=$byp
  now=$(date +%s)
  [ $(( at + 1 - now )) -gt 0 ] && sleep $(( at + 1 - now ))
  return 0
}
# ---- the CEP/CES emulator (domain.sh ces)
# ces_log_lines FILE / ces_log_since FILE N: line count of a JSON-lines log, the lines after the first N
# (FILE: $ADCS_CES_ACCESS_LOG, one line per SOAP request with "valid" from the schema check;
# $ADCS_CES_AUTH_LOG, the front's authentication decisions)
ces_log_lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
ces_log_since() { tail -n +"$(($2 + 1))" "$1" 2>/dev/null; }
# ces_client ARGS...: tests/integration/ces_client.py (builds MS-WSTEP/MS-XCEP messages, POSTs
# them with a channel-bound, unbound or corrupted Kerberos token from the current ccache)
ces_client() { /usr/bin/python3 "$(dirname "$TESTS_LIB")/ces_client.py" "$@"; }
# ces_json_field JSON-LINE FIELD: one field of a log line
ces_json_field() { /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }
# ces_all_valid LINES: fail when a request line says "valid": false or "response_valid": false
ces_all_valid() {
  printf '%s\n' "$1" | /usr/bin/python3 -c '
import json, sys
bad = [l for l in sys.stdin if l.strip() and False in (json.loads(l).get("valid"), json.loads(l).get("response_valid"))]
sys.exit("\n".join(bad) if bad else 0)' || fail "requests the CES emulator found invalid (see above)"
}

# held_start TAG CMD...: runs CMD (a pulse or enroll) in the background with
# ADENROLL_TEST_HOLD_AT_EXIT=$SCRATCH/hold-TAG, its output in $SCRATCH/TAG.out,
# and returns once the processes of the run wait at its end (keyproc.h): bg is
# the command's pid, HOLD the directory holding network.pid and, when the run
# started a key process (a run that needs no key starts none), key.pid;
# KEY_PID is that pid or "".  Let the run end with: touch "$HOLD/go"; wait "$bg".
held_start() {
  local tag=$1 i; shift
  HOLD=$SCRATCH/hold-$tag
  mkdir -p "$HOLD"
  ADENROLL_TEST_HOLD_AT_EXIT=$HOLD "$@" > "$SCRATCH/$tag.out" 2>&1 &
  bg=$!
  for i in $(seq 1 600); do
    [ -s "$HOLD/network.pid" ] && break
    kill -0 "$bg" 2> /dev/null || break
    sleep 0.2
  done
  [ -s "$HOLD/network.pid" ] || fail "[$tag] the run did not wait at its end: $(tail -n 20 "$SCRATCH/$tag.out")"
  assert_eq "$bg" "$(cat "$HOLD/network.pid")" "[$tag] the network process is the run itself"
  KEY_PID=
  if [ -s "$HOLD/key.pid" ]; then
    KEY_PID=$(cat "$HOLD/key.pid")
    assert_ne "$bg" "$KEY_PID" "[$tag] the key process is another process"
  fi
}

# held_maps TAG CMD...: held_start, then NET_MAPS and KEY_MAPS get the
# /proc/PID/maps of the run's processes (KEY_MAPS "" when it started no key
# process; KEY_PID says), the run is let go and HELD_RC is its exit status.
held_maps() {
  local tag=$1
  held_start "$@"
  NET_MAPS=$(cat "/proc/$bg/maps") || fail "[$tag] cannot read the maps of the network process"
  KEY_MAPS=
  if [ -n "$KEY_PID" ]; then
    KEY_MAPS=$(cat "/proc/$KEY_PID/maps") || fail "[$tag] cannot read the maps of the key process"
  fi
  touch "$HOLD/go"
  wait "$bg"
  HELD_RC=$?
  bg=
  # the maps were read: they name a library every process of a run maps
  assert_match "$NET_MAPS" '/libldap' "[$tag] the maps of the network process"
  [ -z "$KEY_PID" ] || assert_match "$KEY_MAPS" '/libldap' "[$tag] the maps of the key process"
}
