// src/alerting/label_matcher.h (internal): one compiled label matcher (= != =~ !~), as
// Alertmanager matches silences, routes and inhibition rules: regexes are RE2, anchored at both
// ends; an absent label matches as "". Shared by the manager's silences and the routing tree.
//
//   std::string err;
//   auto m = vigil::detail::compile_matcher({"env", MatchType::kRegexMatch, "prod|qa"},
//                                                     &err);
//   if (m && m->matches(find_label(labels, "env"))) ...
//
// Thread-safety: a CompiledMatcher is immutable; matches() is safe from any thread.
#pragma once

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/alerting/silence.h"

namespace vigil::detail {

using alerting::LabelList;
using alerting::MatchType;
using alerting::SilenceMatcher;

// The label's value in `labels`, or "" when absent. Linear: label sets are small.
inline std::string_view find_label(const LabelList& labels, std::string_view name) noexcept {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

struct CompiledMatcher {
  SilenceMatcher m;
  std::shared_ptr<const RE2> re;  // regex matchers only
  bool matches(std::string_view v) const {
    switch (m.type) {
      case MatchType::kEqual:
        return v == m.value;
      case MatchType::kNotEqual:
        return v != m.value;
      case MatchType::kRegexMatch:
        return RE2::FullMatch(v, *re);
      case MatchType::kRegexNoMatch:
        return !RE2::FullMatch(v, *re);
    }
    return false;
  }
  bool matches(const LabelList& labels) const { return matches(find_label(labels, m.name)); }
};

// Compiles `m`; nullopt with RE2's reason in *error when the regex is invalid.
inline std::optional<CompiledMatcher> compile_matcher(const SilenceMatcher& m,
                                                      std::string* error = nullptr) {
  CompiledMatcher c{m, nullptr};
  if (m.type == MatchType::kRegexMatch || m.type == MatchType::kRegexNoMatch) {
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<RE2>("^(?:" + m.value + ")$", opts);
    if (!re->ok()) {
      if (error) *error = re->error();
      return std::nullopt;
    }
    c.re = std::move(re);
  }
  return c;
}

}  // namespace vigil::detail
