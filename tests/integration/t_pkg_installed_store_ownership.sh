#!/bin/bash
# The installed package (tests/ci.sh, deb step: tests/packaging/build_deb.sh
# runs run.sh /usr/sbin/adenroll 't_pkg_*' while the .deb is installed):
# root enrolls into the DEFAULT store (/var/lib/adenroll/certs, the
# directories as the package made them), then an unprivileged system user
# reads the certificate, the configured key owner ([template NAME]
# key_owner) reads the key, and another system user cannot.  Also: the
# /usr/bin link users run.  Skipped for a build-tree binary.
. "$TESTS_LIB"

[ "$ADENROLL" = /usr/sbin/adenroll ] ||
  skip "tests the installed package only: run.sh /usr/sbin/adenroll 't_pkg_*' with the .deb installed"
dpkg-query -W -f='${Status}' adenroll 2>/dev/null | grep -q 'ok installed' ||
  skip "the adenroll package is not installed"
command -v runuser > /dev/null || skip "runuser (util-linux) not found"
store=/var/lib/adenroll
for d in certs archive pending; do
  [ ! -e "$store/$d" ] || skip "$store/$d exists: this test only runs on a fresh install (it removes what it makes)"
done

owner=adenroll-it-svc other=adenroll-it-other
cleanup() {
  rm -rf "$store/certs" "$store/archive" "$store/pending" "$store/last-run" "$store/crl" "$store/nss" "$store/pem-index"
  userdel "$owner" 2> /dev/null
  userdel "$other" 2> /dev/null
}
trap cleanup EXIT
for u in "$owner" "$other"; do
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" ||
    fail "useradd $u failed"
done

# The package's layout, before any run: what postinst made.
assert_eq "755 root" "$(stat -c '%a %U' "$store")" "$store mode and owner (postinst)"

# Default store paths: the test domain's settings only, plus the key's owner.
write_config "$SCRATCH/adenroll.conf" store.pem_dir= store.archive_dir= store.state_dir= \
  "template LinuxWorkstation.key_owner=$owner"
C=(--config "$SCRATCH/adenroll.conf")
assert_exit 3 "$ADENROLL" "${C[@]}" enroll LinuxWorkstation
crt=$store/certs/LinuxWorkstation.crt key=$store/certs/LinuxWorkstation.key
[ -L "$crt" ] && [ -L "$key" ] || fail "no stable paths in the default store: $(ls -l "$store/certs" 2>&1)"

assert_eq "600 $owner" "$(stat -L -c '%a %U' "$key")" "key mode and owner"
assert_eq "644 root" "$(stat -L -c '%a %U' "$crt")" "certificate mode and owner"

# An unprivileged system user reads the certificate through the stable path...
out=$(runuser -u "$other" -- cat "$crt" 2>&1) || fail "$other cannot read $crt: $out"
printf '%s\n' "$out" | openssl x509 -noout 2> /dev/null || fail "$other read something that is not the certificate"
# ...the key's owner reads the key, and it belongs to the certificate...
kpub=$(runuser -u "$owner" -- cat "$key" | openssl pkey -pubout 2>&1) || fail "$owner cannot read $key: $kpub"
assert_eq "$(openssl x509 -in "$crt" -noout -pubkey)" "$kpub" "the key $owner reads matches the certificate"
# ...and nobody else does.
if out=$(runuser -u "$other" -- cat "$key" 2>&1); then
  fail "$other could read the key $key"
fi
assert_contains "$out" "Permission denied" "$other reading the key"
if out=$(runuser -u nobody -- cat "$key" 2>&1); then
  fail "nobody could read the key $key"
fi

# Root's runs still read what they handed over (status lists it).
assert_exit 0 "$ADENROLL" "${C[@]}" --json status
assert_contains "$OUT" '"template":"LinuxWorkstation"'
# Users find the command on their PATH.
[ -x /usr/bin/adenroll ] || fail "/usr/bin/adenroll missing"
out=$(runuser -u "$other" -- env PATH=/usr/bin:/bin adenroll --version 2>&1) || fail "adenroll --version as $other: $out"
assert_match "$out" '^adenroll [0-9]'
exit 0
