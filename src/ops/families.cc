// The families the dashboard generator works from: read from a registry (a sink that keeps the
// family descriptions) or from a Prometheus text exposition.
#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/detail/text.h"
#include "vigil/ops/grafana.h"

namespace vigil::ops {
namespace {

class FamilyCollector : public metrics::MetricSink {
 public:
  std::vector<FamilyInfo> families;

  void begin_family(const metrics::FamilyDesc& f) override {
    families.push_back({.name = std::string(f.name),
                        .type = f.type,
                        .unit = std::string(f.unit),
                        .help = std::string(f.help),
                        .label_names = {f.label_names.begin(), f.label_names.end()}});
  }
  void counter(metrics::LabelValues, double, double) override {}
  void gauge(metrics::LabelValues, double) override {}
  void histogram(metrics::LabelValues, const metrics::HistogramPoint&) override {}
  void summary(metrics::LabelValues, const metrics::SummaryPoint&) override {}
  void info(metrics::LabelValues) override {}
  void end_family() override {}
};

bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (!is_name_char(s[i], i == 0)) return false;
  }
  return true;
}

bool strip_suffix(std::string& s, std::string_view suffix) {
  if (s.size() > suffix.size() && std::string_view(s).ends_with(suffix)) {
    s.resize(s.size() - suffix.size());
    return true;
  }
  return false;
}

// The label names of a sample line's {...} block; false when it is malformed.
bool sample_labels(std::string_view block, std::vector<std::string>& names, std::string& error) {
  std::size_t i = 0;
  while (true) {
    while (i < block.size() && (block[i] == ' ' || block[i] == ',')) ++i;
    if (i >= block.size()) return true;
    const std::size_t start = i;
    while (i < block.size() && is_name_char(block[i], i == start)) ++i;
    if (i == start) {
      error = "bad label name at '" + std::string(block.substr(start, 20)) + "'";
      return false;
    }
    std::string name(block.substr(start, i - start));
    while (i < block.size() && block[i] == ' ') ++i;
    if (i >= block.size() || block[i] != '=') {
      error = "expected '=' after label " + name;
      return false;
    }
    ++i;
    while (i < block.size() && block[i] == ' ') ++i;
    if (i >= block.size() || block[i] != '"') {
      error = "expected '\"' after " + name + "=";
      return false;
    }
    ++i;
    while (i < block.size() && block[i] != '"') i += block[i] == '\\' ? 2 : 1;
    if (i >= block.size()) {
      error = "unterminated value of label " + name;
      return false;
    }
    ++i;
    if (name != "le" && name != "quantile") names.push_back(std::move(name));
  }
}

metrics::MetricType type_of(std::string_view t, bool& ok) {
  ok = true;
  if (t == "counter") return metrics::MetricType::kCounter;
  if (t == "histogram") return metrics::MetricType::kHistogram;
  if (t == "summary") return metrics::MetricType::kSummary;
  if (t == "info") return metrics::MetricType::kInfo;
  if (t == "gauge" || t == "untyped" || t == "unknown" || t == "gaugehistogram" ||
      t == "stateset") {
    return metrics::MetricType::kGauge;
  }
  ok = false;
  return metrics::MetricType::kGauge;
}

}  // namespace

std::vector<FamilyInfo> families_of(const metrics::Registry& registry) {
  // list() has every registered family, series or not; a collection adds the collectors'
  // families and the units.
  FamilyCollector sink;
  registry.collect(sink);
  std::map<std::string, const FamilyInfo*, std::less<>> collected;
  for (const FamilyInfo& f : sink.families) collected.emplace(f.name, &f);
  std::vector<FamilyInfo> out;
  std::map<std::string, bool, std::less<>> listed;
  for (const metrics::Registry::FamilySummary& s : registry.list()) {
    auto it = collected.find(s.name);
    out.push_back({.name = s.name,
                   .type = s.type,
                   .unit = it != collected.end() ? it->second->unit : std::string(),
                   .help = s.help,
                   .label_names = s.label_names});
    listed.emplace(s.name, true);
  }
  for (FamilyInfo& f : sink.families) {
    if (!listed.contains(f.name)) out.push_back(std::move(f));
  }
  return out;
}

