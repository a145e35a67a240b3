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
#   install       scripts/install-test.sh: install build/release, build consumers against it
#   asan-build    build/fuzz (clang, ASan + UBSan, libFuzzer coverage): the library once, then
#                 the libFuzzer targets and the unit test executables (targets vigil_fuzzers,
#                 vigil_unit_tests). One sanitized build of the library serves both: building it
#                 twice (gcc ASan for the tests, clang for the fuzzers) was a third of CI's time.
#   asan-test     ctest -L unit in build/fuzz, under ASan + UBSan
#   tsan-build    build/tsan (preset "tsan"): the concurrent metrics, trace, health and admin
#                 server tests only
#                 (target vigil_tsan_tests)
#   tsan-test     those tests under ThreadSanitizer
#   fuzz          each fuzz target run for VIGIL_FUZZ_SECONDS (10)
#
# Overlap (VIGIL_PARALLEL=1; off by default, see below): the test stages leave a core mostly idle (ctest runs
# one test at a time, many wait on sockets and timers), so once the release build is done the
# sanitizer and fuzz builds run in the background at low priority (nice) while the release tests,
# the benchmark smoke run and the install test run; and the fuzzers run (niced, one core) while
# the ASan tests run. Each stage is still timed on its own; the closing summary also gives the
# wall time. Background stages' output is printed when they finish. VIGIL_PARALLEL=0 runs every
# stage in turn.
#
# ccache is used when installed (CMAKE_CXX_COMPILER_LAUNCHER; an already set launcher is kept).
#
# Environment: VIGIL_JOBS (default 2) build jobs; VIGIL_CTEST_JOBS (default 1) parallel tests;
# VIGIL_SKIP_DEPS=1 skips the apt step; VIGIL_SKIP_ASAN=1 skips the sanitizer and fuzz stages.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${VIGIL_JOBS:-2}
ctest_jobs=${VIGIL_CTEST_JOBS:-1}
# Overlapping the sanitizer builds with the release tests is off by default: the release tests
# include timed checks (the admin server's slow-client latency, health timeouts) that a
# compiler on both cores would make fail; VIGIL_PARALLEL=1 turns it on for a faster local run.
parallel=${VIGIL_PARALLEL:-0}
start=$SECONDS

if [[ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]] && command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache
  # Hits across checkouts in different directories (CI workspaces, git worktrees).
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
fi
# The sanitizer trees build with debug line tables (-g1). ccache then hashes the working
# directory into every key (the path is written into the debug info) unless the path is mapped
# away: with the map (and CCACHE_BASEDIR), a checkout in another directory hits the cache. Without
# it CI's ASan tree took 1,143 s while its release tree, built without -g, took 53 s from the
# same cache.
debug_prefix_map="-fdebug-prefix-map=${PWD}=."


declare -a stage_names=() stage_results=() stage_times=()
failed=0

record_stage() {  # NAME RESULT SECONDS
  stage_names+=("$1")
  stage_results+=("$2")
  stage_times+=("$3")
  if [[ "$2" == FAIL ]]; then
    failed=$((failed + 1))
  fi
}

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
  if [[ $rc -eq 0 ]]; then
    record_stage "$name" PASS "$dt"
    echo "==== [${name}] passed in ${dt}s ===="
  else
    record_stage "$name" FAIL "$dt"
    echo "==== [${name}] FAILED (exit ${rc}) after ${dt}s ===="
  fi
  return $rc
}

skip_stage() {
  record_stage "$1" "SKIP ($2)" 0
  echo
  echo "==== [$1] skipped: $2 ===="
}

