// Placeholder (wt-gr-source replaces it): LiveSource.
#include "vigil/guardrail/source.h"

#include "vigil/core/error.h"

namespace vigil::guardrail {

struct LiveSource::Impl {};

LiveSource::LiveSource(LiveSourceOptions options) : options_(std::move(options)) {
  throw Error("LiveSource: not implemented yet");
}
LiveSource::~LiveSource() = default;
bool LiveSource::sample(TimePoint, std::string*) { return false; }
std::optional<WindowCounts> LiveSource::window(std::string_view, TimePoint, TimePoint) const {
  return std::nullopt;
}
std::optional<WindowCounts> LiveSource::last(std::string_view, std::chrono::milliseconds) const {
  return std::nullopt;
}
std::optional<WindowCounts> LiveSource::since(std::string_view, TimePoint) const {
  return std::nullopt;
}
std::vector<std::string> LiveSource::cohorts() const { return {}; }
uint64_t LiveSource::dropped_cohorts() const { return 0; }

}  // namespace vigil::guardrail
