// Private to vigil::health: how numbers appear in check outputs ("812 MiB", "1.5 s", "79%").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil::health::detail {

// "512 B", "12 KiB", "812 MiB", "1024 MiB", "23.5 GiB" (MiB below 10 GiB, so limits such as
// 1 GiB read "1024 MiB").
std::string format_bytes(uint64_t bytes);

// "250 ms", "1.5 s", "5 s", "2 min".
std::string format_duration(double seconds);
std::string format_duration(std::chrono::milliseconds d);

// "79%", "0.4%" (one decimal below 10).
std::string format_percent(double percent);

// `value` with up to `decimals` decimals, trailing zeros removed: 1.50 -> "1.5".
std::string format_number(double value, int decimals);

// At most `max_bytes` of `text`, cut at a UTF-8 character boundary, with "..." appended when
// cut.
std::string truncate_utf8(std::string text, size_t max_bytes);

}  // namespace vigil::health::detail
