// vigil/metrics/process_collector.h: CPU, memory, file descriptors and uptime of this process
// and of the Linux host it runs on, read from /proc at each collection.
//
// The process families carry the names every Prometheus client library uses
// (process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds, ...), so existing
// dashboards and alerts work unchanged; the system families (system_cpu_seconds_total{mode},
// system_memory_available_bytes, system_load1, system_disk_free_bytes{path}, ...) describe the
// host. docs/process-metrics.md lists every family with its source.
//
//   registry.add_collector(std::make_shared<vigil::metrics::ProcessCollector>());
//
//   vigil::metrics::ProcessCollectorOptions options;
//   options.disk_paths = {"/", "/var/lib/app"};
//   options.prefix = "myapp";  // myapp_process_cpu_seconds_total, ...
//   registry.add_collector(std::make_shared<vigil::metrics::ProcessCollector>(options));
//
// Linux only: elsewhere the families read from /proc are skipped (and counted as errors).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vigil/metrics/collector.h"

namespace vigil::metrics {

struct ProcessCollectorOptions {
  // process_* families: this process (/proc/self).
  bool process = true;
  // system_* families: the host (/proc/stat, /proc/meminfo, /proc/loadavg, /proc/uptime, statvfs).
  bool system = true;
  // Filesystems reported by system_disk_*_bytes{path="..."}, one series per path. Prefer local
  // filesystems: statvfs on a hung network mount blocks the collection.
  std::vector<std::string> disk_paths = {"/"};
  // Optional namespace: "myapp" (or "myapp_") turns process_open_fds into myapp_process_open_fds.
  // Applies to every family, including vigil_process_collector_errors_total.
  std::string prefix;
};

// A Collector of process and host metrics. Families that cannot be read in a collection (a
// missing or malformed /proc file, a failing statvfs) are skipped for that collection and
// counted in vigil_process_collector_errors_total{source="/proc/meminfo"|...}; collect() never
// throws and never emits a partial family.
//
// Thread-safety: collect() and family_names() may be called from any number of threads at once.
class ProcessCollector final : public Collector {
 public:
  // Default options: process and system families, disk "/", no prefix.
  ProcessCollector();
  // Throws vigil::Error when `options.prefix` is not a valid metric name prefix
  // ([a-zA-Z_:][a-zA-Z0-9_:]*) or a disk path is empty or listed twice. Cost: one read of
  // /proc/stat (the boot time) and a few allocations for the family names.
  explicit ProcessCollector(ProcessCollectorOptions options);
  ~ProcessCollector() override;
  ProcessCollector(const ProcessCollector&) = delete;
  ProcessCollector& operator=(const ProcessCollector&) = delete;

  // Names of the families collect() emits when every source is readable (without `_total`,
  // like FamilyDesc::name), in the order collect() emits them. Allocates the returned vector.
  std::vector<std::string> family_names() const override;

  // Reads the sources and calls `sink` once per family. Throws nothing of its own; an exception
  // thrown by `sink` propagates. Cost: six small /proc reads, one getdents64 listing of
  // /proc/self/fd and one statvfs per disk path: about 100 us on a 2-CPU host, half of it the
  // kernel formatting /proc/self/net/netstat (that file and /proc/stat grow with the CPU count).
  // No allocation after the first collection on a thread (each collecting thread keeps a small
  // reusable buffer).
  void collect(MetricSink& sink) const override;

  // The options given to the constructor. Thread-safe; no cost.
  const ProcessCollectorOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::metrics
