// SLOs: the SLI as PromQL, the workbook's multiwindow multi-burn-rate rules, the rule file.
#include "vigil/alerting/slo.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "core/detail/json_escape.h"
#include "metrics/text_format.h"
#include "vigil/core/error.h"

namespace vigil::alerting {

// From alerting/promql/parser.h (whose `detail::ParseResult` does not resolve once
// vigil::alerting::detail is declared, as the public headers included here do).
namespace promql {
std::string format_duration(int64_t ms);
}

namespace {

using std::chrono::milliseconds;

enum class SliKind { kNone, kGoodTotal, kErrorTotal, kOutcome, kLatency };

bool valid_metric_name(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || s.find(':') != std::string_view::npos) return false;
  return valid_metric_name(s);
}

// Shortest text that reads back as `v` (PromQL and YAML accept it).
std::string number(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string quoted(std::string_view s) {
  std::string out;
  vigil::detail::append_json_string(out, s);
  return out;
}

// 0.999 -> "99.9%"
std::string percent(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g%%", v * 100);
  return buf;
}

std::string window_text(milliseconds w) { return promql::format_duration(w.count()); }

// A period in whole days as days ("30d", not PromQL's "4w2d").
std::string period_text(milliseconds p) {
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  if (p.count() % kDay == 0) return std::to_string(p.count() / kDay) + "d";
  return window_text(p);
}

}  // namespace

struct Slo::Def {
  std::string name;
  SliKind kind = SliKind::kNone;
  int sli_count = 0;
  std::string good;    // good counter / histogram base name
  std::string errors;  // error counter
  std::string total;   // total counter
  std::string label;   // outcome label
  std::string regex;   // outcome error regex
  double threshold = 0;
  std::vector<double> bounds;
  std::vector<std::string> matchers;  // PromQL matcher texts
  double objective = 0.99;
  milliseconds period{30LL * 24 * 3600 * 1000};
  std::vector<SloWindow> windows;
  bool windows_set = false;
  LabelList labels;
  double min_events_per_hour = 10;
  std::string page_name = "SLOErrorBudgetBurnPage";
  std::string ticket_name = "SLOErrorBudgetBurnTicket";
  milliseconds interval{0};
  LabelList annotations;

