#!/usr/bin/env bash
# scripts/install-test.sh: checks that an installed vigil can be consumed from outside the tree.
#
#   bash scripts/install-test.sh [BUILD_DIR]     # default build/release, already built
#
# 1. cmake --install BUILD_DIR into a temporary prefix;
# 2. CMake consumer: tests/install/consumer with find_package(vigil) and CMAKE_PREFIX_PATH set
#    to that prefix; builds it and runs it (and its admin variant when vigil::admin is installed);
# 3. the same consumer with find_package(vigil COMPONENTS metrics) only, configured with every
#    other component's packages disabled (CMAKE_DISABLE_FIND_PACKAGE_<name>): it must configure,
#    build and run; and COMPONENTS exporters must fail there (the check can tell);
# 4. pkg-config consumer: compiles tests/install/consumer/main.cc with
#    `pkg-config --cflags --libs vigil-metrics` (and vigil-admin when installed) and runs it;
#    the same for tests/install/consumer/otlp_main.cc with vigil-exporters and
#    tests/install/consumer/health_main.cc with vigil-health when installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build_dir=${1:-build/release}
cxx=${CXX:-c++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

echo "install-test: cmake --install ${build_dir} --prefix ${prefix}"
cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log"
(cd "$prefix" && find . -type f | sort | sed 's/^/  /')

config=$(find "$prefix" -name vigilConfig.cmake | head -n 1)
[[ -n "$config" ]] || { echo "install-test: no vigilConfig.cmake installed" >&2; exit 1; }

echo "install-test: CMake consumer (find_package(vigil), CMAKE_PREFIX_PATH=${prefix})"
cmake -S "$root/tests/install/consumer" -B "$tmp/cmake-build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
vigil_dir=$(sed -n 's/^vigil_DIR:PATH=//p' "$tmp/cmake-build/CMakeCache.txt")
if [[ "$vigil_dir" != "$prefix"/* ]]; then
  echo "install-test: vigil was found at '${vigil_dir}', not in the test prefix" >&2
  exit 1
fi
cmake --build "$tmp/cmake-build" -j "${VIGIL_JOBS:-2}"
"$tmp/cmake-build/consumer"
if [[ -x "$tmp/cmake-build/consumer_admin" ]]; then
  "$tmp/cmake-build/consumer_admin"
fi
if [[ -x "$tmp/cmake-build/consumer_otlp" ]]; then
  "$tmp/cmake-build/consumer_otlp"
fi
if [[ -x "$tmp/cmake-build/consumer_health" ]]; then
  "$tmp/cmake-build/consumer_health"
fi
if [[ -x "$tmp/cmake-build/consumer_spdlog" ]]; then
  "$tmp/cmake-build/consumer_spdlog"
fi
if [[ -x "$tmp/cmake-build/consumer_alerting" ]]; then
  "$tmp/cmake-build/consumer_alerting"
fi
if [[ -x "$tmp/cmake-build/consumer_ops" ]]; then
  "$tmp/cmake-build/consumer_ops"
fi

# Only the metrics dependencies: any find_package of another component's package fails.
disabled=()
for pkg in CURL Protobuf civetweb ZLIB OpenSSL Boost spdlog fmt nlohmann_json RE2 yaml-cpp SQLite3; do
  disabled+=("-DCMAKE_DISABLE_FIND_PACKAGE_${pkg}=ON")
done
echo "install-test: CMake consumer, COMPONENTS metrics only, with ${disabled[*]}"
cmake -S "$root/tests/install/consumer" -B "$tmp/metrics-only" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DVIGIL_CONSUMER_ONLY=metrics "${disabled[@]}"
cmake --build "$tmp/metrics-only" -j "${VIGIL_JOBS:-2}"
"$tmp/metrics-only/consumer"
if [[ -f "$(dirname "$config")/vigil-exporters-targets.cmake" ]]; then
  # The control: the same disabled packages must stop a component that needs them.
  if cmake -S "$root/tests/install/consumer" -B "$tmp/exporters-only" -G Ninja \
       -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
       -DVIGIL_CONSUMER_ONLY=exporters "${disabled[@]}" >"$tmp/exporters-only.log" 2>&1; then
    echo "install-test: COMPONENTS exporters configured without libcurl and protobuf" >&2
    exit 1
  fi
  grep -o 'vigil::exporters needs [^:]*' "$tmp/exporters-only.log" | head -n 1 |
    sed 's/^/install-test: as expected, /'
fi

pcdir=$(dirname "$(find "$prefix" -name vigil-metrics.pc | head -n 1)")
[[ -f "$pcdir/vigil-metrics.pc" ]] || { echo "install-test: no vigil-metrics.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$pcdir"
for pc in "$pcdir"/vigil-*.pc; do
  pkg-config --validate "$(basename "$pc" .pc)"
done
modules=(vigil-metrics)
if [[ -f "$pcdir/vigil-admin.pc" ]]; then
  modules+=("vigil-admin")
fi
for module in "${modules[@]}"; do
  flags=$(pkg-config --cflags --libs "$module")
  echo "install-test: pkg-config consumer: ${cxx} -std=c++20 main.cc ${flags}"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 "$root/tests/install/consumer/main.cc" $flags -o "$tmp/pc-consumer-$module"
  "$tmp/pc-consumer-$module"
done
if [[ -f "$pcdir/vigil-exporters.pc" ]]; then
  flags=$(pkg-config --cflags --libs vigil-exporters)
  echo "install-test: pkg-config consumer: ${cxx} -std=c++20 otlp_main.cc ${flags}"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 -DVIGIL_CONSUMER_USE_EXPORTER "$root/tests/install/consumer/otlp_main.cc" \
    $flags -o "$tmp/pc-consumer-exporters"
  "$tmp/pc-consumer-exporters"
fi
if [[ -f "$pcdir/vigil-health.pc" ]]; then
  flags=$(pkg-config --cflags --libs vigil-health)
  echo "install-test: pkg-config consumer: ${cxx} -std=c++20 health_main.cc ${flags}"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 "$root/tests/install/consumer/health_main.cc" $flags \
    -o "$tmp/pc-consumer-health"
  "$tmp/pc-consumer-health"
fi
if [[ -f "$pcdir/vigil-alerting.pc" ]]; then
  flags=$(pkg-config --cflags --libs vigil-alerting)
  echo "install-test: pkg-config consumer: ${cxx} -std=c++20 alerting_main.cc ${flags}"
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 "$root/tests/install/consumer/alerting_main.cc" $flags \
    -o "$tmp/pc-consumer-alerting"
  "$tmp/pc-consumer-alerting"
fi
if [[ -f "$pcdir/vigil-trace-spdlog.pc" ]]; then
  flags=$(pkg-config --cflags --libs vigil-trace-spdlog)
  echo "install-test: pkg-config consumer: ${cxx} -std=c++20 spdlog_main.cc ${flags}"
  "$cxx" -std=c++20 "$root/tests/install/consumer/spdlog_main.cc" $flags \
    -o "$tmp/pc-consumer-spdlog"
  "$tmp/pc-consumer-spdlog"
fi

echo "install-test: passed"
