// JsonSink: collected families as one JSON document. Schema: docs/metrics-exposition.md.
//
// The document is streamed into `out` as families and series arrive: nlohmann::json writes
// (and escapes) the strings of each family header and each series' labels object; the fixed
// structure around them and the numbers are appended directly. Memory stays proportional to one
// series, not to the whole registry.
#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "text_format.h"
#include "vigil/metrics/exposition.h"

namespace vigil::metrics {

namespace {

using Json = nlohmann::ordered_json;  // keeps key order: labels stay in exposition order

constexpr auto kReplace = Json::error_handler_t::replace;

// Appends a JSON number; JSON has no infinities or NaN, so those become the strings "+Inf",
// "-Inf" and "NaN". Finite values use the text formats' rendering (integers exactly, others
// shortest round-trip), which is valid JSON: "12", "0.25", "1.5e-07", "1e+20".
void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("\"NaN\"");
  } else if (std::isinf(value)) {
    out.append(value > 0 ? "\"+Inf\"" : "\"-Inf\"");
  } else {
    detail::append_value(out, value);
  }
}

}  // namespace

namespace {
// ,"exemplar":{"labels":{...},"value":v,"timestamp":t}
void append_exemplar(std::string& out, const ExemplarPoint& e) {
  Json labels = Json::object();
  for (const auto& [name, value] : e.labels) labels[std::string(name)] = std::string(value);
  out.append(",\"exemplar\":{\"labels\":");
  out.append(labels.dump(-1, ' ', false, kReplace));
  out.append(",\"value\":");
  append_number(out, e.value);
  out.append(",\"timestamp\":");
  append_number(out, e.timestamp);
  out.push_back('}');
}
}  // namespace

struct JsonSink::Impl {
  std::string& out;
  bool started = false;
  bool finished = false;
  bool family_open = false;
  bool any_family = false;
  bool any_series = false;
  // The labels object of the current family: const labels, then one member per label name
  // whose string is overwritten for each series (no allocation once the strings have grown).
  Json labels = Json::object();
  std::size_t const_count = 0;
  std::size_t name_count = 0;

  explicit Impl(std::string& o) : out(o) {}

  void start() {
    if (started) return;
    started = true;
    out.append("{\"metrics\":[");
  }

  void open_family(const FamilyDesc& family, std::string_view type = {}) {
    start();
    close_family();
    if (any_family) out.push_back(',');
    any_family = true;
    family_open = true;
    any_series = false;
    // The header object without its closing brace; "series" is the last member.
    std::string header = Json{
        {"name", family.name},
        {"type", type.empty() ? detail::type_name(family.type) : type},
        {"help", family.help},
        {"unit",
         family.unit}}.dump(-1, ' ', false, kReplace);
    header.pop_back();  // '}'
    out.append(header).append(",\"series\":[");

    labels = Json::object();
    for (const LabelPair& pair : family.const_labels) labels[pair.first] = pair.second;
    const_count = labels.size();
    for (const std::string& name : family.label_names) labels[name] = "";
    // A label name equal to a const label's (refused at registration) would share its member.
    name_count = labels.size() - const_count;
  }

  void close_family() {
    if (!family_open) return;
    family_open = false;
    out.append("]}");
  }

  // Starts a series object: `{"labels":{...}`; the caller appends its members and the '}'.
  // Series that arrive outside begin_family / end_family (a broken Collector) land in a family
  // with an empty name and type "unknown" instead of vanishing.
  void begin_series(LabelValues values) {
    if (!family_open) open_family(FamilyDesc{}, "unknown");
    if (any_series) out.push_back(',');
    any_series = true;
    auto& members = labels.get_ref<Json::object_t&>();
    for (std::size_t i = 0; i < name_count; ++i) {
      // Missing values (a broken contract) are written as "", as the text formats do.
      const std::string_view value = i < values.size() ? values[i] : std::string_view();
      (members.begin() + static_cast<std::ptrdiff_t>(const_count + i))
          ->second.get_ref<std::string&>()
          .assign(value);
    }
    out.append("{\"labels\":");
    // Invalid UTF-8 becomes U+FFFD instead of an exception.
    out.append(labels.dump(-1, ' ', false, kReplace));
  }

