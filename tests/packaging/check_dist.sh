#!/bin/sh
# The release tarball carries every tracked file it should: `tar tzf` of a
# `make dist` tarball against `git ls-files`.  Files that are deliberately
# not shipped are listed below with the reason.  Automake's old v7 tar
# format dropped paths over 99 characters with only a warning; tar-pax
# (configure.ac) stores them, and this check catches any regression.
#
# usage: check_dist.sh TARBALL [SRCDIR]      (TAP; exit 77 without git)
set -u
tarball=${1:?usage: check_dist.sh TARBALL [SRCDIR]}
srcdir=${2:-${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}}

# Tracked, but not for the tarball: repository plumbing only (git's own
# files, the CI runner's entry point, placeholders that keep empty
# directories in git).
not_shipped() {
	case $1 in
	.gitignore | */.gitignore | .gitattributes | */.gitkeep | .ci/* | .github/* | .gitlab-ci.yml) return 0 ;;
	esac
	return 1
}

if ! command -v git >/dev/null 2>&1 || ! git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	echo "1..0 # SKIP $srcdir is not a git checkout"
	exit 77
fi
[ -f "$tarball" ] || { echo "1..1"; echo "not ok 1 - $tarball exists"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check_dist.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

if ! tar tzf "$tarball" > "$tmp/listing" 2> "$tmp/tar.err"; then
	echo "1..1"; echo "not ok 1 - tar tzf $tarball"; sed 's/^/# /' "$tmp/tar.err"; exit 1
fi
# strip the leading "adenroll-X.Y.Z/"
sed -n 's|^[^/]*/||p' "$tmp/listing" | grep -v '/$' | sort -u > "$tmp/shipped"
git -C "$srcdir" ls-files > "$tmp/tracked.all"
: > "$tmp/tracked"
while IFS= read -r f; do
	not_shipped "$f" || printf '%s\n' "$f" >> "$tmp/tracked"
done < "$tmp/tracked.all"
sort -u -o "$tmp/tracked" "$tmp/tracked"
comm -23 "$tmp/tracked" "$tmp/shipped" > "$tmp/missing"

n=0 failed=0
if [ -s "$tmp/missing" ]; then
	n=$((n + 1)); failed=1
	echo "not ok $n - every tracked file is in $(basename "$tarball") ($(wc -l < "$tmp/missing") missing)"
	sed 's/^/# missing: /' "$tmp/missing"
else
	n=$((n + 1)); echo "ok $n - every tracked file is in $(basename "$tarball") ($(wc -l < "$tmp/tracked") files)"
fi
long=$(awk 'length($0) > 99' "$tmp/listing" | wc -l)
n=$((n + 1)); echo "ok $n - paths longer than 99 characters (v7 tar's limit) are stored: $long"
echo "1..$n"
exit "$failed"