# Background stages (VIGIL_PARALLEL=1): stage NAME COMMAND... queues the command to run niced
# in the background after the stage queued before it (one background stage at a time), its
# output in a log; finish NAME waits for it, prints the log and records the result like
# run_stage. With VIGIL_PARALLEL=0, stage is run_stage and finish only looks the result up.
# stage_after DEP NAME COMMAND...: the same, skipped when stage DEP failed.
bg_dir=$(mktemp -d "${TMPDIR:-/tmp}/vigil-test.XXXXXX")
cleanup() {
  local pids
  pids=$(jobs -pr)
  [[ -n "$pids" ]] && kill $pids 2>/dev/null
  rm -rf "$bg_dir"
}
trap cleanup EXIT
bg_last=""
bg_stage() {
  local dep=$1 name=$2
  shift 2
  local prev=$bg_last
  (
    if [[ -n "$prev" ]]; then
      while [[ ! -f "$bg_dir/$prev.rc" ]]; do sleep 1; done
    fi
    renice -n 10 -p "$BASHPID" >/dev/null 2>&1 || true  # the commands it starts inherit it
    t0=$SECONDS
    rc=0
    if [[ -n "$dep" && "$(cat "$bg_dir/$dep.rc")" != 0 ]]; then
      rc=skip
    else
      echo "==== [${name}] (background, nice) $* ===="
      "$@" || rc=$?
    fi
    echo "$((SECONDS - t0))" >"$bg_dir/$name.time"
    echo "$rc" >"$bg_dir/$name.rc"
  ) >"$bg_dir/$name.log" 2>&1 &
  bg_last=$name
}
bg_wait() {
  local name=$1 rc dt t0=$SECONDS
  while [[ ! -f "$bg_dir/$name.rc" ]]; do sleep 1; done
  rc=$(cat "$bg_dir/$name.rc")
  dt=$(cat "$bg_dir/$name.time")
  echo
  cat "$bg_dir/$name.log"
  if [[ "$rc" == skip ]]; then
    record_stage "$name" "SKIP (a stage it needs failed)" 0
    echo "==== [${name}] skipped: a stage it needs failed ===="
    return 1
  elif [[ "$rc" == 0 ]]; then
    record_stage "$name" PASS "$dt"
    echo "==== [${name}] passed in ${dt}s (in the background; waited $((SECONDS - t0))s for it) ===="
  else
    record_stage "$name" FAIL "$dt"
    echo "==== [${name}] FAILED (exit ${rc}) after ${dt}s (in the background) ===="
  fi
  [[ "$rc" == 0 ]]
}
stage() {
  if [[ "$parallel" == 1 ]]; then
    bg_stage "" "$@"
  else
    run_stage "$@" || true
  fi
}
stage_after() {
  local dep=$1
  shift
  if [[ "$parallel" == 1 ]]; then
    bg_stage "$dep" "$@"
  elif stage_passed "$dep"; then
    run_stage "$@" || true
  else
    skip_stage "$1" "${dep} failed"
  fi
}
stage_passed() {
  local i
  for i in "${!stage_names[@]}"; do
    if [[ "${stage_names[$i]}" == "$1" ]]; then
      [[ "${stage_results[$i]}" == PASS ]]
      return
    fi
  done
  return 1
}
finish() {
  if [[ "$parallel" == 1 ]]; then
    bg_wait "$1"
  else
    stage_passed "$1"
  fi
}

# run_ctest ARGS...: ctest with its output kept, to add its counts to the closing summary.
tests_passed=0
tests_failed=0
failed_tests=()
failure_log=$(mktemp)
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
  # "The following tests FAILED:" then "\t 12 - name (Failed)": kept for the closing summary, so
  # that the end of a long log names what failed.
  while IFS= read -r line; do
    failed_tests+=("$line")
  done < <(sed -n '/The following tests FAILED:/,$p' "$log" | sed -n 's/^[[:space:]]*[0-9][0-9]* - \(.*\)$/\1/p')
  # Each failed test's output (--output-on-failure prints it after the test's result line, up to
  # the next "Start"), its last 40 lines, for the closing summary.
  awk '/\*\*\*(Failed|Timeout|Exception)|\(Failed\)|\(Timeout\)/ && / Test +#/ {f=1; n=0; print "---- " $0; next}
       f && /^ +Start +[0-9]+:/ {f=0}
       f && /^(The following tests|[0-9]+% tests passed)/ {f=0}
       f {buf[n++ % 40] = $0}
       !f && n > 0 {s = (n > 40) ? n - 40 : 0; for (i = s; i < n; i++) print buf[i % 40]; n = 0}
       END {s = (n > 40) ? n - 40 : 0; for (i = s; i < n; i++) print buf[i % 40]}' "$log" >>"$failure_log"
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
    # The first benchmark's full name (with its arguments), as an anchored regex: one benchmark.
    filter="^$(printf '%s' "${first}" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$"
    echo "bench-smoke: ${bin} --benchmark_filter='${filter}'"
    timeout 120 "$bin" --benchmark_filter="$filter" --benchmark_min_time=0.01 || return 1
  # Benchmark binaries are named *_bench; bench/ also holds tools (admin_slowloris).
  done < <(find build/release/bench -maxdepth 2 -type f -executable -name '*_bench' \
             ! -path '*/CMakeFiles/*' 2>/dev/null | sort)
  if [[ $found -eq 0 ]]; then
    echo "bench-smoke: no benchmark binaries in build/release/bench"
  fi
}

