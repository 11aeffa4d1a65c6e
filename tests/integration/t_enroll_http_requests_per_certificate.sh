#!/bin/bash
# What web enrollment costs the CA's web server, counted in its own access
# log (Apache's: the 401s mod_auth_gssapi answers itself are there, the
# emulator never sees them): an issued certificate is POST certfnsh.asp,
# GET certnew.cer, GET certnew.p7b, a pending one the POST alone, each
# carrying a Negotiate token bound to the TLS certificate from the first
# request on -- no unauthenticated request to learn that certificate, so
# not a single 401.
. "$TESTS_LIB"

CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
LOG=$ADCS_CERTSRV_ACCESS_LOG
[ -f "$LOG" ] || fail "no access log of the CA's web server at $LOG"
# NeedsEmail would be denied (exit 4); the count is about what is issued or pending
trap 'ca_publish NeedsEmail > /dev/null 2>&1' EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"

a0=$(wc -l < "$LOG")
assert_exit 3 "$ADENROLL" --config "$CONF" -vv pulse
lines=$(tail -n +"$((a0 + 1))" "$LOG")
issued=$(printf '%s\n' "$OUT" | grep -cE '^[A-Za-z0-9_-]+: (enrolled|renewed) \(serial')
pending=$(printf '%s\n' "$OUT" | grep -cE '^[A-Za-z0-9_-]+: pending \(request')
requests=$(printf '%s\n' "$lines" | grep -c '"')
note "$issued issued, $pending pending, $requests HTTP requests:"
printf '%s\n' "$lines" >&2
[ "$issued" -ge 1 ] || fail "no certificate issued: $OUT"
assert_eq 0 "$(printf '%s\n' "$lines" | grep -c '" 401 ')" "401 answers (requests sent without a token)"
assert_eq 0 "$(printf '%s\n' "$lines" | grep -c ' - "')" "requests without an authenticated user"
[ "$requests" -le $((3 * issued + pending)) ] ||
  fail "$requests HTTP requests for $issued issued and $pending pending: more than 3 per issued certificate and 1 per pending one"
# each request's token was bound to the connection's certificate (RFC 5929)
bound=$(printf '%s\n' "$OUT" | grep -c 'Negotiate token bound to the TLS certificate (tls-server-end-point')
[ "$bound" -ge "$requests" ] || fail "$bound channel-bound tokens for $requests requests"

note "the next pulse asks about each pending request once: 1 request each"
a1=$(wc -l < "$LOG")
"$ADENROLL" --config "$CONF" pulse > "$SCRATCH/poll.out" 2>&1
lines=$(tail -n +"$((a1 + 1))" "$LOG")
printf '%s\n' "$lines" >&2
assert_eq "$pending" "$(printf '%s\n' "$lines" | grep -c '"GET /certsrv/certnew.cer?ReqID=')" "polls"
assert_eq "$pending" "$(printf '%s\n' "$lines" | grep -c '"')" "requests of the pulse that polls"
exit 0
