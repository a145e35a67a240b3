// /proc contents are parsed with care: any bytes must be rejected or parsed, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/detail/proc_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace vigil::metrics::detail;
  (void)parse_proc_self_stat(in);
  (void)parse_proc_stat_cpu(in);
  (void)parse_proc_stat_btime(in);
  (void)parse_meminfo(in);
  (void)parse_loadavg(in);
  (void)parse_uptime(in);
  (void)parse_netstat_ip_ext(in);
  return 0;
}
