#include "vigil/metrics/process_collector.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <new>
#include <optional>
#include <string_view>
#include <utility>

#include "metrics/detail/proc_reader.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"

namespace vigil::metrics {
namespace {

enum class Group : uint8_t { kProcess, kSystem, kDisk, kInternal };
enum class LabelKind : uint8_t { kNone, kMode, kPath, kSource };

// Every family, in the order collect() emits them; kFamilies below follows the same order.
enum Family : size_t {
  kProcessCpuSeconds,
  kProcessResidentMemoryBytes,
  kProcessVirtualMemoryBytes,
  kProcessThreads,
  kProcessStartTimeSeconds,
  kProcessUptimeSeconds,
  kProcessOpenFds,
  kProcessMaxFds,
  kProcessNetworkReceiveBytes,
  kProcessNetworkTransmitBytes,
  kSystemCpuSeconds,
  kSystemCpuCount,
  kSystemMemoryTotalBytes,
  kSystemMemoryAvailableBytes,
  kSystemMemoryUsageRatio,
  kSystemLoad1,
  kSystemLoad5,
  kSystemLoad15,
  kSystemUptimeSeconds,
  kSystemDiskTotalBytes,
  kSystemDiskFreeBytes,
  kSystemDiskAvailableBytes,
  kCollectorErrors,
  kFamilyCount
};

struct FamilySpec {
  Family id;
  std::string_view name;  // without the prefix, and without `_total` for counters
  std::string_view help;
  std::string_view unit;
  MetricType type;
  Group group;
  LabelKind labels;
};

constexpr MetricType kCounter = MetricType::kCounter;
constexpr MetricType kGauge = MetricType::kGauge;

constexpr std::array<FamilySpec, kFamilyCount> kFamilies = {{
    {kProcessCpuSeconds, "process_cpu_seconds", "Total user and system CPU time spent in seconds.",
     "seconds", kCounter, Group::kProcess, LabelKind::kNone},
    {kProcessResidentMemoryBytes, "process_resident_memory_bytes", "Resident memory size in bytes.",
     "bytes", kGauge, Group::kProcess, LabelKind::kNone},
    {kProcessVirtualMemoryBytes, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
     "bytes", kGauge, Group::kProcess, LabelKind::kNone},
    {kProcessThreads, "process_threads", "Number of OS threads in the process.", "", kGauge,
     Group::kProcess, LabelKind::kNone},
    {kProcessStartTimeSeconds, "process_start_time_seconds",
     "Start time of the process since unix epoch in seconds.", "seconds", kGauge, Group::kProcess,
     LabelKind::kNone},
    {kProcessUptimeSeconds, "process_uptime_seconds", "Time since the process started in seconds.",
     "seconds", kGauge, Group::kProcess, LabelKind::kNone},
    {kProcessOpenFds, "process_open_fds", "Number of open file descriptors.", "", kGauge,
     Group::kProcess, LabelKind::kNone},
    {kProcessMaxFds, "process_max_fds", "Maximum number of open file descriptors.", "", kGauge,
     Group::kProcess, LabelKind::kNone},
    {kProcessNetworkReceiveBytes, "process_network_receive_bytes",
     "Number of bytes received by the process's network namespace.", "bytes", kCounter,
     Group::kProcess, LabelKind::kNone},
    {kProcessNetworkTransmitBytes, "process_network_transmit_bytes",
     "Number of bytes sent by the process's network namespace.", "bytes", kCounter, Group::kProcess,
     LabelKind::kNone},
    {kSystemCpuSeconds, "system_cpu_seconds",
     "Seconds all CPUs of the host spent in each mode, summed over CPUs.", "seconds", kCounter,
     Group::kSystem, LabelKind::kMode},
    {kSystemCpuCount, "system_cpus", "Number of online CPUs of the host.", "", kGauge,
     Group::kSystem, LabelKind::kNone},
    {kSystemMemoryTotalBytes, "system_memory_total_bytes", "Usable RAM of the host in bytes.",
     "bytes", kGauge, Group::kSystem, LabelKind::kNone},
    {kSystemMemoryAvailableBytes, "system_memory_available_bytes",
     "Memory available for starting new applications without swapping, in bytes.", "bytes", kGauge,
     Group::kSystem, LabelKind::kNone},
    {kSystemMemoryUsageRatio, "system_memory_usage_ratio",
     "Fraction of memory in use: 1 - available / total.", "ratio", kGauge, Group::kSystem,
     LabelKind::kNone},
    {kSystemLoad1, "system_load1", "1 minute load average of the host.", "", kGauge, Group::kSystem,
     LabelKind::kNone},
    {kSystemLoad5, "system_load5", "5 minute load average of the host.", "", kGauge, Group::kSystem,
     LabelKind::kNone},
    {kSystemLoad15, "system_load15", "15 minute load average of the host.", "", kGauge,
     Group::kSystem, LabelKind::kNone},
    {kSystemUptimeSeconds, "system_uptime_seconds", "Time since the host booted in seconds.",
     "seconds", kGauge, Group::kSystem, LabelKind::kNone},
    {kSystemDiskTotalBytes, "system_disk_total_bytes", "Size of the filesystem in bytes.", "bytes",
     kGauge, Group::kDisk, LabelKind::kPath},
    {kSystemDiskFreeBytes, "system_disk_free_bytes",
     "Free space of the filesystem in bytes, including space reserved for root.", "bytes", kGauge,
     Group::kDisk, LabelKind::kPath},
    {kSystemDiskAvailableBytes, "system_disk_available_bytes",
     "Space of the filesystem available to unprivileged users in bytes.", "bytes", kGauge,
     Group::kDisk, LabelKind::kPath},
    {kCollectorErrors, "vigil_process_collector_errors",
     "Reads the process collector could not complete; the families they feed were skipped.", "",
     kCounter, Group::kInternal, LabelKind::kSource},
}};

constexpr bool families_in_order() {
  for (size_t i = 0; i < kFamilies.size(); ++i) {
    if (kFamilies[i].id != i) return false;
  }
  return true;
}
static_assert(families_in_order(), "kFamilies must follow the order of enum Family");

// What a collection reads; the `source` label of vigil_process_collector_errors_total.
enum Source : size_t {
  kSourceSelfStat,
  kSourceSelfFd,
  kSourceGetrlimit,
  kSourceSelfNetstat,
  kSourceProcStat,
  kSourceMeminfo,
  kSourceLoadavg,
  kSourceUptime,
  kSourceSysconf,
  kSourceStatvfs,
  kSourceCount
};

constexpr std::array<std::string_view, kSourceCount> kSourceNames = {
    "/proc/self/stat", "/proc/self/fd", "getrlimit",     "/proc/self/net/netstat",
    "/proc/stat",      "/proc/meminfo", "/proc/loadavg", "/proc/uptime",
    "sysconf",         "statvfs"};

struct DiskUsage {
  bool ok = false;
  double total = 0;
  double free = 0;
  double available = 0;
};

// Buffers reused by every collection on a thread, so that collections do not allocate once warm
// (collect() may run on several threads at once, so the buffers cannot live in the collector).
struct Scratch {
  std::string file;
  std::vector<DiskUsage> disks;
};

Scratch& thread_scratch() noexcept {
  thread_local Scratch scratch;
  return scratch;
}

bool valid_prefix(std::string_view prefix) noexcept {
  auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  };
  if (prefix.empty()) return true;
  if (!letter(prefix.front())) return false;
  return std::all_of(prefix.begin(), prefix.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

double positive_sysconf(int name, double fallback) noexcept {
  long value = ::sysconf(name);
  return value > 0 ? static_cast<double>(value) : fallback;
}

// Seconds on the clock /proc/[pid]/stat's starttime counts from (time since boot, including
// suspend), or nullopt when unavailable.
std::optional<double> boot_clock_seconds() noexcept {
#if defined(CLOCK_BOOTTIME)
  timespec ts{};
  if (::clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return std::nullopt;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
#else
  return std::nullopt;
#endif
}

}  // namespace

struct ProcessCollector::Impl {
  explicit Impl(ProcessCollectorOptions opts);

  FamilyDesc desc(Family family) const noexcept;
  void fail(Source source) const noexcept {
    errors[source].fetch_add(1, std::memory_order_relaxed);
  }
  std::optional<uint64_t> boot_time(std::string& buf) const noexcept;

  void gauge(MetricSink& sink, Family family, double value) const;
  void counter(MetricSink& sink, Family family, double value, double created) const;
  void collect_process(MetricSink& sink, Scratch& scratch) const;
  void collect_system(MetricSink& sink, Scratch& scratch) const;
  void collect_disks(MetricSink& sink, Scratch& scratch) const;
  void collect_errors(MetricSink& sink) const;

  ProcessCollectorOptions options;
  std::array<std::string, kFamilyCount> names;  // prefixed
  std::vector<Family> enabled;                  // in emission order
  std::vector<Source> sources;                  // series of the errors family
  const std::array<std::string, 1> mode_label{"mode"};
  const std::array<std::string, 1> path_label{"path"};
  const std::array<std::string, 1> source_label{"source"};
  const double clock_ticks = positive_sysconf(_SC_CLK_TCK, 100);
  const double page_size = positive_sysconf(_SC_PAGESIZE, 4096);
  const double created = unix_time_seconds();
  mutable std::array<std::atomic<uint64_t>, kSourceCount> errors{};
  mutable std::atomic<uint64_t> boot_time_seconds{0};  // 0 until read
};

ProcessCollector::Impl::Impl(ProcessCollectorOptions opts) : options(std::move(opts)) {
  if (!valid_prefix(options.prefix)) {
    throw Error("ProcessCollectorOptions::prefix \"" + options.prefix +
                "\": a metric name prefix must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  for (size_t i = 0; i < options.disk_paths.size(); ++i) {
    const std::string& path = options.disk_paths[i];
    if (path.empty()) throw Error("ProcessCollectorOptions::disk_paths: a path is empty");
    for (size_t j = 0; j < i; ++j) {
      if (options.disk_paths[j] == path) {
        throw Error("ProcessCollectorOptions::disk_paths: \"" + path +
                    "\" is listed twice; each path must appear once");
      }
    }
  }
  std::string prefix = options.prefix;
  if (!prefix.empty() && prefix.back() != '_') prefix += '_';
  for (const FamilySpec& spec : kFamilies) names[spec.id] = prefix + std::string(spec.name);

  if (options.process) {
    sources.insert(sources.end(), {kSourceSelfStat, kSourceSelfFd, kSourceGetrlimit,
                                   kSourceSelfNetstat, kSourceProcStat});
  }
  if (options.system) {
    if (!options.process) sources.push_back(kSourceProcStat);
    sources.insert(sources.end(), {kSourceMeminfo, kSourceLoadavg, kSourceUptime, kSourceSysconf});
    if (!options.disk_paths.empty()) sources.push_back(kSourceStatvfs);
  }
  for (const FamilySpec& spec : kFamilies) {
    bool on = (spec.group == Group::kProcess && options.process) ||
              (spec.group == Group::kSystem && options.system) ||
              (spec.group == Group::kDisk && options.system && !options.disk_paths.empty()) ||
              (spec.group == Group::kInternal && !sources.empty());
    if (on) enabled.push_back(spec.id);
  }

  std::string buf;  // the boot time, read once up front; retried in collect() if this fails
  if (detail::read_file("/proc/stat", buf)) {
    if (auto btime = detail::parse_proc_stat_btime(buf)) boot_time_seconds.store(*btime);
  }
}

FamilyDesc ProcessCollector::Impl::desc(Family family) const noexcept {
  const FamilySpec& spec = kFamilies[family];
  FamilyDesc d;
  d.name = names[family];
  d.help = spec.help;
  d.unit = spec.unit;
  d.type = spec.type;
  switch (spec.labels) {
    case LabelKind::kNone:
      break;
    case LabelKind::kMode:
      d.label_names = mode_label;
      break;
    case LabelKind::kPath:
      d.label_names = path_label;
      break;
    case LabelKind::kSource:
      d.label_names = source_label;
      break;
  }
  return d;
}

// Boot time in Unix seconds, read from /proc/stat once and then cached: the kernel recomputes
// btime at each read from the wall clock, so it can wander by a second; caching keeps
// process_start_time_seconds constant.
std::optional<uint64_t> ProcessCollector::Impl::boot_time(std::string& buf) const noexcept {
  uint64_t cached = boot_time_seconds.load(std::memory_order_relaxed);
  if (cached != 0) return cached;
  std::optional<uint64_t> btime;
  if (detail::read_file("/proc/stat", buf)) btime = detail::parse_proc_stat_btime(buf);
  if (!btime || *btime == 0) {
    fail(kSourceProcStat);
    return std::nullopt;
  }
  boot_time_seconds.store(*btime, std::memory_order_relaxed);
  return btime;
}

void ProcessCollector::Impl::gauge(MetricSink& sink, Family family, double value) const {
  sink.begin_family(desc(family));
  sink.gauge({}, value);
  sink.end_family();
}

void ProcessCollector::Impl::counter(MetricSink& sink, Family family, double value,
                                     double created_at) const {
  sink.begin_family(desc(family));
  sink.counter({}, value, created_at);
  sink.end_family();
}

void ProcessCollector::Impl::collect_process(MetricSink& sink, Scratch& scratch) const {
  std::string& buf = scratch.file;
  std::optional<detail::ProcSelfStat> stat;
  if (detail::read_file("/proc/self/stat", buf)) stat = detail::parse_proc_self_stat(buf);
  if (stat) {
    double started_after_boot = static_cast<double>(stat->start_time_ticks) / clock_ticks;
    std::optional<double> start_time;
    if (std::optional<uint64_t> btime = boot_time(buf)) {
      start_time = static_cast<double>(*btime) + started_after_boot;
    }
    double cpu = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / clock_ticks;
    counter(sink, kProcessCpuSeconds, cpu, start_time.value_or(0));
    gauge(sink, kProcessResidentMemoryBytes, static_cast<double>(stat->rss_pages) * page_size);
    gauge(sink, kProcessVirtualMemoryBytes, static_cast<double>(stat->vsize_bytes));
    gauge(sink, kProcessThreads, static_cast<double>(stat->num_threads));
    if (start_time) gauge(sink, kProcessStartTimeSeconds, *start_time);
    // Measured on the clock starttime counts from, so wall-clock steps do not move it.
    if (std::optional<double> now = boot_clock_seconds()) {
      gauge(sink, kProcessUptimeSeconds, std::max(0.0, *now - started_after_boot));
    } else {
      fail(kSourceSelfStat);
    }
  } else {
    fail(kSourceSelfStat);
  }

  if (std::optional<uint64_t> fds = detail::count_open_fds()) {
    gauge(sink, kProcessOpenFds, static_cast<double>(*fds));
  } else {
    fail(kSourceSelfFd);
  }

  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    double max_fds = limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                                     : static_cast<double>(limit.rlim_cur);
    gauge(sink, kProcessMaxFds, max_fds);
  } else {
    fail(kSourceGetrlimit);
  }

  std::optional<detail::NetBytes> net;
  if (detail::read_file("/proc/self/net/netstat", buf)) net = detail::parse_netstat_ip_ext(buf);
  if (net) {
    counter(sink, kProcessNetworkReceiveBytes, static_cast<double>(net->received), 0);
    counter(sink, kProcessNetworkTransmitBytes, static_cast<double>(net->transmitted), 0);
  } else {
    fail(kSourceSelfNetstat);
  }
}

void ProcessCollector::Impl::collect_system(MetricSink& sink, Scratch& scratch) const {
  std::string& buf = scratch.file;

  std::optional<detail::CpuTimes> cpu;
  if (detail::read_file("/proc/stat", buf)) {
    cpu = detail::parse_proc_stat_cpu(buf);
    if (boot_time_seconds.load(std::memory_order_relaxed) == 0) {
      if (auto btime = detail::parse_proc_stat_btime(buf)) {
        boot_time_seconds.store(*btime, std::memory_order_relaxed);
      }
    }
  }
  if (cpu) {
    sink.begin_family(desc(kSystemCpuSeconds));
    double boot = static_cast<double>(boot_time_seconds.load(std::memory_order_relaxed));
    for (size_t i = 0; i < cpu->modes; ++i) {
      std::string_view mode = detail::kCpuModes[i];
      sink.counter(LabelValues(&mode, 1), static_cast<double>(cpu->ticks[i]) / clock_ticks, boot);
    }
    sink.end_family();
  } else {
    fail(kSourceProcStat);
  }

  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus > 0) {
    gauge(sink, kSystemCpuCount, static_cast<double>(cpus));
  } else {
    fail(kSourceSysconf);
  }

  detail::MemInfo mem;
  if (detail::read_file("/proc/meminfo", buf)) mem = detail::parse_meminfo(buf);
  if (mem.total_bytes) gauge(sink, kSystemMemoryTotalBytes, static_cast<double>(*mem.total_bytes));
  if (mem.available_bytes) {
    gauge(sink, kSystemMemoryAvailableBytes, static_cast<double>(*mem.available_bytes));
  }
  if (mem.total_bytes && mem.available_bytes && *mem.total_bytes > 0) {
    double used =
        1.0 - static_cast<double>(*mem.available_bytes) / static_cast<double>(*mem.total_bytes);
    gauge(sink, kSystemMemoryUsageRatio, std::clamp(used, 0.0, 1.0));
  } else {
    fail(kSourceMeminfo);
  }

  std::optional<std::array<double, 3>> load;
  if (detail::read_file("/proc/loadavg", buf)) load = detail::parse_loadavg(buf);
  if (load) {
    gauge(sink, kSystemLoad1, (*load)[0]);
    gauge(sink, kSystemLoad5, (*load)[1]);
    gauge(sink, kSystemLoad15, (*load)[2]);
  } else {
    fail(kSourceLoadavg);
  }

  std::optional<double> uptime;
  if (detail::read_file("/proc/uptime", buf)) uptime = detail::parse_uptime(buf);
  if (uptime) {
    gauge(sink, kSystemUptimeSeconds, *uptime);
  } else {
    fail(kSourceUptime);
  }

  if (!options.disk_paths.empty()) collect_disks(sink, scratch);
}

void ProcessCollector::Impl::collect_disks(MetricSink& sink, Scratch& scratch) const {
  const std::vector<std::string>& paths = options.disk_paths;
  try {
    scratch.disks.resize(paths.size());
  } catch (const std::bad_alloc&) {
    fail(kSourceStatvfs);
    return;
  }
  bool any = false;
  for (size_t i = 0; i < paths.size(); ++i) {
    DiskUsage& disk = scratch.disks[i];
    struct statvfs st {};
    disk.ok = ::statvfs(paths[i].c_str(), &st) == 0;
    if (!disk.ok) {
      fail(kSourceStatvfs);
      continue;
    }
    double block = static_cast<double>(st.f_frsize != 0 ? st.f_frsize : st.f_bsize);
    disk.total = static_cast<double>(st.f_blocks) * block;
    disk.free = static_cast<double>(st.f_bfree) * block;
    disk.available = static_cast<double>(st.f_bavail) * block;
    any = true;
  }
  if (!any) return;
  auto emit = [&](Family family, double DiskUsage::*field) {
    sink.begin_family(desc(family));
    for (size_t i = 0; i < paths.size(); ++i) {
      if (!scratch.disks[i].ok) continue;
      std::string_view path = paths[i];
      sink.gauge(LabelValues(&path, 1), scratch.disks[i].*field);
    }
    sink.end_family();
  };
  emit(kSystemDiskTotalBytes, &DiskUsage::total);
  emit(kSystemDiskFreeBytes, &DiskUsage::free);
  emit(kSystemDiskAvailableBytes, &DiskUsage::available);
}

void ProcessCollector::Impl::collect_errors(MetricSink& sink) const {
  if (sources.empty()) return;
  sink.begin_family(desc(kCollectorErrors));
  for (Source source : sources) {
    std::string_view name = kSourceNames[source];
    sink.counter(LabelValues(&name, 1),
                 static_cast<double>(errors[source].load(std::memory_order_relaxed)), created);
  }
  sink.end_family();
}

ProcessCollector::ProcessCollector() : ProcessCollector(ProcessCollectorOptions{}) {}

ProcessCollector::ProcessCollector(ProcessCollectorOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ProcessCollector::~ProcessCollector() = default;

std::vector<std::string> ProcessCollector::family_names() const {
  std::vector<std::string> result;
  result.reserve(impl_->enabled.size());
  for (Family family : impl_->enabled) result.push_back(impl_->names[family]);
  return result;
}

void ProcessCollector::collect(MetricSink& sink) const {
  Scratch& scratch = thread_scratch();
  if (impl_->options.process) impl_->collect_process(sink, scratch);
  if (impl_->options.system) impl_->collect_system(sink, scratch);
  impl_->collect_errors(sink);
}

const ProcessCollectorOptions& ProcessCollector::options() const noexcept { return impl_->options; }

}  // namespace vigil::metrics
