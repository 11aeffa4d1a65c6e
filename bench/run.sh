#!/bin/bash
# Benchmarks against the throw-away test domain (not timed tests: nothing
# here passes or fails on a number).  As root, from the README's environment:
#
#   sudo bash bench/run.sh [ADENROLL_BINARY]
#
# Builds adenroll (-O2, no sanitizers) and bench/bench_decide in a work
# directory unless ADENROLL_BENCH_BUILD names an existing build directory
# (configured from this tree; `make` and `make bench` are run there), brings
# up tests/testenv/domain.sh in private network/mount/PID namespaces (as
# tests/integration/run.sh does), and prints one table:
#   enrollment  the first pulse: every eligible template enrolled; time split
#               into key generation, LDAP and HTTP; HTTP requests per request
#   no-op       pulse with every certificate valid (median of R runs): wall,
#               CPU, peak RSS, LDAP operations after the bind, HTTP requests,
#               bytes on the wire
#   scale       no-op pulse with N templates in the directory (N in
#               ADENROLL_BENCH_SCALE: 10/100/1000, 10000 on request), and
#               the decision alone (bench_decide: N templates, N certificates
#               in a PEM store) at the same N
#   samba       Samba's gp_cert_auto_enroll_ext (bench/samba_ae.py) on the
#               same domain as the same machine, and its ratio to the no-op pulse
#   gpupdate    the whole `samba-gpupdate --target=Computer` run by a Samba
#               member joined for it (bench/samba_gpupdate.py: GPO list, SYSVOL
#               download, every extension, each run checked complete): after a
#               GPO changed, with nothing changed, and a first run; beside
#               adenroll's no-op pulse and its pulse after a GPO changed, as ratios
# Figures: CPU = user+system from wait4() (children included), RSS = ru_maxrss,
# bytes on the wire = loopback bytes in the private namespace (every packet
# between the client and the DC/CA, headers included), LDAP/HTTP counts and
# the time split from `adenroll -vv pulse`'s "pulse cost" debug line.
#
# Environment: ADENROLL_BENCH_REPEATS (runs per measurement, default 7),
# ADENROLL_BENCH_BUILD (build directory to use), ADENROLL_BENCH_KEEP=1 (keep
# the work directory and its logs), ADENROLL_BENCH_SCALE (default "10 100 1000";
# "10 100 1000 10000" adds the 10000 row, about 20 minutes more on 2 loaded
# vCPUs, most of it the DC adding 9000 templates over LDAP),
# ADENROLL_BENCH_GPUPDATE_REPEATS (samba-gpupdate runs of each kind, default
# ADENROLL_BENCH_REPEATS: a run after a GPO changed took 30-45 s here, most of it
# update-ca-certificates).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DOMAIN_SH=$TOP/tests/testenv/domain.sh
R=${ADENROLL_BENCH_REPEATS:-7}
SCALE=${ADENROLL_BENCH_SCALE:-10 100 1000}
PY=/usr/bin/python3

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

