#!/bin/bash
# Enroll, replace and inspect one certificate through the PEM store
# (docs/stores.md): key 0600 behind stable symlinks that switch together,
# the replaced pair archived with its key, status and explain agreeing on
# the renewal date (1-year LinuxWorkstation, 6-week renewal period: the
# period rule dominates, renewal at notAfter - 6 weeks).
. "$TESTS_LIB"

write_config "$SCRATCH/adenroll.conf"
C=(--config "$SCRATCH/adenroll.conf")
assert_exit 3 "$ADENROLL" "${C[@]}" enroll LinuxWorkstation

crt=$SCRATCH/certs/LinuxWorkstation.crt key=$SCRATCH/certs/LinuxWorkstation.key
[ -L "$crt" ] && [ -L "$key" ] || fail "stable paths are not symlinks: $(ls -l "$SCRATCH/certs")"
assert_eq "LinuxWorkstation.d/current/cert.pem" "$(readlink "$crt")" "cert symlink"
assert_eq 600 "$(stat -L -c %a "$key")" "key mode"
assert_eq 0 "$(stat -L -c %u "$key")" "key owner"
assert_contains "$(cat "$SCRATCH/certs/index")" "LinuxWorkstation	LinuxWorkstation"
pub_of_key=$(openssl pkey -in "$key" -pubout) || fail "key unreadable"
pub_of_crt=$(openssl x509 -in "$crt" -noout -pubkey) || fail "cert unreadable"
assert_eq "$pub_of_key" "$pub_of_crt" "key matches certificate"
serial1=$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)

# status: identified by the template extension, renewal by the period rule
assert_exit 0 "$ADENROLL" "${C[@]}" --json status
/usr/bin/python3 - "$SCRATCH/last.out" "$ADCS_TEMPLATE_OID_PREFIX.1.101" "$serial1" <<'PY' || fail "status --json: $OUT"
import json, sys, datetime
doc = json.load(open(sys.argv[1]))
c = [x for x in doc["certificates"] if x["template"] == "LinuxWorkstation"]
assert len(c) == 1, doc
c = c[0]
assert c["template_oid"] == sys.argv[2], c
assert c["serial"].upper().lstrip("0") == sys.argv[3].upper().lstrip("0"), c
assert c["renew_basis"] == "renewal period", c
t = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
assert t(c["not_after"]) - t(c["renew_at"]) == datetime.timedelta(weeks=6), c
assert c["action"] == "keep", c
PY
renew_at=$(/usr/bin/python3 -c 'import json,sys; print([x for x in json.load(open(sys.argv[1]))["certificates"] if x["template"]=="LinuxWorkstation"][0]["renew_at"])' "$SCRATCH/last.out")

# explain prints both dates, which dominates, and the same decision
assert_exit 0 "$ADENROLL" "${C[@]}" explain LinuxWorkstation
assert_match "$OUT" "period rule: +$renew_at = notAfter - renewal period \\(6 weeks\\) +<- dominates"
assert_contains "$OUT" "80% rule:"
assert_match "$OUT" "decision: +keep: certificate good; renewal at $renew_at"

# Replacing it archives the old pair (with its key), never deletes it
assert_exit 3 "$ADENROLL" "${C[@]}" --force enroll LinuxWorkstation
serial2=$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)
assert_ne "$serial1" "$serial2" "serial after replacement"
assert_eq "$(openssl pkey -in "$key" -pubout)" "$(openssl x509 -in "$crt" -noout -pubkey)" "new pair matches"
arch=$(grep -l . "$SCRATCH"/archive/LinuxWorkstation/*/cert.pem | head -n1)
[ -n "$arch" ] || fail "nothing archived: $(find "$SCRATCH/archive")"
assert_eq "$serial1" "$(openssl x509 -in "$arch" -noout -serial | cut -d= -f2)" "archived serial"
assert_eq 600 "$(stat -c %a "$(dirname "$arch")/key.pem")" "archived key mode"
exit 0
