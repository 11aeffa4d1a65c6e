#!/bin/sh
# Checks the configure-generated adenroll.spec against the build system it
# packages: name/version from AC_INIT, a BuildRequires for every pkg-config
# module configure.ac checks, %files covering what "make install" installs,
# systemd scriptlets.  Where rpm's own tools exist (Debian: package "rpm")
# the spec is also parsed by rpmspec and packed by rpmbuild -bs.
# Output is TAP.
#
# usage: check_spec.sh [path/to/adenroll.spec]
#   default spec: $top_builddir/adenroll.spec (set by "make check") or ./adenroll.spec
#   top_srcdir defaults to the directory two levels above this script.

set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-.}
spec=${1:-$top_builddir/adenroll.spec}
configure_ac=$top_srcdir/configure.ac
makefile_am=$top_srcdir/Makefile.am

n=0
failed=0
ok()   { n=$((n + 1)); echo "ok $n - $*"; }
nok()  { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - # SKIP $*"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else nok "$desc"; fi; }

if [ ! -f "$spec" ]; then
	echo "1..1"
	echo "not ok 1 - $spec not found: run configure (AC_CONFIG_FILES makes it from adenroll.spec.in)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_spec.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Main package preamble only: stop at the first section (%description etc.).
sed -n '/^%\(description\|prep\|package\)/q;p' "$spec" > "$tmp/preamble"
field() { sed -n "s/^$1:[[:space:]]*//p" "$tmp/preamble" | sed 's/[[:space:]]*$//' | head -n 1; }
# %files of the main package, without comments.
sed -n '/^%files[[:space:]]*$/,/^%\(changelog\|package\|files\)/p' "$spec" | sed '1d;/^%changelog/d;/^#/d' > "$tmp/files"

# AC_INIT([adenroll], [0.1.0], ...)
ac_init=$(sed -n 's/^AC_INIT(\(.*\)$/\1/p' "$configure_ac" | head -n 1)
ac_name=$(printf '%s\n' "$ac_init" | sed 's/^\[\([^]]*\)\].*/\1/')
ac_version=$(printf '%s\n' "$ac_init" | sed 's/^\[[^]]*\],[[:space:]]*\[\([^]]*\)\].*/\1/')

has_line() { grep -Eq "$1" "$2"; }

# --- fields
check "no unsubstituted @VARIABLE@ left by configure" \
	sh -c '! grep -Eq "@[A-Za-z_]+@" "$1"' _ "$spec"
check "Name is '$ac_name' (AC_INIT), spec says '$(field Name)'" test "$(field Name)" = "$ac_name"
check "Version is '$ac_version' (AC_INIT), spec says '$(field Version)'" test "$(field Version)" = "$ac_version"
check "Release is set" test -n "$(field Release)"
check "License is GPL-3.0-or-later (SPDX), spec says '$(field License)'" \
	test "$(field License)" = "GPL-3.0-or-later"
check "COPYING is the GPL version 3" \
	grep -q "GNU GENERAL PUBLIC LICENSE" "$top_srcdir/COPYING"
check "%license COPYING in %files" has_line '^%license[[:space:]].*COPYING' "$tmp/files"
check "Summary is set" test -n "$(field Summary)"
check "Source0 is the make dist tarball" \
	test "$(field Source0)" = '%{name}-%{version}.tar.gz'
check "debian/changelog version is $ac_version too" \
	test "$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog" | sed 's/-[^-]*$//')" = "$ac_version"

# --- BuildRequires: every module of every PKG_CHECK_MODULES, with its version floor.
# Module lists are the second [..] argument; "mod >= ver" pairs are kept together.
sed -n 's/.*PKG_CHECK_MODULES(\[[A-Z0-9_]*\],[[:space:]]*\[\([^]]*\)\].*/\1/p' "$configure_ac" |
	sed 's/[[:space:]]*\([<>=]=*\)[[:space:]]*/\1/g' | tr ' ' '\n' | sed '/^$/d' > "$tmp/modules"
