#include "vigil/metrics/process_collector.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "metrics/detail/proc_reader.h"
#include "vigil/core/clock.h"
#include "vigil/core/error.h"

namespace vigil::metrics {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// When this test binary was loaded: the process started shortly before.
const double kLoadedAt = unix_time_seconds();

// ---------------------------------------------------------------------------------------------
// A sink that records what a collection emitted, and checks the MetricSink call protocol.

struct RecordedSeries {
  std::vector<std::string> labels;
  double value = 0;
  double created = 0;
};

struct RecordedFamily {
  std::string name;
  std::string help;
  std::string unit;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<RecordedSeries> series;
};

class RecordingSink final : public MetricSink {
 public:
  void begin_family(const FamilyDesc& family) override {
    EXPECT_FALSE(open_) << "begin_family inside family " << families.back().name;
    open_ = true;
    RecordedFamily f;
    f.name = family.name;
    f.help = family.help;
    f.unit = family.unit;
    f.type = family.type;
    f.label_names.assign(family.label_names.begin(), family.label_names.end());
    EXPECT_TRUE(family.const_labels.empty());
    families.push_back(std::move(f));
  }
  void counter(LabelValues labels, double value, double created) override {
    add(MetricType::kCounter, labels, value, created);
  }
  void gauge(LabelValues labels, double value) override {
    add(MetricType::kGauge, labels, value, 0);
  }
  void histogram(LabelValues, const HistogramPoint&) override { ADD_FAILURE() << "histogram"; }
  void summary(LabelValues, const SummaryPoint&) override { ADD_FAILURE() << "summary"; }
  void info(LabelValues) override { ADD_FAILURE() << "info"; }
  void end_family() override {
    EXPECT_TRUE(open_) << "end_family without begin_family";
    EXPECT_FALSE(families.empty() || families.back().series.empty())
        << "family without series: " << families.back().name;
    open_ = false;
  }
  bool open() const { return open_; }

  std::vector<RecordedFamily> families;

 private:
  void add(MetricType type, LabelValues labels, double value, double created) {
    ASSERT_TRUE(open_) << "series outside a family";
    RecordedFamily& f = families.back();
    EXPECT_EQ(f.type, type) << f.name;
    EXPECT_EQ(labels.size(), f.label_names.size()) << f.name;
    RecordedSeries s;
    s.labels.assign(labels.begin(), labels.end());
    s.value = value;
    s.created = created;
    f.series.push_back(std::move(s));
  }
  bool open_ = false;
};

struct Snapshot {
  std::vector<RecordedFamily> families;

  const RecordedFamily* find(std::string_view name) const {
    for (const RecordedFamily& f : families) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const RecordedFamily& f : families) result.push_back(f.name);
    return result;
  }
  const RecordedSeries* series(std::string_view name,
                               const std::vector<std::string>& labels = {}) const {
    const RecordedFamily* f = find(name);
    if (f == nullptr) return nullptr;
    for (const RecordedSeries& s : f->series) {
      if (s.labels == labels) return &s;
    }
    return nullptr;
  }
  // The value of one series; a test failure (and NaN) when it is missing.
  double value(std::string_view name, const std::vector<std::string>& labels = {}) const {
    const RecordedSeries* s = series(name, labels);
    if (s == nullptr) {
      ADD_FAILURE() << "no series " << name << " with " << labels.size() << " labels";
      return std::numeric_limits<double>::quiet_NaN();
    }
    return s->value;
  }
};

Snapshot collect(const ProcessCollector& collector) {
  RecordingSink sink;
  collector.collect(sink);
  EXPECT_FALSE(sink.open());
  return Snapshot{std::move(sink.families)};
}

double errors(const Snapshot& snap, const std::string& source) {
  return snap.value("vigil_process_collector_errors", {source});
}

