// Placeholder (wt-gr-monitor replaces it): the GuardrailMonitor.
#include "vigil/guardrail/monitor.h"

#include "vigil/core/error.h"

namespace vigil::guardrail {

struct GuardrailMonitor::Impl {
  std::string name;
};

std::string_view state_name(State) noexcept { return "unimplemented"; }
GuardrailMonitor::GuardrailMonitor(MonitorOptions) {
  throw Error("GuardrailMonitor: not implemented yet");
}
GuardrailMonitor::GuardrailMonitor(double, double, double) {
  throw Error("GuardrailMonitor: not implemented yet");
}
GuardrailMonitor::~GuardrailMonitor() = default;
void GuardrailMonitor::set_baseline(const PerformanceSnapshot&, std::string) {}
void GuardrailMonitor::set_baseline_window(TimePoint, TimePoint, std::string) {}
void GuardrailMonitor::compare_cohorts(std::string, std::string, std::string) {}
std::optional<PerformanceSnapshot> GuardrailMonitor::baseline() const { return std::nullopt; }
std::optional<RollbackTrigger> GuardrailMonitor::check(const PerformanceSnapshot&) {
  return std::nullopt;
}
void GuardrailMonitor::on_trigger(std::string, Action) {}
void GuardrailMonitor::on_trigger(Action) {}
void GuardrailMonitor::start() {}
void GuardrailMonitor::stop() {}
Decision GuardrailMonitor::check_now() { return {}; }
void GuardrailMonitor::pause(std::string) {}
void GuardrailMonitor::resume(std::string) {}
bool GuardrailMonitor::wait_for_actions(std::chrono::milliseconds) { return true; }
const std::string& GuardrailMonitor::name() const noexcept { return impl_->name; }
MonitorStatus GuardrailMonitor::status() const { return {}; }
std::vector<Decision> GuardrailMonitor::decisions(const DecisionQuery&) const { return {}; }
std::vector<AuditEvent> GuardrailMonitor::events(const DecisionQuery&) const { return {}; }

}  // namespace vigil::guardrail
