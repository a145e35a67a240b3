// Prometheus text format 0.0.4 and OpenMetrics 1.0.0 writers, format negotiation, serialize().
// Format details: docs/metrics-exposition.md.
#include "vigil/metrics/exposition.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <system_error>

#include "core/detail/text.h"
#include "text_format.h"
#include "vigil/core/error.h"
#include "vigil/metrics/registry.h"

namespace vigil::metrics {

// ---------------------------------------------------------------------------------------------
// Content types and negotiation

std::string_view content_type(Format format) noexcept {
  switch (format) {
    case Format::kPrometheusText:
      return "text/plain; version=0.0.4; charset=utf-8";
    case Format::kOpenMetrics:
      return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case Format::kJson:
      return "application/json";
  }
  return "text/plain; version=0.0.4; charset=utf-8";
}

namespace {

using vigil::detail::iequals;
using vigil::detail::trim;

// Splits `s` at `sep` outside double-quoted strings (a backslash escapes inside quotes).
// Calls f(piece) for every piece, including empty ones.
template <typename F>
void split_unquoted(std::string_view s, char sep, F&& f) {
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      f(s.substr(start, i - start));
      start = i + 1;
    }
  }
  f(s.substr(std::min(start, s.size())));
}

// A q-value: "0" to "1" with up to three decimals per RFC 9110, parsed leniently (any decimal
// in [0, 1]). Anything else (garbage, out of range, NaN) counts as q=0: not acceptable.
double parse_q(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || !((v[0] >= '0' && v[0] <= '9') || v[0] == '.')) return 0;
  double q = 0;
  const auto [ptr, ec] =
      std::from_chars(v.data(), v.data() + v.size(), q, std::chars_format::fixed);
  if (ec != std::errc() || ptr != v.data() + v.size() || !(q >= 0 && q <= 1)) return 0;
  return q;
}

// How well an Accept header matches one format: its q-value, how specific the matching media
// range was (2 exact, 1 type/*, 0 */*; -1 no match) and its position in the header.
struct Match {
  double q = 0;
  int specificity = -1;
  std::size_t position = 0;

  // Prefer the more specific range; among equally specific ones the higher q.
  void offer(double offered_q, int offered_specificity, std::size_t offered_position) {
    if (offered_specificity > specificity ||
        (offered_specificity == specificity && offered_q > q)) {
      q = offered_q;
      specificity = offered_specificity;
      position = offered_position;
    }
  }
  bool accepted() const { return specificity >= 0 && q > 0; }
};

// Strictly better: higher q, then more specific, then earlier in the header.
bool better(const Match& a, const Match& b) {
  if (!a.accepted()) return false;
  if (!b.accepted()) return true;
  if (a.q != b.q) return a.q > b.q;
  if (a.specificity != b.specificity) return a.specificity > b.specificity;
  return a.position < b.position;
}

}  // namespace

Format negotiate_format(std::string_view accept_header) noexcept {
  Match text;
  Match openmetrics;
  Match json;
  std::size_t position = 0;
  split_unquoted(accept_header, ',', [&](std::string_view range) {
    ++position;
    range = trim(range);
    if (range.empty()) return;
    std::string_view media_type;
    double q = 1;
    bool version_ok = true;  // OpenMetrics: no version, 1.0.0 or 0.0.1 (served as 1.0.0)
    bool first = true;
    bool malformed = false;
    split_unquoted(range, ';', [&](std::string_view part) {
      part = trim(part);
      if (first) {
        first = false;
        media_type = part;
        return;
      }
      if (part.empty()) return;
      const std::size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        malformed = true;
        return;
      }
      const std::string_view key = trim(part.substr(0, eq));
      if (key.empty()) {
        malformed = true;
        return;
      }
      std::string_view value = trim(part.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      if (iequals(key, "q")) {
        q = parse_q(value);
      } else if (iequals(key, "version")) {
        version_ok = value == "1.0.0" || value == "0.0.1";
      }
    });
    if (malformed) return;
    const std::size_t slash = media_type.find('/');
    if (slash == std::string_view::npos) return;
    const std::string_view type = trim(media_type.substr(0, slash));
    const std::string_view subtype = trim(media_type.substr(slash + 1));
    if (type.empty() || subtype.empty()) return;
    if (type == "*" && subtype == "*") {
      text.offer(q, 0, position);
    } else if (iequals(type, "text") && subtype == "*") {
      text.offer(q, 1, position);
    } else if (iequals(type, "text") && iequals(subtype, "plain")) {
      text.offer(q, 2, position);
    } else if (iequals(type, "application") && iequals(subtype, "openmetrics-text")) {
      if (version_ok) openmetrics.offer(q, 2, position);
    } else if (iequals(type, "application") && iequals(subtype, "json")) {
      json.offer(q, 2, position);
    }
  });
  // OpenMetrics and JSON are only chosen when named explicitly; wildcards mean the default.
  if (better(json, text) && better(json, openmetrics)) return Format::kJson;
  if (openmetrics.accepted() && (!text.accepted() || openmetrics.q >= text.q)) {
    return Format::kOpenMetrics;
  }
  return Format::kPrometheusText;
}

