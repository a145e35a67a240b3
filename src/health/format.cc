#include "format.h"

#include <cmath>
#include <cstdio>

namespace vigil::health::detail {

std::string format_number(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string s(buf);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string format_bytes(uint64_t bytes) {
  constexpr double kKiB = 1024.0;
  constexpr double kMiB = kKiB * 1024;
  constexpr double kGiB = kMiB * 1024;
  const double b = static_cast<double>(bytes);
  char buf[64];
  if (b < kKiB) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else if (b < kMiB) {
    std::snprintf(buf, sizeof buf, "%.0f KiB", b / kKiB);
  } else if (b < 10 * kGiB) {
    std::snprintf(buf, sizeof buf, "%.0f MiB", b / kMiB);
  } else if (b < 1024 * kGiB) {
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / kGiB);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f TiB", b / kGiB / 1024);
  }
  return buf;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  if (seconds < 1) return format_number(seconds * 1000, seconds < 0.01 ? 1 : 0) + " ms";
  if (seconds < 120) return format_number(seconds, 1) + " s";
  return format_number(seconds / 60, 1) + " min";
}

std::string format_duration(std::chrono::milliseconds d) {
  return format_duration(std::chrono::duration<double>(d).count());
}

std::string format_percent(double percent) {
  if (!std::isfinite(percent)) return "?%";
  return format_number(percent, std::fabs(percent) < 10 ? 1 : 0) + "%";
}

std::string truncate_utf8(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t cut = max_bytes;
  // Step back over continuation bytes (10xxxxxx) so a character is never split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "...";
  return text;
}

}  // namespace vigil::health::detail
