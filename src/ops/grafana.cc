// The Grafana dashboard generator (vigil/ops/grafana.h): recipes that turn families found by
// their standard names into panels, a generic panel for every other family, and the classic
// dashboard JSON model around them.
#include "vigil/ops/grafana.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/core/error.h"

namespace vigil::ops {
namespace {

using json = nlohmann::ordered_json;
using metrics::MetricType;

// Status values that are not errors, for families with a status (or result) label.
constexpr std::string_view kOkStatus = "success|ok|completed|pass";
constexpr int kGridWidth = 24;

// ---- PromQL pieces: every selector filters on the job and instance variables ----------------

std::string selector(std::string_view sample, std::string_view extra = {}) {
  std::string s(sample);
  s += R"({job=~"$job", instance=~"$instance")";
  if (!extra.empty()) {
    s += ", ";
    s += extra;
  }
  s += '}';
  return s;
}

std::string rate(std::string_view sample, std::string_view extra = {}) {
  return "rate(" + selector(sample, extra) + "[$__rate_interval])";
}

std::string sum_by(std::string_view by, const std::string& expr) {
  if (by.empty()) return "sum(" + expr + ")";
  return "sum by (" + std::string(by) + ") (" + expr + ")";
}

std::string quantile_of(std::string_view q, std::string_view bucket, std::string_view by,
                        std::string_view extra = {}) {
  std::string labels = "le";
  if (!by.empty()) labels += ", " + std::string(by);
  return "histogram_quantile(" + std::string(q) + ", " +
         sum_by(labels, rate(std::string(bucket) + "_bucket", extra)) + ")";
}

std::string legend(std::string_view by, std::string_view fallback) {
  if (by.empty()) return std::string(fallback);
  std::string out;
  std::size_t pos = 0;
  while (pos <= by.size()) {
    std::size_t end = by.find(',', pos);
    if (end == std::string_view::npos) end = by.size();
    std::string_view l = by.substr(pos, end - pos);
    while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
    if (!out.empty()) out += " ";
    out += "{{" + std::string(l) + "}}";
    pos = end + 1;
  }
  return out;
}

// ---- The model: panels in rows, rows in boards ------------------------------------------------

struct Target {
  std::string expr;
  std::string legend;
};

struct Threshold {
  std::optional<double> value;  // nullopt: the base step
  std::string color;
};

struct Panel {
  std::string title;
  std::string description;
  std::string type = "timeseries";  // or "stat"
  std::string unit;
  std::vector<Target> targets;
  int w = 8;
  int h = 8;
  std::vector<Threshold> thresholds;
  std::optional<double> min, max;
  bool check_mapping = false;  // values 1/0.5/0 shown as pass/warn/fail
};

struct Row {
  std::string title;
  std::vector<Panel> panels;
};

struct Board {
  std::string kind;
  std::string name;  // "Overview": the title is "<options.title> / Overview"
  std::string description;
  std::vector<Row> rows;
};

Panel timeseries(std::string title, std::string unit, std::vector<Target> targets,
                 std::string description = {}) {
  Panel p;
  p.title = std::move(title);
  p.unit = std::move(unit);
  p.targets = std::move(targets);
  p.description = std::move(description);
  return p;
}

Panel stat(std::string title, std::string unit, std::string expr, std::string description = {},
           std::vector<Threshold> thresholds = {{std::nullopt, "green"}}) {
  Panel p;
  p.type = "stat";
  p.title = std::move(title);
  p.unit = std::move(unit);
  p.targets = {{std::move(expr), ""}};
  p.description = std::move(description);
  p.w = 6;
  p.h = 4;
  p.thresholds = std::move(thresholds);
  return p;
}

// Error ratio thresholds: green below 1 %, orange to 5 %, red above.
std::vector<Threshold> error_thresholds() {
  return {{std::nullopt, "green"}, {0.01, "orange"}, {0.05, "red"}};
}

// ---- The families, by name ---------------------------------------------------------------------

std::string sample_name(const FamilyInfo& f) {
  switch (f.type) {
    case MetricType::kCounter:
      return f.name + "_total";
    case MetricType::kInfo:
      return f.name + "_info";
    case MetricType::kHistogram:
    case MetricType::kSummary:
      return f.name + "_count";
    case MetricType::kGauge:
      break;
  }
  return f.name;
}

bool has_label(const FamilyInfo& f, std::string_view l) {
  return std::find(f.label_names.begin(), f.label_names.end(), l) != f.label_names.end();
}

// The label a family's series are best told apart by, or "".
std::string breakdown(const FamilyInfo& f, std::initializer_list<std::string_view> skip = {}) {
  for (const std::string& l : f.label_names) {
    if (std::find(skip.begin(), skip.end(), l) == skip.end()) return l;
  }
  return "";
}

// The Grafana unit of a family's values.
std::string value_unit(const FamilyInfo& f) {
  std::string u = f.unit;
  if (u.empty()) {
    for (std::string_view s : {"seconds", "bytes", "ratio", "dollars", "percent", "celsius"}) {
      if (std::string_view(f.name).ends_with("_" + std::string(s))) u = s;
    }
  }
  if (u == "seconds") return "s";
  if (u == "bytes") return "bytes";
  if (u == "ratio") return "percentunit";
  if (u == "dollars") return "currencyUSD";
  if (u == "percent") return "percent";
  if (u == "celsius") return "celsius";
  return "short";
}

// The Grafana unit of a counter's rate.
std::string rate_unit(const FamilyInfo& f) {
  const std::string u = value_unit(f);
  if (u == "bytes") return "Bps";
  if (u == "s") return "percentunit";  // seconds per second
  if (u == "currencyUSD") return "currencyUSD";
  return "ops";
}

class Catalog {
 public:
  explicit Catalog(const std::vector<FamilyInfo>& families) : families_(families) {
    for (const FamilyInfo& f : families_) by_name_.emplace(f.name, &f);
  }

  // The family called `name` of this type, marked as shown; nullptr when there is none.
  const FamilyInfo* take(std::string_view name, MetricType type) {
    const FamilyInfo* f = peek(name, type);
    if (f != nullptr) used_.insert(f->name);
    return f;
  }
  const FamilyInfo* peek(std::string_view name, MetricType type) const {
    auto it = by_name_.find(std::string(name));
    if (it == by_name_.end() || it->second->type != type) return nullptr;
    return it->second;
  }
  void use(const FamilyInfo& f) { used_.insert(f.name); }
  bool used(const FamilyInfo& f) const { return used_.count(f.name) != 0; }
  const std::vector<FamilyInfo>& all() const { return families_; }

  // Families whose names match, in registration order.
  template <class Pred>
  std::vector<const FamilyInfo*> find(Pred pred) const {
    std::vector<const FamilyInfo*> out;
    for (const FamilyInfo& f : families_) {
      if (pred(f)) out.push_back(&f);
    }
    return out;
  }