# ------------------------------------------------------------ outside: build, then re-exec in namespaces
if [ "${ADENROLL_BENCH_INNER:-0}" != 1 ]; then
  [ "$(id -u)" = 0 ] || die "run as root (network namespaces, a Samba DC, Apache): sudo bash $0"
  missing=$(bash "$TOP/tests/install-deps.sh" --check 2>&1) || die "${missing#install-deps: }; run: sudo bash tests/install-deps.sh"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/adenroll-bench.XXXXXX")
  chmod 711 "$WORK"          # Apache's CGI (www-data) reaches the domain dir below
  mkdir -p "$WORK/logs"
  if [ -n "${ADENROLL_BENCH_BUILD:-}" ]; then
    B=$(cd "$ADENROLL_BENCH_BUILD" && pwd) || exit 1
  else
    B=$WORK/build
    [ -x "$TOP/configure" ] || (cd "$TOP" && autoreconf -fi) > "$WORK/logs/autoreconf.log" 2>&1 \
      || die "autoreconf failed (see $WORK/logs/autoreconf.log)"
    mkdir -p "$B"
    say "building adenroll (-O2, no sanitizers) in $B"
    (cd "$B" && "$TOP/configure" CFLAGS="-O2 -g") > "$WORK/logs/configure.log" 2>&1 \
      || die "configure failed (see $WORK/logs/configure.log)"
  fi
  (cd "$B" && make -j"$(nproc)" && make bench) > "$WORK/logs/build.log" 2>&1 \
    || { tail -n 20 "$WORK/logs/build.log" >&2; die "build failed (see $WORK/logs/build.log)"; }
  BIN=$(readlink -f "${1:-$B/adenroll}")
  [ -x "$BIN" ] || die "$BIN is not an executable"
  unshare --net --mount --pid --fork --mount-proc --kill-child --propagation private \
    env ADENROLL_BENCH_INNER=1 ADENROLL_BENCH_WORK="$WORK" ADENROLL_BENCH_BUILDDIR="$B" \
    TESTENV_INPLACE=1 bash "${BASH_SOURCE[0]}" "$BIN"
  rc=$?
  if [ "${ADENROLL_BENCH_KEEP:-0}" = 1 ] || [ $rc != 0 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit $rc
fi

# ------------------------------------------------------------ inside the namespaces
BIN=$1
WORK=$ADENROLL_BENCH_WORK
RUSAGE=$ADENROLL_BENCH_BUILDDIR/bench/bench_rusage
LOGS=$WORK/logs
BOUT=$WORK/out
mkdir -p "$BOUT"
export TESTENV_DIR=$WORK/domain TESTENV_KEEP=1
cleanup() {
  trap - EXIT INT TERM
  [ -e "$TESTENV_DIR/settings" ] && bash "$DOMAIN_SH" down > "$LOGS/domain-down.log" 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# samba-gpupdate's machine extensions write where a member keeps its system
# configuration (/etc/firefox, /etc/chromium, /usr/lib64/firefox, the trust
# store under /etc/ssl/certs that update-ca-certificates rebuilds): in this
# mount namespace /etc and /usr/lib64 are overlays whose writes land in the
# work directory, never on the host.  Done before the domain comes up, so its
# /etc/hosts and /etc/resolv.conf mounts sit on the overlay.
for d in /etc /usr/lib64; do
  o=$WORK/overlay${d//\//-}
  mkdir -p "$o/upper" "$o/work"
  mount -t overlay adenroll-bench -o "lowerdir=$d,upperdir=$o/upper,workdir=$o/work" "$d" \
    || die "cannot put an overlay on $d (samba-gpupdate would write into the host's)"
done

say "bringing up the test domain"
t=$(date +%s)
bash "$DOMAIN_SH" up > "$LOGS/domain-up.log" 2>&1 || { tail -n 30 "$LOGS/domain-up.log" >&2; die "the test domain did not come up"; }
say "test domain up in $(( $(date +%s) - t ))s"
# shellcheck disable=SC1091
. "$TESTENV_DIR/env.sh"
SCRATCH=$WORK/client
mkdir -p "$SCRATCH"
export KRB5CCNAME=FILE:$SCRATCH/krb5cc      # adenroll itself uses the keytab
# shellcheck disable=SC1091
. "$TOP/tests/integration/lib.sh"
set +e
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"

# Every eligible machine template must end up with a valid certificate that
# stays valid for the whole run: the computer gets a mail address (NeedsEmail
# needs one), ShortLived gets a one-year validity (its 10 minutes would make
# it due in the middle of the no-op runs).  PendingApproval is approved below.
bash "$DOMAIN_SH" ldbmodify > "$LOGS/prepare.log" 2>&1 <<EOF || die "cannot prepare the domain (see $LOGS/prepare.log)"
dn: $ADCS_CLIENT_DN
changetype: modify
replace: mail
mail: client@$ADCS_DOMAIN

dn: CN=ShortLived,CN=Certificate Templates,$ADCS_PKS_DN
changetype: modify
replace: pKIExpirationPeriod
pKIExpirationPeriod:: AEA5hy7h/v8=
-
replace: pKIOverlapPeriod
pKIOverlapPeriod:: AICmCv/e//8=
EOF

# measure LABEL EXPECTED-RC CMD...: one run through bench_rusage; its output in
# $BOUT/LABEL.out, its figures appended to $BOUT/LABEL.m
measure() {
  local label=$1 want=$2 line rc; shift 2
  line=$("$RUSAGE" "$BOUT/$label.out" "$@")
  echo "$line" >> "$BOUT/$label.m"
  rc=${line##*rc=}
  [ "$rc" = "$want" ] || { tail -n 30 "$BOUT/$label.out" >&2; die "$label: exit status $rc, expected $want"; }
}
# field FILE KEY: the median of KEY over FILE's lines (max for rss_kib)
field() {
  local how=median
  [ "$2" = rss_kib ] && how=max
  grep -o "$2=[0-9.]*" "$1" | cut -d= -f2 | sort -g | awk -v how=$how '
    { v[NR] = $1 } END { if (NR == 0) { print "?"; exit }
      if (how == "max") print v[NR]; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# cost FILE: the numbers of the "pulse cost" line as "ldap_ops ldap_s http_req http_conn http_bytes http_s keys key_s"
cost() {
  sed -n 's/.*pulse cost: \([0-9]*\) LDAP operations (bind included) in \([0-9.]*\) s; \([0-9]*\) HTTP requests on \([0-9]*\) connections, \([0-9]*\) body bytes received, in \([0-9.]*\) s; \([0-9]*\) keys generated in \([0-9.]*\) s.*/\1 \2 \3 \4 \5 \6 \7 \8/p' "$1" | tail -n1
}
pulse() { "$BIN" --config "$CONF" "$@"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

# ------------------------------------------------------------ enrollment
# server_ms FROM: what the CA's web server spent (Apache %D) on the requests
# logged after line FROM of its access log: the certsrv emulator is a Python
# CGI, so most of the HTTP time below is the server's, not the client's
ACCESS_LOG=$TESTENV_DIR/apache/log/access.log
server_ms() { tail -n +"$(( $1 + 1 ))" "$ACCESS_LOG" | awk '{ t += $NF + 0 } END { printf "%.1f", t / 1000 }'; }

say "process start alone (adenroll --help): $R runs"
for i in $(seq 1 "$R"); do measure start 0 "$BIN" --help; done

say "enrollment: first pulse"
a0=$(wc -l < "$ACCESS_LOG")
measure enroll 3 "$BIN" --config "$CONF" -vv pulse      # 3 = something changed
e_server=$(server_ms "$a0")
read -r e_ops e_ls e_req e_conn e_bytes e_hs e_keys e_ks <<< "$(cost "$BOUT/enroll.out")"
e_issued=$(grep -cE ': (enrolled|renewed) \(serial' "$BOUT/enroll.out")
e_pending=$(grep -c ': pending (request' "$BOUT/enroll.out")
e_failed=$(grep -cE ': (failed|denied by)' "$BOUT/enroll.out")
[ "$e_failed" = 0 ] || { grep -E ': (failed|denied by)' "$BOUT/enroll.out" >&2; die "enrollment: a template failed"; }
e_sub=$((e_issued + e_pending))
# requests per template: the debug lines between one "submitting" and the next
read -r e_per_issued e_per_pending <<< "$(awk '
  / submitting a request to / { flush(); n = 0; open = 1; next }
  /debug: (POST|GET) https:/ { if (open) n++; next }
  /: enrolled by / { if (open) kind = "i" }
  /: request [0-9]+ pending at / { if (open) kind = "p" }
  function flush() { if (open && kind == "i") { si += n; ni++ } else if (open && kind == "p") { sp += n; np++ } kind = "" }
  END { flush(); printf "%s %s\n", ni ? sprintf("%.1f", si / ni) : "-", np ? sprintf("%.1f", sp / np) : "-" }' "$BOUT/enroll.out")"
say "enrollment: $e_issued issued, $e_pending pending"

# the CA administrator approves what is pending; the next pulse collects it
for id in $(bash "$DOMAIN_SH" requests 2>/dev/null | awk '$2 == "pending" { print $1 }'); do
  bash "$DOMAIN_SH" approve "$id" >> "$LOGS/approve.log" 2>&1 || die "approving request $id failed"
done
a0=$(wc -l < "$ACCESS_LOG")
measure collect 3 "$BIN" --config "$CONF" -vv pulse
c_server=$(server_ms "$a0")
read -r c_ops _ c_req c_conn _ c_hs _ <<< "$(cost "$BOUT/collect.out")"

# ------------------------------------------------------------ no-op
say "no-op pulse: $R runs (+1 warm-up, +1 with -vv for the counters)"
measure noop-warm 0 "$BIN" --config "$CONF" pulse      # fills the CRL cache
grep -q "renewal from" "$BOUT/noop-warm.out" || die "no-op: pulse did not keep the certificates"
for i in $(seq 1 "$R"); do measure noop 0 "$BIN" --config "$CONF" pulse; done
measure noop-vv 0 "$BIN" --config "$CONF" -vv pulse
read -r n_ops _ n_req _ <<< "$(cost "$BOUT/noop-vv.out")"
n_kept=$(grep -c "renewal from" "$BOUT/noop-vv.out")

# ------------------------------------------------------------ Group Policy
# The no-op pulse above reads Group Policy ([policy] source = gpo, the
# default; the domain links only the Default Domain Policy, version 0).  Here:
# the same pulse reading no Group Policy (source = local), with a GPO that
# sets AEPolicy 7 at the domain (its Registry.pol cached after the first
# run), and the policy-change check when nothing changed (adenroll-policy.timer).
export ADENROLL_GPO_FETCH=$ADENROLL_BENCH_BUILDDIR/adenroll-gpo-fetch
write_config "$SCRATCH/local.conf" policy.source=local
say "Group Policy: no-op pulse with source = local, with an AEPolicy GPO, and check-policy: $R runs each"
for i in $(seq 1 "$R"); do measure noop-local 0 "$BIN" --config "$SCRATCH/local.conf" pulse; done
measure noop-local-vv 0 "$BIN" --config "$SCRATCH/local.conf" -vv pulse
read -r l_ops _ <<< "$(cost "$BOUT/noop-local-vv.out")"
G_BENCH=$(bash "$DOMAIN_SH" gpo create "bench autoenrollment") && [ -n "$G_BENCH" ] \
  && bash "$DOMAIN_SH" gpo set "$G_BENCH" machine 7 && bash "$DOMAIN_SH" gpo link "$G_BENCH" "$ADCS_DOMAIN_DN" \
  || die "cannot create the benchmark GPO"
measure noop-gpo-warm 0 "$BIN" --config "$CONF" pulse   # reads its Registry.pol once
for i in $(seq 1 "$R"); do measure noop-gpo 0 "$BIN" --config "$CONF" pulse; done
measure noop-gpo-vv 0 "$BIN" --config "$CONF" -vv pulse
read -r g_ops _ <<< "$(cost "$BOUT/noop-gpo-vv.out")"
grep -q "from GPO bench autoenrollment" "$BOUT/noop-gpo-vv.out" || die "no-op with GPO: the GPO did not decide"
for i in $(seq 1 "$R"); do measure check 0 "$BIN" --config "$CONF" check-policy; done
measure check-vv 0 "$BIN" --config "$CONF" -vv check-policy
grep -q "running a pulse" "$BOUT/check-vv.out" && die "check-policy: pulsed although nothing changed"
k_ops=$(sed -n 's/.*policy check cost: \([0-9]*\) LDAP operations.*/\1/p' "$BOUT/check-vv.out" | tail -n1)

# ------------------------------------------------------------ Samba
say "Samba gp_cert_auto_enroll_ext: $R runs"
for i in $(seq 1 "$R"); do
  rm -rf "$WORK/samba"; mkdir -p "$WORK/samba"
  measure samba 0 env PATH=/usr/bin:/bin "$PY" "$HERE/samba_ae.py" "$WORK/samba"
  grep -o 'import_ms=[0-9.]* ext_ms=[0-9.]*' "$BOUT/samba.out" >> "$BOUT/samba.inproc"
done

# ------------------------------------------------------------ the whole samba-gpupdate (issue 15)
# samba-gpupdate --target=Computer, installed and unchanged, run as a Samba
# member runs it: GPO list over LDAP, SYSVOL over SMB, every machine
# extension.  The member is a machine account of its own, GPBENCH$, joined
# with `net ads join` (bench/samba_gpupdate.py says why: samba-gpupdate needs
# the machine password and domain SID in Samba's secrets.tdb, which the
# adcli-joined CLIENT$ has not).  Beside it: adenroll's no-op pulse and its
# pulse after a GPO changed (the bench GPO's version bumped before each run:
# the Registry.pol is read over SMB by adenroll-gpo-fetch).
#   gpupdate-changed  the bench GPO's version bumped before each run, as for
#                     adenroll: that GPO is downloaded and applied again
#   gpupdate-again    nothing changed since the last run
#   gpupdate-first    an empty GPO cache and log (a new member): every GPO
#                     applied
# Samba's certificate extension runs update-ca-certificates whenever a GPO
# with AEPolicy changed; its hooks (/etc/ca-certificates/update.d: on this
# host ca-certificates-java, which runs dpkg's triggers) are hidden, as on a
# host without Java; it is timed alone too.  Every run is checked
# (samba_gpupdate.py check: no error logged, every GPO downloaded and
# recorded, the CA certificate written) and the bench stops if one did not
# complete.
say "GPO changed: adenroll pulse after a version bump: $R runs"
for i in $(seq 1 "$R"); do
  bash "$DOMAIN_SH" gpo bump "$G_BENCH" machine > /dev/null 2>> "$LOGS/bump.log" || die "gpo bump failed (see $LOGS/bump.log)"
  measure gpo-changed 0 "$BIN" --config "$CONF" pulse
done
G_OPS_NOOP=$(sed -n 's/.*Group Policy objects read with \([0-9]*\) LDAP.*/\1/p' "$BOUT/noop-gpo-vv.out" | tail -n1)

SG=$WORK/gpupdate
G_DEFAULT='{31B2F340-016D-11D2-945F-00C04FB984F9}'     # Default Domain Policy
RG=${ADENROLL_BENCH_GPUPDATE_REPEATS:-$R}
say "samba-gpupdate: joining a Samba member (GPBENCH\$) for it"
mkdir -p "$SG" "$WORK/no-hooks"
mount --bind "$WORK/no-hooks" /etc/ca-certificates/update.d || die "cannot hide update-ca-certificates' hooks"
update-ca-certificates > "$LOGS/update-ca-certificates.log" 2>&1 \
  || die "update-ca-certificates failed (see $LOGS/update-ca-certificates.log)"   # the steady state: nothing to add
KRB5CCNAME=FILE:$SG/krb5cc "$PY" "$HERE/samba_gpupdate.py" join "$SG" > "$LOGS/gpupdate-join.log" 2>&1 \
  || { tail -n 20 "$LOGS/gpupdate-join.log" >&2; die "net ads join failed (see $LOGS/gpupdate-join.log)"; }
GPUPDATE=(env PATH=/usr/sbin:/usr/bin:/sbin:/bin KRB5CCNAME="FILE:$SG/krb5cc"
          /usr/sbin/samba-gpupdate --configfile="$SG/smb.conf" --target=Computer)
# gpupdate LABEL [--cert]: one timed run, then the check that it completed
gpupdate() {
  measure "$1" 0 "${GPUPDATE[@]}"
  cp "$BOUT/$1.out" "$LOGS/$1.$(wc -l < "$BOUT/$1.m").out"
  "$PY" "$HERE/samba_gpupdate.py" check "$SG" "$BOUT/$1.out" ${2:+"$2"} "$G_BENCH" "$G_DEFAULT" \
    || die "$1: samba-gpupdate did not complete (see $BOUT/$1.out)"
}
say "samba-gpupdate --target=Computer: $RG runs each: first (empty cache), after a GPO changed, nothing changed"
for i in $(seq 1 "$RG"); do
  "$PY" "$HERE/samba_gpupdate.py" forget "$SG" || die "cannot empty samba-gpupdate's cache"
  gpupdate gpupdate-first --cert
done
for i in $(seq 1 "$RG"); do
  bash "$DOMAIN_SH" gpo bump "$G_BENCH" machine > /dev/null 2>> "$LOGS/bump.log" || die "gpo bump failed (see $LOGS/bump.log)"
  rm -f "$SG"/cache/certs/*.crt                   # the extension must write it again
  gpupdate gpupdate-changed --cert
done
for i in $(seq 1 "$RG"); do gpupdate gpupdate-again; done
for i in $(seq 1 "$RG"); do measure update-ca 0 update-ca-certificates; done
umount /etc/ca-certificates/update.d

# ------------------------------------------------------------ scale: templates in the directory
# Extra templates that the machine may Enroll but not AutoEnroll, published by
# the CA: every eligibility check runs, the ACL included, and nothing is enrolled.
have=$(grep -o 'directory: [0-9]* templates' "$BOUT/noop-vv.out" | grep -o '[0-9]*')
[ -n "$have" ] || have=9
next=1
add_templates() {  # add_templates FROM TO
  # one record with @I@ for the number, copied by one awk (a `cat` per
  # template costs minutes at 10000 where a process start is slow)
  local rec
  rec=$(cat <<EOF
dn: CN=BenchT@I@,CN=Certificate Templates,$ADCS_PKS_DN
objectClass: top
objectClass: pKICertificateTemplate
cn: BenchT@I@
displayName: Bench Template @I@
flags: 131680
revision: 100
msPKI-Template-Schema-Version: 2
msPKI-Template-Minor-Revision: 3
pKIDefaultKeySpec: 1
pKIKeyUsage:: oAA=
pKIMaxIssuingDepth: 0
pKICriticalExtensions: 2.5.29.15
pKIExpirationPeriod:: AEA5hy7h/v8=
pKIOverlapPeriod:: AICmCv/e//8=
pKIDefaultCSPs: 1,Microsoft RSA SChannel Cryptographic Provider
msPKI-RA-Signature: 0
msPKI-Enrollment-Flag: 32
msPKI-Private-Key-Flag: 0
msPKI-Certificate-Name-Flag: 134217728
msPKI-Minimal-Key-Size: 2048
msPKI-Cert-Template-OID: $ADCS_TEMPLATE_OID_PREFIX.9.@I@
pKIExtendedKeyUsage: 1.3.6.1.5.5.7.3.2
msPKI-Certificate-Application-Policy: 1.3.6.1.5.5.7.3.2
nTSecurityDescriptor: O:EAG:EAD:PAI(OA;;CR;0e10c968-78fb-11d2-90d4-00c04f79dc55;;DC)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;DA)(A;;CCDCLCSWRPWPDTLOSDRCWDWO;;;EA)(A;;LCRPLORC;;;AU)
EOF
)
  {
    seq "$1" "$2" | awk -v rec="$rec" '{ r = rec; gsub(/@I@/, $1, r); print r; print "" }'
    echo "dn: CN=$ADCS_CA_NAME,CN=Enrollment Services,$ADCS_PKS_DN"
    echo "changetype: modify"
    echo "add: certificateTemplates"
    seq "$1" "$2" | sed 's/^/certificateTemplates: BenchT/'
  } > "$WORK/templates-$1.ldif"
  # records without a changetype are added
  bash "$DOMAIN_SH" ldbmodify "$WORK/templates-$1.ldif" >> "$LOGS/templates.log" 2>&1
}
declare -A S_WALL S_CPU S_RSS S_OPS S_BYTES
for n in $SCALE; do
  if [ "$n" -gt "$have" ]; then
    say "scale: $n templates in the directory"
    add_templates "$next" $((next + n - have - 1)) || die "adding templates failed (see $LOGS/templates.log)"
    next=$((next + n - have)); have=$n
  elif [ "$n" -lt "$have" ]; then
    say "scale: the domain already holds $have templates; $n is measured as $have"
  fi
  measure "scale-$n-warm" 0 "$BIN" --config "$CONF" pulse
  for i in $(seq 1 "$R"); do measure "scale-$n" 0 "$BIN" --config "$CONF" pulse; done
  measure "scale-$n-vv" 0 "$BIN" --config "$CONF" -vv pulse
  got=$(grep -o 'directory: [0-9]* templates' "$BOUT/scale-$n-vv.out" | grep -o '[0-9]*')
  S_WALL[$n]=$(field "$BOUT/scale-$n.m" wall_ms); S_CPU[$n]=$(field "$BOUT/scale-$n.m" cpu_ms)
  S_RSS[$n]=$(field "$BOUT/scale-$n.m" rss_kib); S_BYTES[$n]=$(field "$BOUT/scale-$n.m" lo_bytes)
  read -r s_ops _ <<< "$(cost "$BOUT/scale-$n-vv.out")"
  S_OPS[$n]="$((s_ops - 1)) ($got templates)"
done

say "decision alone (bench_decide, $R runs each)"
# shellcheck disable=SC2086  # one argument per N
"$ADENROLL_BENCH_BUILDDIR/bench/bench_decide" -r "$R" $SCALE > "$BOUT/decide.txt" 2> "$LOGS/decide.log" || die "bench_decide failed (see $LOGS/decide.log)"

# ------------------------------------------------------------ the table
nw=$(field "$BOUT/noop.m" wall_ms) nc=$(field "$BOUT/noop.m" cpu_ms) nr=$(field "$BOUT/noop.m" rss_kib)
nb=$(field "$BOUT/noop.m" lo_bytes)
sw=$(field "$BOUT/samba.m" wall_ms) sc=$(field "$BOUT/samba.m" cpu_ms) sr=$(field "$BOUT/samba.m" rss_kib)
sb=$(field "$BOUT/samba.m" lo_bytes)
si=$(field "$BOUT/samba.inproc" ext_ms) sm=$(field "$BOUT/samba.inproc" import_ms)
ew=$(field "$BOUT/enroll.m" wall_ms) ec=$(field "$BOUT/enroll.m" cpu_ms) er=$(field "$BOUT/enroll.m" rss_kib)
eb=$(field "$BOUT/enroll.m" lo_bytes)
# (a difference of two medians, A less B, can come out at or below zero when
# B is most of A and the runs vary: that says nothing, so it is not a ratio)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "?"; else if (a <= 0) print "n/a (within the runs'"'"' spread)"; else printf "%.1fx", a / b }'; }
# row LABEL TEXT: a table row with LABEL's wall, CPU, peak RSS and bytes
row() { echo "| $2 | $(field "$BOUT/$1.m" wall_ms) ms | $(field "$BOUT/$1.m" cpu_ms) ms | $(field "$BOUT/$1.m" rss_kib) KiB | $(field "$BOUT/$1.m" lo_bytes) |"; }
# ratios A B: A / B for wall, CPU, peak RSS and bytes, as table cells
ratios() {
  local k out=
  for k in wall_ms cpu_ms rss_kib lo_bytes; do out+="$(ratio "$(field "$BOUT/$1.m" $k)" "$(field "$BOUT/$2.m" $k)") | "; done
  echo "${out% | }"
}
# minus A B KEY: A's median KEY less B's
minus() { awk -v a="$(field "$BOUT/$1.m" "$3")" -v b="$(field "$BOUT/$2.m" "$3")" 'BEGIN { printf "%.2f", a - b }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }

cat <<EOF
## adenroll benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), median of $R runs)

### No-op pulse (every certificate valid: $n_kept templates kept)
| figure | value | target |
|---|---|---|
| process start alone (\`adenroll --help\`): CPU / peak RSS | $(field "$BOUT/start.m" cpu_ms) ms / $(field "$BOUT/start.m" rss_kib) KiB | |
| wall time | $nw ms | |
| CPU time (user+sys) | $nc ms | <= 30 ms |
| peak RSS | $nr KiB | <= 10240 KiB |
| LDAP operations after the bind | $((n_ops - 1)) | <= 4 |
| HTTP requests | $n_req | 0 |
| bytes on the wire (DNS+Kerberos+LDAP, both ways) | $nb ($(kib "$nb")) | |

### Group Policy (no SYSVOL read in any of these: the Registry.pol is cached)
| run | wall | CPU | peak RSS | LDAP operations after the bind |
|---|---|---|---|---|
| no-op pulse, source = local (no Group Policy read) | $(field "$BOUT/noop-local.m" wall_ms) ms | $(field "$BOUT/noop-local.m" cpu_ms) ms | $(field "$BOUT/noop-local.m" rss_kib) KiB | $((l_ops - 1)) |
| no-op pulse, source = gpo, AEPolicy 7 GPO at the domain | $(field "$BOUT/noop-gpo.m" wall_ms) ms | $(field "$BOUT/noop-gpo.m" cpu_ms) ms | $(field "$BOUT/noop-gpo.m" rss_kib) KiB | $((g_ops - 1)) |
| \`check-policy\`, nothing changed (no pulse, no SMB) | $(field "$BOUT/check.m" wall_ms) ms | $(field "$BOUT/check.m" cpu_ms) ms | $(field "$BOUT/check.m" rss_kib) KiB | $((k_ops - 1)) |

### Enrollment (first pulse: $e_issued issued + $e_pending pending = $e_sub requests)
| figure | value |
|---|---|
| wall / CPU / peak RSS | $ew ms / $ec ms / $er KiB |
| key generation ($e_keys keys) | $(ms "$e_ks") ms |
| LDAP ($((e_ops - 1)) operations after the bind; connect+bind included) | $(ms "$e_ls") ms |
| HTTP ($e_req requests on $e_conn connections, $e_bytes body bytes) | $(ms "$e_hs") ms, of which the CA's web server (emulator CGI) $e_server ms |
| HTTP requests per certificate | $e_per_issued per issued certificate, $e_per_pending per pending submission; $(awk -v r="$e_conn" -v n="$e_sub" 'BEGIN { printf "%.2f", n ? r / n : 0 }') connections per request |
| bytes on the wire | $eb ($(kib "$eb")) |
| collecting the approved pending certificate | $c_req HTTP requests on $c_conn connections, $(ms "$c_hs") ms (server $c_server ms); $((c_ops - 1)) LDAP operations after the bind |

### Scale
| templates in the directory | no-op pulse wall | CPU | peak RSS | LDAP ops after the bind | bytes on the wire |
|---|---|---|---|---|---|
EOF
for n in $SCALE; do
  echo "| $n | ${S_WALL[$n]} ms | ${S_CPU[$n]} ms | ${S_RSS[$n]} KiB | ${S_OPS[$n]} | ${S_BYTES[$n]} |"
done
cat <<EOF

Decision alone (bench_decide: N templates + N valid certificates in a PEM store; CPU ms, target < 50 at 1000):
| N | read the store | decide (eligibility + policy) | total |
|---|---|---|---|
EOF
sed 's/n=\([0-9]*\) store_ms=\([0-9.]*\) decide_ms=\([0-9.]*\) total_ms=\([0-9.]*\).*/| \1 | \2 ms | \3 ms | \4 ms |/' "$BOUT/decide.txt"
cat <<EOF

The same decision with revocation checking on (one CRL distribution point per certificate, a fresh CRL of 100 other serials; warm: verified issuers and the CRL's facts cached, nothing parsed):
| N | decide, warm | read the store + decide, warm | first decision (N certificates and 1 CRL parsed) |
|---|---|---|---|
EOF
sed 's/^n=\([0-9]*\) .* rev_decide_ms=\([0-9.]*\) rev_total_ms=\([0-9.]*\) rev_cold_decide_ms=\([0-9.]*\) .*/| \1 | \2 ms | \3 ms | \4 ms |/' "$BOUT/decide.txt"
cat <<EOF

### The whole samba-gpupdate run beside adenroll (bench/samba_gpupdate.py)
samba-gpupdate $(dpkg-query -W -f '${Version}' samba-common-bin) as the joined member GPBENCH\$, median of $RG runs each; every run checked complete.
Load average when the runs ended: $(cut -d' ' -f1-3 /proc/loadavg).
| run | wall | CPU | peak RSS | bytes on the wire |
|---|---|---|---|---|
$(row noop-gpo "adenroll no-op pulse (Group Policy unchanged: $G_OPS_NOOP LDAP operations for it, no SMB)")
$(row gpo-changed "adenroll pulse after a GPO changed (Registry.pol over SMB)")
$(row gpupdate-again "samba-gpupdate --target=Computer, nothing changed")
$(row gpupdate-changed "samba-gpupdate --target=Computer, after the GPO changed")
$(row gpupdate-first "samba-gpupdate --target=Computer, first run (empty GPO cache: every GPO applied)")
$(row update-ca "update-ca-certificates alone (run by the certificate extension in the two rows above)")

| ratio (Samba / adenroll) | wall | CPU | peak RSS | bytes |
|---|---|---|---|---|
| nothing changed: samba-gpupdate / no-op pulse | $(ratios gpupdate-again noop-gpo) |
| a GPO changed: samba-gpupdate / pulse after the change | $(ratios gpupdate-changed gpo-changed) |
| a GPO changed, update-ca-certificates left out of samba-gpupdate | $(ratio "$(minus gpupdate-changed update-ca wall_ms)" "$(field "$BOUT/gpo-changed.m" wall_ms)") | $(ratio "$(minus gpupdate-changed update-ca cpu_ms)" "$(field "$BOUT/gpo-changed.m" cpu_ms)") | | |

### Samba gp_cert_auto_enroll_ext on the same domain (bench/samba_ae.py)
| figure | Samba | adenroll no-op pulse | Samba / adenroll |
|---|---|---|---|
| wall time | $sw ms | $nw ms | $(ratio "$sw" "$nw") |
| CPU time | $sc ms | $nc ms | $(ratio "$sc" "$nc") |
| peak RSS | $sr KiB | $nr KiB | $(ratio "$sr" "$nr") |
| bytes on the wire | $sb | $nb | $(ratio "$sb" "$nb") |
Samba in-process: imports $sm ms, the extension (kinit + CLDAP + bind + CA search + CA file) $si ms.
EOF