// Polls `collector` until `pred(value)` holds for family `name` or a second has passed; returns
// the last value seen.
template <typename Pred>
double wait_for(const ProcessCollector& collector, std::string_view name, Pred pred) {
  double value = 0;
  for (int i = 0; i < 100; ++i) {
    value = collect(collector).value(name);
    if (pred(value)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Parsers, fed fixtures.

// /proc/self/stat of `cat` on Linux 6.18; the rss field (24) is 383 pages.
constexpr std::string_view kStat =
    "4900 (cat) R 4894 4894 2752 0 -1 4194304 102 0 0 0 7 3 0 0 20 0 1 0 38067 3133440 383 "
    "18446744073709551615 94868104622080 94868104641961 140723590917904 0 0 0 0 0 0 0 0 0 17 1 0 "
    "0 0 0 0 94868104657968 94868104659584 94868881907712 140723590924742 140723590924762 "
    "140723590924762 140723590926315 0\n";

std::string stat_with_name(std::string_view name) {
  const size_t open = kStat.find('(') + 1;
  std::string s(kStat.substr(0, open));
  s.append(name);
  s.append(kStat.substr(kStat.find(')')));
  return s;
}

TEST(ParseProcSelfStat, ReadsTheFieldsAfterTheName) {
  auto stat = detail::parse_proc_self_stat(kStat);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->utime_ticks, 7u);
  EXPECT_EQ(stat->stime_ticks, 3u);
  EXPECT_EQ(stat->num_threads, 1u);
  EXPECT_EQ(stat->start_time_ticks, 38067u);
  EXPECT_EQ(stat->vsize_bytes, 3133440u);
  EXPECT_EQ(stat->rss_pages, 383u);
}

TEST(ParseProcSelfStat, NamesWithSpacesAndParentheses) {
  for (std::string_view name :
       {"a) b (c", "a b", ")", "(", "))", "x) R 1 2 3 4", "", "((a))", "tab\tname", "new\nline",
        ") S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22"}) {
    SCOPED_TRACE(name);
    auto stat = detail::parse_proc_self_stat(stat_with_name(name));
    ASSERT_TRUE(stat);
    EXPECT_EQ(stat->utime_ticks, 7u);
    EXPECT_EQ(stat->num_threads, 1u);
    EXPECT_EQ(stat->rss_pages, 383u);
  }
}

TEST(ParseProcSelfStat, RejectsTruncatedContent) {
  const size_t rss_at = kStat.find(" 383 ") + 1;
  for (size_t len = 0; len <= rss_at; ++len) {
    EXPECT_FALSE(detail::parse_proc_self_stat(kStat.substr(0, len))) << len;
  }
  // Cut inside or after rss: whatever digits are left are read, nothing crashes.
  for (size_t len = rss_at + 1; len <= kStat.size(); ++len) {
    EXPECT_TRUE(detail::parse_proc_self_stat(kStat.substr(0, len))) << len;
  }
}

TEST(ParseProcSelfStat, RejectsGarbage) {
  std::string negative(kStat);
  negative.replace(negative.find(" 7 3 "), 5, " -7 3 ");
  std::string overflow(kStat);
  overflow.replace(overflow.find(" 383 "), 5, " 99999999999999999999999 ");
  std::string letters(kStat);
  letters.replace(letters.find(" 1 0 38067"), 3, " x ");
  std::string no_pid(kStat.substr(kStat.find('(')));
  std::string bad_pid = "abc " + no_pid;
  std::string with_nul(kStat);
  with_nul[with_nul.find("38067")] = '\0';
  for (std::string_view text :
       {std::string_view(""), std::string_view("()"), std::string_view(")("),
        std::string_view("garbage"), std::string_view("1 (x)"), std::string_view("1 (x) S 2 3"),
        std::string_view(negative), std::string_view(overflow), std::string_view(letters),
        std::string_view(no_pid), std::string_view(bad_pid), std::string_view(with_nul)}) {
    EXPECT_FALSE(detail::parse_proc_self_stat(text)) << text;
  }
}

constexpr std::string_view kProcStat =
    "cpu  1910 0 1872 71629 333 0 34 7 0 0\n"
    "cpu0 613 0 749 36505 5 0 7 2 0 0\n"
    "cpu1 1296 0 1123 35123 328 0 26 5 0 0\n"
    "intr 141375 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    "ctxt 274113\n"
    "btime 1795362478\n"
    "processes 4906\n"
    "procs_running 1\n"
    "procs_blocked 0\n"
    "softirq 69052 0 7733 1 3 6217 0 5 30396 0 24697\n";

TEST(ParseProcStat, ReadsTheAggregateCpuLine) {
  auto cpu = detail::parse_proc_stat_cpu(kProcStat);
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->modes, 8u);
  EXPECT_THAT(cpu->ticks, ElementsAre(1910, 0, 1872, 71629, 333, 0, 34, 7));
}

TEST(ParseProcStat, OldKernelsReportFewerModes) {
  auto cpu = detail::parse_proc_stat_cpu("cpu 1 2 3 4\ncpu0 1 2 3 4\n");
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->modes, 4u);
  EXPECT_THAT(cpu->ticks, ElementsAre(1, 2, 3, 4, 0, 0, 0, 0));
  cpu = detail::parse_proc_stat_cpu("cpu\t1 2 3 4 5 6 7");  // no newline, tab separated
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->modes, 7u);
}

