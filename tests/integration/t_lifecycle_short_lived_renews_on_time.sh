#!/bin/bash
# A short-lived template (minutes) is renewed by a later pulse exactly when
# docs/protocol.md 5.4 says: renew_at = max(notAfter - renewal period,
# notBefore + 80% of the lifetime), computed from the issued certificate's
# own dates.  The template's renewal period is chosen so that the 80% floor
# dominates.  A pulse before renew_at keeps the certificate (exit 0, nothing
# submitted); explain shows both dates and which dominates; a pulse just
# after renew_at renews it (exit 3, new serial), the old pair goes to the
# archive and the store holds the new one.  The renewal uses a new key, except
# for a twin template that sets CT_FLAG_REQUIRE_SAME_KEY_RENEWAL (0x80).
. "$TESTS_LIB"

T=LifecycleShort
S=LifecycleSameKey
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt KEY=$SCRATCH/certs/$T.key

# The CA backdates notBefore by clock_skew_minutes (AD CS does the same,
# "clock skew" tolerance), so the lifetime is validity + backdate and the 80%
# point lies at issue + 0.8 * validity - 0.2 * backdate.  Validity is chosen
# to put it about 40 s after issue; a renewal period of validity - 20 s puts
# the period rule at issue + 20 s, so the 80% floor dominates.
backdate=$(( $(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("clock_skew_minutes", 0))' \
  "$ADCS_EMU_DIR/emu.json" 2>/dev/null || echo 0) * 60 ))
validity=$(( (40 * 5 + backdate + 3) / 4 ))      # ceil((40 + 0.2 * backdate) / 0.8)
renewal=$(( validity - 20 ))

# NeedsEmail is denied on every run (exit 4); unpublished for this test so
# that "nothing to do" can exit 0.  Both are put back whatever happens.
cleanup() {
  ad_template_remove "$T" "$S"
  ca_publish NeedsEmail > /dev/null 2>&1
}
trap cleanup EXIT
ca_unpublish NeedsEmail || fail "cannot unpublish NeedsEmail"
ad_template_add "$T" 1.201 "$validity" "$renewal" || fail "cannot add template $T"
ad_template_add "$S" 1.202 "$validity" "$renewal" || fail "cannot add template $S"
domain ldbmodify > /dev/null <<LDIF || fail "cannot set msPKI-Private-Key-Flag on $S"
dn: CN=$S,CN=Certificate Templates,$ADCS_PKS_DN
changetype: modify
replace: msPKI-Private-Key-Flag
msPKI-Private-Key-Flag: 128
LDIF
note "template $T: validity ${validity}s, renewal period ${renewal}s (CA backdates ${backdate}s)"

note "pulse 1: enroll"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "pulse 1 output"
assert_file "$CRT"
old_serial=$(cert_serial "$CRT")
old_fp=$(openssl x509 -in "$CRT" -noout -fingerprint -sha256)
pubkey() { openssl pkey -in "$1" -pubout 2> /dev/null | sha256sum; }
old_key=$(pubkey "$KEY") old_same_key=$(pubkey "$SCRATCH/certs/$S.key")
[ -n "$old_same_key" ] || fail "no key for $S after pulse 1"
nb=$(cert_time "$CRT" startdate) na=$(cert_time "$CRT" enddate)
life=$(( na - nb ))
by_period=$(( na - renewal ))
by_80=$(( nb + life * 4 / 5 ))
[ "$by_80" -gt "$by_period" ] || fail "test setup: the 80% rule ($by_80) should dominate the period rule ($by_period)"
renew_at=$by_80
note "notBefore $(iso_time "$nb"), notAfter $(iso_time "$na"): period rule $(iso_time "$by_period"), 80% rule $(iso_time "$by_80")"
left=$(( renew_at - $(date +%s) ))
[ "$left" -ge 12 ] || fail "test setup: only ${left}s left before renew_at after the first pulse (a slow machine?)"

note "explain: both dates, the 80% rule dominates"
assert_exit 0 "$ADENROLL" "${C[@]}" explain "$T"
line() { printf '%s\n' "$OUT" | grep -E "^  $1" || echo "(no '$1' line)"; }
assert_contains "$(line 'period rule:')" "$(iso_time "$by_period") = notAfter - renewal period" "explain period line"
assert_not_contains "$(line 'period rule:')" "dominates" "explain period line"
assert_contains "$(line '80% rule:')" "$(iso_time "$by_80") = notBefore + 80% of the lifetime" "explain 80% line"
assert_contains "$(line '80% rule:')" "<- dominates" "explain 80% line"
assert_contains "$(line 'renew at:')" "$(iso_time "$renew_at")" "explain renew-at line"
assert_contains "$(line 'decision:')" "keep: certificate good; renewal at $(iso_time "$renew_at") (80% of lifetime)" \
  "explain decision"

# status (offline, from what was recorded at install) agrees
"$ADENROLL" "${C[@]}" --json status > "$SCRATCH/status.json" 2> /dev/null || fail "status --json failed"
/usr/bin/python3 - "$SCRATCH/status.json" "$T" "$(iso_time "$renew_at")" <<'PY' || fail "status --json: $(cat "$SCRATCH/status.json")"
import json, sys
c = next(c for c in json.load(open(sys.argv[1]))["certificates"] if c["template"] == sys.argv[2])
assert c["renew_at"] == sys.argv[3] and c["renew_basis"] == "80% of lifetime" and c["action"] == "keep", c
PY

# pulse 2 as late as it safely can: about 8 s before renew_at
now=$(date +%s)
[ $(( renew_at - 8 - now )) -gt 0 ] && sleep $(( renew_at - 8 - now ))
note "pulse 2 at $(iso_time "$(date +%s)"), $(( renew_at - $(date +%s) ))s before renew_at: keep"
reqs=$(emu_request_count)
assert_exit 0 "$ADENROLL" "${C[@]}" pulse
[ "$(date +%s)" -lt "$renew_at" ] || fail "test setup: pulse 2 ended after renew_at (it took too long to prove anything)"
assert_match "$OUT" "^$T: valid until $(iso_time "$na"), renewal from $(iso_time "$renew_at")\$" "pulse 2 output"
assert_eq "$reqs" "$(emu_request_count)" "requests the CA received during pulse 2"
assert_eq "$old_serial" "$(cert_serial "$CRT")" "serial after pulse 2"

# pulse 3 one second after renew_at
now=$(date +%s)
[ $(( renew_at + 1 - now )) -gt 0 ] && sleep $(( renew_at + 1 - now ))
note "pulse 3 at $(iso_time "$(date +%s)"): renew"
assert_exit 3 "$ADENROLL" "${C[@]}" pulse
assert_contains "$OUT" "$T: renew: renewal due since $(iso_time "$renew_at") (80% of lifetime): renew" "pulse 3 log"
assert_match "$OUT" "^$T: renewed \\(serial [0-9A-F]+, expires " "pulse 3 output"
assert_eq $((reqs + 2)) "$(emu_request_count)" "requests the CA received during pulse 3 ($T and $S)"
last=$(emu_last_request_id)
assert_eq "$T" "$(emu_request_field "$last" template)" "template of the CA's last request"
new_serial=$(cert_serial "$CRT")
assert_ne "$old_serial" "$new_serial" "serial after the renewal"
openssl verify -CAfile "$ADCS_CA_CERT" "$CRT" > /dev/null 2>&1 || fail "the renewed $T.crt does not verify"
pair_files "$CRT" "$KEY" > /dev/null
assert_ne "$old_key" "$(pubkey "$KEY")" "$T's key after the renewal (a new key unless asked otherwise)"
assert_match "$OUT" "^$S: renewed \\(serial " "pulse 3 output"
assert_contains "$OUT" "$S: renewing with the held key (the template requires the same key on renewal)" "pulse 3 log"
assert_eq "$old_same_key" "$(pubkey "$SCRATCH/certs/$S.key")" "$S's key after the renewal (kept)"
pair_files "$SCRATCH/certs/$S.crt" "$SCRATCH/certs/$S.key" > /dev/null
[ "$(cert_time "$CRT" enddate)" -gt "$na" ] || fail "the renewed certificate does not outlive the old one"
# the old pair is in the archive, with its key
arch=$(grep -l . "$SCRATCH/archive/$T"/*/cert.pem 2>/dev/null | while IFS= read -r f; do
  [ "$(openssl x509 -in "$f" -noout -fingerprint -sha256)" = "$old_fp" ] && echo "$f"; done)
[ -n "$arch" ] || fail "the old certificate (serial $old_serial) is not in $SCRATCH/archive: $(find "$SCRATCH/archive" 2>/dev/null)"
assert_eq "$old_serial" "$(cert_serial "$arch")" "serial of the archived certificate"
pair_files "$arch" "$(dirname "$arch")/key.pem" > /dev/null
exit 0
