#!/bin/bash
# NSS is opened with dlopen only when an NSS database is (nss_loader.h;
# lean_link.test checks that the binary is not linked with it).  At the end
# of each pulse both processes wait (ADENROLL_TEST_HOLD_AT_EXIT) and their
# /proc/PID/maps are read:
#  - PEM store, a pulse that enrolls and then a no-op one: neither the
#    network process nor the key process maps any NSS or NSPR library;
#  - pem + nss, a pulse into a new database: the key process, which installs
#    the pairs, maps libnss3;
#  - the next (no-op) pulse: the network process maps libnss3 too, because it
#    lists what the database holds to decide (store_list_indexed: the NSS
#    back-end has no index), and after an issue for the paths of a hook that
#    will run, and for the metrics.  Asserted so that a change there shows.
#  - a libnss3 that cannot be loaded: a clear error that says what to install.
. "$TESTS_LIB"

"$ADENROLL" --version 2>&1 | grep -q "NSS database stores: yes" || skip "adenroll built without NSS (configure --with-nss)"

NSS_LIBS_RE='/lib(nss3|nssutil3|nspr4|plc4|plds4|softokn3|freebl3|freeblpriv3|smime3|ssl3)\.so'
PEM_CONF=$SCRATCH/pem.conf
write_config "$PEM_CONF"
NSS_CONF=$SCRATCH/nss.conf
write_config "$NSS_CONF" "store.types=pem, nss" "store.nss_db=sql:$SCRATCH/nssdb" \
  "store.pem_dir=$SCRATCH/nss-certs" "store.archive_dir=$SCRATCH/nss-archive" "store.state_dir=$SCRATCH/nss-state" \
  "store.anchors_dir=$SCRATCH/anchors" "store.pinned_dcs=$ADCS_DC_HOST"

cleanup() { [ -n "${bg:-}" ] && kill "$bg" 2> /dev/null; }
trap cleanup EXIT

# held_pulse TAG CONF: a pulse that waits at its end; NET_NSS and KEY_NSS get
# the NSS libraries the network and the key process map ("" for none)
held_pulse() {
  local tag=$1 conf=$2 rc
  held_maps "$tag" "$ADENROLL" --config "$conf" pulse
  rc=$HELD_RC
  case $rc in 0|3|4) ;; *) fail "[$tag] pulse exited $rc: $(tail -n 30 "$SCRATCH/$tag.out")" ;; esac
  NET_NSS=$(echo "$NET_MAPS" | grep -oE "$NSS_LIBS_RE" | sort -u | tr '\n' ' ')
  KEY_NSS=$(echo "$KEY_MAPS" | grep -oE "$NSS_LIBS_RE" | sort -u | tr '\n' ' ')
  note "[$tag] exit $rc; NSS in the network process: '${NET_NSS}', in the key process: '${KEY_NSS}'"
}

note "PEM store: a pulse that enrolls"
held_pulse pem-enroll "$PEM_CONF"
assert_contains "$(cat "$SCRATCH/pem-enroll.out")" "LinuxWorkstation: enrolled" "the PEM pulse enrolls"
assert_eq "" "$NET_NSS" "NSS libraries in the network process of a PEM pulse"
assert_eq "" "$KEY_NSS" "NSS libraries in the key process of a PEM pulse"

note "PEM store: a no-op pulse"
held_pulse pem-noop "$PEM_CONF"
assert_not_contains "$(cat "$SCRATCH/pem-noop.out")" "LinuxWorkstation: enrolled" "the second PEM pulse enrolls nothing"
assert_eq "" "$NET_NSS" "NSS libraries in the network process of a no-op PEM pulse"
assert_eq "" "$KEY_NSS" "NSS libraries in the key process of a no-op PEM pulse"

note "pem + nss: a pulse into a new NSS database"
held_pulse nss-enroll "$NSS_CONF"
assert_contains "$(cat "$SCRATCH/nss-enroll.out")" "as adenroll-LinuxWorkstation" "the pulse installs into the NSS database"
assert_match "$KEY_NSS" 'libnss3\.so' "the key process, which installs into NSS, maps libnss3"

note "pem + nss: the next pulse lists the database"
held_pulse nss-noop "$NSS_CONF"
assert_match "$NET_NSS" 'libnss3\.so' "the network process lists the NSS database (store_list)"

note "a libnss3 that cannot be loaded"
mkdir -p "$SCRATCH/badlib"
: > "$SCRATCH/badlib/libnss3.so"
LD_LIBRARY_PATH=$SCRATCH/badlib "$ADENROLL" --config "$NSS_CONF" status > "$SCRATCH/badlib.out" 2>&1
rc=$?
OUT=$(cat "$SCRATCH/badlib.out")
assert_ne 0 "$rc" "status with an NSS store and no usable libnss3"
assert_contains "$OUT" "cannot load NSS" "the error names NSS"
assert_contains "$OUT" "install libnss3" "the error says what to install"
LD_LIBRARY_PATH=$SCRATCH/badlib assert_exit 0 "$ADENROLL" --config "$PEM_CONF" status
exit 0
