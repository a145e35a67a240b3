// vigil/health/resource_checks.h: built-in checks of the process's and the machine's resources.
//
// Each function returns a check function for HealthMonitor::add_check, with thresholds that make
// it warn, then fail, and an output a person can act on:
//
//   monitor.add_liveness_check("memory", vigil::health::process_memory_check());
//       // pass "rss 812 MiB of 1024 MiB cgroup limit (79%)"
//   monitor.add_check("system_memory", vigil::health::system_memory_check(),   // "memory < 90%"
//                     {.critical = false, .component_type = "system"});
//   monitor.add_readiness_check("disk", vigil::health::disk_space_check({.path = "/var/lib/app"}));
//   monitor.add_readiness_check("fds", vigil::health::file_descriptor_check());
//
// Linux only: they read /proc, /sys/fs/cgroup, statvfs(3) and getrlimit(2). Where the data is
// missing (another OS, no /proc) the check fails with output saying what could not be read.
// Each run costs a few file reads (10-50 us) and allocates its output; the functions are
// thread-safe and may run concurrently. The factories throw vigil::Error for bad thresholds.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "vigil/health/result.h"

namespace vigil::health {

struct ProcessMemoryOptions {
  // The limit the resident set size (RSS) is compared with. 0: the cgroup memory limit of the
  // process (memory.max, or memory.limit_in_bytes with cgroup v1) when there is one, else the
  // machine's physical memory.
  uint64_t limit_bytes = 0;
  // Warn at this share of the limit, fail at this share. 0 < warn_ratio <= fail_ratio.
  double warn_ratio = 0.80;
  double fail_ratio = 0.90;
};
// RSS against a limit: "rss 812 MiB of 1024 MiB limit (79%)". Observed value: RSS in bytes.
std::function<CheckResult()> process_memory_check(ProcessMemoryOptions options = {});

struct SystemMemoryOptions {
  // Percentages of the machine's memory in use (MemTotal - MemAvailable): warn, fail.
  // E.g. "memory below 90%". 0 < warn_percent <= fail_percent <= 100.
  double warn_percent = 80;
  double fail_percent = 90;
};
// "memory 71% used (11.2 GiB of 15.6 GiB)". Observed value: percent used.
std::function<CheckResult()> system_memory_check(SystemMemoryOptions options = {});

struct DiskSpaceOptions {
  // A path on the file system to watch (not empty).
  std::string path = "/";
  // Free space (available to unprivileged users) below these percentages of the file system
  // warns / fails. 0 <= fail_free_percent <= warn_free_percent <= 100.
  double warn_free_percent = 10;
  double fail_free_percent = 5;
  // Free space below this many bytes fails too (0: no absolute minimum).
  uint64_t min_free_bytes = 0;
};
// "free 12.3 GiB of 50.0 GiB (24%) on /var/lib/app". Observed value: free percent.
std::function<CheckResult()> disk_space_check(DiskSpaceOptions options = {});

struct FileDescriptorOptions {
  // Shares of the soft RLIMIT_NOFILE limit: warn, fail. 0 < warn_ratio <= fail_ratio.
  double warn_ratio = 0.80;
  double fail_ratio = 0.90;
};
// "open fds 123 of 1024 (12%)". Observed value: open descriptors.
std::function<CheckResult()> file_descriptor_check(FileDescriptorOptions options = {});

}  // namespace vigil::health
