#!/bin/bash
# The machine ccache (machine.ccache beside the run lock) survives runs: a
# second pulse does no AS exchange and no TGS exchange (it reuses the TGT
# and the LDAP service ticket); a ccache for another principal, a corrupt
# one, one from another keytab, one whose TGT expires soon and one got
# while the clock was off are replaced from the keytab, never used; doctor
# always asks the KDC.  Temp files of killed runs beside it are removed
# once their run is gone.  A cached ticket the DC refuses because the clock
# moved since is replaced from the keytab and the bind retried once; what
# still fails (and a user's refused ticket) says how far the clock is off.
# Exchanges are counted with libkrb5's own trace (KRB5_TRACE): "Getting
# initial credentials for" starts an AS exchange, "Sending request" is every
# message sent to a KDC; the TGT's start time (klist) shows which one a run left.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CC=$SCRATCH/machine.ccache
TRACE=$SCRATCH/krb5.trace
# traced CMD...: CMD with a fresh libkrb5 trace in $TRACE
traced() { rm -f "$TRACE"; KRB5_TRACE=$TRACE "$@"; }
as_count() { grep -c "Getting initial credentials for" "$TRACE" 2> /dev/null || true; }
kdc_msgs() { grep -c "Sending request" "$TRACE" 2> /dev/null || true; }
tgt_start() { klist -c "$CC" 2> /dev/null | awk '/krbtgt\// { print $1, $2 }'; }
cc_principal() { klist -c "$CC" 2> /dev/null | sed -n 's/^Default principal: //p'; }

# pulse_any: a pulse whatever its exit status (the test domain denies
# NeedsEmail and keeps PendingApproval pending: 4), its output in $OUT
pulse_any() { traced "$ADENROLL" "${C[@]}" pulse > "$SCRATCH/last.out" 2>&1; OUT=$(cat "$SCRATCH/last.out"); }

note "first pulse: an AS exchange, the ticket kept in $CC (0600)"
pulse_any
assert_contains "$OUT" "Kerberos: got a ticket for $ADCS_CLIENT_PRINCIPAL"
assert_eq 1 "$(as_count)" "AS exchanges of the first pulse"
assert_file "$CC"
assert_eq "600 $(id -u)" "$(stat -c '%a %u' "$CC")" "mode and owner of $CC"
assert_eq "$ADCS_CLIENT_PRINCIPAL" "$(cc_principal)" "principal of $CC"
assert_match "$(klist -c "$CC")" "ldap/$ADCS_DC_HOST@$ADCS_REALM" "service ticket kept in $CC"
start1=$(tgt_start)
[ -n "$start1" ] || fail "no TGT in $CC: $(klist -c "$CC" 2>&1)"

note "second pulse: nothing sent to the KDC (TGT, LDAP and HTTP tickets reused)"
pulse_any
assert_contains "$OUT" "Kerberos: using the cached ticket of $ADCS_CLIENT_PRINCIPAL ($CC)"
assert_eq 0 "$(as_count)" "AS exchanges of the second pulse"
assert_eq 0 "$(kdc_msgs)" "messages to the KDC in the second pulse"
assert_eq "$start1" "$(tgt_start)" "TGT start time after the second pulse"

note "temp files of killed runs (.machine.ccache.tmp-<pid>) are removed when their run is gone, nothing else"
sleep 0 & dead=$!
wait "$dead"
kill -0 "$dead" 2> /dev/null && fail "pid $dead still runs"
sleep 600 & live=$!
trap 'kill "$live" 2> /dev/null' EXIT
printf 'x' > "$SCRATCH/.machine.ccache.tmp-$dead"
printf 'x' > "$SCRATCH/.machine.ccache.tmp-$live"
printf 'x' > "$SCRATCH/.machine.ccache.tmp-$dead-other"   # not the ccache's pattern
printf 'x' > "$SCRATCH/bystander"
ln -s bystander "$SCRATCH/.machine.ccache.tmp-$(( dead + 1 ))0000"   # a symlink: never ours
"$ADENROLL" "${C[@]}" -v pulse > "$SCRATCH/last.out" 2>&1   # whatever its exit status (see pulse_any)
OUT=$(cat "$SCRATCH/last.out")
assert_contains "$OUT" "removed $SCRATCH/.machine.ccache.tmp-$dead, left by run $dead that was killed while writing it"
assert_no_file "$SCRATCH/.machine.ccache.tmp-$dead"
assert_file "$SCRATCH/.machine.ccache.tmp-$live"
assert_file "$SCRATCH/.machine.ccache.tmp-$dead-other"
[ -L "$SCRATCH/.machine.ccache.tmp-$(( dead + 1 ))0000" ] || fail "the symlink named like a ccache temp file was removed"
assert_eq "x" "$(cat "$SCRATCH/bystander")" "the symlink's target"
kill "$live"
wait "$live" 2> /dev/null
trap - EXIT
rm -f "$SCRATCH/.machine.ccache.tmp-$live" "$SCRATCH/.machine.ccache.tmp-$dead-other" \
  "$SCRATCH/.machine.ccache.tmp-$(( dead + 1 ))0000" "$SCRATCH/bystander"