  void member(std::string_view key_with_quotes_and_colon, double value) {
    out.append(key_with_quotes_and_colon);
    append_number(out, value);
  }
  void member(std::string_view key_with_quotes_and_colon, uint64_t value) {
    out.append(key_with_quotes_and_colon);
    detail::append_uint(out, value);
  }
};

JsonSink::JsonSink(std::string& out) : impl_(std::make_unique<Impl>(out)) {}

JsonSink::~JsonSink() = default;

void JsonSink::begin_family(const FamilyDesc& family) { impl_->open_family(family); }

void JsonSink::counter(LabelValues labels, double value, double created) {
  impl_->begin_series(labels);
  impl_->member(",\"value\":", value);
  if (created > 0) impl_->member(",\"created\":", created);
  impl_->out.push_back('}');
}

void JsonSink::counter_with_exemplar(LabelValues labels, double value, double created,
                                     const ExemplarPoint& exemplar) {
  impl_->begin_series(labels);
  impl_->member(",\"value\":", value);
  if (created > 0) impl_->member(",\"created\":", created);
  append_exemplar(impl_->out, exemplar);
  impl_->out.push_back('}');
}

void JsonSink::gauge(LabelValues labels, double value) {
  impl_->begin_series(labels);
  impl_->member(",\"value\":", value);
  impl_->out.push_back('}');
}

void JsonSink::histogram(LabelValues labels, const HistogramPoint& point) {
  impl_->begin_series(labels);
  std::string& out = impl_->out;
  impl_->member(",\"count\":", point.count);
  impl_->member(",\"sum\":", point.sum);
  out.append(",\"buckets\":[");
  const std::size_t nbounds = point.bounds.size();
  for (std::size_t i = 0; i < nbounds; ++i) {
    const uint64_t cumulative = i < point.cumulative.size() ? point.cumulative[i] : point.count;
    impl_->member(i == 0 ? "{\"le\":" : ",{\"le\":", point.bounds[i]);
    impl_->member(",\"count\":", cumulative);
    if (i < point.exemplars.size() && point.exemplars[i] != nullptr) {
      append_exemplar(out, *point.exemplars[i]);
    }
    out.push_back('}');
  }
  out.append(nbounds == 0 ? "{\"le\":\"+Inf\"" : ",{\"le\":\"+Inf\"");
  impl_->member(",\"count\":", point.count);
  if (nbounds < point.exemplars.size() && point.exemplars[nbounds] != nullptr) {
    append_exemplar(out, *point.exemplars[nbounds]);
  }
  out.append("}]");
  if (point.created > 0) impl_->member(",\"created\":", point.created);
  out.push_back('}');
}

void JsonSink::summary(LabelValues labels, const SummaryPoint& point) {
  impl_->begin_series(labels);
  std::string& out = impl_->out;
  impl_->member(",\"count\":", point.count);
  impl_->member(",\"sum\":", point.sum);
  out.append(",\"quantiles\":[");
  bool first = true;
  for (const auto& [quantile, value] : point.quantiles) {
    impl_->member(first ? "{\"quantile\":" : ",{\"quantile\":", quantile);
    impl_->member(",\"value\":", value);
    out.push_back('}');
    first = false;
  }
  out.push_back(']');
  if (point.created > 0) impl_->member(",\"created\":", point.created);
  out.push_back('}');
}

void JsonSink::info(LabelValues labels) {
  impl_->begin_series(labels);
  impl_->out.append(",\"value\":1}");
}

void JsonSink::end_family() { impl_->close_family(); }

void JsonSink::finish() {
  if (impl_->finished) return;
  impl_->finished = true;
  impl_->start();
  impl_->close_family();
  impl_->out.append("]}");
}

}  // namespace vigil::metrics
