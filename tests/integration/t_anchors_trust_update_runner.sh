#!/bin/bash
# The system trust update (update_system_trust = yes) runs through the one
# process runner (runner.h), as hooks do: a clean environment (no
# KRB5CCNAME), none of pulse's descriptors, its output logged; and a tool
# that hangs is killed with what it started after trust_update_timeout,
# while the pulse goes on and enrolls.  update-ca-certificates is replaced,
# in this suite's private mount namespace only, by a stand-in that records
# what it got.
. "$TESTS_LIB"

TOOL=/usr/sbin/update-ca-certificates
[ -x /usr/bin/update-ca-trust ] || [ -x /usr/sbin/update-ca-trust ] || [ -x /bin/update-ca-trust ] \
  && skip "update-ca-trust is installed: adenroll would run it, not $TOOL"
[ -x "$TOOL" ] || skip "$TOOL is not installed"

FAKE=$SCRATCH/fake-update-ca-certificates
REC=$SCRATCH/fake.record
MODE=$SCRATCH/fake.mode
BGPID=$SCRATCH/fake.bgpid
cat > "$FAKE" <<EOF
#!/bin/sh
# descriptors first, into a variable (a redirection would make the shell
# save its stdout on one of its own); the shell's own, reading this script, is
# not one it was given
fds=; n=3; while [ \$n -le 1024 ]; do [ -e /proc/\$\$/fd/\$n ] && fds="\$fds \$n"; n=\$((n+1)); done
{
  echo "args: \$*"
  env | sort
  for n in \$fds; do
    t=\$(readlink /proc/\$\$/fd/\$n)
    [ "\$t" = "$FAKE" ] || [ "\$t" = "\$0" ] || echo "fd \$n -> \$t"
  done
} > "$REC"
echo "fake progress on stdout"
echo "fake complaint on stderr" >&2
if [ "\$(cat "$MODE")" = hang ]; then
  trap '' TERM
  sleep 300 &
  echo \$! > "$BGPID"
  while :; do sleep 1; done
fi
EOF
chmod 0755 "$FAKE"
mount --bind "$FAKE" "$TOOL" || skip "cannot bind-mount over $TOOL here"
trap 'umount "$TOOL" 2>/dev/null || true' EXIT

# run NAME [KEY=VALUE...]: a pulse with its own stores and a new anchors_dir
# (so the anchors change and the trust update runs)
run() {
  local name=$1; shift
  local dir=$SCRATCH/$name
  mkdir -p "$dir"
  write_config "$dir/adenroll.conf" "store.pem_dir=$dir/certs" "store.archive_dir=$dir/archive" \
    "store.state_dir=$dir/state" "store.anchors_dir=$dir/anchors" "store.update_system_trust=yes" \
    "store.pinned_dcs=$ADCS_DC_HOST" "general.lock_file=$dir/lock" "$@"
  KRB5CCNAME=FILE:/tmp/never-passed-on "$ADENROLL" --config "$dir/adenroll.conf" pulse > "$dir/pulse.out" 2>&1
  local rc=$?
  [ $rc = 0 ] || [ $rc = 3 ] || [ $rc = 4 ] || fail "$name: pulse exited $rc: $(tail -n 30 "$dir/pulse.out")"
  OUT=$(cat "$dir/pulse.out")
}

note "the tool runs with a clean environment, no inherited descriptors, its output logged"
echo record > "$MODE"
run record
assert_file "$REC"
assert_eq "args: " "$(grep '^args:' "$REC")" "the tool's arguments"
assert_eq "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
PWD=/" "$(grep -v '^args:\|^fd ' "$REC")" "the tool's environment"
assert_eq "" "$(grep '^fd ' "$REC")" "descriptors beyond 2 the tool inherited"
assert_contains "$OUT" "update-ca-certificates: fake progress on stdout" "pulse output"
assert_contains "$OUT" "update-ca-certificates: fake complaint on stderr" "pulse output"
assert_contains "$OUT" "updated the system trust store with $TOOL" "pulse output"
assert_file "$SCRATCH/record/certs/LinuxWorkstation.crt"

note "a hung tool is killed with its process group at trust_update_timeout; the pulse goes on"
rm -f "$REC" "$BGPID"
echo hang > "$MODE"
run hang "store.trust_update_timeout=2"
assert_contains "$OUT" "$TOOL did not finish within 2 s: killed it and its process group" "pulse output"
assert_contains "$OUT" "raise trust_update_timeout in [store]" "pulse output"
assert_file "$SCRATCH/hang/certs/LinuxWorkstation.crt"
bg=$(cat "$BGPID" 2>/dev/null)
[ -n "$bg" ] || fail "the stand-in did not start its background child"
for _ in $(seq 1 50); do
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$bg/stat" 2>/dev/null)
  [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ] && break
  sleep 0.1
done
[ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ] || fail "the tool's background child $bg outlived it (state $state)"
