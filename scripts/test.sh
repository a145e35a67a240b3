#!/usr/bin/env bash
# scripts/test.sh: everything CI checks, in one command.
#
#   bash scripts/test.sh
#
# Stages (each timed; a failed stage fails the run, later stages that do not depend on it still
# run so one CI log shows every problem):
#   deps          scripts/install-deps.sh (apt; a no-op when everything is installed)
#   release-build build/release: Release, tests + benchmarks + demo + examples (preset "release")
#   release-test  ctest: every test, unit and integration
#   bench-smoke   each benchmark binary runs its first benchmark briefly (compiles and starts)
#   asan-build    build/asan: Debug, -fsanitize=address,undefined (preset "asan-ubsan")
#   asan-test     ctest -L unit under ASan + UBSan
#   tsan-build    build/tsan: metrics, trace and health unit tests with -fsanitize=thread
#   tsan-test     the concurrent metrics, trace and health tests under ThreadSanitizer
#   fuzz          build/fuzz: libFuzzer targets (clang), each run for VIGIL_FUZZ_SECONDS (10)
#   install       scripts/install-test.sh: install build/release, build consumers against it
#
# Environment: VIGIL_JOBS (default 2) build jobs; VIGIL_CTEST_JOBS (default 1) parallel tests;
# VIGIL_SKIP_DEPS=1 skips the apt step; VIGIL_SKIP_ASAN=1 skips the sanitizer and fuzz stages.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${VIGIL_JOBS:-2}
ctest_jobs=${VIGIL_CTEST_JOBS:-1}
start=$SECONDS

declare -a stage_names=() stage_results=() stage_times=()
failed=0

# run_stage NAME COMMAND...: runs the command, records PASS/FAIL and its duration.
run_stage() {
  local name=$1
  shift
  local t0=$SECONDS
  echo
  echo "==== [${name}] $* ===="
  local rc=0
  "$@" || rc=$?
  local dt=$((SECONDS - t0))
  stage_names+=("$name")
  stage_times+=("$dt")
  if [[ $rc -eq 0 ]]; then
    stage_results+=("PASS")
    echo "==== [${name}] passed in ${dt}s ===="
  else
    stage_results+=("FAIL")
    failed=$((failed + 1))
    echo "==== [${name}] FAILED (exit ${rc}) after ${dt}s ===="
  fi
  return $rc
}

skip_stage() {
  stage_names+=("$1")
  stage_times+=(0)
  stage_results+=("SKIP ($2)")
  echo
  echo "==== [$1] skipped: $2 ===="
}

# run_ctest ARGS...: ctest with its output kept, to add its counts to the closing summary.
tests_passed=0
tests_failed=0
run_ctest() {
  local log rc=0 total failed_now
  log=$(mktemp)
  ctest "$@" 2>&1 | tee "$log" || rc=$?
  # "100% tests passed, 0 tests failed out of 95"
  read -r failed_now total < <(sed -n 's/.* \([0-9][0-9]*\) tests failed out of \([0-9][0-9]*\).*/\1 \2/p' "$log" | tail -n 1)
  if [[ -n "${total:-}" ]]; then
    tests_passed=$((tests_passed + total - failed_now))
    tests_failed=$((tests_failed + failed_now))
  fi
  rm -f "$log"
  return $rc
}

configure_and_build() {
  local preset=$1 dir=$2
  shift 2
  cmake --preset "$preset" "$@" && cmake --build "$dir" -j "$jobs"
}

configure_and_build_target() {
  local preset=$1 dir=$2 target=$3
  shift 3
  cmake --preset "$preset" "$@" && cmake --build "$dir" -j "$jobs" --target $target  # may list several targets
}