ExpositionFamilies parse_exposition_families(std::string_view text) {
  std::vector<FamilyInfo> families;
  std::map<std::string, std::size_t, std::less<>> index;  // family name -> position
  auto family = [&](const std::string& name) -> FamilyInfo& {
    auto [it, added] = index.emplace(name, families.size());
    if (added) families.push_back({.name = name});
    return families[it->second];
  };
  // The family a sample belongs to: its own name, or the name less a type's suffix.
  auto owner = [&](std::string_view sample) -> FamilyInfo* {
    static constexpr std::string_view kSuffixes[] = {"_total", "_created", "_bucket", "_count",
                                                     "_sum",   "_info",    "_gcount", "_gsum"};
    if (auto it = index.find(sample); it != index.end()) return &families[it->second];
    for (std::string_view s : kSuffixes) {
      if (sample.size() > s.size() && sample.ends_with(s)) {
        auto it = index.find(sample.substr(0, sample.size() - s.size()));
        if (it != index.end()) return &families[it->second];
      }
    }
    return nullptr;
  };

  ExpositionFamilies result;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = vigil::detail::trim(text.substr(pos, eol - pos));
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (line.starts_with('#')) {
      std::vector<std::string_view> words;
      vigil::detail::for_each_list_member(line.substr(1), ' ', [&](std::string_view w) {
        words.push_back(w);
        return words.size() < 3;  // TYPE/UNIT/HELP, the name, the first word after it
      });
      if (words.empty() || (words[0] != "TYPE" && words[0] != "UNIT" && words[0] != "HELP")) {
        continue;  // a comment, or # EOF
      }
      if (words.size() < 2 || !valid_name(words[1])) {
        result.error = where + "# " + std::string(words[0]) + " without a valid metric name";
        return result;
      }
      std::string name(words[1]);
      if (words[0] == "TYPE") {
        bool ok = false;
        const metrics::MetricType type =
            words.size() == 3 ? type_of(words[2], ok) : metrics::MetricType::kGauge;
        if (!ok) {
          result.error = where + "# TYPE " + name + " needs one of counter, gauge, histogram, " +
                         "summary, info, untyped";
          return result;
        }
        const std::string raw = name;
        if (type == metrics::MetricType::kCounter) strip_suffix(name, "_total");
        if (type == metrics::MetricType::kInfo) strip_suffix(name, "_info");
        // A # HELP before the # TYPE made the family under the sample's name: rename it.
        if (auto it = index.find(raw); raw != name && it != index.end() && !index.contains(name)) {
          const std::size_t at = it->second;
          index.erase(it);
          index.emplace(name, at);
          families[at].name = name;
        }
        family(name).type = type;
      } else if (words[0] == "UNIT") {
        FamilyInfo* f = owner(name);
        (f != nullptr ? *f : family(name)).unit = words.size() > 2 ? std::string(words[2]) : "";
      } else {
        const auto at = static_cast<std::size_t>(words[1].data() - line.data()) + words[1].size();
        FamilyInfo* f = owner(name);
        (f != nullptr ? *f : family(name)).help = std::string(vigil::detail::trim(line.substr(at)));
      }
      continue;
    }
    // A sample: name, optional {labels}, value.
    std::size_t end = 0;
    while (end < line.size() && is_name_char(line[end], end == 0)) ++end;
    if (end == 0) {
      result.error = where + "a sample must start with a metric name";
      return result;
    }
    const std::string_view sample = line.substr(0, end);
    std::vector<std::string> labels;
    if (end < line.size() && line[end] == '{') {
      // The block ends at the first '}' outside a quoted value.
      std::size_t i = end + 1;
      bool quoted = false;
      for (; i < line.size(); ++i) {
        if (quoted && line[i] == '\\') {
          ++i;
        } else if (line[i] == '"') {
          quoted = !quoted;
        } else if (!quoted && line[i] == '}') {
          break;
        }
      }
      if (i >= line.size()) {
        result.error = where + "unterminated label set of " + std::string(sample);
        return result;
      }
      std::string error;
      if (!sample_labels(line.substr(end + 1, i - end - 1), labels, error)) {
        result.error = where + std::string(sample) + ": " + error;
        return result;
      }
    }
    FamilyInfo* f = owner(sample);
    if (f == nullptr) f = &family(std::string(sample));  // untyped: a gauge
    for (std::string& l : labels) {
      if (std::find(f->label_names.begin(), f->label_names.end(), l) == f->label_names.end()) {
        f->label_names.push_back(std::move(l));
      }
    }
  }
  result.families = std::move(families);
  return result;
}

}  // namespace vigil::ops
