#!/bin/bash
# enroll TEMPLATE decides about the held certificate as a pulse does (the
# plan, plan.h): kept while a pulse would keep it, replaced once its renewal
# is due although it is still valid (explain says "renew" at that moment),
# and --force replaces a certificate a pulse would keep.
. "$TESTS_LIB"

T=ManualDue
# validity 200 s, renewal period 160 s: the certificate (backdated by the CA)
# is due about 40 s after issue and still valid for 160 s after that
V=200 R=160
CONF=$SCRATCH/adenroll.conf
write_config "$CONF"
C=(--config "$CONF")
CRT=$SCRATCH/certs/$T.crt

cleanup() { ad_template_remove "$T"; }
trap cleanup EXIT
ad_template_add "$T" 1.312 "$V" "$R" || fail "cannot add template $T"

assert_exit 3 "$ADENROLL" "${C[@]}" enroll "$T"
assert_match "$OUT" "^$T: enrolled \\(serial " "first enroll"
first=$(cert_serial "$CRT")

note "not due: kept, as a pulse would"
assert_exit 0 "$ADENROLL" "${C[@]}" --json explain "$T"
assert_contains "$OUT" '"action":"keep"' "explain before the renewal is due"
assert_exit 0 "$ADENROLL" "${C[@]}" enroll "$T"
assert_contains "$OUT" "$T: a valid certificate is held" "enroll while not due"
assert_eq "$first" "$(cert_serial "$CRT")" "serial while not due"

note "--force replaces what a pulse would keep"
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll "$T"
second=$(cert_serial "$CRT")
assert_ne "$first" "$second" "serial after --force"

note "due but still valid: replaced, as a pulse would renew it"
renew_due_wait "$CRT" "$R"
[ "$(date +%s)" -lt "$(cert_time "$CRT" enddate)" ] || fail "the certificate expired before the check; the host is too slow for V=$V R=$R"
assert_exit 0 "$ADENROLL" "${C[@]}" --json explain "$T"
assert_contains "$OUT" '"action":"renew"' "explain once the renewal is due"
assert_exit 3 "$ADENROLL" "${C[@]}" enroll "$T"
assert_match "$OUT" "^$T: enrolled \\(serial " "enroll once due"
assert_ne "$second" "$(cert_serial "$CRT")" "serial once due"
