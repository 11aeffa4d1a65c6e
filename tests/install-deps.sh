#!/bin/bash
# Installs everything adenroll's build, unit tests, integration tests (a local
# Samba AD domain with Apache web enrollment), fuzzing and packaging need,
# from the Debian 12 archive only.  Run as root.  Idempotent: when every
# package is already installed it only checks and returns (no apt run).
#
#   tests/install-deps.sh            install what is missing
#   tests/install-deps.sh --check    exit 1 and list what is missing, install nothing
#
# Package maintainer scripts must not start daemons (smbd, nmbd, samba,
# apache2, winbind): on a host whose init honours invoke-rc.d they would run
# in the root network namespace, and nmbd broadcasts on the real network.  A
# /usr/sbin/policy-rc.d that refuses every start (exit 101) is kept in place
# during the install, and removed afterwards if this script created it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS="build-essential pkg-config autoconf automake libtool libtool-bin
  libkrb5-dev libldap2-dev libsasl2-dev libssl-dev libcurl4-openssl-dev
  libnss3-dev libsystemd-dev check libcmocka-dev
  libxml2-dev"
# Samba AD DC and the client tools the harness uses (samba-ad-provision is a
# Recommends that provisioning cannot do without).
DC_PKGS="samba samba-ad-dc samba-ad-provision winbind samba-dsdb-modules
  python3-samba krb5-user ldb-tools ldap-utils libsasl2-modules-gssapi-mit
  bind9-host dnsutils adcli"
# web enrollment: Apache + SPNEGO in front of the certsrv emulator (Debian's
# python3 with cryptography signs the certificates)
WEB_PKGS="apache2 libapache2-mod-auth-gssapi python3 python3-gssapi
  python3-cryptography curl openssl"
# the CEP/CES emulator validates every SOAP message against XML schemas
WEB_PKGS="$WEB_PKGS python3-lxml"
# fuzzing (libFuzzer + ASan runtime), NSS store checks, namespaces, packaging
EXTRA_PKGS="clang libclang-rt-14-dev libnss3-tools iproute2 util-linux bc
  procps debhelper dpkg-dev fakeroot lintian rpm bash-completion faketime"

# Group Policy: adenroll-gpo-fetch reads SYSVOL with libsmbclient; the test
# domain uploads Registry.pol files with smbclient.
GPO_PKGS="libsmbclient-dev smbclient"

ALL_PKGS=$(echo $BUILD_PKGS $DC_PKGS $WEB_PKGS $EXTRA_PKGS $GPO_PKGS)

missing_pkgs() {
  local p st
  for p in $ALL_PKGS; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || echo "$p"
  done
}

if [ "${1:-}" = --check ]; then
  m=$(missing_pkgs | xargs)
  [ -z "$m" ] && { echo "install-deps: all packages present"; exit 0; }
  echo "install-deps: missing: $m"; exit 1
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: must run as root (apt-get install); try: sudo bash $0" >&2
  exit 1
fi

missing=$(missing_pkgs | xargs)
if [ -z "$missing" ]; then
  echo "install-deps: all $(echo $ALL_PKGS | wc -w) packages already installed"
  exit 0
fi

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\n# installed by adenroll tests/install-deps.sh: no daemon starts from package scripts\nexit 101\n' \
    > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

start=$(date +%s)
echo "install-deps: installing: $missing"
apt-get update -qq
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $missing > /tmp/install-deps.$$.log 2>&1; then
  tail -30 /tmp/install-deps.$$.log >&2
  rm -f /tmp/install-deps.$$.log
  echo "install-deps: apt-get install failed (see above)" >&2
  exit 1
fi
rm -f /tmp/install-deps.$$.log
echo "install-deps: done in $(( $(date +%s) - start ))s"

# Package scripts may have started a daemon despite policy-rc.d (an init that
# ignores it): say so, stopping them is the administrator's call.
mynet=$(readlink /proc/self/ns/net)
for d in smbd nmbd samba winbindd apache2; do
  for pid in $(pgrep -x "$d" 2>/dev/null || true); do
    # test domains run in their own network namespaces: only the root one matters
    [ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "$mynet" ] || continue
    echo "install-deps: WARNING: $d (pid $pid) runs in this network namespace; the tests do not need it" >&2
  done
done
