#!/bin/bash
# Demo on a fresh Debian 12 machine, as root:
#
#   sudo bash tests/demo.sh
#
# Installs the Debian packages adenroll needs (tests/install-deps.sh), builds
# adenroll, brings up a throw-away AD domain on private addresses (a Samba AD
# DC, the client and CA hosts joined with adcli, Apache + SPNEGO in front of
# the certsrv emulator; see tests/testenv/domain.sh), then, as the client
# machine, runs
#   adenroll templates      what the CA publishes and what this machine may autoenroll
#   adenroll pulse          what Windows autoenrollment would do: enroll, renew, collect
#   adenroll status
# and shows the certificates that landed in the PEM store.  Everything runs in
# private network/mount/PID namespaces and is gone when the demo ends.
# ADENROLL_DEMO_DIR keeps the build and the store (default: a new /tmp dir).
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${ADENROLL_DEMO_INNER:-0}" != 1 ]; then
  [ "$(id -u)" = 0 ] || { echo "demo: run as root (packages, namespaces): sudo bash $0" >&2; exit 1; }
  WORK=${ADENROLL_DEMO_DIR:-$(mktemp -d /tmp/adenroll-demo.XXXXXX)}
  mkdir -p "$WORK"; chmod 711 "$WORK"
  say "installing Debian packages (tests/install-deps.sh)"
  bash "$TOP/tests/install-deps.sh" || exit 1
  say "building adenroll in $WORK/build"
  if [ ! -x "$TOP/configure" ]; then (cd "$TOP" && autoreconf -fi) || exit 1; fi
  mkdir -p "$WORK/build"
  if ! { (cd "$WORK/build" && "$TOP/configure" > configure.log 2>&1) &&
         (cd "$WORK/build" && make -j2 > build.log 2>&1); }; then
    tail -n 30 "$WORK/build/configure.log" "$WORK/build/build.log" 2>/dev/null
    echo "demo: the build failed (logs in $WORK/build)" >&2; exit 1
  fi
  echo "built $WORK/build/adenroll"
  # everything below in throw-away namespaces: the kernel stops the domain's
  # daemons when this ends, however it ends
  exec unshare --net --mount --pid --fork --mount-proc --kill-child --propagation private \
    env ADENROLL_DEMO_INNER=1 ADENROLL_DEMO_WORK="$WORK" TESTENV_INPLACE=1 bash "${BASH_SOURCE[0]}"
fi

# ---------------------------------------------------------------- inside the namespaces
WORK=$ADENROLL_DEMO_WORK
ADENROLL=$WORK/build/adenroll
export TESTENV_DIR=$WORK/domain
DOMAIN_SH=$TOP/tests/testenv/domain.sh
cleanup() {
  trap - EXIT INT TERM
  say "tearing the test domain down"
  bash "$DOMAIN_SH" down
  [ -n "${ADENROLL_DEMO_DIR:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "bringing up the test domain (Samba AD DC, adcli joins, Apache + mod_auth_gssapi, certsrv emulator)"
bash "$DOMAIN_SH" up || { echo "demo: the test domain did not come up" >&2; exit 1; }
# shellcheck disable=SC1091
. "$TESTENV_DIR/env.sh"
export KRB5CCNAME=FILE:$WORK/krb5cc.demo      # adenroll itself uses the keytab, not this
SCRATCH=$WORK/client
mkdir -p "$SCRATCH"
# shellcheck disable=SC1091
. "$TOP/tests/integration/lib.sh"
set +e
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
say "the client's configuration ($CONF)"
cat "$CONF"

run() { echo; echo "\$ adenroll $*"; "$ADENROLL" --config "$CONF" "$@"; rc=$?; echo "(exit status $rc)"; return $rc; }

say "templates published by $ADCS_CA_NAME, as $ADCS_CLIENT_PRINCIPAL sees them"
run templates

say "pulse: autoenrollment for the machine $ADCS_CLIENT_FQDN"
run pulse
pulse_rc=$rc
run status

say "what was enrolled ($SCRATCH/certs)"
ls -la "$SCRATCH/certs" 2>/dev/null || echo "(no PEM store directory was created)"
# the certificates at the top of the store (links or files; keys and chains skipped)
n=0
for f in "$SCRATCH"/certs/*; do
  case "$f" in *chain*|*.key) continue ;; esac
  [ -f "$f" ] && openssl x509 -in "$f" -noout 2>/dev/null || continue
  n=$((n + 1))
  echo "--- $f"
  openssl x509 -in "$f" -noout -subject -issuer -enddate -ext subjectAltName 2>/dev/null
done

say "what the CA saw (request id, status, template, requester)"
bash "$DOMAIN_SH" requests

say "result"
if [ "$n" -gt 0 ]; then
  echo "adenroll pulse (exit $pulse_rc) enrolled $n certificate(s), listed above."
else
  echo "No certificate was enrolled (adenroll pulse exit $pulse_rc)."
  echo "If pulse is not implemented yet in this build, this demo shows discovery only (adenroll templates above)."
fi