TEST(ParseProcStat, RejectsMalformedCpuLines) {
  for (std::string_view text :
       {"", "cpu", "cpu 1 2 3\n", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 x 3 4 5\n", "cpu -1 2 3 4\n",
        "intr 1 2 3 4\n", "cpux 1 2 3 4\n"}) {
    EXPECT_FALSE(detail::parse_proc_stat_cpu(text)) << text;
  }
  // The aggregate line is found even when it is not the first.
  EXPECT_TRUE(detail::parse_proc_stat_cpu("intr 1\ncpu 1 2 3 4\n"));
}

TEST(ParseProcStat, ReadsBootTime) {
  EXPECT_EQ(detail::parse_proc_stat_btime(kProcStat), 1795362478u);
  for (std::string_view text :
       {"", "btime", "btime \n", "btime abc\n", "btime 12 13\n", "btimes 12\n", "cpu 1 2 3 4\n"}) {
    EXPECT_FALSE(detail::parse_proc_stat_btime(text)) << text;
  }
}

constexpr std::string_view kMeminfo =
    "MemTotal:       24684084 kB\n"
    "MemFree:        24295476 kB\n"
    "MemAvailable:   24346144 kB\n"
    "Buffers:            3984 kB\n"
    "HugePages_Total:       0\n";

TEST(ParseMeminfo, ConvertsKilobytesToBytes) {
  detail::MemInfo info = detail::parse_meminfo(kMeminfo);
  EXPECT_EQ(info.total_bytes, 24684084ull * 1024);
  EXPECT_EQ(info.available_bytes, 24346144ull * 1024);
}

TEST(ParseMeminfo, MissingOrMalformedFieldsAreEmpty) {
  detail::MemInfo old_kernel = detail::parse_meminfo("MemTotal: 100 kB\nMemFree: 50 kB\n");
  EXPECT_EQ(old_kernel.total_bytes, 102400u);
  EXPECT_FALSE(old_kernel.available_bytes);

  EXPECT_EQ(detail::parse_meminfo("MemTotal: 100\n").total_bytes, 100u);  // no unit: bytes
  for (std::string_view text :
       {"", "MemTotal:", "MemTotal: kB\n", "MemTotal: 100 MB\n", "MemTotal: 100 kB extra\n",
        "MemTotal: 18446744073709551615 kB\n", "MemTotalX: 100 kB\n", "MemTotal 100 kB\n",
        "MemTotal: -100 kB\n", "garbage\n\n\n"}) {
    EXPECT_FALSE(detail::parse_meminfo(text).total_bytes) << text;
  }
  // Truncated: every prefix parses without crashing; the total appears once its digits do.
  for (size_t len = 0; len <= kMeminfo.size(); ++len) {
    detail::MemInfo info = detail::parse_meminfo(kMeminfo.substr(0, len));
    if (len < kMeminfo.find("24684084")) {
      EXPECT_FALSE(info.total_bytes) << len;
    }
  }
}

TEST(ParseLoadavg, ReadsThreeAverages) {
  auto load = detail::parse_loadavg("0.20 0.12 0.05 1/101 4905\n");
  ASSERT_TRUE(load);
  EXPECT_THAT(*load, ElementsAre(0.20, 0.12, 0.05));
  for (std::string_view text :
       {"", "0.20 0.12", "0.20 0.12 x", "-1 0 0", "nan 0 0", "inf 0 0", "0.2,0.1,0.0", "1e3 0 0"}) {
    EXPECT_FALSE(detail::parse_loadavg(text)) << text;
  }
}

TEST(ParseUptime, ReadsTheFirstField) {
  EXPECT_EQ(detail::parse_uptime("380.68 716.29\n"), 380.68);
  EXPECT_EQ(detail::parse_uptime("12"), 12.0);
  for (std::string_view text : {"", "\n", "abc 1", "-3.5 1", "1.2.3 4"}) {
    EXPECT_FALSE(detail::parse_uptime(text)) << text;
  }
}

constexpr std::string_view kNetstat =
    "TcpExt: SyncookiesSent SyncookiesRecv\n"
    "TcpExt: 0 0\n"
    "IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts "
    "InOctets OutOctets InMcastOctets\n"
    "IpExt: 0 0 0 0 0 0 55954685 58967 0\n"
    "MPTcpExt: MPCapableSYNRX\n"
    "MPTcpExt: 0\n";

TEST(ParseNetstat, ReadsIpExtOctets) {
  auto net = detail::parse_netstat_ip_ext(kNetstat);
  ASSERT_TRUE(net);
  EXPECT_EQ(net->received, 55954685u);
  EXPECT_EQ(net->transmitted, 58967u);
  for (std::string_view text :
       {"", "IpExt: InOctets OutOctets\n", "IpExt: InOctets OutOctets\nTcpExt: 1 2\n",
        "IpExt: InOctets OutOctets\nIpExt: 1\n", "IpExt: InOctets\nIpExt: 1\n",
        "IpExt: InOctets OutOctets\nIpExt: 1 x\n", "TcpExt: InOctets OutOctets\nTcpExt: 1 2\n"}) {
    EXPECT_FALSE(detail::parse_netstat_ip_ext(text)) << text;
  }
}