// ---------------------------------------------------------------------------------------------
// TextSink

namespace {

char* put(char* p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Bytes around a sample's parts: braces, quotes, `=`, commas, space, line feed.
constexpr std::size_t kLineSlack = 16;

}  // namespace

TextSink::TextSink(std::string& out, Format format)
    : out_(out), format_(format), openmetrics_(format == Format::kOpenMetrics) {
  if (format != Format::kPrometheusText && format != Format::kOpenMetrics) {
    throw vigil::Error(
        "TextSink: format must be Format::kPrometheusText or Format::kOpenMetrics; "
        "use JsonSink for Format::kJson");
  }
}

TextSink::~TextSink() = default;

void TextSink::begin_family(const FamilyDesc& family) {
  family_ = family;
  const std::string_view type = detail::type_name(family.type);

  // Metadata name: OpenMetrics uses the family name; Prometheus text names the sample that the
  // metadata describes (client_golang and client_python do the same).
  name_.assign(family.name);
  if (!openmetrics_) {
    if (family.type == MetricType::kCounter) name_.append("_total");
    if (family.type == MetricType::kInfo) name_.append("_info");
  }

  // Metadata lines, written into the line buffer and appended at once.
  char* const begin = line(3 * (name_.size() + 8) + type.size() + family.unit.size() +
                           detail::kMaxEscapeExpansion * family.help.size() + 8);
  char* p = begin;
  auto metadata = [&](std::string_view keyword) {
    p = put(p, keyword);
    p = put(p, name_);
    *p++ = ' ';
  };
  if (openmetrics_) {
    // Order TYPE, UNIT, HELP as the OpenMetrics specification recommends.
    metadata("# TYPE ");
    p = put(p, type);
    *p++ = '\n';
    if (!family.unit.empty()) {
      metadata("# UNIT ");
      p = put(p, family.unit);
      *p++ = '\n';
    }
    if (!family.help.empty()) {
      metadata("# HELP ");
      p = detail::write_escaped(p, family.help, detail::Escape::kLabelValue);
      *p++ = '\n';
    }
  } else {
    if (!family.help.empty()) {
      metadata("# HELP ");
      p = detail::write_escaped(p, family.help, detail::Escape::kHelpText);
      *p++ = '\n';
    }
    metadata("# TYPE ");
    p = put(p, family.type == MetricType::kInfo ? std::string_view("gauge") : type);
    *p++ = '\n';
  }
  commit(p);

  const_labels_.clear();
  for (const LabelPair& pair : family.const_labels) {
    if (!const_labels_.empty()) const_labels_.push_back(',');
    const_labels_.append(pair.first).append("=\"");
    detail::append_escaped(const_labels_, pair.second, detail::Escape::kLabelValue);
    const_labels_.push_back('"');
  }
  label_heads_.clear();
  label_head_ends_.clear();
  for (const std::string& label : family.label_names) {
    label_heads_.push_back(',');
    label_heads_.append(label).append("=\"");
    label_head_ends_.push_back(static_cast<uint32_t>(label_heads_.size()));
  }
  has_labels_ = !const_labels_.empty() || !label_head_ends_.empty();
}

char* TextSink::line(std::size_t max_bytes) {
  if (line_.size() < max_bytes) line_.resize(std::max(max_bytes, 2 * line_.size()));
  return line_.data();
}

void TextSink::commit(const char* end) {
  out_.append(line_.data(), static_cast<std::size_t>(end - line_.data()));
}

std::size_t TextSink::labels_bound(LabelValues labels) const {
  std::size_t values = 0;
  const std::size_t n = std::min(labels.size(), label_head_ends_.size());
  for (std::size_t i = 0; i < n; ++i) values += labels[i].size();
  return const_labels_.size() + label_heads_.size() + label_head_ends_.size() +
         detail::kMaxEscapeExpansion * values;
}

char* TextSink::write_labels(char* p, LabelValues labels) const {
  p = put(p, const_labels_);
  // Each head is `,name="`; the first label of a series without const labels skips the comma.
  const char* heads = label_heads_.data();
  uint32_t start = const_labels_.empty() ? 1 : 0;
  const std::size_t n = label_head_ends_.size();
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t end = label_head_ends_[i];
    p = put(p, std::string_view(heads + start, end - start));
    // A series with fewer values than label names breaks the MetricSink contract; its missing
    // values are written as empty strings rather than dropping the line.
    if (i < labels.size()) p = detail::write_escaped(p, labels[i], detail::Escape::kLabelValue);
    *p++ = '"';
    start = end;
  }
  return p;
}

