#!/bin/bash
# Integration tests against a real, throw-away AD domain (tests/testenv/domain.sh).
#
#   tests/integration/run.sh ADENROLL_BINARY [TEST-NAME-GLOB...]
#
# Runs every tests/integration/t_*.sh (sorted; or those matching the globs,
# e.g. 't_domain_*') with the domain's env.sh sourced, ADENROLL set to the
# binary, and its own scratch directory as working directory.  Each test
# exits 0 (pass), 77 (skip) or anything else (fail); a failed test's output
# is shown.  The whole run happens in private network, mount and PID
# namespaces (unshare --kill-child): when it ends, however it ends, the kernel
# stops every daemon it started and no mount or address is left behind.
#
# Exit status: 0 all passed (or skipped), 1 something failed, 77 the suite
# cannot run here (not root, packages missing, no namespaces).
# Environment: ADENROLL_IT_TIMEOUT (seconds per test, default 600),
# ADENROLL_IT_KEEP=1 (keep the work directory with logs), TESTENV_RESOLVE=dns.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
DOMAIN_SH=$TOP/tests/testenv/domain.sh

say() { echo "integration: $*"; }
skip_suite() {
  say "SKIP: $*"
  say "0 passed, 0 failed, 0 skipped (suite skipped)"
  exit 77
}

