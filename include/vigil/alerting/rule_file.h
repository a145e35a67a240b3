// vigil/alerting/rule_file.h: Prometheus rule files (the YAML `groups:` format), read and checked.
//
//   vigil::alerting::RuleFileResult r = vigil::alerting::load_rule_file("deploy/alerts.yml");
//   if (!r) for (auto& e : r.errors) std::cerr << e << "\n";
//   // "deploy/alerts.yml:12: group \"api\", rule \"HighErrorRate\": expr: 1:6: unknown function
//   ..." else manager.add_rule_file(*r.file);
//
// What loads is what `promtool check rules` (Prometheus 2.42) accepts: groups with a unique
// non-empty `name`, optional `interval`, `limit`, `labels`; rules with exactly one of `alert` or
// `record`, an `expr` that parses, `for` / `keep_firing_for` / `labels` / `annotations` only on
// alerting rules, valid label names and templates, valid metric names for `record`. A file with
// any error loads nothing. In addition, an expression vigil cannot evaluate in-process (a
// subquery, an unsupported function) is an error "not supported in-process: ..." (the phrase is
// in the message, e.g. "f.yml:7: group \"g\", rule \"r\": expr: 1:15: not supported in-process:
// subquery"), so tools can tell it from a mistake in the file: is_not_supported_error().
//
// Thread-safety: the functions are pure; safe from any thread. They never throw (except
// std::bad_alloc); errors come back in RuleFileResult::errors.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::alerting {

using LabelList = std::vector<std::pair<std::string, std::string>>;

// One rule as written in the file.
struct RuleSpec {
  std::string alert;   // alerting rule: the alert name (empty for recording rules)
  std::string record;  // recording rule: the series name (empty for alerting rules)
  std::string expr;    // PromQL, as written
  std::chrono::milliseconds for_duration{0};
  std::chrono::milliseconds keep_firing_for{0};
  LabelList labels;       // in file order
  LabelList annotations;  // in file order (alerting rules only)
  int line = 0;           // 1-based line of the rule in the file

  bool is_alert() const noexcept { return !alert.empty(); }
};

struct RuleGroupSpec {
  std::string name;
  std::chrono::milliseconds interval{0};  // 0: the manager's evaluation interval
  int limit = 0;                          // 0: no limit on alerts / series per evaluation
  LabelList labels;                       // added to every rule of the group, as Prometheus
                                          // 2.51+ does (promtool 2.42 rejects the field: vigil
                                          // accepts it and `vigil rules check` warns)
  std::vector<RuleSpec> rules;
  int line = 0;
};

struct RuleFile {
  std::string path;  // as given ("<string>" for parse_rule_file without a name)
  std::vector<RuleGroupSpec> groups;
};

struct RuleFileResult {
  std::optional<RuleFile> file;  // set when the file is valid
  std::vector<std::string>
      errors;  // every problem found: "path:line: group \"g\", rule \"r\": ..."
  // What loads in vigil but not in Prometheus 2.42 (group `labels`), same format as errors.
  std::vector<std::string> warnings;

  explicit operator bool() const noexcept { return file.has_value(); }
};

// Reads and checks a rule file.
RuleFileResult load_rule_file(const std::string& path);
// Checks rule-file text; `name` is used in error messages.
RuleFileResult parse_rule_file(std::string_view yaml, std::string_view name = "<string>");

// Whether an error of RuleFileResult::errors is about something vigil does not evaluate
// in-process (Prometheus accepts it) rather than a mistake in the file.
bool is_not_supported_error(std::string_view error) noexcept;

// Files larger than this are refused by load_rule_file (Prometheus rule files are kilobytes).
inline constexpr std::size_t kMaxRuleFileBytes = 64u << 20;

}  // namespace vigil::alerting