note "a ccache for another principal is replaced"
cp "$CC" "$SCRATCH/saved.ccache"
KRB5CCNAME=FILE:$SCRATCH/alice.ccache kinit_user
install -m 600 "$SCRATCH/alice.ccache" "$CC"
assert_eq "$ADCS_USER_PRINCIPAL" "$(cc_principal)" "principal planted in $CC"
assert_exit 0 traced "$ADENROLL" "${C[@]}" -v templates
assert_contains "$OUT" "for another principal; asking the KDC"
assert_eq 1 "$(as_count)" "AS exchanges with a foreign ccache"
assert_eq "$ADCS_CLIENT_PRINCIPAL" "$(cc_principal)" "principal of $CC after the run"

note "a corrupt ccache is replaced"
printf 'not a credential cache\n' > "$CC"
chmod 600 "$CC"
assert_exit 0 traced "$ADENROLL" "${C[@]}" -v templates
assert_contains "$OUT" "unreadable (corrupt?); asking the KDC"
assert_eq 1 "$(as_count)" "AS exchanges with a corrupt ccache"
assert_eq "$ADCS_CLIENT_PRINCIPAL" "$(cc_principal)" "principal of $CC after the run"

note "a ccache others may read, or one made from another keytab file, is replaced"
chmod 644 "$CC"
assert_exit 0 traced "$ADENROLL" "${C[@]}" -v templates
assert_contains "$OUT" "not a private regular file of this user; asking the KDC"
assert_eq "600" "$(stat -c '%a' "$CC")" "mode of the replaced $CC"
cp "$ADCS_CLIENT_KEYTAB" "$SCRATCH/copy.keytab"
write_config "$SCRATCH/copy.conf" "machine.keytab=$SCRATCH/copy.keytab"
assert_exit 0 traced "$ADENROLL" --config "$SCRATCH/copy.conf" -v templates
assert_contains "$OUT" "from another keytab, or the keytab changed; asking the KDC"
assert_eq 1 "$(as_count)" "AS exchanges after the keytab changed"
assert_exit 0 traced "$ADENROLL" --config "$SCRATCH/copy.conf" templates
assert_eq 0 "$(as_count)" "AS exchanges with the same keytab again"

note "doctor asks the KDC even with a valid ccache"
assert_exit 0 traced "$ADENROLL" --config "$SCRATCH/copy.conf" doctor
assert_eq 1 "$(as_count)" "AS exchanges of doctor"
assert_match "$OUT" "^ok    kerberos: ticket for .* \(from the keytab, in FILE:$CC\)" "doctor output"

note "a directory others may write: no ccache kept there (a memory ccache, as before)"
mkdir -p "$SCRATCH/open"
chmod 777 "$SCRATCH/open"
write_config "$SCRATCH/open.conf" "general.lock_file=$SCRATCH/open/adenroll.lock"
assert_exit 0 traced "$ADENROLL" --config "$SCRATCH/open.conf" -v templates
assert_no_file "$SCRATCH/open/machine.ccache"

note "user mode does not use the machine ccache"
before=$(sha256sum "$CC")
KRB5CCNAME=FILE:$SCRATCH/alice.ccache
export KRB5CCNAME
assert_exit 0 "$ADENROLL" "${C[@]}" --user templates
assert_eq "$before" "$(sha256sum "$CC")" "$CC after a user run"

