#!/bin/sh
# Drives the bash completion function the way readline does and checks the
# candidates.  Output is TAP.  Needs bash; uses bash-completion's helpers
# when installed, the script's own fallback otherwise.
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
command -v bash >/dev/null 2>&1 || { echo "1..0 # SKIP bash not installed"; exit 0; }

exec bash -c '
comp=$1
n=0; failed=0
[ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
. "$comp" || { echo "1..1"; echo "not ok 1 - sourcing $comp"; exit 1; }
complete -p adenroll >/dev/null 2>&1 && { n=$((n+1)); echo "ok $n - complete -F registered for adenroll"; } ||
	{ n=$((n+1)); failed=1; echo "not ok $n - no completion registered for adenroll"; }
# t EXPECTED WORD...: completes the last word of "WORD..."
t() {
	local want=$1; shift
	COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
	_adenroll adenroll "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	local got; got=$(printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " ")
	want=$(printf "%s\n" $want | sort | tr "\n" " ")
	n=$((n+1))
	if [ "$got" = "$want" ]; then echo "ok $n - [$*] -> $got"
	else failed=1; echo "not ok $n - [$*]: got \"$got\", want \"$want\""; fi
}
all_opts="--config --user --dry-run --json --force -v -q --version --help"
t "pulse status explain templates enroll doctor check-policy forget $all_opts" adenroll ""
t "forget" adenroll fo
t "explain enroll" adenroll e
t "templates" adenroll te
t "--dry-run" adenroll --d
t "--dry-run" adenroll pulse --d
t "$all_opts" adenroll pulse ""
t "$all_opts" adenroll --user explain ""
t "pulse" adenroll --config /nonexistent/x pu
t "" adenroll --version ""
d=$(mktemp -d); : > "$d/site.conf"
t "$d/site.conf" adenroll --config "$d/si"
printf "# adenroll PEM store index v1: <file name>\t<template cn>\nWeb\tWebServer\nMachine\tMachine\n" > "$d/index"
ADENROLL_COMPLETION_INDEX=$d/index t "WebServer" adenroll forget W
ADENROLL_COMPLETION_INDEX=$d/index t "Machine WebServer $all_opts" adenroll --user forget ""
rm -rf "$d"
echo "1..$n"
exit $failed
' _ "$top_srcdir/completion/adenroll.bash"
