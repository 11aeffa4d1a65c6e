#!/bin/bash
# enroll TEMPLATE replaces a held certificate with the request a pulse sends
# for the same plan: a renewal signed by the held certificate (MS-WCCE
# 3.1.1.4.3.2.1), as Windows' `certreq -enroll -machine -q -renew` does.  The
# template has every request wait for a CA manager (CT_FLAG_PEND_ALL_REQUESTS) except a renewal signed by a valid
# certificate of it (CT_FLAG_PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT): an
# unsigned request would pend, a signed renewal is issued at once.  Both
# --force on a valid certificate and a due renewal are such renewals; the
# test reads what the CA received (signer, renewal attribute), the archive,
# the new pair and the hooks' events ("renewed" for both, with the archived
# copy).
. "$TESTS_LIB"

T=ManualRenew
# validity 200 s, renewal period 160 s: the certificate (backdated by the CA)
# is due about 40 s after issue and still valid for 160 s after that
V=200 R=160
CONF=$SCRATCH/adenroll.conf
HOOKS=$SCRATCH/hooks.d
LOG=$SCRATCH/hooks.log
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt
mkdir -p "$HOOKS" && chmod 755 "$HOOKS"
cat > "$HOOKS/10-record" <<EOS
#!/bin/sh
printf '%s|%s|%s|%s\n' "\$ADENROLL_EVENT" "\$ADENROLL_TEMPLATE" "\$ADENROLL_SERIAL" "\$ADENROLL_ARCHIVED" >> '$LOG'
EOS
chmod 755 "$HOOKS/10-record"

cleanup() { ad_template_remove "$T"; }
trap cleanup EXIT
ad_template_add "$T" 1.313 "$V" "$R" || fail "cannot add template $T"
# AUTO_ENROLLMENT | PEND_ALL_REQUESTS | PREVIOUS_APPROVAL_VALIDATE_REENROLLMENT
# (no pulse runs here: every request is one by hand)
template_set "$T" msPKI-Enrollment-Flag $((0x20 | 0x02 | 0x40)) || fail "cannot set the enrollment flag of $T"

# renewal_check WHAT OLD-CERT: the last request for $T is a renewal signed by
# OLD-CERT that the CA issued at once, whose certificate is installed, with
# OLD-CERT (and its key) in the archive
renewal_check() {
  local what=$1 old=$2 rid old_serial arch
  rid=$(emu_requests_for "$T" | tail -n1)
  assert_eq issued "$(emu_request_field "$rid" status)" "status of the $what request $rid"
  assert_eq cms "$(emu_request_field "$rid" format)" "format of the $what request $rid"
  note "$what: $(emu_renewal_check "$rid" "$old")"
  old_serial=$(cert_serial "$old")
  assert_ne "$old_serial" "$(cert_serial "$CRT")" "serial after the $what"
  pair_files "$CRT" "$SCRATCH/certs/$T.key" > /dev/null
  openssl verify -CAfile "$ADCS_CA_CERT" "$CRT" > /dev/null 2>&1 || fail "the $T.crt of the $what does not verify"
  arch=$(find "$SCRATCH/archive/$T" -name cert.pem 2> /dev/null | while IFS= read -r f; do
    [ "$(cert_serial "$f")" = "$old_serial" ] && echo "$f"; done | head -n1)
  [ -n "$arch" ] || fail "the certificate replaced by the $what (serial $old_serial) is not in the archive"
  pair_files "$arch" "$(dirname "$arch")/key.pem" > /dev/null
}

note "a first request by hand pends; the CA manager approves it; enroll collects it"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll "$T"
assert_match "$OUT" "^$T: pending \\(request [0-9]+" "first enroll"
first=$(emu_requests_for "$T" | tail -n1)
assert_ne cms "$(emu_request_field "$first" format)" "format of the first request $first"
domain approve "$first" > /dev/null || fail "domain.sh approve $first failed"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll "$T"
assert_match "$OUT" "^$T: enrolled \\(serial [0-9A-F]+" "enroll after the approval"
cp "$CRT" "$SCRATCH/first.crt"

note "--force on a valid certificate: a renewal signed by it, issued without a new approval"
: > "$LOG"
n=$(emu_requests_for "$T" | wc -l)
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll "$T"
assert_match "$OUT" "(^|$(printf '\n'))$T: enrolled \\(serial [0-9A-F]+" "enroll --force output (an unsigned request would pend)"
assert_contains "$OUT" "$T: reenroll: --force, although: certificate good" "enroll --force log"
assert_contains "$OUT" "$T: renewal request signed by the held certificate" "enroll --force log"
assert_eq $((n + 1)) "$(emu_requests_for "$T" | wc -l)" "requests for $T after --force"
renewal_check "forced renewal" "$SCRATCH/first.crt"
line=$(grep "^renewed|$T|" "$LOG") || fail "no renewed hook for the forced renewal: $(cat "$LOG")"
assert_eq "$(cert_serial "$CRT" | tr 'A-F' 'a-f')" "$(printf '%s' "$line" | cut -d'|' -f3 | tr 'A-F' 'a-f')" "ADENROLL_SERIAL"
[ -e "$(printf '%s' "$line" | cut -d'|' -f4)" ] || fail "ADENROLL_ARCHIVED of the forced renewal does not exist: $line"
cp "$CRT" "$SCRATCH/second.crt"
assert_exit 0 "$ADENROLL" "${C[@]}" --json --force explain "$T"
assert_contains "$OUT" '"request":"renewal"' "explain --force"

note "due but still valid: the renewal a pulse sends, signed by the held certificate"
renew_due_wait "$CRT" "$R"
[ "$(date +%s)" -lt "$(cert_time "$CRT" enddate)" ] || fail "the certificate expired before the check; the host is too slow for V=$V R=$R"
: > "$LOG"
assert_exit 0 "$ADENROLL" "${C[@]}" --json explain "$T"
assert_contains "$OUT" '"action":"renew"' "explain once due"
n=$(emu_requests_for "$T" | wc -l)
assert_exit 0 "$ADENROLL" "${C[@]}" --dry-run enroll "$T"
assert_match "$OUT" "(^|$(printf '\n'))$T: would submit a renewal request signed by the held certificate " "enroll --dry-run"
assert_eq "$n" "$(emu_requests_for "$T" | wc -l)" "requests for $T after enroll --dry-run"
assert_exit 3 "$ADENROLL" "${C[@]}" --json enroll "$T"
json=$(printf '%s\n' "$OUT" | grep '^{')
/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["outcome"]=="issued" and d["archived"] and not d["already_pending"], d' "$json" \
  || fail "enroll --json once due: $json"
assert_contains "$OUT" "$T: renewal request signed by the held certificate" "enroll log once due"
assert_contains "$OUT" "$T: renewed by $ADCS_CA_NAME" "the renewed event"
assert_eq $((n + 1)) "$(emu_requests_for "$T" | wc -l)" "requests for $T once due"
renewal_check "due renewal" "$SCRATCH/second.crt"
line=$(grep "^renewed|$T|" "$LOG") || fail "no renewed hook for the due renewal: $(cat "$LOG")"
[ -e "$(printf '%s' "$line" | cut -d'|' -f4)" ] || fail "ADENROLL_ARCHIVED of the due renewal does not exist: $line"
assert_not_contains "$(cat "$LOG")" "enrolled|$T|" "hooks of the due renewal"
exit 0