check "configure.ac has pkg-config modules to check ($(wc -l < "$tmp/modules"))" test -s "$tmp/modules"
sed -n 's/^BuildRequires:[[:space:]]*//p' "$spec" > "$tmp/breq"
while read -r m; do
	mod=${m%%[<>=]*}
	ver=
	case $m in *">="*) ver=${m##*>=} ;; esac
	if [ -n "$ver" ]; then
		check "BuildRequires: pkgconfig($mod) >= $ver" \
			has_line "(^|[[:space:],])pkgconfig\\($mod\\)[[:space:]]*>=[[:space:]]*$ver([[:space:],]|\$)" "$tmp/breq"
	else
		check "BuildRequires: pkgconfig($mod)" \
			has_line "(^|[[:space:],])pkgconfig\\($mod\\)([[:space:],]|\$)" "$tmp/breq"
	fi
done < "$tmp/modules"
check "BuildRequires: systemd-rpm-macros (for %_unitdir and %systemd_*)" has_line '(^|[[:space:],])systemd-rpm-macros' "$tmp/breq"

# --- %files: whatever Makefile.am installs.
am_var() { # the words of a Makefile.am variable, continuation lines joined
	awk -v v="$1" '
		!on && $0 ~ "^" v "[ \t]*=" { on = 1; sub("^" v "[ \t]*=", "") }
		on { c = sub(/\\$/, ""); printf "%s ", $0; if (!c) exit }
	' "$makefile_am"
}
check "%files: %{_sbindir}/adenroll" has_line '^%\{_sbindir\}/adenroll$' "$tmp/files"
for u in $(am_var systemdsystemunit_DATA); do
	b=${u##*/}
	check "%files: %{_unitdir}/$b" has_line "^%\\{_unitdir\\}/$b\$" "$tmp/files"
done
for u in $(am_var systemduserunit_DATA); do
	b=${u##*/}
	check "%files: %{_userunitdir}/$b" has_line "^%\\{_userunitdir\\}/$b\$" "$tmp/files"
done
for m in $(am_var dist_man_MANS); do
	b=${m##*/}
	sec=${b##*.}
	check "%files: %{_mandir}/man$sec/$b*" has_line "^%\\{_mandir\\}/man$sec/$b\\*?\$" "$tmp/files"
done
for c in $(am_var dist_adenrollconf_DATA); do
	b=${c##*/}
	check "%files: %config(noreplace) %{_sysconfdir}/adenroll/$b" \
		has_line "^%config\\(noreplace\\)[[:space:]]+%\\{_sysconfdir\\}/adenroll/$b\$" "$tmp/files"
done
check "%files: %dir %{_sysconfdir}/adenroll" has_line '^%dir[[:space:]]+%\{_sysconfdir\}/adenroll$' "$tmp/files"
check "%files: bash completion" \
	has_line '^%\{_datadir\}/bash-completion/completions/adenroll$' "$tmp/files"
# 0755 as StateDirectoryMode= and debian/postinst: services reach certs/ (docs/stores.md)
check "%files: state dir %{_localstatedir}/lib/adenroll owned by root, mode 0755" \
	has_line '^%dir[[:space:]]+%attr\(0755,[[:space:]]*root,[[:space:]]*root\)[[:space:]]+%\{_localstatedir\}/lib/adenroll$' "$tmp/files"
check "%install creates the state dir" grep -q 'install -d -m 0755 %{buildroot}%{_localstatedir}/lib/adenroll' "$spec"
check "the unit's StateDirectoryMode= is the spec's mode" grep -qx 'StateDirectoryMode=0755' "$top_srcdir/systemd/adenroll.service"

# --- systemd: presets (disabled by default) decide, never an unconditional enable.
# The body of a scriptlet section, up to the next section header.
section() {
	awk -v s="$1" '
		/^%(description|prep|build|install|check|clean|pre|post|preun|postun|pretrans|posttrans|trigger[a-z]*|files|changelog|package)([ \t]|$)/ {
			on = ($0 ~ "^%" s "([ \t]|$)"); next }
		on
	' "$spec"
}
for sect in post preun postun; do
	section "$sect" > "$tmp/$sect"
	check "%$sect runs %systemd_$sect* for adenroll.timer" \
		has_line "^%systemd_$sect(_with_restart)?[[:space:]].*adenroll\\.timer" "$tmp/$sect"
	check "%$sect runs %systemd_user_$sect for adenroll-user.timer" \
		has_line "^%systemd_user_$sect[[:space:]].*adenroll-user\\.timer" "$tmp/$sect"
done
for sect in pre post preun postun pretrans posttrans; do section "$sect"; done > "$tmp/scriptlets"
check "no scriptlet enables or starts a unit by itself" \
	sh -c '! grep -Eq "systemctl.*(enable|start)" "$1"' _ "$tmp/scriptlets"
check "%configure passes %{_unitdir} and %{_userunitdir}" \
	sh -c 'grep -q -- "--with-systemdsystemunitdir=%{_unitdir}" "$1" && grep -q -- "--with-systemduserunitdir=%{_userunitdir}" "$1"' _ "$spec"
check "%check skips the integration suite" grep -q 'ADENROLL_SKIP_INTEGRATION=1' "$spec"

# --- rpm's own parser, when installed.
# Debian's rpm has no systemd-rpm-macros: load what they give a RHEL build
# root (the spec refuses to parse without them).
rpmdefs() {
	"$@" --load "$here/rpm-macros.systemd"
}
if command -v rpmspec >/dev/null 2>&1; then
	if q=$(rpmdefs rpmspec -q --srpm --qf '%{NAME} %{VERSION} %{LICENSE}\n' "$spec" 2>"$tmp/rpmspec.err"); then
		check "rpmspec parses the spec: '$q'" test "$q" = "$ac_name $ac_version GPL-3.0-or-later"
	else
		sed 's/^/# /' "$tmp/rpmspec.err"
		nok "rpmspec parses the spec"
	fi
else
	skip "rpmspec not installed (Debian package: rpm)"
fi
if command -v rpmbuild >/dev/null 2>&1; then
	# -bs only packs sources; any tarball with the right name will do.
	mkdir -p "$tmp/rpm/SOURCES" "$tmp/src/$ac_name-$ac_version"
	tar -C "$tmp/src" -czf "$tmp/rpm/SOURCES/$ac_name-$ac_version.tar.gz" "$ac_name-$ac_version"
	if rpmdefs rpmbuild --define "_topdir $tmp/rpm" --nodeps -bs "$spec" > "$tmp/rpmbuild.log" 2>&1 &&
	   ls "$tmp/rpm/SRPMS/$ac_name-$ac_version-"*.src.rpm >/dev/null 2>&1; then
		ok "rpmbuild -bs builds $(cd "$tmp/rpm/SRPMS" && echo *.src.rpm)"
	else
		sed 's/^/# /' "$tmp/rpmbuild.log"
		nok "rpmbuild -bs builds the source package"
	fi
else
	skip "rpmbuild not installed (Debian package: rpm)"
fi
# Full binary build from a "make dist" tarball (slow, opt-in): rpm's
# unpackaged-file check proves %files matches "make install" exactly.
if [ -n "${ADENROLL_RPM_TARBALL:-}" ] && command -v rpmbuild >/dev/null 2>&1; then
	mkdir -p "$tmp/rpmbb/SOURCES"
	cp "$ADENROLL_RPM_TARBALL" "$tmp/rpmbb/SOURCES/$ac_name-$ac_version.tar.gz"
	# --nodeps: Debian has the libraries but not the rpm BuildRequires names.
	if rpmdefs rpmbuild --define "_topdir $tmp/rpmbb" --nodeps --nocheck -bb "$spec" > "$tmp/rpmbb.log" 2>&1; then
		ok "rpmbuild -bb from $ADENROLL_RPM_TARBALL: no unpackaged or missing files"
	else
		tail -n 30 "$tmp/rpmbb.log" | sed 's/^/# /'
		nok "rpmbuild -bb from $ADENROLL_RPM_TARBALL"
	fi
else
	skip "rpmbuild -bb: set ADENROLL_RPM_TARBALL to a make dist tarball"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