  std::string selector(const std::string& metric, const std::string& extra) const {
    std::string out = metric;
    std::vector<std::string> all = matchers;
    if (!extra.empty()) all.push_back(extra);
    if (all.empty()) return out;
    out += '{';
    for (size_t i = 0; i < all.size(); ++i) {
      if (i > 0) out += ", ";
      out += all[i];
    }
    out += '}';
    return out;
  }
  std::string rate(const std::string& sel, milliseconds w) const {
    return "sum(rate(" + sel + "[" + window_text(w) + "]))";
  }
  std::string total_selector() const {
    return kind == SliKind::kLatency ? selector(good + "_count", "") : selector(total, "");
  }
  // The `le` matcher of the threshold's bucket. vigil writes le="1" in the Prometheus text
  // format (and samples it so in-process) but le="1.0" in OpenMetrics, which Prometheus 2.x
  // stores as scraped: where the two differ, match both.
  std::string le_matcher() const {
    std::string text;
    std::string om;
    metrics::detail::append_label_number(text, threshold, false);
    metrics::detail::append_label_number(om, threshold, true);
    if (text == om) return "le=" + quoted(text);
    const auto escape = [](const std::string& v) {
      std::string out;
      for (char c : v) {
        if (c == '.' || c == '+') out += '\\';
        out += c;
      }
      return out;
    };
    return "le=~" + quoted(escape(text) + "|" + escape(om));
  }
  std::string ratio(milliseconds w) const {
    switch (kind) {
      case SliKind::kGoodTotal:
        return "1 - (" + rate(selector(good, ""), w) + " / " + rate(total_selector(), w) + ")";
      case SliKind::kErrorTotal:
        return rate(selector(errors, ""), w) + " / " + rate(total_selector(), w);
      case SliKind::kOutcome:
        return rate(selector(total, label + "=~" + quoted(regex)), w) + " / " +
               rate(total_selector(), w);
      case SliKind::kLatency:
        return "1 - (" + rate(selector(good + "_bucket", le_matcher()), w) + " / " +
               rate(total_selector(), w) + ")";
      case SliKind::kNone:
        break;
    }
    return {};
  }
  std::string slo_selector(const std::string& record) const {
    return record + "{slo=" + quoted(name) + "}";
  }
  // The alert expression for the window pairs of one kind (page or ticket).
  std::string alert_expr(bool page) const {
    std::string out;
    const std::string budget = "(1 - " + number(objective) + ")";
    for (const SloWindow& w : windows) {
      if ((w.severity == Severity::kCritical) != page) continue;
      const std::string above = "(" + number(w.burn_rate) + " * " + budget + ")";
      if (!out.empty()) out += "\nor\n";
      out += "(\n  " + slo_selector(error_ratio_record(w.long_window)) + " > " + above +
             "\nand\n  " + slo_selector(error_ratio_record(w.short_window)) + " > " + above;
      if (min_events_per_hour > 0) {
        const double hours = static_cast<double>(w.long_window.count()) / 3'600'000.0;
        out += "\nand\n  " + slo_selector(total_record(w.long_window)) +
               " >= " + number(min_events_per_hour * hours);
      }
      out += "\n)";
    }
    return out;
  }
  std::vector<milliseconds> ratio_windows() const {
    std::set<milliseconds> s;
    for (const SloWindow& w : windows) {
      s.insert(w.long_window);
      s.insert(w.short_window);
    }
    return {s.begin(), s.end()};
  }
  std::vector<milliseconds> total_windows() const {
    std::set<milliseconds> s;
    if (min_events_per_hour > 0) {
      for (const SloWindow& w : windows) s.insert(w.long_window);
    }
    return {s.begin(), s.end()};
  }
  LabelList series_labels() const {
    LabelList l{{"slo", name}};
    l.insert(l.end(), labels.begin(), labels.end());
    return l;
  }
  std::string pairs_text(bool page) const {
    std::string out;
    for (const SloWindow& w : windows) {
      if ((w.severity == Severity::kCritical) != page) continue;
      if (!out.empty()) out += " or ";
      out += number(w.burn_rate) + "x over " + window_text(w.long_window) + " and " +
             window_text(w.short_window);
    }
    return out;
  }
  LabelList alert_annotations(bool page) const {
    LabelList a;
    a.emplace_back("summary",
                   "SLO " + name + ": error budget burning " + (page ? "fast (page)" : "(ticket)"));
    a.emplace_back(
        "description",
        "Error ratio {{ $value | humanizePercentage }} over the long window; objective " +
            percent(objective) + " over " + period_text(period) + "; burn rate above " +
            pairs_text(page) + ".");
    a.insert(a.end(), annotations.begin(), annotations.end());
    return a;
  }
};

std::vector<SloWindow> default_slo_windows(milliseconds period) {
  using namespace std::chrono_literals;
  const double p = static_cast<double>(period.count());
  const auto rate = [&](double fraction, milliseconds long_window) {
    // Exactly the workbook's figures for 30 days.
    if (period == milliseconds(30LL * 24 * 3600 * 1000)) {
      if (long_window == 1h) return 14.4;
      if (long_window == 6h) return 6.0;
      if (long_window == 24h) return 3.0;
      return 1.0;
    }
    return fraction * p / static_cast<double>(long_window.count());
  };
  return {
      {1h, 5min, rate(0.02, 1h), Severity::kCritical},
      {6h, 30min, rate(0.05, 6h), Severity::kCritical},
      {24h, 2h, rate(0.10, 24h), Severity::kWarning},
      {72h, 6h, rate(0.10, 72h), Severity::kWarning},
  };
}

Slo::Builder Slo::builder() { return Builder(); }

const std::string& Slo::name() const noexcept { return def_->name; }
double Slo::objective() const noexcept { return def_->objective; }
milliseconds Slo::period() const noexcept { return def_->period; }
const std::vector<SloWindow>& Slo::windows() const noexcept { return def_->windows; }
const LabelList& Slo::labels() const noexcept { return def_->labels; }
double Slo::min_events_per_hour() const noexcept { return def_->min_events_per_hour; }
std::string Slo::error_ratio_expr(milliseconds window) const { return def_->ratio(window); }
std::string Slo::total_expr(milliseconds window) const {
  return "sum(increase(" + def_->total_selector() + "[" + window_text(window) + "]))";
}
std::string Slo::error_ratio_record(milliseconds window) {
  return "slo:sli_error:ratio_rate" + window_text(window);
}
std::string Slo::total_record(milliseconds window) {
  return "slo:sli_total:increase" + window_text(window);
}

RuleGroup Slo::rules() const {
  const Def& d = *def_;
  RuleGroup g;
  g.name = "slo:" + d.name;
  g.interval = d.interval;
  const LabelList series = d.series_labels();
  for (milliseconds w : d.ratio_windows()) {
    g.rules.push_back(AlertRule::builder()
                          .name(error_ratio_record(w))
                          .record(error_ratio_record(w))
                          .expr(d.ratio(w))
                          .labels(series)
                          .group(g.name)
                          .build());
  }
  for (milliseconds w : d.total_windows()) {
    g.rules.push_back(AlertRule::builder()
                          .name(total_record(w))
                          .record(total_record(w))
                          .expr(total_expr(w))
                          .labels(series)
                          .group(g.name)
                          .build());
  }
  for (bool page : {true, false}) {
    const std::string expr = d.alert_expr(page);
    if (expr.empty()) continue;
    const Severity sev = page ? Severity::kCritical : Severity::kWarning;
    LabelList labels{{"severity", std::string(to_string(sev))}};
    g.rules.push_back(AlertRule::builder()
                          .name(page ? d.page_name : d.ticket_name)
                          .expr(expr)
                          .severity(sev)
                          .labels(labels)
                          .annotations(d.alert_annotations(page))
                          .group(g.name)
                          .build());
  }
  return g;
}

std::string Slo::to_rule_file() const {
  const Def& d = *def_;
  std::string out;
  out += "# SLO " + d.name + ": objective " + number(d.objective) + " over " +
         period_text(d.period) + ", multiwindow multi-burn-rate alerts (written by vigil).\n";
  out += "groups:\n";
  out += "  - name: " + quoted("slo:" + d.name) + "\n";
  if (d.interval.count() > 0) out += "    interval: " + window_text(d.interval) + "\n";
  out += "    rules:\n";
  const auto labels_block = [&](const LabelList& l, const char* key) {
    if (l.empty()) return;
    out += std::string("        ") + key + ":\n";
    for (const auto& [k, v] : l) out += "          " + k + ": " + quoted(v) + "\n";
  };
  const LabelList series = d.series_labels();
  const auto record = [&](const std::string& name, const std::string& expr) {
    out += "      - record: " + name + "\n";
    out += "        expr: " + quoted(expr) + "\n";
    labels_block(series, "labels");
  };
  for (milliseconds w : d.ratio_windows()) record(error_ratio_record(w), d.ratio(w));
  for (milliseconds w : d.total_windows()) record(total_record(w), total_expr(w));
  for (bool page : {true, false}) {
    const std::string expr = d.alert_expr(page);
    if (expr.empty()) continue;
    out += "      - alert: " + quoted(page ? d.page_name : d.ticket_name) + "\n";
    out += "        expr: |-\n";
    size_t start = 0;
    while (start <= expr.size()) {
      size_t end = expr.find('\n', start);
      if (end == std::string::npos) end = expr.size();
      out += "          " + expr.substr(start, end - start) + "\n";
      start = end + 1;
    }
    labels_block(
        {{"severity", std::string(to_string(page ? Severity::kCritical : Severity::kWarning))}},
        "labels");
    labels_block(d.alert_annotations(page), "annotations");
  }
  return out;
}

void Slo::write_rule_file(const std::string& path) const {
  const std::string text = to_rule_file();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (f) f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (f) f.close();
  if (!f) throw Error("slo \"" + def_->name + "\": cannot write rule file " + path);
}

Slo::Builder::Builder() : def_(std::make_unique<Def>()) {}
Slo::Builder::~Builder() = default;
Slo::Builder::Builder(Builder&&) noexcept = default;
Slo::Builder& Slo::Builder::operator=(Builder&&) noexcept = default;

Slo::Builder& Slo::Builder::name(std::string name) {
  def_->name = std::move(name);
  return *this;
}
Slo::Builder& Slo::Builder::good_total(std::string good, std::string total) {
  def_->kind = SliKind::kGoodTotal;
  ++def_->sli_count;
  def_->good = std::move(good);
  def_->total = std::move(total);
  return *this;
}
Slo::Builder& Slo::Builder::error_total(std::string errors, std::string total) {
  def_->kind = SliKind::kErrorTotal;
  ++def_->sli_count;
  def_->errors = std::move(errors);
  def_->total = std::move(total);
  return *this;
}
Slo::Builder& Slo::Builder::outcome_label(std::string counter, std::string label,
                                          std::string error_regex) {
  def_->kind = SliKind::kOutcome;
  ++def_->sli_count;
  def_->total = std::move(counter);
  def_->label = std::move(label);
  def_->regex = std::move(error_regex);
  return *this;
}
Slo::Builder& Slo::Builder::latency(std::string histogram, double threshold,
                                    std::vector<double> bounds) {
  def_->kind = SliKind::kLatency;
  ++def_->sli_count;
  def_->good = std::move(histogram);
  def_->threshold = threshold;
  def_->bounds = std::move(bounds);
  return *this;
}
Slo::Builder& Slo::Builder::latency(const metrics::Family<metrics::Histogram>& histogram,
                                    double threshold) {
  return latency(histogram.name(), threshold, histogram.buckets());
}
Slo::Builder& Slo::Builder::filter(std::string label, std::string value) {
  if (!valid_label_name(label)) {
    throw Error("slo \"" + def_->name + "\": invalid filter label name \"" + label + "\"");
  }
  def_->matchers.push_back(label + "=" + quoted(value));
  return *this;
}
Slo::Builder& Slo::Builder::matchers(std::string promql_matchers) {
  def_->matchers.push_back(std::move(promql_matchers));
  return *this;
}
Slo::Builder& Slo::Builder::objective(double objective) {
  def_->objective = objective;
  return *this;
}
Slo::Builder& Slo::Builder::period(milliseconds period) {
  def_->period = period;
  return *this;
}
Slo::Builder& Slo::Builder::windows(std::vector<SloWindow> windows) {
  def_->windows = std::move(windows);
  def_->windows_set = true;
  return *this;
}
Slo::Builder& Slo::Builder::labels(LabelList labels) {
  def_->labels = std::move(labels);
  return *this;
}
Slo::Builder& Slo::Builder::label(std::string name, std::string value) {
  def_->labels.emplace_back(std::move(name), std::move(value));
  return *this;
}
Slo::Builder& Slo::Builder::min_events_per_hour(double events) {
  def_->min_events_per_hour = events;
  return *this;
}
Slo::Builder& Slo::Builder::alert_names(std::string page, std::string ticket) {
  def_->page_name = std::move(page);
  def_->ticket_name = std::move(ticket);
  return *this;
}
Slo::Builder& Slo::Builder::interval(milliseconds interval) {
  def_->interval = interval;
  return *this;
}
Slo::Builder& Slo::Builder::annotation(std::string name, std::string value) {
  def_->annotations.emplace_back(std::move(name), std::move(value));
  return *this;
}

Slo Slo::Builder::build() {
  Def& d = *def_;
  const std::string what = "slo \"" + d.name + "\": ";
  if (d.name.empty()) throw Error("slo: a name is required");
  if (d.sli_count == 0) {
    throw Error(what + "no SLI (good_total, error_total, outcome_label or latency) was given");
  }
  if (d.sli_count > 1) throw Error(what + "more than one SLI was given");
  for (const std::string* m : {&d.good, &d.errors, &d.total}) {
    if (!m->empty() && !valid_metric_name(*m)) {
      throw Error(what + "invalid metric name \"" + *m + "\"");
    }
  }
  if (d.kind == SliKind::kOutcome && !valid_label_name(d.label)) {
    throw Error(what + "invalid outcome label name \"" + d.label + "\"");
  }
  if (d.kind == SliKind::kLatency) {
    if (std::find(d.bounds.begin(), d.bounds.end(), d.threshold) == d.bounds.end() ||
        !std::isfinite(d.threshold)) {
      std::string b;
      for (double v : d.bounds) b += (b.empty() ? "" : ", ") + number(v);
      throw Error(what + "latency threshold " + number(d.threshold) +
                  " is not a bucket bound of histogram \"" + d.good +
                  "\" (bounds: " + (b.empty() ? "none" : b) + ")");
    }
  }
  if (!(d.objective > 0 && d.objective < 1)) {
    throw Error(what + "objective " + number(d.objective) + " must be in (0, 1), e.g. 0.999");
  }
  if (d.period.count() <= 0) throw Error(what + "period must be positive");
  if (!d.windows_set) d.windows = default_slo_windows(d.period);
  if (d.windows.empty()) throw Error(what + "no windows");
  for (const SloWindow& w : d.windows) {
    if (w.long_window.count() <= 0 || w.short_window.count() <= 0 || !(w.burn_rate > 0) ||
        !std::isfinite(w.burn_rate)) {
      throw Error(what + "a window needs positive long and short windows and burn rate");
    }
  }
  if (!(d.min_events_per_hour >= 0) || !std::isfinite(d.min_events_per_hour)) {
    throw Error(what + "min_events_per_hour must be >= 0");
  }
  for (const auto& [k, v] : d.labels) {
    if (!valid_label_name(k) || k.starts_with("__")) {
      throw Error(what + "invalid label name \"" + k + "\"");
    }
    if (k == "slo" || k == "severity") throw Error(what + "label \"" + k + "\" is reserved");
  }
  if (d.page_name.empty() || d.ticket_name.empty() || d.page_name == d.ticket_name) {
    throw Error(what + "the page and ticket alerts need two different names");
  }
  Slo slo(std::shared_ptr<const Def>(std::move(def_)));
  def_ = std::make_unique<Def>();
  // Every expression must parse and evaluate in-process: building the rules checks it.
  try {
    (void)slo.rules();
  } catch (const Error& e) {
    throw Error(what + e.what());
  }
  return slo;
}

void add_slo(AlertManager& manager, const Slo& slo) { manager.add_group(slo.rules()); }

}  // namespace vigil::alerting