bench_smoke() {
  local found=0 bin first filter
  while IFS= read -r bin; do
    found=1
    first=$("$bin" --benchmark_list_tests=true 2>/dev/null | head -n 1)
    if [[ -z "$first" ]]; then
      echo "bench-smoke: ${bin} lists no benchmark"
      return 1
    fi
    # The first benchmark's base name (before any /arg), as an anchored regex.
    filter="^$(printf '%s' "${first%%/*}" | sed 's/[][\.*^$+?(){}|]/\\&/g')(/|\$)"
    echo "bench-smoke: ${bin} --benchmark_filter='${filter}'"
    timeout 120 "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.01 || return 1
  done < <(find build/release/bench -maxdepth 2 -type f -executable \
             ! -name '*.so*' ! -path '*/CMakeFiles/*' 2>/dev/null | sort)
  if [[ $found -eq 0 ]]; then
    echo "bench-smoke: no benchmark binaries in build/release/bench"
  fi
}

echo "vigil test.sh: $(cmake --version | head -n 1), $(c++ --version | head -n 1), jobs ${jobs}"

if [[ "${VIGIL_SKIP_DEPS:-0}" == 1 ]]; then
  skip_stage deps "VIGIL_SKIP_DEPS=1"
else
  run_stage deps bash scripts/install-deps.sh || true
fi

if run_stage release-build configure_and_build release build/release \
     -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=ON -DVIGIL_INSTALL=ON; then
  run_stage release-test run_ctest --preset release -j "$ctest_jobs" || true
  if [[ -d build/release/bench ]]; then
    run_stage bench-smoke bench_smoke || true
  else
    skip_stage bench-smoke "no bench directory in the build"
  fi
  release_ok=1
else
  skip_stage release-test "release build failed"
  skip_stage bench-smoke "release build failed"
  release_ok=0
fi

if [[ "${VIGIL_SKIP_ASAN:-0}" == 1 ]]; then
  skip_stage asan-build "VIGIL_SKIP_ASAN=1"
  skip_stage asan-test "VIGIL_SKIP_ASAN=1"
elif run_stage asan-build configure_and_build asan-ubsan build/asan \
       -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF -DVIGIL_BUILD_DEMO=OFF \
       -DVIGIL_BUILD_EXAMPLES=OFF -DVIGIL_INSTALL=OFF; then
  run_stage asan-test run_ctest --preset asan-ubsan -L unit -j "$ctest_jobs" || true
else
  skip_stage asan-test "asan build failed"
fi

tsan_test() {
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    build/tsan/tests/metrics/metrics_test \
    --gtest_filter='Concurrency.*:Counter.*:Gauge.*:Histogram.*:Summary.*:Family.*:Registry.*' &&
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
      build/tsan/tests/trace/trace_test \
      --gtest_filter='BatchSpanProcessor.*:Context.*:Tracer.*:SimpleSpanProcessor.*' &&
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
      build/tsan/tests/health/health_test \
      --gtest_filter='HealthConcurrency.*:HealthTimeout.*:HealthShutdown.*:HealthMonitor.*' &&
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
      build/tsan/tests/health/health_endpoints_test \
      --gtest_filter='*Concurrent*:*HungCheck*'
}

fuzz_build() {
  CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVIGIL_BUILD_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF \
    -DVIGIL_BUILD_DEMO=OFF -DVIGIL_BUILD_EXAMPLES=OFF -DVIGIL_BUILD_ADMIN=OFF \
    -DVIGIL_INSTALL=OFF -DVIGIL_WERROR=OFF && cmake --build build/fuzz -j "$jobs"
}

fuzz_run() {
  local f seconds=${VIGIL_FUZZ_SECONDS:-10}
  for f in build/fuzz/fuzz/fuzz_*; do
    [[ -x "$f" ]] || continue
    echo "fuzz: ${f} for ${seconds}s"
    "$f" -max_total_time="$seconds" -print_final_stats=0 2>&1 | tail -n 3 || return 1
  done
}

if [[ "${VIGIL_SKIP_ASAN:-0}" == 1 ]]; then
  skip_stage tsan "VIGIL_SKIP_ASAN=1"
  skip_stage fuzz "VIGIL_SKIP_ASAN=1"
else
  if run_stage tsan-build configure_and_build_target tsan build/tsan \
       "metrics_test trace_test health_test health_endpoints_test" \
       -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF -DVIGIL_BUILD_DEMO=OFF \
       -DVIGIL_BUILD_EXAMPLES=OFF -DVIGIL_INSTALL=OFF; then
    run_stage tsan-test tsan_test || true
  else
    skip_stage tsan-test "tsan build failed"
  fi
  if run_stage fuzz-build fuzz_build; then
    run_stage fuzz fuzz_run || true
  else
    skip_stage fuzz "fuzz build failed"
  fi
fi

if [[ $release_ok -eq 1 ]]; then
  run_stage install bash scripts/install-test.sh build/release || true
else
  skip_stage install "release build failed"
fi

total=$((SECONDS - start))
passed=0
echo
echo "==== vigil test.sh summary ===="
for i in "${!stage_names[@]}"; do
  printf '  %-14s %-28s %5ss\n' "${stage_names[$i]}" "${stage_results[$i]}" "${stage_times[$i]}"
  [[ "${stage_results[$i]}" == PASS ]] && passed=$((passed + 1))
done
if [[ $failed -eq 0 ]]; then
  echo "vigil test.sh: ALL STAGES PASSED in ${total}s"
else
  echo "vigil test.sh: ${failed} STAGE(S) FAILED after ${total}s"
fi
echo "stages: ${passed} passed, ${failed} failed"
echo "tests: ${tests_passed} passed, ${tests_failed} failed"
[[ $failed -eq 0 ]]
