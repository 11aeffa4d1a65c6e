#!/bin/bash
# enroll --json prints its outcome as one object; forget TEMPLATE stops
# managing the certificate: the pair goes to the archive with its key,
# status no longer lists it, the archived hook runs, a second forget is an
# error object (not_managed) on stdout.
. "$TESTS_LIB"

mkdir -p "$SCRATCH/hooks.d/archived.d"
cat > "$SCRATCH/hooks.d/archived.d/10-record" <<EOF
#!/bin/sh
echo "\$ADENROLL_EVENT \$ADENROLL_TEMPLATE \$ADENROLL_ARCHIVED" >> "$SCRATCH/hook.log"
EOF
chmod 0755 "$SCRATCH/hooks.d/archived.d/10-record"
chmod 0755 "$SCRATCH/hooks.d" "$SCRATCH/hooks.d/archived.d"
write_config "$SCRATCH/adenroll.conf"
C=(--config "$SCRATCH/adenroll.conf")

"$ADENROLL" "${C[@]}" --json enroll LinuxWorkstation > "$SCRATCH/enroll.json" 2> "$SCRATCH/enroll.err"
rc=$?
assert_eq 3 "$rc" "enroll --json exit status ($(cat "$SCRATCH/enroll.err"))"
serial=$(openssl x509 -in "$SCRATCH/certs/LinuxWorkstation.crt" -noout -serial | cut -d= -f2)
/usr/bin/python3 - "$SCRATCH/enroll.json" "$serial" <<'PY' || fail "enroll --json: $(cat "$SCRATCH/enroll.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["template"] == "LinuxWorkstation" and d["outcome"] == "issued", d
assert d["serial"].upper().lstrip("0") == sys.argv[2].upper().lstrip("0"), d
assert d["not_after"].endswith("Z") and d["ca"] and d["request_id"] > 0 and "error" not in d, d
PY

assert_exit 0 "$ADENROLL" "${C[@]}" --json forget linuxworkstation
/usr/bin/python3 - "$SCRATCH/last.out" <<'PY' || fail "forget --json: $OUT"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
d = json.loads(lines[-1])
assert d["template"] == "LinuxWorkstation" and d["certificate_archived"] is True, d
assert d["archived"] and d["pending_dropped"] is None, d
PY
[ ! -e "$SCRATCH/certs/LinuxWorkstation.crt" ] || fail "the stable path is still there after forget"
arch=$(ls -d "$SCRATCH"/archive/LinuxWorkstation/*/ | head -n 1)
[ -n "$arch" ] || fail "nothing archived: $(find "$SCRATCH/archive")"
assert_eq "$serial" "$(openssl x509 -in "$arch/cert.pem" -noout -serial | cut -d= -f2)" "archived serial"
assert_eq 600 "$(stat -c %a "$arch/key.pem")" "archived key mode"
assert_contains "$(cat "$SCRATCH/hook.log" 2>&1)" "archived LinuxWorkstation $SCRATCH/archive/LinuxWorkstation/"
assert_exit 0 "$ADENROLL" "${C[@]}" --json status
assert_not_contains "$OUT" '"template":"LinuxWorkstation"'

"$ADENROLL" "${C[@]}" --json forget LinuxWorkstation > "$SCRATCH/again.json" 2> /dev/null
assert_eq 1 "$?" "second forget exit status"
assert_contains "$(cat "$SCRATCH/again.json")" '"code":"not_managed"'
exit 0
