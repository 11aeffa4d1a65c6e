#!/bin/bash
# Roots from the directory reach the host's trust only when the admin allows
# it (issue 16, finding 4; trust_policy.h): with the defaults a pulse (DC found
# through DNS SRV) writes no root to anchors_dir and marks none trusted in
# NSS, and says which line would allow it; doctor shows the same verdict.
# root_fingerprints with the root's SHA-256, or pinned_dcs with the DC that
# answered, allows it: the root file and bundle are written, NSS trusts it.
. "$TESTS_LIB"

FP=$(openssl x509 -in "$ADCS_CA_CERT" -noout -fingerprint -sha256 | cut -d= -f2)
fp_hex=$(printf '%s' "$FP" | tr -d : | tr 'A-F' 'a-f')
[ ${#fp_hex} = 64 ] || fail "cannot read the fingerprint of $ADCS_CA_CERT"
have_nss=0
if command -v certutil > /dev/null && "$ADENROLL" --version 2>&1 | grep -q "NSS database stores: yes"; then
  have_nss=1
fi

# run NAME [KEY=VALUE...]: a pulse with its own stores, anchors_dir and NSS db
run() {
  local name=$1; shift
  local dir=$SCRATCH/$name types=pem
  mkdir -p "$dir"
  [ $have_nss = 1 ] && types="pem, nss"
  write_config "$dir/adenroll.conf" "store.pem_dir=$dir/certs" "store.archive_dir=$dir/archive" \
    "store.state_dir=$dir/state" "store.anchors_dir=$dir/anchors" "store.types=$types" \
    "store.nss_db=sql:$dir/nssdb" "general.lock_file=$dir/lock" "$@"
  "$ADENROLL" --config "$dir/adenroll.conf" pulse > "$dir/pulse.out" 2>&1
  local rc=$?
  [ $rc = 3 ] || [ $rc = 4 ] || fail "$name: pulse exited $rc: $(tail -n 30 "$dir/pulse.out")"
}
root_files() { find "$1/anchors" -maxdepth 1 -type f -name 'adenroll-*' 2>/dev/null | wc -l; }
nss_root_trust() { certutil -L -d "sql:$1/nssdb" 2>/dev/null | grep -c 'CT,C,C'; }

note "defaults: the DC came from DNS SRV, no root is written or trusted"
run default
D=$SCRATCH/default
assert_file "$D/certs/LinuxWorkstation.crt"
assert_eq 0 "$(root_files "$D")" "root files in anchors_dir with the defaults"
assert_contains "$(cat "$D/pulse.out")" "not adding the root CA"
assert_contains "$(cat "$D/pulse.out")" "root_fingerprints = $fp_hex"
# the AIA certificate is no anchor: it is still written, below the top level
[ -n "$(ls -A "$D/anchors/adenroll-intermediates" 2>/dev/null)" ] || fail "the AIA certificate was not written"
if [ $have_nss = 1 ]; then
  assert_eq 0 "$(nss_root_trust "$D")" "NSS roots trusted with the defaults"
  assert_contains "$(cat "$D/pulse.out")" "not marking the root CA (SHA-256 $fp_hex) trusted"
fi
"$ADENROLL" --config "$D/adenroll.conf" doctor > "$D/doctor.out" 2>&1
assert_match "$(cat "$D/doctor.out")" "^warn  root .*SHA-256 $fp_hex: would NOT be added to $D/anchors"
assert_match "$(cat "$D/doctor.out")" "fix: if the CA administrator confirms this fingerprint, add root_fingerprints = $fp_hex"

note "pinned_dcs names another DC: still nothing"
run other "store.pinned_dcs=$ADCS_DC2_HOST"
assert_eq 0 "$(root_files "$SCRATCH/other")" "root files with another DC pinned"

note "root_fingerprints lists the root (colon form, as openssl prints it)"
run byfp "store.root_fingerprints=$FP"
F=$SCRATCH/byfp
assert_eq 2 "$(root_files "$F")" "root file and bundle"
openssl verify -CAfile "$F/anchors/adenroll-roots.pem" "$F/certs/LinuxWorkstation.crt" > /dev/null 2>&1 \
  || fail "the bundle does not verify the issued certificate"
[ $have_nss = 1 ] && assert_eq 1 "$(nss_root_trust "$F")" "NSS root trusted by fingerprint"
"$ADENROLL" --config "$F/adenroll.conf" doctor > "$F/doctor.out" 2>&1
assert_match "$(cat "$F/doctor.out")" "^ok    root .*SHA-256 $fp_hex: would be added to $F/anchors.*listed in root_fingerprints"

note "pinned_dcs names the DC that answered"
run pinned "store.pinned_dcs=$ADCS_DC_HOST"
assert_eq 2 "$(root_files "$SCRATCH/pinned")" "root file and bundle from a pinned DC"
[ $have_nss = 1 ] && assert_eq 1 "$(nss_root_trust "$SCRATCH/pinned")" "NSS root trusted from a pinned DC"

note "root_fingerprints without the domain's root: adenroll itself no longer trusts the CA"
other_fp=$(printf '%064d' 7)
dir=$SCRATCH/wrongfp; mkdir -p "$dir"
write_config "$dir/adenroll.conf" "store.pem_dir=$dir/certs" "store.state_dir=$dir/state" \
  "store.archive_dir=$dir/archive" "general.lock_file=$dir/lock" "store.root_fingerprints=$other_fp"
"$ADENROLL" --config "$dir/adenroll.conf" pulse > "$dir/pulse.out" 2>&1
assert_ne 0 $? "pulse with a fingerprint list that omits the domain's root"
assert_contains "$(cat "$dir/pulse.out")" "is not in root_fingerprints: not trusted for anything"
assert_no_file "$dir/certs/LinuxWorkstation.crt"
exit 0