[ $# -ge 1 ] || { echo "usage: $0 ADENROLL_BINARY [TEST-NAME-GLOB...]" >&2; exit 2; }
BIN=$1; shift

# ------------------------------------------------------------ outside: checks, then re-exec in namespaces
if [ "${ADENROLL_IT_INNER:-0}" != 1 ]; then
  [ "$(id -u)" = 0 ] || skip_suite "needs root (network namespaces, a Samba DC, Apache): run 'sudo make check' or 'sudo bash tests/ci.sh'"
  if ! missing=$(bash "$TOP/tests/install-deps.sh" --check 2>&1); then
    skip_suite "${missing#install-deps: }; run: sudo bash tests/install-deps.sh"
  fi
  command -v unshare > /dev/null || skip_suite "unshare (util-linux) not found"
  unshare --net --mount --pid --fork --mount-proc --kill-child --propagation private true 2>/dev/null \
    || skip_suite "cannot create network/mount/PID namespaces here (unshare failed; a container without CAP_SYS_ADMIN?)"
  [ -x "$BIN" ] || { say "ADENROLL_BINARY $BIN is not an executable"; say "0 passed, 1 failed, 0 skipped"; exit 1; }
  BIN=$(readlink -f "$BIN")
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/adenroll-it.XXXXXX")
  # --kill-child: if unshare dies (SIGKILL, a CI timeout), the namespace's
  # init gets SIGKILL, and with it every process inside.  unshare itself
  # ignores SIGTERM/SIGINT, so this shell forwards them to the suite, which
  # then takes the domain down; if it takes too long, unshare is killed.
  unshare --net --mount --pid --fork --mount-proc --kill-child --propagation private \
    env ADENROLL_IT_INNER=1 ADENROLL_IT_WORK="$WORK" TESTENV_INPLACE=1 bash "${BASH_SOURCE[0]}" "$BIN" "$@" &
  upid=$!
  forward() {
    local child i
    child=$(pgrep -P "$upid" | head -n1)
    [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
    for i in $(seq 1 300); do kill -0 "$upid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$upid" 2>/dev/null
  }
  trap 'forward; interrupted=1' TERM INT HUP
  interrupted=0
  rc=0
  while kill -0 "$upid" 2>/dev/null; do
    wait "$upid"; rc=$?
  done
  # whatever happened inside, nothing of the run stays on disk
  if [ "${ADENROLL_IT_KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
  [ $interrupted = 1 ] && exit 130
  exit $rc
fi

# ------------------------------------------------------------ inside the namespaces
WORK=$ADENROLL_IT_WORK
chmod 711 "$WORK"          # Apache's CGI (www-data) reaches the domain dir below
export TESTENV_DIR=$WORK/domain
export TESTENV_KEEP=1      # domain logs stay until $WORK goes
LOGS=$WORK/logs
mkdir -p "$LOGS"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -e "$TESTENV_DIR/settings" ]; then
    bash "$DOMAIN_SH" down > "$LOGS/domain-down.log" 2>&1 || { say "domain down failed:"; cat "$LOGS/domain-down.log"; }
  fi
  if [ "${ADENROLL_IT_KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM
# bg_to LOG CMD...: run CMD with its output in LOG and wait for it.  In the
# background, so that a signal interrupts the wait at once (bash runs a trap
# only after a foreground command ends), and with the redirection on CMD
# alone, so that the trap's messages still reach our own output.
bg_to() { local out=$1; shift; "$@" > "$out" 2>&1 < /dev/null & wait $!; }

# tests to run
tests=()
for t in "$HERE"/t_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  if [ $# -gt 0 ]; then
    keep=0
    for g in "$@"; do
      # shellcheck disable=SC2053
      [[ $name == $g || $name.sh == $g ]] && keep=1
    done
    [ $keep = 1 ] || continue
  fi
  tests+=("$t")
done
[ ${#tests[@]} -gt 0 ] || { say "no tests match"; say "0 passed, 0 failed, 0 skipped"; exit 77; }

start=$(date +%s)
if ! bg_to "$LOGS/domain-up.log" bash "$DOMAIN_SH" up; then
  say "FAIL: the test domain did not come up:"
  tail -n 60 "$LOGS/domain-up.log"
  for f in "$TESTENV_DIR"/logs/*.log; do [ -s "$f" ] && { echo "== $f"; tail -n 20 "$f"; }; done 2>/dev/null
  say "0 passed, ${#tests[@]} failed, 0 skipped"
  exit 1
fi
say "test domain up in $(( $(date +%s) - start ))s ($(tail -n1 "$TESTENV_DIR/timings.txt" 2>/dev/null))"

# bg_test: one test in its scratch dir ($t, $scratch set by the loop)
bg_test() (
  cd "$scratch" || exit 1
  # shellcheck disable=SC1091
  . "$TESTENV_DIR/env.sh"
  export ADENROLL=$BIN SCRATCH=$scratch TESTS_LIB=$HERE/lib.sh TOP_SRCDIR=$TOP
  export KRB5CCNAME=FILE:$scratch/krb5cc     # a ticket cache of its own
  exec timeout -k 10 "${ADENROLL_IT_TIMEOUT:-600}" bash "$t"
)

EMU_STATE=$(. "$TESTENV_DIR/env.sh" && echo "$ADCS_EMU_DIR/state")
passed=0 failed=0 skipped=0 failed_names=()
for t in "${tests[@]}"; do
  name=$(basename "$t" .sh)
  scratch=$WORK/scratch/$name
  mkdir -p "$scratch"
  log=$LOGS/$name.log
  t0=$(date +%s)
  bg_to "$log" bg_test
  rc=$?
  dt=$(( $(date +%s) - t0 ))
  case $rc in
    0) passed=$((passed + 1)); say "PASS $name (${dt}s)" ;;
    77) skipped=$((skipped + 1)); say "SKIP $name: $(grep -m1 '^SKIP:' "$log" | cut -c7-)" ;;
    *)
      failed=$((failed + 1)); failed_names+=("$name")
      [ $rc = 124 ] && echo "(timed out after ${ADENROLL_IT_TIMEOUT:-600}s)" >> "$log"
      say "FAIL $name (exit $rc, ${dt}s); its output:"
      sed 's/^/    | /' "$log" | tail -n 400
      ;;
  esac
  # leave the domain as the next test expects it
  bash "$DOMAIN_SH" fault off > /dev/null 2>&1
  bash "$DOMAIN_SH" lang auto > /dev/null 2>&1
  if [ -e "$TESTENV_DIR/srv-dead-first" ]; then bash "$DOMAIN_SH" srv-dead-first off > /dev/null 2>&1; fi
  if [ -e "$TESTENV_DIR/ca-stopped" ]; then bash "$DOMAIN_SH" ca start > /dev/null 2>&1; fi
  if [ -s "$TESTENV_DIR/epa/mode" ]; then bash "$DOMAIN_SH" epa stop > /dev/null 2>&1; fi
  if [ -s "$TESTENV_DIR/ces/mode" ]; then bash "$DOMAIN_SH" ces off > /dev/null 2>&1; fi
  # a request a fault delayed past its client's timeout is still being
  # decided by the CA: let it land before the next test counts submissions
  for _ in $(seq 1 180); do
    [ -n "$(ls -A "$EMU_STATE/inflight" 2> /dev/null)" ] || break
    sleep 0.5
  done
done

[ $failed = 0 ] || say "failed: ${failed_names[*]}"
say "$passed passed, $failed failed, $skipped skipped"
if [ $failed -gt 0 ]; then exit 1; fi
if [ $passed = 0 ] && [ $skipped -gt 0 ]; then exit 77; fi
exit 0