TEST(ParseU64, AcceptsOnlyWholeUnsignedDecimals) {
  EXPECT_EQ(detail::parse_u64("0"), 0u);
  EXPECT_EQ(detail::parse_u64("18446744073709551615"), UINT64_MAX);
  for (std::string_view text :
       {"", "18446744073709551616", "-1", "+1", " 1", "1 ", "0x10", "1.5"}) {
    EXPECT_FALSE(detail::parse_u64(text)) << text;
  }
}

// Random garbage and random mutations of the fixtures: every parser returns (run under
// ASan/UBSan for memory errors), is a pure function of its input, and what it returns keeps the
// invariants its contract promises; each parser both accepts and rejects some of the inputs.
TEST(Parsers, SurviveRandomInput) {
  using namespace std::string_view_literals;
  std::mt19937 rng(12345);
  // A string_view literal keeps the NUL and 0xff bytes (a const char* alphabet would stop at
  // the NUL, and the bytes after it would never be generated).
  constexpr std::string_view alphabet =
      "0123456789 ()\n\t:-.kBcpuIpExtbtimeMemTotalAvailableInOctets\0\xff"sv;
  static_assert(alphabet.find('\0') != std::string_view::npos);
  static_assert(alphabet.back() == '\xff');
  const std::vector<std::string_view> fixtures = {
      kStat, kProcStat, kMeminfo, kNetstat, "0.20 0.12 0.05 1/101 4905\n", "380.68 716.29\n"};
  auto has = [](const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
  };
  enum { kSelfStat, kCpu, kBtime, kMemTotal, kMemAvailable, kLoadavg, kUptime, kNetBytes, kN };
  std::array<int, kN> accepted{};
  std::array<int, kN> rejected{};
  auto count = [&](int which, bool ok) { ++(ok ? accepted : rejected)[which]; };
  int with_nul = 0;
  int with_ff = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    if (i % 2 == 0) {
      size_t len = rng() % 300;
      for (size_t j = 0; j < len; ++j) text += alphabet[rng() % alphabet.size()];
    } else {
      text = fixtures[rng() % fixtures.size()];
      for (int m = 0; m < 4; ++m) text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
      text.resize(rng() % (text.size() + 1));
    }
    with_nul += has(text, std::string_view("\0", 1)) ? 1 : 0;
    with_ff += has(text, "\xff") ? 1 : 0;
    SCOPED_TRACE(::testing::PrintToString(text));

    const auto stat = detail::parse_proc_self_stat(text);
    count(kSelfStat, stat.has_value());
    if (stat) {
      // "pid (name) fields...": the name's parentheses were found, after a pid.
      EXPECT_TRUE(has(text, "(") && has(text, ")"));
      EXPECT_LT(text.find('('), text.rfind(')'));
    }
    const auto again = detail::parse_proc_self_stat(text);
    ASSERT_EQ(stat.has_value(), again.has_value());
    if (stat) {
      EXPECT_EQ(stat->utime_ticks, again->utime_ticks);
      EXPECT_EQ(stat->rss_pages, again->rss_pages);
    }

    const auto cpu = detail::parse_proc_stat_cpu(text);
    count(kCpu, cpu.has_value());
    if (cpu) {
      EXPECT_TRUE(has(text, "cpu"));
      EXPECT_GE(cpu->modes, 4u);
      EXPECT_LE(cpu->modes, detail::kCpuModes.size());
      for (size_t m = cpu->modes; m < cpu->ticks.size(); ++m) {
        EXPECT_EQ(cpu->ticks[m], 0u);
      }
      const auto cpu_again = detail::parse_proc_stat_cpu(text);
      ASSERT_TRUE(cpu_again);
      EXPECT_EQ(cpu_again->ticks, cpu->ticks);
    }

    const auto btime = detail::parse_proc_stat_btime(text);
    count(kBtime, btime.has_value());
    if (btime) {
      EXPECT_TRUE(has(text, "btime"));
      EXPECT_EQ(detail::parse_proc_stat_btime(text), btime);
    }

    const detail::MemInfo mem = detail::parse_meminfo(text);
    count(kMemTotal, mem.total_bytes.has_value());
    count(kMemAvailable, mem.available_bytes.has_value());
    if (mem.total_bytes) {
      EXPECT_TRUE(has(text, "MemTotal:"));
    }
    if (mem.available_bytes) {
      EXPECT_TRUE(has(text, "MemAvailable:"));
    }
    const detail::MemInfo mem_again = detail::parse_meminfo(text);
    EXPECT_EQ(mem_again.total_bytes, mem.total_bytes);
    EXPECT_EQ(mem_again.available_bytes, mem.available_bytes);

    const auto load = detail::parse_loadavg(text);
    count(kLoadavg, load.has_value());
    if (load) {
      for (double l : *load) {
        EXPECT_TRUE(std::isfinite(l));
        EXPECT_GE(l, 0.0);
      }
    }
    const auto up = detail::parse_uptime(text);
    count(kUptime, up.has_value());
    if (up) {
      EXPECT_TRUE(std::isfinite(*up));
      EXPECT_GE(*up, 0.0);
      EXPECT_EQ(detail::parse_uptime(text), up);
    }
    // The load averages' first field is the uptime parser's field: both read the first token.
    if (load) {
      ASSERT_TRUE(up);
      EXPECT_EQ(*up, (*load)[0]);
    }

    const auto net = detail::parse_netstat_ip_ext(text);
    count(kNetBytes, net.has_value());
    if (net) {
      EXPECT_TRUE(has(text, "IpExt:") && has(text, "InOctets") && has(text, "OutOctets"));
      const auto net_again = detail::parse_netstat_ip_ext(text);
      ASSERT_TRUE(net_again);
      EXPECT_EQ(net_again->received, net->received);
      EXPECT_EQ(net_again->transmitted, net->transmitted);
    }

    // parse_u64 round-trips every value and rejects anything appended.
    const uint64_t v = (static_cast<uint64_t>(rng()) << 32 | rng()) >> (rng() % 64);
    EXPECT_EQ(detail::parse_u64(std::to_string(v)), v);
    EXPECT_FALSE(detail::parse_u64(std::to_string(v) + alphabet[10 + rng() % 50]));
  }
  // The generator does produce the bytes after the NUL, and every parser is exercised on both
  // of its outcomes (a parser that always failed or always succeeded would show here).
  EXPECT_GT(with_nul, 0);
  EXPECT_GT(with_ff, 0);
  for (int k = 0; k < kN; ++k) {
    EXPECT_GT(accepted[k], 0) << "parser " << k << " never accepted an input";
    EXPECT_GT(rejected[k], 0) << "parser " << k << " never rejected an input";
  }
}