void TextSink::write_sample(std::string_view suffix, LabelValues labels, double value) {
  char* const begin = line(family_.name.size() + suffix.size() + labels_bound(labels) +
                           detail::kMaxNumberChars + kLineSlack);
  char* p = put(begin, family_.name);
  p = put(p, suffix);
  if (has_labels_) {
    *p++ = '{';
    p = write_labels(p, labels);
    *p++ = '}';
  }
  *p++ = ' ';
  p = detail::write_value(p, value);
  *p++ = '\n';
  commit(p);
}

void TextSink::set_series_labels(LabelValues labels) {
  series_labels_.resize(labels_bound(labels));
  char* const end = write_labels(series_labels_.data(), labels);
  series_labels_.resize(static_cast<std::size_t>(end - series_labels_.data()));
}

char* TextSink::write_series_head(std::string_view suffix, std::string_view extra_name,
                                  std::string_view extra_value) {
  char* p = line(family_.name.size() + suffix.size() + series_labels_.size() + extra_name.size() +
                 extra_value.size() + detail::kMaxNumberChars + kLineSlack);
  p = put(p, family_.name);
  p = put(p, suffix);
  if (!series_labels_.empty() || !extra_name.empty()) {
    *p++ = '{';
    p = put(p, series_labels_);
    if (!extra_name.empty()) {
      if (!series_labels_.empty()) *p++ = ',';
      p = put(p, extra_name);
      *p++ = '=';
      *p++ = '"';
      p = put(p, extra_value);
      *p++ = '"';
    }
    *p++ = '}';
  }
  *p++ = ' ';
  return p;
}

void TextSink::write_series_line(std::string_view suffix, std::string_view extra_name,
                                 std::string_view extra_value, double value) {
  char* p = write_series_head(suffix, extra_name, extra_value);
  p = detail::write_value(p, value);
  *p++ = '\n';
  commit(p);
}

void TextSink::write_series_count(std::string_view suffix, std::string_view extra_name,
                                  std::string_view extra_value, uint64_t count,
                                  const ExemplarPoint* exemplar) {
  char* p = write_series_head(suffix, extra_name, extra_value);
  p = detail::write_uint(p, count);
  if (exemplar != nullptr && openmetrics_) {
    commit(p);
    append_exemplar(*exemplar);
    out_.push_back('\n');
    return;
  }
  *p++ = '\n';
  commit(p);
}

void TextSink::append_exemplar(const ExemplarPoint& exemplar) {
  out_.append(" # {");
  bool first = true;
  for (const auto& [name, value] : exemplar.labels) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append(name);
    out_.append("=\"");
    const std::size_t at = out_.size();
    out_.resize(at + detail::kMaxEscapeExpansion * value.size());
    char* end = detail::write_escaped(out_.data() + at, value, detail::Escape::kLabelValue);
    out_.resize(static_cast<std::size_t>(end - out_.data()));
    out_.push_back('"');
  }
  out_.append("} ");
  detail::append_value(out_, exemplar.value);
  out_.push_back(' ');
  detail::append_value(out_, exemplar.timestamp);
}

void TextSink::counter_with_exemplar(LabelValues labels, double value, double created,
                                     const ExemplarPoint& exemplar) {
  if (!openmetrics_) {
    counter(labels, value, created);
    return;
  }
  set_series_labels(labels);
  char* p = write_series_head("_total", {}, {});
  p = detail::write_value(p, value);
  commit(p);
  append_exemplar(exemplar);
  out_.push_back('\n');
  if (created > 0) write_series_line("_created", {}, {}, created);
}

