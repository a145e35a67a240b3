// vigil/metrics/info.h: an info metric, constant labels describing the process or a component.
//
//   registry.info("vigil_build", "Build information", {"version", "commit"})
//       .labels("0.1.0", "abc123");
//   // Prometheus text: vigil_build_info{version="0.1.0",commit="abc123"} 1
//
// The series exists as long as the family holds it (until removed); its value is always 1.
#pragma once

#include "vigil/metrics/detail/series.h"

namespace vigil::metrics {

class Info {
 public:
  Info() noexcept = default;
  explicit operator bool() const noexcept { return static_cast<bool>(series_); }

 private:
  template <class>
  friend class Family;  // makes the handles
  static constexpr uint32_t kCells = 0;
  explicit Info(detail::SeriesRef series) noexcept : series_(std::move(series)) {}

  detail::SeriesRef series_;
};

}  // namespace vigil::metrics