TEST(ReadFile, ReadsWholeFilesAndReusesTheBuffer) {
  char path[] = "/tmp/vigil_read_file_XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string content;
  for (int i = 0; content.size() < 100'000; ++i) content += "line " + std::to_string(i) + "\n";
  ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fd);

  std::string buf;
  ASSERT_TRUE(detail::read_file(path, buf));
  EXPECT_EQ(buf, content);
  const char* data = buf.data();
  ASSERT_TRUE(detail::read_file("/proc/self/stat", buf));
  EXPECT_EQ(buf.data(), data) << "a warm buffer is reused";
  EXPECT_TRUE(detail::parse_proc_self_stat(buf));
  ::unlink(path);

  EXPECT_FALSE(detail::read_file("/nonexistent/vigil", buf));
  EXPECT_FALSE(detail::read_file("/proc/self", buf));  // a directory
}

TEST(CountOpenFds, CountsADescriptorWhileItIsOpen) {
  std::optional<uint64_t> before = detail::count_open_fds();
  ASSERT_TRUE(before);
  EXPECT_GE(*before, 3u);  // stdin, stdout, stderr
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(detail::count_open_fds(), *before + 1);
  ::close(fd);
  EXPECT_EQ(detail::count_open_fds(), *before);
}

// ---------------------------------------------------------------------------------------------
// The collector, against the running process and host.

const std::vector<std::string> kDefaultFamilies = {
    "process_cpu_seconds",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_threads",
    "process_start_time_seconds",
    "process_uptime_seconds",
    "process_open_fds",
    "process_max_fds",
    "process_network_receive_bytes",
    "process_network_transmit_bytes",
    "system_cpu_seconds",
    "system_cpus",
    "system_memory_total_bytes",
    "system_memory_available_bytes",
    "system_memory_usage_ratio",
    "system_load1",
    "system_load5",
    "system_load15",
    "system_uptime_seconds",
    "system_disk_total_bytes",
    "system_disk_free_bytes",
    "system_disk_available_bytes",
    "vigil_process_collector_errors",
};

TEST(ProcessCollector, DefaultFamilies) {
  ProcessCollector collector;
  EXPECT_THAT(collector.family_names(), ElementsAreArray(kDefaultFamilies));
  EXPECT_THAT(collect(collector).names(), ElementsAreArray(kDefaultFamilies));
}

