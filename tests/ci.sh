#!/bin/bash
# The whole test suite, as CI runs it, on a fresh Debian 12 machine as root:
#
#   sudo bash tests/ci.sh
#
#  1. tests/install-deps.sh (Debian packages; nothing else is downloaded)
#  2. autoreconf -fi
#  3. gcc build with --enable-werror --enable-sanitizers (ASan + UBSan)
#  4. make check: unit tests (cmocka, TAP) and the integration tests against a
#     real Samba AD domain + Apache/SPNEGO certsrv (check-local -> tests/integration/run.sh)
#  5. ADENROLL_SKIP_INTEGRATION=1 make distcheck, in a plain build directory
#  6. clang + libFuzzer build; each fuzz/fuzz_* target runs for
#     ADENROLL_FUZZ_SECONDS (default 20) on its corpus fuzz/corpus/<name>
#  5b. tar tzf of the distcheck tarball lists every tracked file; rpmbuild -ta on it
#  7. the .deb: dpkg-buildpackage, lintian (no errors), apt install, checks,
#     the installed-package integration tests (t_pkg_*), purge
#
# The output ends with a summary of every step; the exit status is 0 only
# when nothing failed.  Builds and logs go to ADENROLL_CI_DIR (default: a new
# /tmp/adenroll-ci.XXXXXX), which is removed after a fully green run unless
# ADENROLL_CI_KEEP=1.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${ADENROLL_CI_JOBS:-2}
FUZZ_SECONDS=${ADENROLL_FUZZ_SECONDS:-20}
CI_START=$(date +%s)

if [ "$(id -u)" != 0 ]; then
  echo "ci: must run as root (package installation, network namespaces): sudo bash $0" >&2
  exit 1
fi
WORK=${ADENROLL_CI_DIR:-$(mktemp -d /tmp/adenroll-ci.XXXXXX)}
mkdir -p "$WORK/logs"
LOGS=$WORK/logs

declare -A RESULT      # step -> "ok" | "FAILED ..." | text
ORDER=()
failures=0
record() {  # record STEP OK|FAIL TEXT
  ORDER+=("$1")
  if [ "$2" = OK ]; then RESULT[$1]="ok${3:+: $3}"; else RESULT[$1]="FAILED${3:+: $3}"; failures=$((failures + 1)); fi
}
section() { echo; echo "======== ci: $* ($(( $(date +%s) - CI_START ))s)"; }
# run_logged NAME CMD...: runs CMD, output to the terminal and $LOGS/NAME.log
run_logged() {
  local name=$1; shift
  "$@" 2>&1 | tee "$LOGS/$name.log"
  return "${PIPESTATUS[0]}"
}

summary() {
  local s
  echo
  echo "==================== adenroll CI summary ===================="
  for s in "${ORDER[@]}"; do printf '%-14s %s\n' "$s:" "${RESULT[$s]}"; done
  printf '%-14s %s\n' "time:" "$(( $(date +%s) - CI_START ))s"
  if [ "$failures" = 0 ]; then
    printf '%-14s %s\n' "result:" "PASS"
  else
    printf '%-14s %s\n' "result:" "FAIL ($failures step(s) failed; logs in $LOGS)"
  fi
  echo "============================================================="
}

# ---------------------------------------------------------------- 1. packages
section "install dependencies"
if run_logged deps bash "$TOP/tests/install-deps.sh"; then
  record deps OK
else
  record deps FAIL "tests/install-deps.sh failed"
  summary; exit 1
fi

# ---------------------------------------------------------------- 2. autotools
section "autoreconf -fi"
if (cd "$TOP" && run_logged autoreconf autoreconf -fi); then
  record autoreconf OK
else
  record autoreconf FAIL "see $LOGS/autoreconf.log"
  summary; exit 1
fi