void TextSink::counter(LabelValues labels, double value, double created) {
  if (openmetrics_ && created > 0) {
    set_series_labels(labels);
    write_series_line("_total", {}, {}, value);
    write_series_line("_created", {}, {}, created);
    return;
  }
  write_sample("_total", labels, value);
}

void TextSink::gauge(LabelValues labels, double value) { write_sample({}, labels, value); }

void TextSink::info(LabelValues labels) { write_sample("_info", labels, 1); }

void TextSink::format_bounds(std::span<const double> bounds) {
  if (!le_ends_.empty() && le_bounds_.size() == bounds.size() &&
      (bounds.empty() ||
       std::memcmp(le_bounds_.data(), bounds.data(), bounds.size() * sizeof(double)) == 0)) {
    return;
  }
  le_bounds_.assign(bounds.begin(), bounds.end());
  le_text_.clear();
  le_ends_.clear();
  for (const double bound : bounds) {
    detail::append_label_number(le_text_, bound, openmetrics_);
    le_ends_.push_back(static_cast<uint32_t>(le_text_.size()));
  }
  le_text_.append("+Inf");
  le_ends_.push_back(static_cast<uint32_t>(le_text_.size()));
}

void TextSink::histogram(LabelValues labels, const HistogramPoint& point) {
  set_series_labels(labels);
  format_bounds(point.bounds);
  // Buckets: one per finite bound, then +Inf. The +Inf bucket and _count both write `count`
  // so that they agree even if a recording raced the collection.
  const std::size_t nbounds = point.bounds.size();
  uint32_t start = 0;
  for (std::size_t i = 0; i <= nbounds; ++i) {
    const uint32_t end = le_ends_[i];
    const uint64_t cumulative =
        i < nbounds && i < point.cumulative.size() ? point.cumulative[i] : point.count;
    const ExemplarPoint* exemplar = i < point.exemplars.size() ? point.exemplars[i] : nullptr;
    write_series_count("_bucket", "le", std::string_view(le_text_.data() + start, end - start),
                       cumulative, exemplar);
    start = end;
  }
  if (openmetrics_) {
    write_series_count("_count", {}, {}, point.count);
    write_series_line("_sum", {}, {}, point.sum);
    if (point.created > 0) write_series_line("_created", {}, {}, point.created);
  } else {
    write_series_line("_sum", {}, {}, point.sum);
    write_series_count("_count", {}, {}, point.count);
  }
}

void TextSink::summary(LabelValues labels, const SummaryPoint& point) {
  set_series_labels(labels);
  for (const auto& [quantile, value] : point.quantiles) {
    number_.clear();
    detail::append_label_number(number_, quantile, openmetrics_);
    write_series_line({}, "quantile", number_, value);
  }
  if (openmetrics_) {
    write_series_count("_count", {}, {}, point.count);
    write_series_line("_sum", {}, {}, point.sum);
    if (point.created > 0) write_series_line("_created", {}, {}, point.created);
  } else {
    write_series_line("_sum", {}, {}, point.sum);
    write_series_count("_count", {}, {}, point.count);
  }
}

void TextSink::end_family() {}

void TextSink::finish() {
  if (finished_) return;
  finished_ = true;
  if (openmetrics_) out_.append("# EOF\n");
}

// ---------------------------------------------------------------------------------------------
// serialize

namespace {

// The size of the previous body per format: the next one is usually about as large, so one
// reservation replaces the reallocations of a growing string.
std::atomic<std::size_t> g_last_size[3];

}  // namespace

void serialize(const Registry& registry, Format format, std::string& out) {
  const auto slot = static_cast<std::size_t>(format) % 3;
  const std::size_t before = out.size();
  const std::size_t hint = g_last_size[slot].load(std::memory_order_relaxed);
  if (hint > 0) out.reserve(before + hint + hint / 8);
  if (format == Format::kJson) {
    JsonSink sink(out);
    registry.collect(sink);
    sink.finish();
  } else {
    TextSink sink(out, format);
    registry.collect(sink);
    sink.finish();
  }
  g_last_size[slot].store(out.size() - before, std::memory_order_relaxed);
}

std::string serialize(const Registry& registry, Format format) {
  std::string out;
  serialize(registry, format, out);
  return out;
}

}  // namespace vigil::metrics