TEST(ProcessCollector, FamilyNamesMatchEmittedFamiliesForEveryOptionSet) {
  for (bool process : {true, false}) {
    for (bool system : {true, false}) {
      for (bool disks : {true, false}) {
        for (std::string prefix : {"", "app", "app_"}) {
          ProcessCollectorOptions options;
          options.process = process;
          options.system = system;
          options.prefix = prefix;
          if (!disks) options.disk_paths.clear();
          SCOPED_TRACE(testing::Message() << "process=" << process << " system=" << system
                                          << " disks=" << disks << " prefix=" << prefix);
          ProcessCollector collector(options);
          Snapshot snap = collect(collector);
          EXPECT_EQ(snap.names(), collector.family_names());
          for (const RecordedFamily& f : snap.families) {
            if (!prefix.empty()) {
              EXPECT_TRUE(f.name.starts_with("app_") && f.name[4] != '_');
            }
            if (f.name.ends_with("vigil_process_collector_errors")) {
              for (const RecordedSeries& s : f.series) {
                EXPECT_EQ(s.value, 0) << "errors from " << s.labels[0];
              }
            }
          }
          if (!process && !system) {
            EXPECT_TRUE(snap.families.empty());
          }
        }
      }
    }
  }
}

TEST(ProcessCollector, FamiliesFollowPrometheusConventions) {
  Snapshot snap = collect(ProcessCollector());
  for (const RecordedFamily& f : snap.families) {
    SCOPED_TRACE(f.name);
    EXPECT_FALSE(f.help.empty());
    EXPECT_FALSE(f.name.ends_with("_total")) << "exposition appends _total";
    if (!f.unit.empty()) {
      EXPECT_TRUE(f.name.ends_with("_" + f.unit)) << f.unit;
    }
    if (f.name.ends_with("_seconds")) {
      EXPECT_EQ(f.unit, "seconds");
    }
    if (f.name.ends_with("_bytes")) {
      EXPECT_EQ(f.unit, "bytes");
    }
    for (const RecordedSeries& s : f.series) EXPECT_TRUE(std::isfinite(s.value)) << s.value;
  }
  auto type = [&](std::string_view name) { return snap.find(name)->type; };
  for (std::string_view counter :
       {"process_cpu_seconds", "process_network_receive_bytes", "process_network_transmit_bytes",
        "system_cpu_seconds", "vigil_process_collector_errors"}) {
    EXPECT_EQ(type(counter), MetricType::kCounter) << counter;
  }
  EXPECT_EQ(type("process_open_fds"), MetricType::kGauge);
  EXPECT_THAT(snap.find("system_cpu_seconds")->label_names, ElementsAre("mode"));
  EXPECT_THAT(snap.find("system_disk_free_bytes")->label_names, ElementsAre("path"));
  EXPECT_THAT(snap.find("vigil_process_collector_errors")->label_names, ElementsAre("source"));
}

TEST(ProcessCollector, InvalidOptionsThrow) {
  auto with_prefix = [](std::string prefix) {
    ProcessCollectorOptions options;
    options.prefix = std::move(prefix);
    return options;
  };
  auto with_disks = [](std::vector<std::string> paths) {
    ProcessCollectorOptions options;
    options.disk_paths = std::move(paths);
    return options;
  };
  for (std::string bad : {"my-app", "1app", "app name", "é"}) {
    try {
      ProcessCollector collector(with_prefix(bad));
      ADD_FAILURE() << "accepted prefix " << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("prefix \"" + bad + "\""));
    }
  }
  EXPECT_NO_THROW(ProcessCollector(with_prefix("ns:app_1")));
  EXPECT_THROW(ProcessCollector(with_disks({"/", ""})), Error);
  try {
    ProcessCollector collector(with_disks({"/", "/tmp", "/"}));
    ADD_FAILURE() << "accepted a duplicate path";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"/\" is listed twice"));
  }
}

TEST(ProcessCollector, OptionsAreKept) {
  ProcessCollectorOptions options;
  options.prefix = "app";
  options.disk_paths = {"/tmp"};
  ProcessCollector collector(options);
  EXPECT_EQ(collector.options().prefix, "app");
  EXPECT_THAT(collector.options().disk_paths, ElementsAre("/tmp"));
}

