#!/bin/sh
# rpmbuild -ta on a "make dist" tarball, the way a packager builds the RPM:
#   1. without systemd-rpm-macros the build stops at once, naming them
#      (never a package whose scriptlets are literal %systemd_* text);
#   2. with them (tests/packaging/rpm-macros.systemd, loaded the way a RHEL
#      build root provides them) it builds, %files matching "make install";
#   3. the scriptlets do on upgrade what the .deb does: try-restart the
#      timer, never stop or restart the service; stop both on removal.
# Debian has the rpm tools but not the BuildRequires names: --nodeps.
#
# usage: check_rpm.sh TARBALL     (TAP; exit 77 without rpmbuild)
set -u
here=$(cd "$(dirname "$0")" && pwd)
tarball=${1:?usage: check_rpm.sh TARBALL}
n=0 failed=0
ok()  { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

command -v rpmbuild >/dev/null 2>&1 || { echo "1..0 # SKIP rpmbuild not installed (Debian package: rpm)"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_rpm.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
# An empty macro path: nothing from this host's rpm configuration beyond
# rpm's own defaults can define the systemd macros by accident.
if rpmbuild --define "_topdir $tmp/bare" --nodeps -ta "$tarball" > "$tmp/bare.log" 2>&1; then
	nok "rpmbuild -ta without systemd-rpm-macros fails"
elif grep -q 'systemd-rpm-macros' "$tmp/bare.log"; then
	ok "rpmbuild -ta without systemd-rpm-macros fails: $(grep -m1 'systemd-rpm-macros' "$tmp/bare.log" | cut -c1-120)"
else
	nok "rpmbuild -ta without systemd-rpm-macros fails naming them"
	tail -n 5 "$tmp/bare.log" | sed 's/^/# /'
fi

if rpmbuild --load "$here/rpm-macros.systemd" --define "_topdir $tmp/rpm" --nodeps --nocheck \
	-ta "$tarball" > "$tmp/rpm.log" 2>&1; then
	ok "rpmbuild -ta with the systemd macros builds"
else
	nok "rpmbuild -ta with the systemd macros builds"
	tail -n 30 "$tmp/rpm.log" | sed 's/^/# /'
	echo "1..$n"; exit 1
fi
rpm=$(ls "$tmp"/rpm/RPMS/*/adenroll-[0-9]*.rpm | grep -v debug | head -n 1)
rpm -qp --scripts "$rpm" > "$tmp/scripts" 2>/dev/null
rpm -qpl "$rpm" > "$tmp/files" 2>/dev/null
# postun: the section after "postuninstall scriptlet"
awk '/^postuninstall scriptlet/ { on = 1; next } /scriptlet/ { on = 0 } on' "$tmp/scripts" > "$tmp/postun"
awk '/^preuninstall scriptlet/ { on = 1; next } /scriptlet/ { on = 0 } on' "$tmp/scripts" > "$tmp/preun"
if grep -q '%systemd\|%{' "$tmp/scripts"; then
	nok "no scriptlet holds literal macro text"; grep -n '%' "$tmp/scripts" | sed 's/^/# /'
else
	ok "no scriptlet holds literal macro text"
fi
if grep -q 'try-restart adenroll.timer' "$tmp/postun"; then
	ok "upgrade restarts the timer if it runs (%postun try-restart adenroll.timer)"
else
	nok "upgrade restarts the timer"; sed 's/^/# /' "$tmp/postun"
fi
if grep -E '(restart|stop).*adenroll\.service' "$tmp/postun" > /dev/null; then
	nok "upgrade never stops or restarts adenroll.service"; sed 's/^/# /' "$tmp/postun"
else
	ok "upgrade never stops or restarts adenroll.service (a running enrollment finishes)"
fi
if grep -q 'if \[ \$1 -eq 0 \]' "$tmp/preun" && grep -q 'disable --now adenroll.service adenroll.timer' "$tmp/preun"; then
	ok "removal (and only removal) stops and disables both units"
else
	nok "removal stops and disables both units"; sed 's/^/# /' "$tmp/preun"
fi
# man pages: compressed or not, as the build root's brp scripts decide
for f in /usr/sbin/adenroll /usr/bin/adenroll /usr/lib/systemd/system/adenroll.timer \
	/usr/share/man/man5/adenroll-hooks.5 /var/lib/adenroll; do
	if grep -Eqx "$f(\.gz|\.xz|\.bz2)?" "$tmp/files"; then ok "the package holds $f"; else nok "the package holds $f"; fi
done
echo "1..$n"
[ "$failed" = 0 ]