 private:
  const std::vector<FamilyInfo>& families_;
  std::map<std::string, const FamilyInfo*> by_name_;
  std::set<std::string> used_;
};

bool starts(std::string_view s, std::string_view p) { return s.starts_with(p); }
bool ends(std::string_view s, std::string_view p) { return s.size() > p.size() && s.ends_with(p); }
std::string chop(std::string_view s, std::string_view suffix) {
  return std::string(s.substr(0, s.size() - suffix.size()));
}
bool app_family(const FamilyInfo& f) {
  return !starts(f.name, "vigil_") && !starts(f.name, "process_") && !starts(f.name, "system_");
}

// The error selector of a family with a status/result or code label ("" when it has none).
std::string error_matcher(const FamilyInfo& f) {
  if (has_label(f, "code")) return R"(code=~"5..")";
  if (has_label(f, "status")) return "status!~\"" + std::string(kOkStatus) + "\"";
  if (has_label(f, "result")) return "result!~\"" + std::string(kOkStatus) + "\"";
  return "";
}
std::string ok_matcher(const FamilyInfo& f) {
  if (has_label(f, "status")) return "status=~\"" + std::string(kOkStatus) + "\"";
  if (has_label(f, "result")) return "result=~\"" + std::string(kOkStatus) + "\"";
  return "";
}
std::string outcome_label(const FamilyInfo& f) {
  for (std::string_view l : {"code", "status", "result"}) {
    if (has_label(f, l)) return std::string(l);
  }
  return "";
}

// The generic panel of a family no recipe took.
std::optional<Panel> generic_panel(const FamilyInfo& f) {
  std::string by = outcome_label(f);
  if (by.empty()) by = breakdown(f);
  const std::string lg = legend(by, f.name);
  switch (f.type) {
    case MetricType::kCounter:
      return timeseries(f.name + " per second", rate_unit(f),
                        {{sum_by(by, rate(sample_name(f))), lg}}, f.help);
    case MetricType::kGauge:
      return timeseries(f.name, value_unit(f), {{sum_by(by, selector(f.name)), lg}}, f.help);
    case MetricType::kHistogram:
      return timeseries(f.name + " p95", value_unit(f), {{quantile_of("0.95", f.name, by), lg}},
                        f.help);
    case MetricType::kSummary: {
      const std::string by_q = by.empty() ? "quantile" : by + ", quantile";
      return timeseries(f.name + " quantiles", value_unit(f),
                        {{"max by (" + by_q + ") (" + selector(f.name) + ")",
                          legend(by, "") + (by.empty() ? "" : " ") + "q{{quantile}}"}},
                        f.help);
    }
    case MetricType::kInfo:
      break;
  }
  return std::nullopt;
}

void add_generic(Catalog& cat, Row& row, const std::vector<const FamilyInfo*>& families) {
  for (const FamilyInfo* f : families) {
    if (cat.used(*f)) continue;
    cat.use(*f);
    if (auto p = generic_panel(*f)) row.panels.push_back(std::move(*p));
  }
}

std::string title_case(std::string s) {
  std::replace(s.begin(), s.end(), '_', ' ');
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// ---- Recipes -----------------------------------------------------------------------------------

// <prefix>_requests_total{status|code} with <prefix>_request_duration_seconds and
// <prefix>_active_requests: request rate, errors, duration (RED), per request family.
struct RequestFamily {
  const FamilyInfo* requests;
  const FamilyInfo* duration;
  const FamilyInfo* active;
  const FamilyInfo* rejected;
  std::string prefix;
};

std::vector<RequestFamily> request_families(Catalog& cat) {
  std::vector<RequestFamily> out;
  for (const FamilyInfo* f : cat.find([](const FamilyInfo& f) {
         return f.type == MetricType::kCounter && ends(f.name, "_requests") &&
                !starts(f.name, "vigil_");
       })) {
    RequestFamily r{.requests = f,
                    .duration = nullptr,
                    .active = nullptr,
                    .rejected = nullptr,
                    .prefix = chop(f->name, "_requests")};
    cat.use(*f);
    r.duration = cat.take(r.prefix + "_request_duration_seconds", MetricType::kHistogram);
    r.active = cat.take(r.prefix + "_active_requests", MetricType::kGauge);
    r.rejected = cat.take(r.prefix + "_requests_rejected", MetricType::kCounter);
    out.push_back(std::move(r));
  }
  return out;
}

void red_rows(const std::vector<RequestFamily>& families, Board& board) {
  for (const RequestFamily& r : families) {
    const FamilyInfo& req = *r.requests;
    const std::string total = sample_name(req);
    const std::string outcome = outcome_label(req);
    const std::string err = error_matcher(req);
    const std::string by = breakdown(req, {"status", "code", "result", "method"});
    Row row{.title = title_case(r.prefix) + " requests (rate, errors, duration)", .panels = {}};
    row.panels.push_back(timeseries(
        "Request rate by " + (outcome.empty() ? std::string("series") : outcome), "reqps",
        {{sum_by(outcome, rate(total)), legend(outcome, "requests")}}, req.help));
    if (!by.empty()) {
      row.panels.push_back(timeseries("Request rate by " + by, "reqps",
                                      {{sum_by(by, rate(total)), legend(by, "")}}, req.help));
    }
    if (!err.empty()) {
      row.panels.push_back(
          timeseries("Error rate by type", "reqps",
                     {{sum_by(outcome, rate(total, err)), legend(outcome, "errors")}},
                     "Failed " + r.prefix + " requests per second, by " + outcome));
      row.panels.push_back(timeseries(
          "Error ratio", "percentunit",
          {{sum_by("", rate(total, err)) + " / " + sum_by("", rate(total)), "error ratio"}},
          "Share of " + r.prefix + " requests that failed"));
    }
    if (r.duration != nullptr) {
      std::vector<Target> t;
      for (std::string_view q : {"0.5", "0.95", "0.99"}) {
        t.push_back({quantile_of(q, r.duration->name, ""), "p" + std::string(q.substr(2))});
      }
      t[0].legend = "p50";
      row.panels.push_back(
          timeseries("Latency p50 / p95 / p99", "s", std::move(t), r.duration->help));
      const std::string dby = breakdown(*r.duration);
      if (!dby.empty()) {
        row.panels.push_back(timeseries(
            "p95 latency by " + dby, "s",
            {{quantile_of("0.95", r.duration->name, dby), legend(dby, "")}}, r.duration->help));
      }
    }
    if (r.active != nullptr) {
      row.panels.push_back(timeseries("Active requests", "short",
                                      {{sum_by("", selector(r.active->name)), "active"}},
                                      r.active->help));
    }
    if (r.rejected != nullptr) {
      const std::string rby = breakdown(*r.rejected);
      row.panels.push_back(
          timeseries("Rejected requests", "reqps",
                     {{sum_by(rby, rate(sample_name(*r.rejected))), legend(rby, "rejected")}},
                     r.rejected->help));
    }
    board.rows.push_back(std::move(row));
  }
}

// Counters ending in _tokens (llm_tokens_total{kind}), and histograms of tokens per operation
// ending in _token_usage (OpenTelemetry's gen_ai_client_token_usage{gen_ai_token_type}).
std::vector<const FamilyInfo*> token_families(const Catalog& cat) {
  return cat.find([](const FamilyInfo& f) {
    return (f.type == MetricType::kCounter && ends(f.name, "_tokens")) ||
           (f.type == MetricType::kHistogram && ends(f.name, "_token_usage"));
  });
}
// The series whose rate is tokens per second: the counter, or the histogram's _sum.
std::string token_sample(const FamilyInfo& f) {
  return f.type == MetricType::kHistogram ? f.name + "_sum" : sample_name(f);
}
// The label that breaks a family down by provider (provider, or OpenTelemetry's gen_ai_system),
// by model, or by token kind; empty when the family has none.
std::string provider_label(const FamilyInfo& f) {
  return has_label(f, "provider")        ? "provider"
         : has_label(f, "gen_ai_system") ? "gen_ai_system"
                                         : "";
}
std::string model_label(const FamilyInfo& f) {
  return has_label(f, "model")                  ? "model"
         : has_label(f, "gen_ai_request_model") ? "gen_ai_request_model"
                                                : "";
}
std::string token_kind_label(const FamilyInfo& f) {
  return has_label(f, "kind")                ? "kind"
         : has_label(f, "gen_ai_token_type") ? "gen_ai_token_type"
                                             : "";
}
// Counters in dollars (llm_cost_dollars_total).
std::vector<const FamilyInfo*> cost_families(const Catalog& cat) {
  return cat.find([](const FamilyInfo& f) {
    return f.type == MetricType::kCounter && (f.unit == "dollars" || ends(f.name, "_dollars"));
  });
}
// Counters of tool executions (tool_executions_total{tool,status}).
std::vector<const FamilyInfo*> tool_families(const Catalog& cat) {
  return cat.find([](const FamilyInfo& f) {
    return f.type == MetricType::kCounter && starts(f.name, "tool") &&
           (ends(f.name, "_executions") || ends(f.name, "_calls"));
  });
}
// <cache>_hits with <cache>_misses: the prefixes.
std::vector<std::string> cache_prefixes(const Catalog& cat) {
  std::vector<std::string> out;
  for (const FamilyInfo* f : cat.find([](const FamilyInfo& f) {
         return f.type == MetricType::kCounter && ends(f.name, "_hits");
       })) {
    const std::string p = chop(f->name, "_hits");
    if (cat.peek(p + "_misses", MetricType::kCounter) != nullptr) out.push_back(p);
  }
  return out;
}
// <x>_runs counters with an outcome label (pipeline_runs_total{pipeline,status}).
std::vector<const FamilyInfo*> run_families(const Catalog& cat) {
  return cat.find([](const FamilyInfo& f) {
    return f.type == MetricType::kCounter && ends(f.name, "_runs") && !starts(f.name, "vigil_") &&
           !ok_matcher(f).empty();
  });
}

std::string hit_ratio(const std::string& cache, const std::string& by) {
  const std::string hits = sum_by(by, rate(cache + "_hits_total"));
  return hits + " / (" + hits + " + " + sum_by(by, rate(cache + "_misses_total")) + ")";
}

// The business figures of the overview (they stay available to the LLM dashboard).
void business_row(const Catalog& cat, Board& board) {
  Row row{.title = "Business", .panels = {}};
  for (const FamilyInfo* f : token_families(cat)) {
    row.panels.push_back(
        stat("Tokens per second", "short", sum_by("", rate(token_sample(*f))), f->help));
  }
  for (const FamilyInfo* f : cost_families(cat)) {
    row.panels.push_back(stat("Cost per hour", "currencyUSD",
                              sum_by("", rate(sample_name(*f))) + " * 3600", f->help));
  }
  for (const FamilyInfo* f : tool_families(cat)) {
    row.panels.push_back(
        stat("Tool calls per second", "ops", sum_by("", rate(sample_name(*f))), f->help));
  }
  for (const std::string& c : cache_prefixes(cat)) {
    row.panels.push_back(stat(title_case(c) + " hit ratio", "percentunit", hit_ratio(c, ""),
                              "Share of lookups that found an entry"));
  }
  for (const FamilyInfo* f : run_families(cat)) {
    row.panels.push_back(stat(title_case(chop(f->name, "_runs")) + " runs per second", "ops",
                              sum_by("", rate(sample_name(*f))), f->help));
  }
  if (!row.panels.empty()) board.rows.push_back(std::move(row));
}

Board overview_board(Catalog& cat) {
  Board board{.kind = "overview",
              .name = "Overview",
              .description =
                  "Request rate, errors and duration of every request family, "
                  "active requests, uptime and business figures.",
              .rows = {}};
  const std::vector<RequestFamily> requests = request_families(cat);
  Row top{.title = "Service", .panels = {}};
  for (const RequestFamily& r : requests) {
    const std::string total = sample_name(*r.requests);
    const std::string name = title_case(r.prefix);
    top.panels.push_back(stat(name + " request rate", "reqps", sum_by("", rate(total)),
                              r.requests->help,
                              {{std::nullopt, "green"}, {1000, "orange"}, {5000, "red"}}));
    const std::string err = error_matcher(*r.requests);
    if (!err.empty()) {
      top.panels.push_back(stat(name + " error ratio", "percentunit",
                                sum_by("", rate(total, err)) + " / " + sum_by("", rate(total)),
                                "Share of requests that failed", error_thresholds()));
    }
    if (r.active != nullptr) {
      top.panels.push_back(stat(name + " active requests", "short",
                                sum_by("", selector(r.active->name)), r.active->help));
    }
  }
  if (cat.peek("process_uptime_seconds", MetricType::kGauge) != nullptr) {
    top.panels.push_back(stat("Uptime", "s", "max(" + selector("process_uptime_seconds") + ")",
                              "Time since the process started"));
  } else if (cat.peek("process_start_time_seconds", MetricType::kGauge) != nullptr) {
    top.panels.push_back(stat("Uptime", "s",
                              "time() - max(" + selector("process_start_time_seconds") + ")",
                              "Time since the process started"));
  }
  if (!top.panels.empty()) board.rows.push_back(std::move(top));
  red_rows(requests, board);
  business_row(cat, board);
  return board;
}

Board llm_board(Catalog& cat) {
  Board board{.kind = "llm",
              .name = "LLM and agents",
              .description =
                  "Tokens, cost, provider latency, tools, caches, pipelines and "
                  "queues.",
              .rows = {}};
  Row cost{.title = "Tokens and cost", .panels = {}};
  for (const FamilyInfo* f : token_families(cat)) {
    cat.use(*f);
    const std::string s = token_sample(*f);
    const std::pair<std::string, std::string_view> bys[] = {{token_kind_label(*f), "kind"},
                                                            {model_label(*f), "model"}};
    for (const auto& [by, title] : bys) {
      if (!by.empty()) {
        cost.panels.push_back(timeseries("Tokens per second by " + std::string(title), "short",
                                         {{sum_by(by, rate(s)), legend(by, "")}}, f->help));
      }
    }
    if (token_kind_label(*f).empty() && model_label(*f).empty()) {
      cost.panels.push_back(
          timeseries("Tokens per second", "short", {{sum_by("", rate(s)), "tokens"}}, f->help));
    }
  }
  for (const FamilyInfo* f : cost_families(cat)) {
    cat.use(*f);
    const std::string s = sample_name(*f);
    cost.panels.push_back(
        stat("Cost per hour", "currencyUSD", sum_by("", rate(s)) + " * 3600", f->help));
    cost.panels.push_back(stat("Cost per day (at this rate)", "currencyUSD",
                               sum_by("", rate(s)) + " * 86400", f->help));
    const std::pair<std::string, std::string_view> bys[] = {{provider_label(*f), "provider"},
                                                            {model_label(*f), "model"}};
    for (const auto& [by, title] : bys) {
      if (!by.empty()) {
        cost.panels.push_back(timeseries("Cost per hour by " + std::string(title), "currencyUSD",
                                         {{sum_by(by, rate(s)) + " * 3600", legend(by, "")}},
                                         f->help));
      }
    }
  }
  for (const FamilyInfo* f : cat.find([](const FamilyInfo& f) {
         return f.type == MetricType::kHistogram && f.name.find("tokens_per") != std::string::npos;
       })) {
    cat.use(*f);
    const std::string by = breakdown(*f);
    cost.panels.push_back(timeseries("Tokens per request p50 / p95", "short",
                                     {{quantile_of("0.5", f->name, by), legend(by, "") + " p50"},
                                      {quantile_of("0.95", f->name, by), legend(by, "") + " p95"}},
                                     f->help));
  }
  if (!cost.panels.empty()) board.rows.push_back(std::move(cost));

  Row providers{.title = "LLM providers", .panels = {}};
  for (const FamilyInfo* f : cat.find([](const FamilyInfo& f) {
         return f.type == MetricType::kHistogram &&
                (starts(f.name, "llm_") || starts(f.name, "gen_ai_")) &&
                ends(f.name, "_duration_seconds");
       })) {
    cat.use(*f);
    const std::string by = !provider_label(*f).empty() ? provider_label(*f) : breakdown(*f);
    const std::string by_title = by.empty()                    ? "call"
                                 : !provider_label(*f).empty() ? std::string("provider")
                                                               : by;
    providers.panels.push_back(timeseries("LLM latency p95 by " + by_title, "s",
                                          {{quantile_of("0.95", f->name, by), legend(by, "p95")}},
                                          f->help));
    providers.panels.push_back(timeseries("LLM latency p50 / p95 / p99", "s",
                                          {{quantile_of("0.5", f->name, ""), "p50"},
                                           {quantile_of("0.95", f->name, ""), "p95"},
                                           {quantile_of("0.99", f->name, ""), "p99"}},
                                          f->help));
    providers.panels.push_back(
        timeseries("LLM API calls per second by " + by_title, "ops",
                   {{sum_by(by, rate(f->name + "_count")), legend(by, "calls")}}, f->help));
  }
  if (!providers.panels.empty()) board.rows.push_back(std::move(providers));

  Row tools{.title = "Tools", .panels = {}};
  for (const FamilyInfo* f : tool_families(cat)) {
    cat.use(*f);
    const std::string s = sample_name(*f);
    const std::string by = has_label(*f, "tool") ? "tool" : breakdown(*f, {"status"});
    tools.panels.push_back(timeseries("Tool executions per second by " + by, "ops",
                                      {{sum_by(by, rate(s)), legend(by, "")}}, f->help));
    const std::string err = error_matcher(*f);
    if (!err.empty()) {
      tools.panels.push_back(
          timeseries("Tool error ratio by " + by, "percentunit",
                     {{sum_by(by, rate(s, err)) + " / " + sum_by(by, rate(s)), legend(by, "")}},
                     "Share of tool executions that failed"));
      const std::string outcome = outcome_label(*f);
      tools.panels.push_back(timeseries("Tool errors per second by " + outcome, "ops",
                                        {{sum_by(outcome, rate(s, err)), legend(outcome, "")}},
                                        "Failed tool executions, by outcome"));
    }
  }
  for (const FamilyInfo* f : cat.find([](const FamilyInfo& f) {
         return starts(f.name, "tool") && ends(f.name, "_duration_seconds") &&
                (f.type == MetricType::kSummary || f.type == MetricType::kHistogram);
       })) {
    cat.use(*f);
    const std::string by = breakdown(*f);
    if (f->type == MetricType::kSummary) {
      tools.panels.push_back(
          timeseries("Tool latency p90 by " + by, "s",
                     {{"max by (" + by + ") (" + selector(f->name, R"(quantile="0.9")") + ")",
                       legend(by, "")}},
                     f->help));
    } else {
      tools.panels.push_back(timeseries("Tool latency p95 by " + by, "s",
                                        {{quantile_of("0.95", f->name, by), legend(by, "")}},
                                        f->help));
    }
  }
  if (!tools.panels.empty()) board.rows.push_back(std::move(tools));

  Row caches{.title = "Caches", .panels = {}};
  for (const std::string& c : cache_prefixes(cat)) {
    const FamilyInfo* hits = cat.take(c + "_hits", MetricType::kCounter);
    cat.take(c + "_misses", MetricType::kCounter);
    const std::string by = breakdown(*hits);
    const std::string name = title_case(c);
    caches.panels.push_back(timeseries(name + " hit ratio" + (by.empty() ? "" : " by " + by),
                                       "percentunit", {{hit_ratio(c, by), legend(by, "hit ratio")}},
                                       "Share of lookups that found an entry"));
    if (const FamilyInfo* e = cat.take(c + "_entries", MetricType::kGauge)) {
      caches.panels.push_back(timeseries(
          name + " entries", "short",
          {{sum_by(breakdown(*e), selector(e->name)), legend(breakdown(*e), "entries")}}, e->help));
    }
    if (const FamilyInfo* e = cat.take(c + "_evictions", MetricType::kCounter)) {
      caches.panels.push_back(timeseries(
          name + " evictions per second", "ops",
          {{sum_by(breakdown(*e), rate(sample_name(*e))), legend(breakdown(*e), "evictions")}},
          e->help));
    }
  }
  if (!caches.panels.empty()) board.rows.push_back(std::move(caches));

  for (const FamilyInfo* f : run_families(cat)) {
    cat.use(*f);
    const std::string p = chop(f->name, "_runs");
    const std::string name = title_case(p);
    const std::string s = sample_name(*f);
    const std::string by = breakdown(*f, {"status", "result"});
    Row row{.title = name + " runs", .panels = {}};
    row.panels.push_back(timeseries(name + " execution rate", "ops",
                                    {{sum_by(by, rate(s)), legend(by, "runs")}}, f->help));
    row.panels.push_back(timeseries(
        name + " success rate", "percentunit",
        {{sum_by(by, rate(s, ok_matcher(*f))) + " / " + sum_by(by, rate(s)), legend(by, "")}},
        "Share of runs that succeeded"));
    if (const FamilyInfo* g = cat.take(p + "_runs_in_progress", MetricType::kGauge)) {
      row.panels.push_back(timeseries(name + " runs active", "short",
                                      {{sum_by("", selector(g->name)), "active"}}, g->help));
    }
    if (const FamilyInfo* d = cat.take(p + "_run_duration_seconds", MetricType::kHistogram)) {
      const std::string dby = breakdown(*d);
      row.panels.push_back(timeseries(name + " duration p95", "s",
                                      {{quantile_of("0.95", d->name, dby), legend(dby, "p95")}},
                                      d->help));
    }
    if (const FamilyInfo* d = cat.take(p + "_step_duration_seconds", MetricType::kHistogram)) {
      const std::string dby = has_label(*d, "step") ? "step" : breakdown(*d);
      row.panels.push_back(timeseries(name + " step duration p95 by " + dby, "s",
                                      {{quantile_of("0.95", d->name, dby), legend(dby, "")}},
                                      d->help));
    }
    if (const FamilyInfo* st = cat.take(p + "_steps", MetricType::kCounter)) {
      const std::string ss = sample_name(*st);
      const std::string sby = breakdown(*st, {"status", "result", "step"});
      row.panels.push_back(timeseries(name + " steps (API calls) per second by " + sby, "ops",
                                      {{sum_by(sby, rate(ss)), legend(sby, "")}}, st->help));
      if (!ok_matcher(*st).empty()) {
        const std::string step = has_label(*st, "step") ? "step" : sby;
        row.panels.push_back(
            timeseries(name + " throughput: steps completed per second", "ops",
                       {{sum_by(step, rate(ss, ok_matcher(*st))), legend(step, "")}}, st->help));
        const std::string outcome = outcome_label(*st);
        row.panels.push_back(timeseries(
            name + " step errors per second by type", "ops",
            {{sum_by(outcome, rate(ss, error_matcher(*st))), legend(outcome, "")}}, st->help));
      }
    }
    board.rows.push_back(std::move(row));
  }

  Row queue{.title = "Queue and workers", .panels = {}};
  for (const FamilyInfo* f : cat.find([](const FamilyInfo& f) {
         return app_family(f) &&
                ((f.type == MetricType::kGauge && ends(f.name, "_queue_depth")) ||
                 (f.type == MetricType::kHistogram && ends(f.name, "_wait_seconds")) ||
                 (f.type == MetricType::kGauge && ends(f.name, "_utilization_ratio")));
       })) {
    if (cat.used(*f)) continue;
    cat.use(*f);
    if (f->type == MetricType::kHistogram) {
      queue.panels.push_back(timeseries(
          title_case(f->name) + " p50 / p95", "s",
          {{quantile_of("0.5", f->name, ""), "p50"}, {quantile_of("0.95", f->name, ""), "p95"}},
          f->help));
    } else {
      queue.panels.push_back(timeseries(title_case(f->name), value_unit(*f),
                                        {{sum_by("", selector(f->name)), f->name}}, f->help));
    }
  }
  if (!queue.panels.empty()) board.rows.push_back(std::move(queue));
  return board;
}

Board health_board(Catalog& cat) {
  Board board{.kind = "health",
              .name = "Health and alerts",
              .description =
                  "vigil's health checks, alerts (vigil's engine and Prometheus' "
                  "ALERTS), guardrails, notification delivery and vigil's own components.",
              .rows = {}};
  Row health{.title = "Health", .panels = {}};
  if (const FamilyInfo* f = cat.take("vigil_health_status", MetricType::kGauge)) {
    Panel p = stat("Health by group", "none", "min by (group) (" + selector(f->name) + ")", f->help,
                   {{std::nullopt, "red"}, {0.5, "orange"}, {1, "green"}});
    p.targets[0].legend = "{{group}}";
    p.check_mapping = true;
    p.w = 12;
    health.panels.push_back(std::move(p));
  }
  if (const FamilyInfo* f = cat.take("vigil_health_check_status", MetricType::kGauge)) {
    Panel p = timeseries(
        "Check status (1 pass, 0.5 warn, 0 fail)", "none",
        {{"min by (group, check) (" + selector(f->name) + ")", "{{group}}/{{check}}"}}, f->help);
    p.min = 0;
    p.max = 1;
    p.check_mapping = true;
    health.panels.push_back(std::move(p));
  }
  if (const FamilyInfo* f =
          cat.take("vigil_health_check_duration_seconds", MetricType::kHistogram)) {
    health.panels.push_back(timeseries("Check duration p95 by check", "s",
                                       {{quantile_of("0.95", f->name, "check"), "{{check}}"}},
                                       f->help));
  }
  if (const FamilyInfo* f = cat.take("vigil_health_check_runs", MetricType::kCounter)) {
    health.panels.push_back(
        timeseries("Failing check runs per second", "ops",
                   {{sum_by("check, result", rate(sample_name(*f), R"(result!~"pass|skipped")")),
                     "{{check}} {{result}}"}},
                   f->help));
  }
  add_generic(cat, health,
              cat.find([](const FamilyInfo& f) { return starts(f.name, "vigil_health_"); }));
  if (!health.panels.empty()) board.rows.push_back(std::move(health));

  // Prometheus' ALERTS series are Prometheus' own: they carry the labels of each alert, not
  // necessarily job and instance, so they are not filtered on those variables.
  Row alerts{.title = "Alerts", .panels = {}};
  alerts.panels.push_back(stat("Firing alerts (Prometheus)", "short",
                               R"(count(ALERTS{alertstate="firing"}) or vector(0))",
                               "Alerts Prometheus has firing, from its ALERTS series",
                               {{std::nullopt, "green"}, {1, "red"}}));
  alerts.panels.push_back(
      timeseries("Firing alerts by name (Prometheus)", "short",
                 {{R"(sum by (alertname, severity) (ALERTS{alertstate="firing"}))",
                   "{{alertname}} ({{severity}})"}},
                 "Alerts Prometheus has firing, from its ALERTS series"));
  if (const FamilyInfo* f = cat.take("vigil_alerting_alerts", MetricType::kGauge)) {
    alerts.panels.push_back(stat("Firing alerts (vigil)", "short",
                                 sum_by("", selector(f->name, R"(state="firing")")), f->help,
                                 {{std::nullopt, "green"}, {1, "red"}}));
    alerts.panels.push_back(timeseries("Alerts by state (vigil)", "short",
                                       {{sum_by("state", selector(f->name)), "{{state}}"}},
                                       f->help));
  }
  add_generic(cat, alerts,
              cat.find([](const FamilyInfo& f) { return starts(f.name, "vigil_alerting_"); }));
  board.rows.push_back(std::move(alerts));

  // Guardrails (vigil::guardrail): checks by verdict, triggers, each monitor's state and its
  // rollback actions (duration, failures).
  Row guardrails{.title = "Guardrails", .panels = {}};
  if (const FamilyInfo* f = cat.take("vigil_guardrail_state", MetricType::kGauge)) {
    guardrails.panels.push_back(stat("Guardrails triggered", "short",
                                     sum_by("", selector(f->name, R"(state="triggered")")),
                                     "Guardrail monitors in the triggered state (rolled back)",
                                     {{std::nullopt, "green"}, {1, "red"}}));
    Panel p = timeseries(
        "Guardrail state by monitor (1 = current)", "none",
        {{"max by (monitor, state) (" + selector(f->name) + ")", "{{monitor}} {{state}}"}},
        f->help);
    p.min = 0;
    p.max = 1;
    guardrails.panels.push_back(std::move(p));
  }
  if (const FamilyInfo* f = cat.take("vigil_guardrail_checks", MetricType::kCounter)) {
    guardrails.panels.push_back(timeseries(
        "Guardrail checks per second by result", "ops",
        {{sum_by("monitor, result", rate(sample_name(*f))), "{{monitor}} {{result}}"}}, f->help));
  }
  if (const FamilyInfo* f = cat.take("vigil_guardrail_triggers", MetricType::kCounter)) {
    guardrails.panels.push_back(
        timeseries("Guardrail triggers per second", "ops",
                   {{sum_by("monitor", rate(sample_name(*f))), "{{monitor}}"}}, f->help));
  }
  if (const FamilyInfo* f =
          cat.take("vigil_guardrail_action_duration_seconds", MetricType::kHistogram)) {
    guardrails.panels.push_back(timeseries(
        "Rollback action duration p95", "s",
        {{quantile_of("0.95", f->name, "monitor, action"), "{{monitor}} {{action}}"}}, f->help));
  }
  if (const FamilyInfo* f = cat.take("vigil_guardrail_action_failures", MetricType::kCounter)) {
    guardrails.panels.push_back(
        timeseries("Rollback action failures per second", "ops",
                   {{sum_by("monitor, action, reason", rate(sample_name(*f))),
                     "{{monitor}} {{action}} {{reason}}"}},
                   f->help));
  }
  add_generic(cat, guardrails,
              cat.find([](const FamilyInfo& f) { return starts(f.name, "vigil_guardrail_"); }));
  if (!guardrails.panels.empty()) board.rows.push_back(std::move(guardrails));

  Row notifications{.title = "Notifications", .panels = {}};
  add_generic(cat, notifications, cat.find([](const FamilyInfo& f) {
    return starts(f.name, "vigil_notification") || starts(f.name, "vigil_alertmanager_");
  }));
  if (!notifications.panels.empty()) board.rows.push_back(std::move(notifications));

  Row internals{.title = "vigil components", .panels = {}};
  add_generic(cat, internals,
              cat.find([](const FamilyInfo& f) { return starts(f.name, "vigil_"); }));
  if (!internals.panels.empty()) board.rows.push_back(std::move(internals));
  return board;
}

Board system_board(Catalog& cat) {
  Board board{.kind = "system",
              .name = "System and process",
              .description =
                  "The process (CPU, memory, threads, file descriptors, network) "
                  "and its host (CPU, memory, load, disk).",
              .rows = {}};
  Row process{.title = "Process", .panels = {}};
  if (cat.take("process_cpu_seconds", MetricType::kCounter) != nullptr) {
    process.panels.push_back(timeseries("CPU usage (100% = one core)", "percentunit",
                                        {{sum_by("", rate("process_cpu_seconds_total")), "cpu"}},
                                        "CPU time the process used per second"));
  }
  {
    std::vector<Target> t;
    for (std::string_view n : {"process_resident_memory_bytes", "process_virtual_memory_bytes"}) {
      if (cat.take(n, MetricType::kGauge) != nullptr) {
        t.push_back({sum_by("", selector(n)),
                     n == "process_resident_memory_bytes" ? "resident" : "virtual"});
      }
    }
    if (!t.empty()) {
      process.panels.push_back(timeseries("Memory usage", "bytes", std::move(t),
                                          "Resident and virtual memory of the process"));
    }
  }
  if (cat.take("process_threads", MetricType::kGauge) != nullptr) {
    process.panels.push_back(
        timeseries("Threads", "short", {{sum_by("", selector("process_threads")), "threads"}}));
  }
  {
    std::vector<Target> t;
    for (std::string_view n : {"process_open_fds", "process_max_fds"}) {
      if (cat.take(n, MetricType::kGauge) != nullptr) {
        t.push_back({sum_by("", selector(n)), n == "process_open_fds" ? "open" : "max"});
      }
    }
    if (!t.empty()) process.panels.push_back(timeseries("File descriptors", "short", std::move(t)));
  }
  {
    std::vector<Target> t;
    for (std::string_view n : {"process_network_receive_bytes", "process_network_transmit_bytes"}) {
      if (cat.take(n, MetricType::kCounter) != nullptr) {
        t.push_back({sum_by("", rate(std::string(n) + "_total")),
                     n == "process_network_receive_bytes" ? "receive" : "transmit"});
      }
    }
    if (!t.empty()) process.panels.push_back(timeseries("Network traffic", "Bps", std::move(t)));
  }
  if (cat.take("process_uptime_seconds", MetricType::kGauge) != nullptr) {
    process.panels.push_back(
        stat("Process uptime", "s", "max(" + selector("process_uptime_seconds") + ")"));
  }
  if (cat.take("process_start_time_seconds", MetricType::kGauge) != nullptr) {
    process.panels.push_back(stat("Process started", "dateTimeFromNow",
                                  "max(" + selector("process_start_time_seconds") + ") * 1000"));
  }
  add_generic(cat, process,
              cat.find([](const FamilyInfo& f) { return starts(f.name, "process_"); }));
  if (!process.panels.empty()) board.rows.push_back(std::move(process));

  Row system{.title = "Host", .panels = {}};
  if (const FamilyInfo* f = cat.take("system_cpu_seconds", MetricType::kCounter)) {
    const std::string by = has_label(*f, "mode") ? "mode" : "";
    system.panels.push_back(timeseries(
        "Host CPU busy by mode (1 = one core)", "short",
        {{sum_by(by, rate("system_cpu_seconds_total", by.empty() ? "" : R"(mode!="idle")")),
          legend(by, "busy")}},
        f->help));
  }
  if (cat.take("system_memory_usage_ratio", MetricType::kGauge) != nullptr) {
    system.panels.push_back(
        timeseries("Host memory used", "percentunit",
                   {{"max(" + selector("system_memory_usage_ratio") + ")", "used"}}));
  }
  {
    std::vector<Target> t;
    for (std::string_view n : {"system_memory_total_bytes", "system_memory_available_bytes"}) {
      if (cat.take(n, MetricType::kGauge) != nullptr) {
        t.push_back({"max(" + selector(n) + ")", std::string(n.substr(14, n.size() - 20))});
      }
    }
    if (!t.empty()) system.panels.push_back(timeseries("Host memory", "bytes", std::move(t)));
  }
  if (cat.take("system_cpus", MetricType::kGauge) != nullptr) {
    system.panels.push_back(stat("Host CPUs", "short", "max(" + selector("system_cpus") + ")"));
  }
  if (cat.take("system_uptime_seconds", MetricType::kGauge) != nullptr) {
    system.panels.push_back(
        stat("Host uptime", "s", "max(" + selector("system_uptime_seconds") + ")"));
  }
  {
    std::vector<Target> t;
    for (std::string_view n : {"system_load1", "system_load5", "system_load15"}) {
      if (cat.take(n, MetricType::kGauge) != nullptr) {
        t.push_back({"max(" + selector(n) + ")", std::string(n.substr(7))});
      }
    }
    if (!t.empty()) system.panels.push_back(timeseries("Load average", "short", std::move(t)));
  }
  {
    std::vector<Target> t;
    for (std::string_view n :
         {"system_disk_total_bytes", "system_disk_available_bytes", "system_disk_free_bytes"}) {
      if (cat.take(n, MetricType::kGauge) != nullptr) {
        t.push_back({"max(" + selector(n) + ")", std::string(n.substr(12, n.size() - 18))});
      }
    }
    if (!t.empty()) system.panels.push_back(timeseries("Disk", "bytes", std::move(t)));
  }
  add_generic(cat, system, cat.find([](const FamilyInfo& f) { return starts(f.name, "system_"); }));
  if (!system.panels.empty()) board.rows.push_back(std::move(system));
  return board;
}

// ---- JSON --------------------------------------------------------------------------------------

json datasource_ref() { return {{"type", "prometheus"}, {"uid", "${datasource}"}}; }

json panel_json(const Panel& p, int id, int x, int y) {
  json targets = json::array();
  for (std::size_t i = 0; i < p.targets.size(); ++i) {
    json t = {{"datasource", datasource_ref()},
              {"editorMode", "code"},
              {"expr", p.targets[i].expr},
              {"legendFormat", p.targets[i].legend.empty() ? "__auto" : p.targets[i].legend},
              {"range", true},
              {"refId", std::string(1, static_cast<char>('A' + i))}};
    if (p.type == "stat") {
      t["instant"] = false;
    }
    targets.push_back(std::move(t));
  }
  json steps = json::array();
  for (const Threshold& t : p.thresholds) {
    steps.push_back({{"color", t.color}, {"value", t.value ? json(*t.value) : json(nullptr)}});
  }
  if (steps.empty()) {
    steps.push_back({{"color", "green"}, {"value", nullptr}});
  }
  json defaults = {{"unit", p.unit}};
  if (p.type == "stat") {
    defaults["color"] = {{"mode", "thresholds"}};
  } else {
    defaults["color"] = {{"mode", "palette-classic"}};
    defaults["custom"] = {{"drawStyle", "line"},
                          {"lineWidth", 1},
                          {"fillOpacity", 10},
                          {"showPoints", "never"},
                          {"spanNulls", false}};
  }
  if (p.min) defaults["min"] = *p.min;
  if (p.max) defaults["max"] = *p.max;
  defaults["mappings"] = json::array();
  if (p.check_mapping) {
    json options = json::object();
    options["0"] = {{"color", "red"}, {"index", 0}, {"text", "fail"}};
    options["0.5"] = {{"color", "orange"}, {"index", 1}, {"text", "warn"}};
    options["1"] = {{"color", "green"}, {"index", 2}, {"text", "pass"}};
    defaults["mappings"].push_back({{"type", "value"}, {"options", std::move(options)}});
  }
  defaults["thresholds"] = {{"mode", "absolute"}, {"steps", std::move(steps)}};

  json options;
  if (p.type == "stat") {
    options = {{"colorMode", "value"},
               {"graphMode", "area"},
               {"justifyMode", "auto"},
               {"orientation", "auto"},
               {"reduceOptions", {{"calcs", {"lastNotNull"}}, {"fields", ""}, {"values", false}}},
               {"textMode", "auto"}};
  } else {
    options = {{"legend",
                {{"calcs", json::array()},
                 {"displayMode", "list"},
                 {"placement", "bottom"},
                 {"showLegend", true}}},
               {"tooltip", {{"mode", "multi"}, {"sort", "desc"}}}};
  }
  json j = {{"id", id},
            {"type", p.type},
            {"title", p.title},
            {"description", p.description},
            {"datasource", datasource_ref()},
            {"gridPos", {{"h", p.h}, {"w", p.w}, {"x", x}, {"y", y}}},
            {"fieldConfig", {{"defaults", std::move(defaults)}, {"overrides", json::array()}}},
            {"options", std::move(options)},
            {"targets", std::move(targets)}};
  return j;
}

json variable_query(std::string name, std::string label, std::string query,
                    const std::string& current) {
  json cur = current.empty() ? json{{"selected", true}, {"text", {"All"}}, {"value", {"$__all"}}}
                             : json{{"selected", true}, {"text", {current}}, {"value", {current}}};
  return {{"type", "query"},
          {"name", std::move(name)},
          {"label", std::move(label)},
          {"datasource", datasource_ref()},
          {"query",
           {{"qryType", 1},
            {"query", query},
            {"refId", "PrometheusVariableQueryEditor-VariableQuery"}}},
          {"refresh", 2},
          {"regex", ""},
          {"sort", 1},
          {"includeAll", true},
          {"allValue", ".*"},
          {"multi", true},
          {"current", std::move(cur)},
          {"options", json::array()},
          {"hide", 0},
          {"skipUrlSync", false}};
}

std::string slug(std::string_view s) {
  std::string out;
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') {
      out += static_cast<char>(c - 'A' + 'a');
    } else if (alnum) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

void check_options(const GrafanaOptions& o) {
  if (slug(o.title).empty()) {
    throw Error("GrafanaOptions.title \"" + o.title + "\" must have a letter or digit");
  }
  if (o.uid_prefix.size() > 20 || slug(o.uid_prefix) != o.uid_prefix) {
    throw Error("GrafanaOptions.uid_prefix \"" + o.uid_prefix +
                "\" must be at most 20 characters of [a-z0-9-], not starting or ending with '-'");
  }
  if (o.datasource.empty()) throw Error("GrafanaOptions.datasource must not be empty");
}

GrafanaDashboard render(const Board& board, const GrafanaOptions& o, const std::string& anchor) {
  GrafanaDashboard d;
  d.kind = board.kind;
  d.title = o.title + " / " + board.name;
  std::string uid = slug(d.title);
  if (!o.uid_prefix.empty()) uid = o.uid_prefix + "-" + uid;
  if (uid.size() > 40) uid.resize(40);
  while (!uid.empty() && uid.back() == '-') uid.pop_back();
  d.uid = uid;
  d.file_name = slug(d.title) + ".json";

  json panels = json::array();
  int id = 1;
  int y = 0;
  for (const Row& row : board.rows) {
    panels.push_back({{"id", id++},
                      {"type", "row"},
                      {"title", row.title},
                      {"collapsed", false},
                      {"gridPos", {{"h", 1}, {"w", kGridWidth}, {"x", 0}, {"y", y}}},
                      {"panels", json::array()}});
    ++y;
    // Stats first: their short tiles share lines, the graphs follow.
    std::vector<const Panel*> order;
    for (const Panel& p : row.panels) {
      if (p.type == "stat") order.push_back(&p);
    }
    for (const Panel& p : row.panels) {
      if (p.type != "stat") order.push_back(&p);
    }
    int x = 0;
    int line_h = 0;
    for (const Panel* pp : order) {
      const Panel& p = *pp;
      if (x + p.w > kGridWidth) {
        x = 0;
        y += line_h;
        line_h = 0;
      }
      panels.push_back(panel_json(p, id++, x, y));
      x += p.w;
      line_h = std::max(line_h, p.h);
    }
    y += line_h;
  }

  json datasource = {
      {"type", "datasource"},
      {"name", "datasource"},
      {"label", "Data source"},
      {"query", "prometheus"},
      {"current", {{"selected", false}, {"text", o.datasource}, {"value", o.datasource}}},
      {"options", json::array()},
      {"refresh", 1},
      {"regex", ""},
      {"includeAll", false},
      {"multi", false},
      {"hide", 0},
      {"skipUrlSync", false}};
  json dash = {{"annotations",
                {{"list",
                  {{{"builtIn", 1},
                    {"datasource", {{"type", "grafana"}, {"uid", "-- Grafana --"}}},
                    {"enable", true},
                    {"hide", true},
                    {"iconColor", "rgba(0, 211, 255, 1)"},
                    {"name", "Annotations & Alerts"},
                    {"type", "dashboard"}}}}}},
               {"description", board.description + " Generated by vigil (docs/dashboards.md)."},
               {"editable", true},
               {"fiscalYearStartMonth", 0},
               {"graphTooltip", 1},
               {"id", nullptr},
               {"links",
                {{{"asDropdown", true},
                  {"icon", "external link"},
                  {"includeVars", true},
                  {"keepTime", true},
                  {"tags", o.tags},
                  {"targetBlank", false},
                  {"title", "Dashboards"},
                  {"tooltip", ""},
                  {"type", "dashboards"},
                  {"url", ""}}}},
               {"panels", std::move(panels)},
               {"refresh", o.refresh},
               {"schemaVersion", 39},
               {"tags", o.tags},
               {"templating",
                {{"list",
                  {std::move(datasource),
                   variable_query("job", "Job", "label_values(" + anchor + ", job)", o.job),
                   variable_query("instance", "Instance",
                                  "label_values(" + anchor + "{job=~\"$job\"}, instance)", "")}}}},
               {"time", {{"from", o.time_from}, {"to", "now"}}},
               {"timepicker", json::object()},
               {"timezone", "browser"},
               {"title", d.title},
               {"uid", d.uid},
               {"version", 1},
               {"weekStart", ""}};
  // Help texts come from outside (a saved exposition): invalid UTF-8 is replaced, not thrown.
  d.json = dash.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return d;
}

}  // namespace

std::vector<GrafanaDashboard> grafana_dashboards(const std::vector<FamilyInfo>& families,
                                                 const GrafanaOptions& options) {
  check_options(options);
  Catalog cat(families);
  // The specialised dashboards take their families first; what is left of the application's
  // own families goes to the overview's "Other metrics" row.
  std::vector<Board> boards;
  boards.push_back(llm_board(cat));
  boards.push_back(health_board(cat));
  boards.push_back(system_board(cat));
  Board overview = overview_board(cat);
  Row other{.title = "Other metrics", .panels = {}};
  add_generic(cat, other, cat.find([](const FamilyInfo& f) { return app_family(f); }));
  if (!other.panels.empty()) overview.rows.push_back(std::move(other));
  boards.insert(boards.begin(), std::move(overview));

  // The job and instance variables list the values of a series every scrape of the service
  // has: the first family's.
  std::string anchor = "up";
  for (const FamilyInfo& f : families) {
    if (f.type != MetricType::kInfo) {
      anchor = sample_name(f);
      break;
    }
  }
  std::vector<GrafanaDashboard> out;
  for (const Board& b : boards) {
    bool any = false;
    for (const Row& r : b.rows) any = any || !r.panels.empty();
    if (any) out.push_back(render(b, options, anchor));
  }
  return out;
}

std::vector<GrafanaDashboard> grafana_dashboards(const metrics::Registry& registry,
                                                 const GrafanaOptions& options) {
  return grafana_dashboards(families_of(registry), options);
}

std::string grafana_dashboard(const metrics::Registry& registry, const GrafanaOptions& options,
                              std::string_view kind) {
  if (kind != "overview" && kind != "llm" && kind != "health" && kind != "system") {
    throw Error("grafana_dashboard: unknown kind \"" + std::string(kind) +
                "\" (overview, llm, health or system)");
  }
  for (GrafanaDashboard& d : grafana_dashboards(registry, options)) {
    if (d.kind == kind) return std::move(d.json);
  }
  return "";
}

}  // namespace vigil::ops