tsan_test() {
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
  build/tsan/tests/metrics/metrics_tsan_test \
    --gtest_filter='Concurrency.*:Counter.*:Gauge.*:Histogram.*:Summary.*:Family.*:Registry.*' &&
    build/tsan/tests/trace/trace_tsan_test \
      --gtest_filter='BatchSpanProcessor.*:Context.*:Tracer.*:SimpleSpanProcessor.*:BoundedMpmcQueue.*' &&
    build/tsan/tests/health/health_tsan_test \
      --gtest_filter='HealthConcurrency.*:HealthTimeout.*:HealthShutdown.*:HealthMonitor.*' &&
    if [[ -x build/tsan/tests/health/health_endpoints_test ]]; then
      build/tsan/tests/health/health_endpoints_test --gtest_filter='*Concurrent*:*HungCheck*'
    fi &&
    if [[ -x build/tsan/tests/admin/admin_tsan_test ]]; then
      build/tsan/tests/admin/admin_tsan_test
    fi &&
    if [[ -x build/tsan/tests/alerting/alerting_tsan_test ]]; then
      build/tsan/tests/alerting/alerting_tsan_test
    fi &&
    if [[ -x build/tsan/tests/alerting/alerting_state_store_tsan_test ]]; then
      build/tsan/tests/alerting/alerting_state_store_tsan_test
    fi &&
    if [[ -x build/tsan/tests/alerting/dispatcher_tsan_test ]]; then
      build/tsan/tests/alerting/dispatcher_tsan_test
    fi &&
    if [[ -x build/tsan/tests/alerting/alertmanager_client_tsan_test ]]; then
      build/tsan/tests/alerting/alertmanager_client_tsan_test
    fi &&
    if [[ -x build/tsan/tests/guardrail/guardrail_source_tsan_test ]]; then
      build/tsan/tests/guardrail/guardrail_source_tsan_test
    fi &&
    if [[ -x build/tsan/tests/guardrail/guardrail_monitor_tsan_test ]]; then
      # the checking thread, actions (throwing, hanging) and readers.
      build/tsan/tests/guardrail/guardrail_monitor_tsan_test
    fi &&
    if [[ -x build/tsan/tests/exporters/exporters_engine_tsan_test ]]; then
      # the push export engine: recording, scrapes, exports, flush and shutdown
      build/tsan/tests/exporters/exporters_engine_tsan_test
    fi &&
    if [[ -x build/tsan/tests/exporters/exporters_statsd_tsan_test ]]; then
      build/tsan/tests/exporters/exporters_statsd_tsan_test \
        --gtest_filter='StatsdExporter.Raw*:StatsdExporter.ServiceChecksAndEvents:StatsdExporter.FullSocketsDropAndMeetTheDeadline'
    fi &&
    if [[ -x build/tsan/tests/exporters/exporters_pushgateway_tsan_test ]]; then
      build/tsan/tests/exporters/exporters_pushgateway_tsan_test --gtest_filter='PushgatewayExporter.*'
    fi &&
    # the production collector and business metrics recorded and summarised from threads; the
    # HTTP metrics' per-thread handle cache against removals
    build/tsan/tests/metrics/metrics_production_collector_tsan_test &&
    build/tsan/tests/metrics/metrics_http_cache_tsan_test
}