TEST(ProcessCollector, ResidentMemoryGrowsWhenTouching64MiB) {
  ProcessCollector collector;
  constexpr size_t kSize = size_t{64} << 20;
  Snapshot before = collect(collector);
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  Snapshot mapped = collect(collector);
  std::memset(p, 1, kSize);
  Snapshot touched = collect(collector);
  ::munmap(p, kSize);

  double rss_before = before.value("process_resident_memory_bytes");
  double rss_mapped = mapped.value("process_resident_memory_bytes");
  double rss_touched = touched.value("process_resident_memory_bytes");
  EXPECT_LT(rss_mapped - rss_before, 8 << 20) << "mapping alone does not make pages resident";
  EXPECT_GE(rss_touched - rss_before, 56 << 20);
  EXPECT_GE(
      touched.value("process_virtual_memory_bytes") - before.value("process_virtual_memory_bytes"),
      static_cast<double>(kSize));
  EXPECT_GT(rss_touched, 0);
  EXPECT_LE(rss_touched, touched.value("process_virtual_memory_bytes"));
}

TEST(ProcessCollector, OpenFdsCountsAnOpenedFile) {
  ProcessCollector collector;
  double before = collect(collector).value("process_open_fds");
  FILE* file = std::fopen("/proc/self/stat", "r");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(collect(collector).value("process_open_fds"), before + 1);
  std::fclose(file);
  EXPECT_EQ(collect(collector).value("process_open_fds"), before);
}

TEST(ProcessCollector, MaxFdsIsTheSoftLimit) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  ProcessCollector collector;
  EXPECT_EQ(collect(collector).value("process_max_fds"), static_cast<double>(limit.rlim_cur));
  EXPECT_LE(collect(collector).value("process_open_fds"), static_cast<double>(limit.rlim_cur));
}

TEST(ProcessCollector, ThreadsCountsALiveThread) {
  // Sanitizer runtimes start a helper thread with the first thread: start one before measuring.
  std::thread([] {}).join();
  ProcessCollector collector;
  double before = collect(collector).value("process_threads");
  EXPECT_GE(before, 1);
  std::promise<void> release;
  std::thread thread([done = release.get_future()]() mutable { done.wait(); });
  EXPECT_EQ(collect(collector).value("process_threads"), before + 1);
  release.set_value();
  thread.join();
  // The kernel may count an exited thread for a moment after join returns.
  EXPECT_EQ(wait_for(collector, "process_threads", [&](double v) { return v == before; }), before);
}

double process_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

TEST(ProcessCollector, CpuSecondsGrowWhenBurningCpu) {
  ProcessCollector collector;
  Snapshot before = collect(collector);
  double start = process_cpu_time();
  volatile uint64_t sink = 0;
  while (process_cpu_time() - start < 0.2) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
  Snapshot after = collect(collector);
  double burned = process_cpu_time() - start;
  double delta = after.value("process_cpu_seconds") - before.value("process_cpu_seconds");
  EXPECT_GE(delta, 0.15);
  EXPECT_LE(delta, burned + 0.1);
  // A counter that started with the process.
  EXPECT_EQ(after.series("process_cpu_seconds")->created,
            after.value("process_start_time_seconds"));
}

TEST(ProcessCollector, StartTimeIsWhenTheProcessStarted) {
  ProcessCollector collector;
  Snapshot snap = collect(collector);
  double now = unix_time_seconds();
  double start = snap.value("process_start_time_seconds");
  double process_uptime = snap.value("process_uptime_seconds");
  double system_uptime = snap.value("system_uptime_seconds");
  // btime is whole seconds and starttime is in clock ticks: allow a little over a second.
  EXPECT_NEAR(start, now - process_uptime, 2.0);
  EXPECT_LE(start, kLoadedAt + 1.5);
  EXPECT_GE(start, kLoadedAt - 60);
  EXPECT_GE(process_uptime, 0);
  EXPECT_LE(process_uptime, system_uptime + 1);
  EXPECT_GE(start, now - system_uptime - 2) << "the process started after the host booted";
  // Constant across collections.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(collect(collector).value("process_start_time_seconds"), start);
}

TEST(ProcessCollector, SystemMemory) {
  Snapshot snap = collect(ProcessCollector());
  double total = snap.value("system_memory_total_bytes");
  double available = snap.value("system_memory_available_bytes");
  double ratio = snap.value("system_memory_usage_ratio");
  EXPECT_GT(total, 16 << 20);
  EXPECT_GE(available, 0);
  EXPECT_LE(available, total);
  EXPECT_GE(ratio, 0);
  EXPECT_LE(ratio, 1);
  EXPECT_NEAR(ratio, 1 - available / total, 1e-12);
  EXPECT_LE(snap.value("process_resident_memory_bytes"), total);
}