command -v faketime > /dev/null || skip "faketime not installed (Debian package faketime): the expiring-ticket run needs it"
note "a TGT that expires within the run's time (10 h tickets, clock 9.5 h (570 min) ahead) is renewed"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export FAKETIME_DONT_FAKE_MONOTONIC=1
export NO_FAKE_STAT=1        # file times as they are (the keytab's identity includes them)
assert_exit 0 "$ADENROLL" "${C[@]}" templates     # the ccache from this keytab again (copy.conf ran last)
# The KDC's clock is not faked, so the new TGT may start in the same second
# as the old one: a new ccache is a new file (written beside it, renamed
# over it), which its inode shows.
inode2=$(stat -c %i "$CC")
assert_exit 0 traced faketime -f +570m "$ADENROLL" "${C[@]}" -v templates
assert_contains "$OUT" "ticket-granting ticket expires soon (or starts later); asking the KDC"
assert_eq 1 "$(as_count)" "AS exchanges with an expiring TGT"
assert_ne "$inode2" "$(stat -c %i "$CC")" "inode of $CC after the renewal"

note "the clock right again: a ticket got while it was off is not reused"
assert_exit 0 traced "$ADENROLL" "${C[@]}" -v templates
assert_contains "$OUT" "got while this host's clock was off from the KDC's; asking the KDC"
assert_eq 1 "$(as_count)" "AS exchanges after the clock was corrected"

note "the clock 1 h ahead after the ticket was cached: the DC refuses it, the run replaces it from the keytab and binds again"
assert_exit 0 traced faketime -f +1h "$ADENROLL" "${C[@]}" -v templates
assert_contains "$OUT" "Kerberos: using the cached ticket of $ADCS_CLIENT_PRINCIPAL"
assert_contains "$OUT" "refused the cached Kerberos ticket for the time (clock skew, or expired or not yet valid by its clock); replacing the machine's ticket from the keytab"
assert_contains "$OUT" "Kerberos: got a ticket for $ADCS_CLIENT_PRINCIPAL from keytab"
assert_eq 1 "$(as_count)" "AS exchanges of the run that replaced the refused ticket"
# GSS-API's own words only in debug lines
assert_not_contains "$(grep -v '^adenroll: debug: ' <<< "$OUT")" "GSSAPI Error" "output of the run whose cached ticket was refused"

note "the same without KDC time correction (kdc_timesync = 0): the run fails saying by how much the clock is off"
sed 's/^\[libdefaults\]$/[libdefaults]\n\tkdc_timesync = 0/' "$KRB5_CONFIG" > "$SCRATCH/krb5-nosync.conf"
grep -q "kdc_timesync = 0" "$SCRATCH/krb5-nosync.conf" || fail "cannot add kdc_timesync = 0 to the test krb5.conf"
assert_exit 0 "$ADENROLL" "${C[@]}" templates     # a ticket got with the right clock, cached
assert_exit 1 traced env KRB5_CONFIG="$SCRATCH/krb5-nosync.conf" faketime -f +1h "$ADENROLL" "${C[@]}" templates
assert_match "$OUT" "cannot bind to domain controller $ADCS_DC_HOST: it refused the Kerberos ticket for the time \(clock skew\): this host is 36[0-9][0-9] s ahead of $ADCS_DC_HOST: Kerberos allows 300 s; sync the time with the domain \(chrony/ntpd/systemd-timesyncd against the DCs\), then check with \`adenroll doctor\`" "pulse output"
assert_not_contains "$OUT" "GSSAPI Error" "output of the run whose clock is off"

note "user mode: the user's ccache is never rewritten; the run says by how much the clock is off"
KRB5CCNAME=FILE:$SCRATCH/alice.ccache kinit_user
assert_exit 0 "$ADENROLL" "${C[@]}" --user templates      # its LDAP service ticket cached
before=$(sha256sum "$SCRATCH/alice.ccache")
assert_exit 1 faketime -f +1h "$ADENROLL" "${C[@]}" --user templates
assert_match "$OUT" "it refused the Kerberos ticket for the time \(clock skew\): this host is 36[0-9][0-9] s ahead of $ADCS_DC_HOST: Kerberos allows 300 s" "user run output"
assert_not_contains "$OUT" "replacing the machine's ticket" "user run output"
assert_not_contains "$OUT" "GSSAPI Error" "user run output"
assert_eq "$before" "$(sha256sum "$SCRATCH/alice.ccache")" "the user's ccache after the run"
exit 0
