#!/bin/sh
# Builds the Debian package from a copy of the source tree and checks it:
#   dpkg-buildpackage -b -us -uc, lintian (fails on E:), apt-get install of
#   the .deb with services blocked by policy-rc.d, the installed file list,
#   the conffile, the state dir mode, systemd-analyze verify on the units,
#   timers left disabled, then purge.
# Needs root (install/purge) and: dpkg-dev debhelper fakeroot lintian plus the
# Build-Depends of debian/control.
#
# usage: build_deb.sh [OUTDIR]
#   OUTDIR               where the .deb/.changes/.buildinfo are kept (default: a temp dir, removed)
#   ADENROLL_KEEP_INSTALLED=1   leave the package installed (CI installs once and reuses it)
#   ADENROLL_SKIP_LINTIAN=1     build and install only
#   ADENROLL_DEB_IT='t_pkg_*'   while installed, run these integration tests
#                               against /usr/sbin/adenroll (tests/integration/run.sh)

set -eu
here=$(cd "$(dirname "$0")" && pwd)
srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
pkg=adenroll

fail() { echo "build_deb: FAIL: $*" >&2; exit 1; }
step() { echo "build_deb: $*"; }

[ "$(id -u)" = 0 ] || { echo "build_deb: SKIP: needs root (apt-get install / purge)"; exit 77; }
for t in dpkg-buildpackage dh fakeroot apt-get; do
	command -v "$t" >/dev/null 2>&1 || fail "$t not found: apt-get install dpkg-dev debhelper fakeroot"
done
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
	fail "$pkg is already installed: 'apt-get purge $pkg' first (this test installs and purges it)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/build_deb.XXXXXX")