TEST(ProcessCollector, SystemCpuSecondsPerMode) {
  ProcessCollector collector;
  Snapshot before = collect(collector);
  const RecordedFamily* family = before.find("system_cpu_seconds");
  ASSERT_NE(family, nullptr);
  std::vector<std::string> modes;
  double sum_before = 0;
  for (const RecordedSeries& s : family->series) {
    modes.push_back(s.labels.at(0));
    EXPECT_GE(s.value, 0);
    sum_before += s.value;
    double boot = unix_time_seconds() - before.value("system_uptime_seconds");
    EXPECT_NEAR(s.created, boot, 2.0) << "counters started at boot";
  }
  EXPECT_THAT(modes,
              ElementsAre("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"));

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  double sum_after = 0;
  Snapshot after = collect(collector);
  for (const RecordedSeries& s : after.find("system_cpu_seconds")->series) {
    sum_after += s.value;
  }
  // Every online CPU accounts each tick to some mode.
  EXPECT_GE(sum_after - sum_before, 0.1);
  EXPECT_EQ(before.value("system_cpus"), static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_GE(before.value("system_cpus"), 1);
}

TEST(ProcessCollector, LoadAndUptime) {
  Snapshot snap = collect(ProcessCollector());
  for (std::string_view load : {"system_load1", "system_load5", "system_load15"}) {
    EXPECT_GE(snap.value(load), 0) << load;
  }
  EXPECT_GT(snap.value("system_uptime_seconds"), 0);
}

TEST(ProcessCollector, DiskSpacePerPath) {
  ProcessCollectorOptions options;
  options.disk_paths = {"/", "/tmp"};
  Snapshot snap = collect(ProcessCollector(options));
  for (std::string path : {"/", "/tmp"}) {
    SCOPED_TRACE(path);
    double total = snap.value("system_disk_total_bytes", {path});
    double free = snap.value("system_disk_free_bytes", {path});
    double available = snap.value("system_disk_available_bytes", {path});
    EXPECT_GT(total, 0);
    EXPECT_GE(free, 0);
    EXPECT_LE(free, total);
    EXPECT_LE(available, free);
  }
  EXPECT_EQ(snap.find("system_disk_total_bytes")->series.size(), 2u);
}

TEST(ProcessCollector, UnreadableDiskPathIsSkippedAndCounted) {
  ProcessCollectorOptions options;
  options.disk_paths = {"/nonexistent/vigil", "/"};
  ProcessCollector collector(options);
  Snapshot first = collect(collector);
  EXPECT_EQ(first.find("system_disk_free_bytes")->series.size(), 1u);
  EXPECT_TRUE(first.series("system_disk_free_bytes", {"/"}));
  EXPECT_EQ(errors(first, "statvfs"), 1) << "counted in the collection that skipped it";
  EXPECT_EQ(errors(collect(collector), "statvfs"), 2);

  // With no readable path, the disk families are skipped altogether.
  options.disk_paths = {"/nonexistent/vigil"};
  ProcessCollector broken(options);
  Snapshot snap = collect(broken);
  EXPECT_EQ(snap.find("system_disk_total_bytes"), nullptr);
  EXPECT_EQ(errors(snap, "statvfs"), 1);
  EXPECT_TRUE(snap.find("system_memory_total_bytes")) << "other families are unaffected";
}

TEST(ProcessCollector, ErrorCounterListsEverySource) {
  ProcessCollector collector;
  Snapshot snap = collect(collector);
  const RecordedFamily* f = snap.find("vigil_process_collector_errors");
  ASSERT_NE(f, nullptr);
  std::vector<std::string> sources;
  for (const RecordedSeries& s : f->series) {
    sources.push_back(s.labels.at(0));
    EXPECT_EQ(s.value, 0);
    EXPECT_NEAR(s.created, unix_time_seconds(), 60);
  }
  EXPECT_THAT(sources, ElementsAre("/proc/self/stat", "/proc/self/fd", "getrlimit",
                                   "/proc/self/net/netstat", "/proc/stat", "/proc/meminfo",
                                   "/proc/loadavg", "/proc/uptime", "sysconf", "statvfs"));

  ProcessCollectorOptions system_only;
  system_only.process = false;
  system_only.disk_paths.clear();
  sources.clear();
  Snapshot system = collect(ProcessCollector(system_only));
  for (const RecordedSeries& s : system.find("vigil_process_collector_errors")->series) {
    sources.push_back(s.labels.at(0));
  }
  EXPECT_THAT(sources, ElementsAre("/proc/stat", "/proc/meminfo", "/proc/loadavg", "/proc/uptime",
                                   "sysconf"));
}

TEST(ProcessCollector, ConcurrentCollections) {
  ProcessCollector collector;
  const size_t expected = collector.family_names().size();
  std::vector<std::thread> threads;
  std::atomic<int> complete{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        RecordingSink sink;
        collector.collect(sink);
        if (sink.families.size() == expected) complete.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(complete.load(), 400);
}

}  // namespace
}  // namespace vigil::metrics
