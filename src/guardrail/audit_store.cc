// Placeholder (wt-gr-audit replaces it): the audit trail in SQLite.
#include "guardrail/audit_store.h"

#include "core/detail/sqlite.h"

namespace vigil::detail {

GuardrailAudit::GuardrailAudit(std::string path, GuardrailAuditOptions options)
    : path_(std::move(path)), options_(options), error_("not implemented yet") {}
GuardrailAudit::~GuardrailAudit() = default;
std::unique_ptr<GuardrailAudit> GuardrailAudit::open(const std::string& path,
                                                     GuardrailAuditOptions options) {
  return std::unique_ptr<GuardrailAudit>(new GuardrailAudit(path, options));
}
bool GuardrailAudit::ok() const { return false; }
std::string GuardrailAudit::error() const { return error_; }
uint64_t GuardrailAudit::next_decision_id(std::string_view) { return 1; }
bool GuardrailAudit::record_decision(const guardrail::Decision&) { return false; }
bool GuardrailAudit::record_action(std::string_view, uint64_t, const guardrail::ActionOutcome&) {
  return false;
}
uint64_t GuardrailAudit::record_event(const guardrail::AuditEvent&) { return 0; }
std::vector<guardrail::Decision> GuardrailAudit::decisions(std::string_view,
                                                           const guardrail::DecisionQuery&) const {
  return {};
}
std::vector<guardrail::AuditEvent> GuardrailAudit::events(std::string_view,
                                                          const guardrail::DecisionQuery&) const {
  return {};
}
guardrail::TimePoint GuardrailAudit::last_trigger(std::string_view) const { return {}; }

}  // namespace vigil::detail
