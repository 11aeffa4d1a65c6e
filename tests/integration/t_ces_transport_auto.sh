#!/bin/bash
# The transport per CA ([enroll] transport = auto | certsrv | ces) with both
# offered (domain.sh ces on: /certsrv and a CES endpoint in
# msPKI-Enrollment-Servers).  auto prefers what the CA advertises (CES) and
# falls back to /certsrv when CES fails at the transport level; certsrv and
# ces force one.  Which one served each request is read at the CA (the
# request's "transport" in its database) and in the emulators' logs.  With
# no endpoint advertised, auto uses /certsrv and ces fails without sending
# anything.
. "$TESTS_LIB"

trap 'domain ces off > /dev/null 2>&1; domain fault off > /dev/null 2>&1' EXIT
domain ces on > /dev/null || fail "domain.sh ces on failed"

last_transport() { emu_request_field "$(emu_requests_for EnrollOnly | tail -n1)" transport; }
enroll_with() {  # enroll_with TRANSPORT: a fresh store, enroll EnrollOnly
  local conf=$SCRATCH/$1.conf
  rm -rf "$SCRATCH/certs" "$SCRATCH/state" "$SCRATCH/archive"
  write_config "$conf" "enroll.transport=$1"
  assert_exit 3 "$ADENROLL" --config "$conf" enroll EnrollOnly
  assert_match "$OUT" '^EnrollOnly: enrolled \(serial [0-9A-F]+' "enroll output with transport = $1"
}

note "transport = auto: CES, advertised in msPKI-Enrollment-Servers"
enroll_with auto
assert_eq ces "$(last_transport)" "transport chosen by auto"

note "transport = certsrv"
a=$(ces_log_lines "$ADCS_CES_ACCESS_LOG")
enroll_with certsrv
assert_eq "" "$(last_transport)" "transport with certsrv forced"
assert_not_contains "$(ces_log_since "$ADCS_CES_ACCESS_LOG" "$a")" '"request_type": "Issue"' "CES requests with certsrv forced"

note "transport = ces"
enroll_with ces
assert_eq ces "$(last_transport)" "transport with ces forced"

note "auto falls back to /certsrv when CES answers 500"
domain fault http500 --path _CES_ --count -1 > /dev/null
enroll_with auto
assert_eq "" "$(last_transport)" "transport after the CES failure"
domain fault off > /dev/null

note "nothing advertised: auto uses /certsrv, ces has nothing to use"
domain ces off > /dev/null || fail "domain.sh ces off failed"
enroll_with auto
assert_eq "" "$(last_transport)" "transport without CES"
n=$(emu_requests_for EnrollOnly | wc -l)
rm -rf "$SCRATCH/certs" "$SCRATCH/state"
write_config "$SCRATCH/ces.conf" "enroll.transport=ces"
"$ADENROLL" --config "$SCRATCH/ces.conf" enroll EnrollOnly > "$SCRATCH/none.out" 2>&1
rc=$?
assert_ne 0 "$rc" "exit status of transport = ces without an endpoint"
assert_ne 3 "$rc" "exit status of transport = ces without an endpoint"
assert_eq "$n" "$(emu_requests_for EnrollOnly | wc -l)" "requests sent"
assert_contains "$(cat "$SCRATCH/none.out")" "msPKI-Enrollment-Servers" "the reason"
exit 0
