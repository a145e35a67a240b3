#include "metrics/detail/proc_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <new>

#if defined(__linux__)
#include <dirent.h>
#include <sys/syscall.h>

#include <cstddef>
#endif

namespace vigil::metrics::detail {
namespace {

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

// Splits off the next line (without its '\n'); false when nothing is left.
bool next_line(std::string_view& rest, std::string_view& line) noexcept {
  if (rest.empty()) return false;
  size_t end = rest.find('\n');
  if (end == std::string_view::npos) {
    line = rest;
    rest = {};
  } else {
    line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
  }
  return true;
}

// Splits off the next token separated by blanks (and, when `newline_is_blank`, newlines);
// returns an empty view when none is left.
std::string_view next_token(std::string_view& rest, bool newline_is_blank = false) noexcept {
  auto sep = [newline_is_blank](char c) { return is_blank(c) || (newline_is_blank && c == '\n'); };
  size_t i = 0;
  while (i < rest.size() && sep(rest[i])) ++i;
  size_t j = i;
  while (j < rest.size() && !sep(rest[j])) ++j;
  std::string_view token = rest.substr(i, j - i);
  rest.remove_prefix(j);
  return token;
}

// A finite, non-negative decimal number filling all of `text`.
std::optional<double> parse_non_negative_double(std::string_view text) noexcept {
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  double value = 0;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// The value of a "Key:   123 kB" line of /proc/meminfo, in bytes.
std::optional<uint64_t> parse_meminfo_value(std::string_view rest) noexcept {
  std::optional<uint64_t> number = parse_u64(next_token(rest));
  if (!number) return std::nullopt;
  std::string_view unit = next_token(rest);
  if (!next_token(rest).empty()) return std::nullopt;
  if (unit.empty()) return number;
  if (unit != "kB") return std::nullopt;
  if (*number > UINT64_MAX / 1024) return std::nullopt;
  return *number * 1024;
}

}  // namespace

std::optional<uint64_t> parse_u64(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<ProcSelfStat> parse_proc_self_stat(std::string_view content) noexcept {
  size_t open = content.find('(');
  size_t close = content.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  std::string_view pid_part = content.substr(0, open);
  if (!parse_u64(next_token(pid_part))) return std::nullopt;
  if (!next_token(pid_part).empty()) return std::nullopt;

  // Fields 3 (state) to 24 (rss) follow the name; field N is token N - 3.
  constexpr size_t kTokens = 24 - 3 + 1;
  std::array<std::string_view, kTokens> tokens;
  std::string_view rest = content.substr(close + 1);
  for (std::string_view& token : tokens) {
    token = next_token(rest, /*newline_is_blank=*/true);
    if (token.empty()) return std::nullopt;
  }
  auto field = [&tokens](size_t n) { return parse_u64(tokens[n - 3]); };
  auto utime = field(14), stime = field(15), threads = field(20), start = field(22),
       vsize = field(23), rss = field(24);
  if (!utime || !stime || !threads || !start || !vsize || !rss) return std::nullopt;
  return ProcSelfStat{*utime, *stime, *threads, *start, *vsize, *rss};
}

std::optional<CpuTimes> parse_proc_stat_cpu(std::string_view content) noexcept {
  std::string_view line;
  while (next_line(content, line)) {
    if (next_token(line) != "cpu") continue;
    CpuTimes times;
    for (uint64_t& ticks : times.ticks) {
      std::string_view token = next_token(line);
      if (token.empty()) break;
      std::optional<uint64_t> value = parse_u64(token);
      if (!value) return std::nullopt;
      ticks = *value;
      ++times.modes;
    }
    if (times.modes < 4) return std::nullopt;
    return times;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_proc_stat_btime(std::string_view content) noexcept {
  std::string_view line;
  while (next_line(content, line)) {
    if (next_token(line) != "btime") continue;
    std::optional<uint64_t> value = parse_u64(next_token(line));
    if (!value || !next_token(line).empty()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

MemInfo parse_meminfo(std::string_view content) noexcept {
  MemInfo info;
  std::string_view line;
  while (next_line(content, line) && !(info.total_bytes && info.available_bytes)) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon);
    std::optional<uint64_t>* slot = key == "MemTotal"       ? &info.total_bytes
                                    : key == "MemAvailable" ? &info.available_bytes
                                                            : nullptr;
    if (slot == nullptr || slot->has_value()) continue;
    *slot = parse_meminfo_value(line.substr(colon + 1));
  }
  return info;
}

std::optional<std::array<double, 3>> parse_loadavg(std::string_view content) noexcept {
  std::array<double, 3> loads{};
  for (double& load : loads) {
    std::optional<double> value = parse_non_negative_double(next_token(content, true));
    if (!value) return std::nullopt;
    load = *value;
  }
  return loads;
}

std::optional<double> parse_uptime(std::string_view content) noexcept {
  return parse_non_negative_double(next_token(content, true));
}

std::optional<NetBytes> parse_netstat_ip_ext(std::string_view content) noexcept {
  constexpr std::string_view kPrefix = "IpExt:";
  std::string_view line;
  while (next_line(content, line)) {
    if (!line.starts_with(kPrefix)) continue;
    std::string_view names = line.substr(kPrefix.size());
    std::string_view values;
    if (!next_line(content, values) || !values.starts_with(kPrefix)) return std::nullopt;
    values.remove_prefix(kPrefix.size());
    std::optional<uint64_t> in, out;
    for (;;) {
      std::string_view name = next_token(names);
      std::string_view value = next_token(values);
      if (name.empty() || value.empty()) break;
      if (name == "InOctets") in = parse_u64(value);
      if (name == "OutOctets") out = parse_u64(value);
    }
    if (!in || !out) return std::nullopt;
    return NetBytes{*in, *out};
  }
  return std::nullopt;
}

std::optional<uint64_t> resident_bytes() noexcept {
  static thread_local std::string buf;
  if (!read_file("/proc/self/stat", buf)) return std::nullopt;
  const std::optional<ProcSelfStat> stat = parse_proc_self_stat(buf);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (!stat || page <= 0) return std::nullopt;
  return stat->rss_pages * static_cast<uint64_t>(page);
}

bool read_file(const char* path, std::string& out) noexcept {
  constexpr size_t kMinSize = 4096;
  constexpr size_t kMaxSize = size_t{4} << 20;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = true;
  try {
    out.resize(std::max(out.capacity(), kMinSize));  // no allocation once the buffer is warm
    size_t size = 0;
    for (;;) {
      if (size == out.size()) {
        if (size >= kMaxSize) {
          ok = false;
          break;
        }
        out.resize(size * 2);
      }
      ssize_t n = ::read(fd, out.data() + size, out.size() - size);
      if (n < 0) {
        if (errno == EINTR) continue;
        ok = false;
        break;
      }
      if (n == 0) break;
      size += static_cast<size_t>(n);
    }
    out.resize(size);
  } catch (const std::bad_alloc&) {
    ok = false;
  }
  ::close(fd);
  return ok;
}

std::optional<uint64_t> count_open_fds() noexcept {
#if defined(__linux__)
  int fd = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char own_name[16];
  auto [own_end, own_ec] = std::to_chars(own_name, own_name + sizeof own_name, fd);
  std::string_view own(own_name, static_cast<size_t>(own_end - own_name));

  constexpr size_t kReclenAt = offsetof(struct dirent64, d_reclen);
  constexpr size_t kNameAt = offsetof(struct dirent64, d_name);
  alignas(8) char buf[8192];
  uint64_t count = 0;
  bool ok = own_ec == std::errc();
  while (ok) {
    long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    size_t end = static_cast<size_t>(n);
    for (size_t at = 0; at < end;) {
      unsigned short reclen = 0;
      if (at + kNameAt > end) {
        ok = false;
        break;
      }
      std::memcpy(&reclen, buf + at + kReclenAt, sizeof reclen);
      if (reclen <= kNameAt || at + reclen > end) {
        ok = false;
        break;
      }
      std::string_view name(buf + at + kNameAt, ::strnlen(buf + at + kNameAt, reclen - kNameAt));
      if (name != "." && name != ".." && name != own) ++count;
      at += reclen;
    }
  }
  ::close(fd);
  if (!ok) return std::nullopt;
  return count;
#else
  return std::nullopt;
#endif
}

}  // namespace vigil::metrics::detail
