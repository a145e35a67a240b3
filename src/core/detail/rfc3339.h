// src/core/detail/rfc3339.h (internal): times as Go's time.Time marshals them to JSON (RFC 3339
// in UTC, nanoseconds with trailing zeros trimmed; the zero time as "0001-01-01T00:00:00Z"), and
// RFC 3339 parsing. The one copy for every JSON shape vigil shares with Go programs
// (Prometheus' and Alertmanager's APIs, the webhook payload).
//
//   format_rfc3339(t)                 // "2026-11-30T06:45:01.123456789Z"
//   format_rfc3339(t, true)           // "2026-11-30T06:45:01.123Z" (milliseconds, always 3 digits)
//   parse_rfc3339("2026-11-30T06:45:01+01:00")  // a time point, or nullopt when malformed
//
// Thread-safety: pure functions. Never throw (except std::bad_alloc).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::detail {

// time.Time's JSON form (RFC 3339 with nanoseconds, trailing zeros trimmed) in UTC; the zero
// time prints as Go's zero time.
inline std::string format_rfc3339(std::chrono::system_clock::time_point t,
                                  bool millis_only = false) {
  if (t == std::chrono::system_clock::time_point{}) return "0001-01-01T00:00:00Z";
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t secs = ns / 1'000'000'000;
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char date[40];
  if (std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) return "";
  std::string out = date;
  if (millis_only) {
    char f[8];
    std::snprintf(f, sizeof f, ".%03d", static_cast<int>(frac / 1'000'000));
    out += f;
  } else if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09d", static_cast<int>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "Z";
}

// Parses RFC 3339 ("2026-01-02T03:04:05Z", with an optional fraction and a Z or ±hh:mm offset).
inline std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  auto num = [&](size_t pos, size_t len, int& out) {
    if (pos + len > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || s.size() < 19 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, h) ||
      s[13] != ':' || !num(14, 2, mi) || s[16] != ':' || !num(17, 2, se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!num(pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !num(pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  using TimePoint = std::chrono::system_clock::time_point;
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos)));
}

}  // namespace vigil::detail