policy=/usr/sbin/policy-rc.d
own_policy=no
installed=no
keep_work=no
cleanup() {
	rc=$?
	[ "$own_policy" = yes ] && rm -f "$policy"
	if [ "$rc" != 0 ] && [ "$installed" = yes ] && [ "${ADENROLL_KEEP_INSTALLED:-0}" != 1 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y "$pkg" >/dev/null 2>&1 || true
	fi
	if [ "$rc" != 0 ] && [ "$keep_work" = yes ]; then
		echo "build_deb: logs and packages kept in $work" >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- a clean copy: tracked and not-ignored files only, so no configure,
# Makefile.in or build dirs of the developer leak in (dh_autoreconf makes them).
step "copying $srcdir"
mkdir "$work/$pkg"
if git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$srcdir" && git ls-files -z --cached --others --exclude-standard) |
		(cd "$srcdir" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _) |
		tar -C "$srcdir" --null -T - -cf - | tar -C "$work/$pkg" -xf -
else
	cp -a "$srcdir/." "$work/$pkg/"
fi
[ -f "$work/$pkg/debian/control" ] || fail "no debian/control in $srcdir"

step "dpkg-buildpackage -b -us -uc"
keep_work=yes
if ! (cd "$work/$pkg" && dpkg-buildpackage -b -us -uc) > "$work/build.log" 2>&1; then
	tail -n 60 "$work/build.log" >&2
	fail "dpkg-buildpackage failed (full log: $work/build.log)"
fi
deb=$(ls "$work/${pkg}_"*.deb | grep -v -- '-dbgsym_' | head -n 1)
changes=$(ls "$work/${pkg}_"*.changes | head -n 1)
step "built $(basename "$deb")"

if [ "${ADENROLL_SKIP_LINTIAN:-0}" != 1 ]; then
	command -v lintian >/dev/null 2>&1 || fail "lintian not found: apt-get install lintian"
	step "lintian $(basename "$changes")"
	# Exit status of lintian also reflects its own failures; judge by the tags.
	lintian --info --display-info "$changes" > "$work/lintian.log" 2>&1 || true
	sed 's/^/  /' "$work/lintian.log"
	if grep -q '^E: ' "$work/lintian.log"; then fail "lintian reports errors"; fi
fi

# --- install with services blocked: nothing may start either way, but the
# maintainer scripts must not even try (the admin enables the timer).
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod 0755 "$policy"
	own_policy=yes
fi
step "apt-get install ./$(basename "$deb")"
(cd "$work" && DEBIAN_FRONTEND=noninteractive apt-get install -y "./$(basename "$deb")") \
	> "$work/install.log" 2>&1 || { installed=yes; cat "$work/install.log" >&2; fail "apt-get install failed"; }

installed=yes

listed() { dpkg -L "$pkg" | grep -Eq "^$1\$" || fail "dpkg -L $pkg: no $1"; }
unitdir=$(dpkg -L "$pkg" | sed -n 's|/adenroll\.service$||p' | grep '/systemd/system$' | head -n 1)
userunitdir=$(dpkg -L "$pkg" | sed -n 's|/adenroll-user\.service$||p' | head -n 1)
[ -n "$unitdir" ] || fail "no adenroll.service in the package"
[ -n "$userunitdir" ] || fail "no adenroll-user.service in the package"
for f in /usr/sbin/adenroll \
	"$unitdir/adenroll.service" "$unitdir/adenroll.timer" \
	"$userunitdir/adenroll-user.service" "$userunitdir/adenroll-user.timer" \
	/etc/adenroll/adenroll.conf \
	/usr/share/man/man8/adenroll.8.gz /usr/share/man/man5/adenroll.conf.5.gz \
	/usr/share/man/man5/adenroll-hooks.5.gz /usr/bin/adenroll \
	/usr/share/bash-completion/completions/adenroll \
	/usr/share/doc/adenroll/copyright /usr/share/doc/adenroll/README.Debian; do
	listed "$f"
	[ -e "$f" ] || fail "$f listed but missing on disk"
done
step "files present"
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q '^ /etc/adenroll/adenroll.conf ' ||
	fail "/etc/adenroll/adenroll.conf is not a conffile"
[ -x /usr/sbin/adenroll ] || fail "/usr/sbin/adenroll is not executable"
# 0755 like StateDirectoryMode=: services reach certs/ (docs/stores.md).
[ "$(stat -c '%a %U' /var/lib/adenroll 2>/dev/null)" = "755 root" ] ||
	fail "/var/lib/adenroll must exist, owned by root, mode 0755 (is: $(stat -c '%a %U' /var/lib/adenroll 2>&1))"
[ "$(readlink -f /usr/bin/adenroll)" = "$(readlink -f /usr/sbin/adenroll)" ] ||
	fail "/usr/bin/adenroll does not lead to /usr/sbin/adenroll"
grep -q '^ExecStart=/usr/sbin/adenroll ' "$unitdir/adenroll.service" ||
	fail "adenroll.service does not run /usr/sbin/adenroll"
# On upgrade the timer is try-restarted, the service neither stopped nor
# restarted (a running enrollment finishes); removal stops both.
info=/var/lib/dpkg/info
grep -Eq 'try-restart.*adenroll\.timer|adenroll\.timer.*try-restart|_dh_action=try-restart' "$info/$pkg.postinst" ||
	fail "postinst does not try-restart adenroll.timer on upgrade: $(grep -n systemd "$info/$pkg.postinst")"
for s in preinst prerm postinst; do
	[ -f "$info/$pkg.$s" ] || continue
	awk '/^# Automatically added by dh_installsystemd/,/^# End automatically added/' "$info/$pkg.$s" |
		grep -E '(stop|restart).*adenroll\.service' > "$work/svc-$s" || true
	[ ! -s "$work/svc-$s" ] || fail "$s stops or restarts adenroll.service on upgrade: $(cat "$work/svc-$s")"
done
grep -q 'deb-systemd-invoke stop adenroll.timer adenroll.service' "$info/$pkg.prerm" ||
	fail "prerm does not stop both units on removal"
/usr/sbin/adenroll --version > "$work/version.out" 2>&1 ||
	fail "adenroll --version failed: $(cat "$work/version.out")"
step "conffile, state dir, binary ok ($(head -n 1 "$work/version.out"))"

# --- units: accepted by systemd, and left disabled.  Any message naming one
# of our units (unknown key, bad value, missing binary) counts as a rejection.
verify() { # verify LOG systemd-analyze-args...
	log=$1; shift
	if ! systemd-analyze "$@" > "$log" 2>&1 || grep -q 'adenroll' "$log"; then
		cat "$log" >&2
		return 1
	fi
}
if command -v systemd-analyze >/dev/null 2>&1; then
	verify "$work/verify.log" verify "$unitdir/adenroll.service" "$unitdir/adenroll.timer" ||
		fail "systemd-analyze verify rejects the system units"
	# A user manager needs a runtime dir, even offline.
	mkdir -m 0700 "$work/xdg"
	XDG_RUNTIME_DIR=$work/xdg verify "$work/verify-user.log" --user verify \
		"$userunitdir/adenroll-user.service" "$userunitdir/adenroll-user.timer" ||
		fail "systemd-analyze --user verify rejects the user units"
	step "systemd-analyze verify: ok"
else
	step "systemd-analyze not found: unit verification skipped"
fi
if [ -d /run/systemd/system ]; then  # systemd is PID 1: the manager loads them too
	systemctl cat adenroll.service adenroll.timer > "$work/cat.log" 2>&1 ||
		{ cat "$work/cat.log" >&2; fail "systemctl cat adenroll.service adenroll.timer failed"; }
	step "systemctl cat: ok"
else
	step "systemd is not running: systemctl cat skipped"
fi
for u in adenroll.timer adenroll.service; do
	state=$(systemctl is-enabled "$u" 2>/dev/null || true)
	case $state in enabled*|alias|linked*) fail "$u is '$state' right after install" ;; esac
done
for d in /etc/systemd/system /etc/systemd/user; do
	if find "$d" -name 'adenroll*' 2>/dev/null | grep -q .; then
		fail "install created links under $d: $(find "$d" -name 'adenroll*')"
	fi
done
step "timers not enabled"

if [ -n "${ADENROLL_DEB_IT:-}" ]; then
	step "integration tests against the installed /usr/sbin/adenroll: $ADENROLL_DEB_IT"
	# shellcheck disable=SC2086 # a list of globs
	if ! bash "$srcdir/tests/integration/run.sh" /usr/sbin/adenroll $ADENROLL_DEB_IT > "$work/it.log" 2>&1; then
		tail -n 60 "$work/it.log" >&2
		fail "integration tests against the installed package failed (log: $work/it.log)"
	fi
	grep -E '^integration: [0-9]+ passed' "$work/it.log" | tail -n 1
	grep -Eq '^integration: [1-9][0-9]* passed, 0 failed' "$work/it.log" ||
		fail "the installed-package tests did not run: $(tail -n 3 "$work/it.log")"
fi

if [ "${ADENROLL_KEEP_INSTALLED:-0}" = 1 ]; then
	step "left installed (ADENROLL_KEEP_INSTALLED=1)"
else
	DEBIAN_FRONTEND=noninteractive apt-get purge -y "$pkg" > "$work/purge.log" 2>&1 ||
		{ cat "$work/purge.log" >&2; fail "apt-get purge failed"; }
	for f in /usr/sbin/adenroll /etc/adenroll /var/lib/adenroll; do
		[ ! -e "$f" ] || fail "$f still there after purge"
	done
	step "purged"
fi

if [ $# -ge 1 ]; then
	mkdir -p "$1"
	cp "$work/${pkg}"*_* "$1/"
	step "packages copied to $1"
fi
step "PASS"