# ---------------------------------------------------------------- 3. sanitizer build
section "build (gcc, --enable-werror --enable-sanitizers)"
B=$WORK/build
mkdir -p "$B"
first_error() {  # the first compiler/linker error of a log, for the summary
  grep -m1 -E 'error:|undefined reference|No rule to make target|Error [0-9]+' "$1" 2>/dev/null | cut -c1-160
}
built=0
if (cd "$B" && run_logged configure "$TOP/configure" --enable-werror --enable-sanitizers CC=gcc); then
  built=1
  # -k: build everything that can be built, so the unit tests of the modules
  # that compile still run when one does not
  if (cd "$B" && run_logged build make -k -j"$JOBS"); then
    record build OK "gcc -Werror, ASan+UBSan"
  else
    record build FAIL "$(first_error "$LOGS/build.log") (see $LOGS/build.log)"
  fi
else
  record build FAIL "configure failed: $(tail -n1 "$LOGS/configure.log")"
fi

# ---------------------------------------------------------------- 4. make check
# unit_counts: totals of the unit tests, from test-suite.log when it was
# written, else from the per-test .trs files; a test program that was never
# built (or never ran) counts as an error.
unit_counts() {
  local b=$1 tl total=0 pass=0 fail=0 skip=0 xfail=0 xpass=0 error=0 t trs
  if [ -f "$b/test-suite.log" ]; then
    tl=$b/test-suite.log
    total=$(awk '/^# TOTAL:/ {print $3}' "$tl"); pass=$(awk '/^# PASS:/ {print $3}' "$tl")
    skip=$(awk '/^# SKIP:/ {print $3}' "$tl"); xfail=$(awk '/^# XFAIL:/ {print $3}' "$tl")
    fail=$(awk '/^# FAIL:/ {print $3}' "$tl"); xpass=$(awk '/^# XPASS:/ {print $3}' "$tl")
    error=$(awk '/^# ERROR:/ {print $3}' "$tl")
  else
    for t in $(make -s -C "$b" -f Makefile -f - print-ci-tests <<< 'print-ci-tests: ; @echo $(TESTS)' 2>/dev/null); do
      trs=$b/${t%.test}.trs
      if [ ! -f "$trs" ]; then error=$((error + 1)); echo "ci: unit test $t did not build or run" >&2; continue; fi
      pass=$((pass + $(grep -c '^:test-result: PASS' "$trs")))
      fail=$((fail + $(grep -c '^:test-result: FAIL' "$trs")))
      skip=$((skip + $(grep -c '^:test-result: SKIP' "$trs")))
      xfail=$((xfail + $(grep -c '^:test-result: XFAIL' "$trs")))
      xpass=$((xpass + $(grep -c '^:test-result: XPASS' "$trs")))
      error=$((error + $(grep -c '^:test-result: ERROR' "$trs")))
    done
    total=$((pass + fail + skip + xfail + xpass + error))
  fi
  echo "$total $pass $fail $skip $xfail $xpass $error"
}

