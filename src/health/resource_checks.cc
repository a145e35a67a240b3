#include "vigil/health/resource_checks.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "core/detail/text.h"
#include "format.h"
#include "metrics/detail/proc_reader.h"
#include "vigil/core/error.h"

namespace vigil::health {
namespace {

namespace proc = vigil::metrics::detail;
using detail::format_bytes;
using detail::format_percent;

void check_ratios(const char* what, double warn, double fail, double max) {
  if (!(warn > 0) || !(fail > 0) || warn > fail || fail > max) {
    throw Error(std::string(what) +
                ": expected 0 < warn <= fail <= " + detail::format_number(max, 2) + " (got warn " +
                detail::format_number(warn, 4) + ", fail " + detail::format_number(fail, 4) + ")");
  }
}

// A cgroup memory limit file: a number of bytes, or "max" (v2). Values of 2^60 and more are
// what cgroup v1 writes for "no limit".
std::optional<uint64_t> read_limit_file(const std::string& path) {
  std::string buf;
  if (!proc::read_file(path.c_str(), buf)) return std::nullopt;
  const std::string_view v = vigil::detail::trim_line(buf);
  if (v == "max") return std::nullopt;
  const std::optional<uint64_t> n = proc::parse_u64(v);
  if (!n || *n >= (uint64_t{1} << 60)) return std::nullopt;
  return n;
}

// The smallest memory limit of the process's cgroup and its ancestors (v2, then v1).
std::optional<uint64_t> cgroup_memory_limit() {
  std::string cgroups;
  if (!proc::read_file("/proc/self/cgroup", cgroups)) return std::nullopt;
  std::optional<uint64_t> best;
  auto consider = [&](const std::string& root, std::string path, const char* file) {
    while (true) {
      if (std::optional<uint64_t> v = read_limit_file(root + path + "/" + file)) {
        if (!best || *v < *best) best = v;
      }
      if (path.empty() || path == "/") break;
      const size_t slash = path.rfind('/');
      path = slash == std::string::npos || slash == 0 ? std::string() : path.substr(0, slash);
    }
  };
  std::string_view rest = cgroups;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    // "hierarchy-ID:controller-list:cgroup-path"
    const size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) continue;
    const size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (path == "/") path.clear();
    if (line.substr(0, c1) == "0" && controllers.empty()) {
      consider("/sys/fs/cgroup", path, "memory.max");
    } else {
      // v1: the memory controller may share its hierarchy with others ("memory,cpu").
      std::string_view list = controllers;
      while (!list.empty()) {
        const size_t comma = list.find(',');
        if (list.substr(0, comma) == "memory") {
          consider("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
          break;
        }
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
    }
  }
  return best;
}

std::optional<uint64_t> physical_memory() {
  std::string buf;
  if (!proc::read_file("/proc/meminfo", buf)) return std::nullopt;
  return proc::parse_meminfo(buf).total_bytes;
}

Status level(double value, double warn, double fail) {
  if (value >= fail) return Status::kFail;
  if (value >= warn) return Status::kWarn;
  return Status::kPass;
}

}  // namespace

std::function<CheckResult()> process_memory_check(ProcessMemoryOptions options) {
  check_ratios("process_memory_check", options.warn_ratio, options.fail_ratio, 1e9);
  return [options]() -> CheckResult {
    const std::optional<uint64_t> rss = proc::resident_bytes();
    if (!rss) return CheckResult::fail("cannot read the resident set size from /proc/self/stat");
    std::optional<uint64_t> limit;
    std::string source = "limit";
    if (options.limit_bytes > 0) {
      limit = options.limit_bytes;
    } else if ((limit = cgroup_memory_limit())) {
      source = "cgroup limit";
    } else if ((limit = physical_memory())) {
      source = "physical memory";
    }
    if (!limit || *limit == 0) {
      return CheckResult::fail("rss " + format_bytes(*rss) +
                               ": no limit to compare with (no cgroup limit, no /proc/meminfo)")
          .observe(static_cast<double>(*rss), "bytes");
    }
    const double ratio = static_cast<double>(*rss) / static_cast<double>(*limit);
    CheckResult r;
    r.status = level(ratio, options.warn_ratio, options.fail_ratio);
    r.output = "rss " + format_bytes(*rss) + " of " + format_bytes(*limit) + " " + source + " (" +
               format_percent(ratio * 100) + ")";
    if (r.status != Status::kPass) {
      r.output += r.status == Status::kFail
                      ? "; fails at " + format_percent(options.fail_ratio * 100)
                      : "; warns at " + format_percent(options.warn_ratio * 100);
    }
    return std::move(r).observe(static_cast<double>(*rss), "bytes");
  };
}

std::function<CheckResult()> system_memory_check(SystemMemoryOptions options) {
  check_ratios("system_memory_check", options.warn_percent, options.fail_percent, 100);
  return [options]() -> CheckResult {
    std::string buf;
    if (!proc::read_file("/proc/meminfo", buf)) {
      return CheckResult::fail("cannot read /proc/meminfo");
    }
    const proc::MemInfo info = proc::parse_meminfo(buf);
    if (!info.total_bytes || !info.available_bytes || *info.total_bytes == 0) {
      return CheckResult::fail("/proc/meminfo has no MemTotal or MemAvailable");
    }
    const uint64_t total = *info.total_bytes;
    const uint64_t used = total - std::min(total, *info.available_bytes);
    const double percent = 100.0 * static_cast<double>(used) / static_cast<double>(total);
    CheckResult r;
    r.status = level(percent, options.warn_percent, options.fail_percent);
    r.output = "memory " + format_percent(percent) + " used (" + format_bytes(used) + " of " +
               format_bytes(total) + ")";
    if (r.status != Status::kPass) {
      r.output += r.status == Status::kFail ? "; fails at " + format_percent(options.fail_percent)
                                            : "; warns at " + format_percent(options.warn_percent);
    }
    return std::move(r).observe(std::round(percent * 100) / 100, "percent");
  };
}

std::function<CheckResult()> disk_space_check(DiskSpaceOptions options) {
  if (options.path.empty()) throw Error("disk_space_check: the path must not be empty");
  if (!(options.fail_free_percent >= 0) || !(options.warn_free_percent >= 0) ||
      options.fail_free_percent > options.warn_free_percent || options.warn_free_percent > 100) {
    throw Error(
        "disk_space_check: expected 0 <= fail_free_percent <= warn_free_percent <= 100 (got "
        "warn " +
        detail::format_number(options.warn_free_percent, 2) + ", fail " +
        detail::format_number(options.fail_free_percent, 2) + ")");
  }
  return [options]() -> CheckResult {
    struct statvfs st {};
    if (statvfs(options.path.c_str(), &st) != 0) {
      const int err = errno;
      return CheckResult::fail("cannot stat the file system of " + options.path + ": " +
                               std::strerror(err));
    }
    const uint64_t block = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
    const uint64_t total = static_cast<uint64_t>(st.f_blocks) * block;
    const uint64_t free = static_cast<uint64_t>(st.f_bavail) * block;
    if (total == 0) return CheckResult::fail("the file system of " + options.path + " is empty");
    const double percent = 100.0 * static_cast<double>(free) / static_cast<double>(total);
    CheckResult r;
    r.output = "free " + format_bytes(free) + " of " + format_bytes(total) + " (" +
               format_percent(percent) + ") on " + options.path;
    if (percent < options.fail_free_percent) {
      r.status = Status::kFail;
      r.output += "; fails below " + format_percent(options.fail_free_percent) + " free";
    } else if (options.min_free_bytes > 0 && free < options.min_free_bytes) {
      r.status = Status::kFail;
      r.output += "; fails below " + format_bytes(options.min_free_bytes) + " free";
    } else if (percent < options.warn_free_percent) {
      r.status = Status::kWarn;
      r.output += "; warns below " + format_percent(options.warn_free_percent) + " free";
    }
    return std::move(r).observe(std::round(percent * 100) / 100, "percent");
  };
}

std::function<CheckResult()> file_descriptor_check(FileDescriptorOptions options) {
  check_ratios("file_descriptor_check", options.warn_ratio, options.fail_ratio, 1e9);
  return [options]() -> CheckResult {
    const std::optional<uint64_t> open = proc::count_open_fds();
    if (!open) return CheckResult::fail("cannot count the open file descriptors (/proc/self/fd)");
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur == 0) {
      return CheckResult::pass("open fds " + std::to_string(*open) + " (no limit)")
          .observe(static_cast<double>(*open), "fds");
    }
    const uint64_t limit = rl.rlim_cur;
    const double ratio = static_cast<double>(*open) / static_cast<double>(limit);
    CheckResult r;
    r.status = level(ratio, options.warn_ratio, options.fail_ratio);
    r.output = "open fds " + std::to_string(*open) + " of " + std::to_string(limit) + " (" +
               format_percent(ratio * 100) + ")";
    if (r.status != Status::kPass) {
      r.output += r.status == Status::kFail
                      ? "; fails at " + format_percent(options.fail_ratio * 100)
                      : "; warns at " + format_percent(options.warn_ratio * 100);
    }
    return std::move(r).observe(static_cast<double>(*open), "fds");
  };
}

}  // namespace vigil::health