sanitized_build() {
  # -g1: line tables only (crash reports keep file:line), a quarter less compile time than -g.
  # Asserts stay on (no -DNDEBUG), as in a debug build; tests/CMakeLists.txt compiles the tests
  # at -O1.
  CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 ${debug_prefix_map}" \
    -DVIGIL_BUILD_FUZZ=ON -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF \
    -DVIGIL_BUILD_DEMO=OFF -DVIGIL_BUILD_EXAMPLES=OFF \
    -DVIGIL_INSTALL=OFF -DVIGIL_WERROR=OFF &&
    cmake --build build/fuzz -j "$jobs" --target vigil_fuzzers vigil_unit_tests
}

fuzz_run() {
  local f seconds=${VIGIL_FUZZ_SECONDS:-10}
  for f in build/fuzz/fuzz/fuzz_*; do
    [[ -x "$f" ]] || continue
    echo "fuzz: ${f} for ${seconds}s"
    "$f" -max_total_time="$seconds" -print_final_stats=0 2>&1 | tail -n 3 || return 1
  done
}

echo "vigil test.sh: $(cmake --version | head -n 1), $(c++ --version | head -n 1), jobs ${jobs}," \
  "overlap ${parallel}, launcher ${CMAKE_CXX_COMPILER_LAUNCHER:-none}"

if [[ "${VIGIL_SKIP_DEPS:-0}" == 1 ]]; then
  skip_stage deps "VIGIL_SKIP_DEPS=1"
else
  run_stage deps bash scripts/install-deps.sh || true
fi

release_ok=0
if run_stage release-build configure_and_build release build/release \
     -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=ON -DVIGIL_INSTALL=ON; then
  release_ok=1
fi

# The sanitizer and fuzz builds, and the fuzzers: in the background from here when overlapping.
sanitizers=1
[[ "${VIGIL_SKIP_ASAN:-0}" == 1 ]] && sanitizers=0
if [[ $sanitizers -eq 1 ]]; then
  stage asan-build sanitized_build
  stage tsan-build configure_and_build_target tsan build/tsan vigil_tsan_tests \
    -DVIGIL_BUILD_TESTS=ON -DVIGIL_BUILD_BENCH=OFF -DVIGIL_BUILD_DEMO=OFF \
    -DVIGIL_BUILD_EXAMPLES=OFF -DVIGIL_INSTALL=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG ${debug_prefix_map}"
  stage_after asan-build fuzz fuzz_run
fi

if [[ $release_ok -eq 1 ]]; then
  run_stage release-test run_ctest --preset release -j "$ctest_jobs" || true
  if [[ -d build/release/bench ]]; then
    run_stage bench-smoke bench_smoke || true
  else
    skip_stage bench-smoke "no bench directory in the build"
  fi
  run_stage install bash scripts/install-test.sh build/release || true
else
  skip_stage release-test "release build failed"
  skip_stage bench-smoke "release build failed"
  skip_stage install "release build failed"
fi

if [[ $sanitizers -eq 0 ]]; then
  for s in asan-build asan-test tsan-build tsan-test fuzz; do
    skip_stage "$s" "VIGIL_SKIP_ASAN=1"
  done
else
  if finish asan-build; then
    run_stage asan-test run_ctest --test-dir build/fuzz -L unit -j "$ctest_jobs" --output-on-failure || true
  else
    skip_stage asan-test "asan build failed"
  fi
  if finish tsan-build; then
    run_stage tsan-test tsan_test || true
  else
    skip_stage tsan-test "tsan build failed"
  fi
  if [[ "$parallel" == 1 ]]; then
    finish fuzz || true
  fi
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
  echo "vigil test.sh: ALL STAGES PASSED in ${total}s (wall time; background stages overlap)"
else
  echo "vigil test.sh: ${failed} STAGE(S) FAILED after ${total}s"
fi
echo "stages: ${passed} passed, ${failed} failed"
echo "tests: ${tests_passed} passed, ${tests_failed} failed"
if [[ ${#failed_tests[@]} -gt 0 ]]; then
  echo
  echo "==== failed tests (their output's last lines above each) ===="
  cat "$failure_log"
  echo "==== failed tests ===="
  printf '  %s\n' "${failed_tests[@]}"
fi
rm -f "$failure_log"
[[ $failed -eq 0 ]]
