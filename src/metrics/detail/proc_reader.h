// src/metrics/detail/proc_reader.h (internal, not installed): parsers for the Linux /proc files
// and the few system calls to read them without allocating. Defined in vigil::metrics
// (proc_reader.cc); used by the process collector (vigil::metrics) and by the resource health
// checks (vigil::health), which include it as "metrics/detail/proc_reader.h" through the
// vigil_detail_headers target.
//
// Contract (what both users may rely on, and what a change must keep):
// - The parsers are pure functions of the file's content, so tests and fuzzers feed them
//   fixtures (weird process names, old kernels, truncated or garbage content). None of them
//   throws or allocates; each returns nullopt (or an empty field) when the content does not have
//   the expected shape, never a partly parsed value.
// - Values are in the file's own units unless the comment says otherwise (meminfo: bytes).
// - Thread-safe: no state; read_file and count_open_fds touch only their arguments and the file
//   system.
// - Linux only in effect: elsewhere the files are absent and the readers return false/nullopt.
//
//   std::string buf;
//   if (detail::read_file("/proc/self/stat", buf)) {
//     if (auto stat = detail::parse_proc_self_stat(buf)) use(stat->num_threads);
//   }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::metrics::detail {

// Fields of /proc/self/stat (see proc(5)) the collector uses, in the file's own units.
struct ProcSelfStat {
  uint64_t utime_ticks = 0;       // field 14, clock ticks in user mode
  uint64_t stime_ticks = 0;       // field 15, clock ticks in kernel mode
  uint64_t num_threads = 0;       // field 20
  uint64_t start_time_ticks = 0;  // field 22, clock ticks after boot
  uint64_t vsize_bytes = 0;       // field 23
  uint64_t rss_pages = 0;         // field 24
};

// Parses /proc/[pid]/stat. The process name (field 2) is in parentheses and may itself contain
// spaces and parentheses, so the fields after it are found from the LAST ')'. Returns nullopt
// when fields up to rss (24) are missing or a used field is not an unsigned decimal integer.
std::optional<ProcSelfStat> parse_proc_self_stat(std::string_view content) noexcept;

// The modes of the aggregate "cpu" line of /proc/stat, in file order. Later fields (guest,
// guest_nice) are already included in user and nice, so they are not read.
inline constexpr std::array<std::string_view, 8> kCpuModes = {"user",   "nice", "system",  "idle",
                                                              "iowait", "irq",  "softirq", "steal"};

struct CpuTimes {
  std::array<uint64_t, kCpuModes.size()> ticks{};  // indexed like kCpuModes
  size_t modes = 0;  // how many leading modes the kernel reported (4 to 8)
};

// Parses the aggregate "cpu " line of /proc/stat (not the per-CPU "cpuN" lines). Needs at least
// user, nice, system and idle; old kernels report fewer than 8 modes.
std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view content) noexcept;

// The "btime" line of /proc/stat: boot time in seconds since the Unix epoch.
std::optional<uint64_t> parse_proc_stat_btime(std::string_view content) noexcept;

// MemTotal and MemAvailable of /proc/meminfo, converted from kB to bytes. Each is nullopt when
// absent or malformed (MemAvailable exists since Linux 3.14).
struct MemInfo {
  std::optional<uint64_t> total_bytes;
  std::optional<uint64_t> available_bytes;
};
MemInfo parse_meminfo(std::string_view content) noexcept;

// The 1, 5 and 15 minute load averages: the first three fields of /proc/loadavg.
std::optional<std::array<double, 3>> parse_loadavg(std::string_view content) noexcept;

// Seconds since boot: the first field of /proc/uptime.
std::optional<double> parse_uptime(std::string_view content) noexcept;

// InOctets and OutOctets of the "IpExt:" header/value line pair of /proc/[pid]/net/netstat.
struct NetBytes {
  uint64_t received = 0;
  uint64_t transmitted = 0;
};
std::optional<NetBytes> parse_netstat_ip_ext(std::string_view content) noexcept;

// An unsigned decimal integer filling all of `text` (no sign, no spaces), or nullopt; also on
// overflow.
std::optional<uint64_t> parse_u64(std::string_view text) noexcept;

// Reads the whole of a (proc) file into `out`, reusing its capacity: after the first call with
// the same buffer, no allocation unless the file grew. Gives up on files over 4 MiB. Returns
// false (and leaves `out` unspecified) when the file cannot be opened or read, or on bad_alloc.
bool read_file(const char* path, std::string& out) noexcept;

// The process's resident set size in bytes (rss pages of /proc/self/stat times the page size),
// read into a per-thread buffer (no allocation after a thread's first call). nullopt when the
// file cannot be read or parsed. Cost: one open/read/close of /proc/self/stat (~2-4 us).
std::optional<uint64_t> resident_bytes() noexcept;

// Number of entries of /proc/self/fd, not counting the descriptor used to list it. Uses
// getdents64 with a stack buffer (no allocation; opendir allocates 32 KiB). nullopt on error
// and on systems other than Linux.
std::optional<uint64_t> count_open_fds() noexcept;

}  // namespace vigil::metrics::detail