if [ "$built" = 1 ]; then
  section "make check (unit + integration)"
  # -k: a failing unit test must not keep the integration tests from running
  (cd "$B" && run_logged check make -k check)
  if [ ! -f "$B/test-suite.log" ]; then
    section "unit tests that built (some test programs did not build)"
    (cd "$B" && run_logged check-unit make -k check-TESTS)
  fi
  if ! grep -qE '^integration: ([0-9]+ passed|skipped)' "$LOGS/check.log"; then
    section "integration tests (make check stopped before check-local)"
    (cd "$B" && run_logged check-integration make check-local)
    cat "$LOGS/check-integration.log" >> "$LOGS/check.log"
  fi
  read -r u_total u_pass u_fail u_skip u_xfail u_xpass u_error <<< "$(unit_counts "$B")"
  utext="$u_pass passed, $((u_fail + u_xpass + u_error)) failed, $u_skip skipped (of $u_total; fail $u_fail, error $u_error, xpass $u_xpass, xfail $u_xfail)"
  if [ "$((u_fail + u_xpass + u_error))" = 0 ] && [ "$u_total" -gt 0 ]; then
    record unit OK "$utext"
  else
    record unit FAIL "$utext"
    for f in "$B"/tests/unit/*.log; do
      [ -f "$f" ] && grep -qE '^(not ok|Bail out)|ERROR|AddressSanitizer|runtime error' "$f" && echo "ci: see $f" >&2
    done
  fi
  iline=$(grep -E '^integration: [0-9]+ passed' "$LOGS/check.log" | tail -n1)
  iskip=$(grep -m1 -E '^integration: (SKIP|skipped)' "$LOGS/check.log")
  if [ -n "$iskip" ] && ! [[ $iline =~ ^integration:\ [1-9] ]]; then
    record integration FAIL "did not run: ${iskip#integration: }"
  elif [[ $iline =~ ^integration:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    ip=${BASH_REMATCH[1]} if_=${BASH_REMATCH[2]} is=${BASH_REMATCH[3]}
    if [ "$if_" = 0 ] && [ "$ip" -gt 0 ]; then
      record integration OK "$ip passed, $if_ failed, $is skipped"
    elif [ "$if_" = 0 ]; then
      record integration FAIL "nothing ran: $iline"
    else
      record integration FAIL "$ip passed, $if_ failed, $is skipped ($(grep -E '^integration: failed:' "$LOGS/check.log" | tail -n1 | cut -d: -f3-))"
    fi
  else
    record integration FAIL "no result (${iline:-run.sh did not report}); see $LOGS/check.log"
  fi
else
  record unit FAIL "not run: configure failed"
  record integration FAIL "not run: configure failed"
fi

# ---------------------------------------------------------------- 5. distcheck
section "make distcheck (plain build, integration skipped)"
P=$WORK/plain
mkdir -p "$P"
if (cd "$P" && "$TOP/configure" > "$LOGS/distcheck-configure.log" 2>&1) &&
   (cd "$P" && run_logged distcheck env ADENROLL_SKIP_INTEGRATION=1 make -j"$JOBS" distcheck); then
  record distcheck OK "$(grep -oE 'adenroll-[0-9.]+\.tar\.gz' "$LOGS/distcheck.log" | tail -n1) ready for distribution"
else
  record distcheck FAIL "$(first_error "$LOGS/distcheck.log") (see $LOGS/distcheck.log)"
fi

# ---------------------------------------------------------------- 5b. tarball contents, RPM
# The distcheck tarball carries every tracked file (tar tzf vs git ls-files),
# and rpmbuild -ta on it fails without systemd-rpm-macros and builds with them.
section "dist tarball contents and rpmbuild -ta"
tarball=$(ls "$P"/adenroll-*.tar.gz 2>/dev/null | head -n 1)
if [ -z "$tarball" ]; then
  record dist-files FAIL "no tarball in $P (distcheck failed?)"
elif run_logged dist-files sh "$TOP/tests/packaging/check_dist.sh" "$tarball" "$TOP"; then
  record dist-files OK "$(grep -m1 '^ok 1' "$LOGS/dist-files.log" | cut -d- -f2- | cut -c2-)"
else
  record dist-files FAIL "$(grep -m1 '^not ok' "$LOGS/dist-files.log") (see $LOGS/dist-files.log)"
fi
if [ -n "$tarball" ]; then
  run_logged rpm sh "$TOP/tests/packaging/check_rpm.sh" "$tarball"
  rc=$?
  if [ "$rc" = 0 ]; then record rpm OK "rpmbuild -ta: fails without the systemd macros, builds with them"
  elif [ "$rc" = 77 ]; then record rpm OK "skipped: rpmbuild not installed"
  else record rpm FAIL "$(grep -m1 '^not ok' "$LOGS/rpm.log") (see $LOGS/rpm.log)"; fi
fi

# ---------------------------------------------------------------- 6. fuzzing
section "fuzz targets (clang, libFuzzer, ${FUZZ_SECONDS}s each)"
F=$WORK/fuzz
mkdir -p "$F"
fuzz_ok=0 fuzz_fail=0 fuzz_skip=0 fuzz_notes=()
if (cd "$F" && CC=clang "$TOP/configure" --enable-fuzzing \
      CFLAGS='-g -O1 -fsanitize=fuzzer-no-link,address,undefined' > "$LOGS/fuzz-configure.log" 2>&1); then
  # -k: one target that does not build yet must not stop the others
  (cd "$F" && make -k -j"$JOBS" > "$LOGS/fuzz-build.log" 2>&1)
  for src in "$TOP"/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=$F/fuzz/$name
    if ! grep -q LLVMFuzzerTestOneInput "$src"; then
      fuzz_skip=$((fuzz_skip + 1)); fuzz_notes+=("$name: skipped (placeholder, no LLVMFuzzerTestOneInput)")
      echo "ci: $name: skipped (placeholder)"
      continue
    fi
    if [ ! -x "$bin" ]; then
      fuzz_fail=$((fuzz_fail + 1)); fuzz_notes+=("$name: did not build (see $LOGS/fuzz-build.log)")
      echo "ci: $name: did not build"; grep -B2 -A8 "$name" "$LOGS/fuzz-build.log" | grep -iE 'error' | head -n 20
      continue
    fi
    corpus=$F/corpus/$name
    mkdir -p "$corpus"
    seeds=()
    [ -d "$TOP/fuzz/corpus/$name" ] && seeds=("$TOP/fuzz/corpus/$name")
    # the page parser also starts from every sample page the unit tests use
    [ "$name" = fuzz_certsrv_page ] && seeds+=("$TOP/tests/samples/certsrv" "$TOP/tests/samples/certsrv/synthetic")
    echo "ci: $name: ${FUZZ_SECONDS}s on ${seeds[*]:-an empty corpus}"
    if (cd "$F" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
          timeout -k 10 $((FUZZ_SECONDS + 120)) "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 \
          -timeout=10 -print_final_stats=1 "$corpus" "${seeds[@]}" > "$LOGS/fuzz-$name.log" 2>&1); then
      fuzz_ok=$((fuzz_ok + 1))
      fuzz_notes+=("$name: ok ($(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$LOGS/fuzz-$name.log" | grep -oE '[0-9]+$') runs)")
    else
      fuzz_fail=$((fuzz_fail + 1)); fuzz_notes+=("$name: FAILED (see $LOGS/fuzz-$name.log; reproducer crash-* in $F)")
      grep -E 'ERROR|SUMMARY|Test unit written' "$LOGS/fuzz-$name.log" | head -n 10
    fi
  done
  ftext="$fuzz_ok ok, $fuzz_fail failed, $fuzz_skip skipped"
  if [ "$fuzz_fail" = 0 ]; then record fuzz OK "$ftext"; else record fuzz FAIL "$ftext"; fi
  for n in "${fuzz_notes[@]}"; do echo "ci:   $n"; done
else
  record fuzz FAIL "clang configure failed (see $LOGS/fuzz-configure.log)"
fi

# ---------------------------------------------------------------- 7. Debian package
section "Debian package (dpkg-buildpackage, lintian, apt install, purge)"
# nocheck: the unit tests already ran above; the package build is about packaging.
# ADENROLL_DEB_IT: while the .deb is installed, the integration tests of the
# installed package (default store, ownership) run against /usr/sbin/adenroll.
if run_logged deb env DEB_BUILD_OPTIONS=nocheck ADENROLL_DEB_IT='t_pkg_*' \
     bash "$TOP/tests/packaging/build_deb.sh" "$WORK/deb"; then
  record deb OK "$(ls "$WORK"/deb/adenroll_*.deb 2>/dev/null | xargs -r -n1 basename | head -n1) built, lintian clean, installed, $(grep -E '^integration: [0-9]+ passed' "$LOGS/deb.log" | tail -n1 | cut -d' ' -f2-3) installed-package test(s), purged"
else
  record deb FAIL "see $LOGS/deb.log"
fi

summary
if [ "$failures" = 0 ] && [ "${ADENROLL_CI_KEEP:-0}" != 1 ] && [ -z "${ADENROLL_CI_DIR:-}" ]; then
  rm -rf "$WORK"
fi
[ "$failures" = 0 ]
