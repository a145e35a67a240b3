// EmfExporter (vigil/exporters/emf_exporter.h): CloudWatch Embedded Metric Format documents to
// stdout, a file, or the CloudWatch agent over TCP/UDP.
#include "vigil/exporters/emf_exporter.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/detail/json_escape.h"
#include "core/detail/json_writer.h"
#include "core/detail/shortest_double.h"
#include "core/detail/text.h"
#include "export_text.h"
#include "vigil/core/error.h"

namespace vigil::exporters {

namespace {

using detail::has_control;
using detail::utf8_prefix;

constexpr std::size_t kMaxMetricsPerDocument = 100;
constexpr std::size_t kMaxValuesPerMetric = 100;
constexpr std::size_t kMaxDimensions = 30;
constexpr std::size_t kMaxNameChars = 255;
constexpr std::size_t kMaxDimensionValueChars = 1024;
constexpr std::size_t kMaxDatagramBytes = 65000;
constexpr int kDefaultAgentPort = 25888;

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// ---------------------------------------------------------------------------------------------
// Destinations.

enum class Kind { kStdout, kFile, kTcp, kUdp };

struct Destination {
  Kind kind = Kind::kStdout;
  std::string path;  // file
  std::string host;  // tcp/udp
  int port = kDefaultAgentPort;
};

// Parses a destination; "" error when fine.
Destination parse_destination(std::string_view d, std::string& error) {
  Destination out;
  if (d == "stdout" || d == "-") return out;
  const bool tcp = vigil::detail::starts_with_icase(d, "tcp://");
  const bool udp = vigil::detail::starts_with_icase(d, "udp://");
  if (!tcp && !udp) {
    if (d.empty() || has_control(d) || d.find("://") != std::string_view::npos) {
      error = "must be stdout, a file path, tcp://HOST:PORT or udp://HOST:PORT";
      return out;
    }
    out.kind = Kind::kFile;
    out.path = std::string(d);
    return out;
  }
  out.kind = tcp ? Kind::kTcp : Kind::kUdp;
  std::string_view rest = d.substr(6);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "has an unclosed '[' in its host";
      return out;
    }
    out.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "must be tcp://HOST:PORT or udp://HOST:PORT";
        return out;
      }
      port = after.substr(1);
    }
  } else {
    const std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      out.host = std::string(rest);
    } else {
      out.host = std::string(rest.substr(0, colon));
      port = rest.substr(colon + 1);
    }
  }
  if (out.host.empty() || has_control(out.host) ||
      out.host.find_first_of("/ ") != std::string::npos) {
    error = "has an empty or invalid host";
    return out;
  }
  if (!port.empty()) {
    int p = 0;
    const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p < 1 || p > 65535) {
      error = "has an invalid port (1 to 65535)";
      return out;
    }
    out.port = p;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding.
//
// One encoder per exporter, kept between exports with all its memory: groups (one per set of
// dimension values), their entries (one per metric), the names prepared as JSON once per family,
// the histogram families' bucket values formatted once per family, and the output buffer. A
// group refers to the snapshot's label strings (no copies); the group of a series is first
// looked for where the previous family put the series at the same position (families usually
// list the same series in the same order), checked by comparing the label values, and only
// otherwise found by a hash of the values. Nothing is allocated per series once the buffers
// have grown.

constexpr uint32_t kNone = ~uint32_t{0};

// A dimension of a group: the label name (an index in Encoder::dim_names_, which holds each
// distinct name of the export once) and the value as the snapshot has it (uncut).
struct Dim {
  uint32_t name;
  std::string_view value;
};

struct Entry {
  enum class Type : uint8_t { kSum, kList, kHistogram };
  uint32_t name = 0;    // index in Encoder::names_
  uint32_t family = 0;  // the family's ordinal, and which of its metrics (0 the family's own,
  uint8_t sub = 0;      // 1 _count, 2 _sum): how an entry is found again
  Type type = Type::kSum;
  // kSum: one value; kList: the values (the first inline, the others in Encoder::lists_).
  double first = 0;
  uint32_t list = kNone;
  std::size_t nvalues = 0;
  // kHistogram: observations per bucket (not cumulative) in Encoder::counts_, their count and
  // sum, and the family's bucket values (Encoder::hists_).
  uint32_t hist = 0;
  uint32_t counts = 0;  // offset in Encoder::counts_
  uint32_t ncounts = 0;
  uint64_t count = 0;
  double sum = 0;
  uint64_t points = 0;  // series combined into this entry
};

struct Group {
  uint64_t hash = 0;
  std::vector<Dim> dims;
  std::vector<Entry> entries;
};

// A metric name as it is written: the name (cut), its Metrics member and its root member key.
struct Name {
  std::string plain;
  std::string meta;  // {"Name":"...","Unit":"..."} (with StorageResolution when asked)
  std::string key;   // ,"...":
};

// A histogram family's bucket values (see the header), as numbers and as text.
struct HistogramValues {
  std::vector<double> values;
  std::string text;            // the values' JSON numbers back to back
  std::vector<uint32_t> ends;  // where value i's text ends
  std::string_view text_of(std::size_t i) const {
    const uint32_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(text).substr(begin, ends[i] - begin);
  }
};

// A dimension name as it is written: cut at 255 characters, "_aws" renamed.
std::string_view dimension_name(std::string_view full) {
  const std::string_view n = utf8_prefix(full, kMaxNameChars);
  return n == "_aws" ? std::string_view("_aws_") : n;
}

uint64_t hash_bytes(uint64_t h, std::string_view s) {
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return (h ^ s.size()) * 0x100000001b3ULL;
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
}

class Encoder {
 public:
  explicit Encoder(EmfExporterOptions o) : o_(std::move(o)) {}

  void encode(const MetricsSnapshot& deltas, detail::EmfBatch& out) {
    reset();
    out.text.clear();
    out.documents.clear();
    out.skipped = 0;
    for (const auto& f : deltas.families) family(f);
    // The part of every document before its dimension names.
    head_.assign("{\"_aws\":{\"Timestamp\":");
    const auto ts = static_cast<int64_t>(std::llround(deltas.timestamp * 1000));
    char buf[24];
    head_.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, ts).ptr - buf));
    head_.append(",\"CloudWatchMetrics\":[{\"Namespace\":");
    vigil::detail::append_json_string(head_, o_.namespace_);
    head_.append(",\"Dimensions\":[[");
    for (std::size_t i = 0; i < ngroups_; ++i) write_group(groups_[i], out);
    out.skipped = skipped_;
  }

 private:
  void reset() {
    ngroups_ = 0;
    ndim_names_ = 0;
    nnames_ = 0;
    nlists_ = 0;
    nhists_ = 0;
    counts_.clear();
    quantiles_.clear();
    std::fill(slots_.begin(), slots_.end(), 0);
    prev_groups_.clear();
    family_ = 0;
    skipped_ = 0;
  }

  void family(const MetricFamily& f) {
    // Which label positions are dimensions, in order.
    positions_.clear();
    if (o_.all_labels_as_dimensions) {
      for (std::size_t i = 0; i < f.label_names.size(); ++i) positions_.push_back(i);
    } else {
      for (const auto& d : o_.dimensions) {
        for (std::size_t i = 0; i < f.label_names.size(); ++i) {
          if (f.label_names[i] == d) positions_.push_back(i);
        }
      }
    }
    position_ids_.clear();
    for (const std::size_t i : positions_) position_ids_.push_back(dim_name_id(f.label_names[i]));
    ++family_;
    base_.assign(o_.prefix);
    base_.append(f.name);
    base_.resize(utf8_prefix(base_, kMaxNameChars).size());
    const std::string_view unit = f.unit;
    cur_groups_.assign(f.points.size(), kNone);
    // Whether a metric name of this family can collide with a dimension name (entry() renames).
    maybe_taken_ = false;
    const auto may_collide = [&](std::string_view metric) {
      if (metric == "_aws" || (f.type == metrics::MetricType::kSummary && metric == "quantile")) {
        maybe_taken_ = true;
      }
      for (const std::size_t i : positions_) {
        if (dimension_name(f.label_names[i]) == metric) maybe_taken_ = true;
      }
    };
    may_collide(utf8_prefix(base_, kMaxNameChars));
    if (f.type == metrics::MetricType::kSummary) {
      const std::size_t n = base_.size();
      base_.append("_count");
      may_collide(utf8_prefix(base_, kMaxNameChars));
      base_.resize(n);
      base_.append("_sum");
      may_collide(utf8_prefix(base_, kMaxNameChars));
      base_.resize(n);
    }
    switch (f.type) {
      case metrics::MetricType::kCounter: {
        const uint32_t name = add_name(base_, detail::emf_unit(unit, true));
        for (std::size_t i = 0; i < f.points.size(); ++i) {
          add_sum(group(f, i, nullptr), name, 0, f.points[i].value);
        }
        break;
      }
      case metrics::MetricType::kGauge: {
        const uint32_t name = add_name(base_, detail::emf_unit(unit, false));
        for (std::size_t i = 0; i < f.points.size(); ++i) {
          add_list(group(f, i, nullptr), name, 0, f.points[i].value);
        }
        break;
      }
      case metrics::MetricType::kInfo: {
        const uint32_t name = add_name(base_, "None");
        for (std::size_t i = 0; i < f.points.size(); ++i)
          add_list(group(f, i, nullptr), name, 0, 1);
        break;
      }
      case metrics::MetricType::kHistogram: {
        const uint32_t name = add_name(base_, detail::emf_unit(unit, false));
        const uint32_t hist = prepare_histogram(f.bounds);
        for (std::size_t i = 0; i < f.points.size(); ++i) {
          add_histogram(group(f, i, nullptr), name, hist, f.points[i]);
        }
        break;
      }
      case metrics::MetricType::kSummary: {
        const std::string_view vunit = detail::emf_unit(unit, false);
        const uint32_t name = add_name(base_, vunit);
        const std::size_t base_size = base_.size();
        base_.append("_count");
        const uint32_t count_name = add_name(utf8_prefix(base_, kMaxNameChars), "Count");
        base_.resize(base_size);
        base_.append("_sum");
        const uint32_t sum_name = add_name(utf8_prefix(base_, kMaxNameChars), vunit);
        for (std::size_t i = 0; i < f.points.size(); ++i) {
          const MetricPoint& p = f.points[i];
          {
            Group& g = group(f, i, nullptr);
            add_sum(g, count_name, 1, static_cast<double>(p.count));
            add_sum(g, sum_name, 2, p.sum);
          }
          for (const auto& [q, v] : p.quantiles) {
            char buf[vigil::detail::kShortestDoubleChars];
            const std::string& qs =
                quantiles_.emplace_back(buf, vigil::detail::write_shortest_double(buf, q));
            add_list(group(f, i, &qs), name, 0, v);
          }
        }
        break;
      }
    }
    prev_groups_.swap(cur_groups_);
  }

  // The id of dimension name `name` in dim_names_ (added when new).
  uint32_t dim_name_id(std::string_view name) {
    for (std::size_t i = 0; i < ndim_names_; ++i) {
      if (dim_names_[i].full == name) return static_cast<uint32_t>(i);
    }
    if (ndim_names_ == dim_names_.size()) dim_names_.emplace_back();
    DimName& d = dim_names_[ndim_names_];
    d.full = name;
    d.json.clear();
    vigil::detail::append_json_string(d.json, dimension_name(name));
    return static_cast<uint32_t>(ndim_names_++);
  }

  // The dimensions of point `p` (at most 30, 29 with a quantile): (label position, name id)
  // in used_.
  void dimension_positions(const MetricPoint& p, bool quantile) {
    used_.clear();
    const std::size_t max = quantile ? kMaxDimensions - 1 : kMaxDimensions;
    for (std::size_t j = 0; j < positions_.size(); ++j) {
      if (used_.size() >= max) break;
      const std::size_t i = positions_[j];
      if (i >= p.label_values.size() || p.label_values[i].empty()) continue;
      used_.push_back({i, position_ids_[j]});
    }
  }

  static bool same(std::string_view a, const std::string& b) noexcept {
    return a.size() == b.size() &&
           (a.data() == b.data() || std::memcmp(a.data(), b.data(), a.size()) == 0);
  }

  bool matches(const Group& g, const MetricPoint& p, const std::string* quantile) const {
    if (g.dims.size() != used_.size() + (quantile != nullptr ? 1 : 0)) return false;
    for (std::size_t k = 0; k < used_.size(); ++k) {
      if (g.dims[k].name != used_[k].id || !same(g.dims[k].value, p.label_values[used_[k].at])) {
        return false;
      }
    }
    return quantile == nullptr || same(g.dims.back().value, *quantile);
  }

  // The group of point `i` of `f` (with a "quantile" dimension when `quantile`).
  Group& group(const MetricFamily& f, std::size_t i, const std::string* quantile) {
    const MetricPoint& p = f.points[i];
    dimension_positions(p, quantile != nullptr);
    if (quantile == nullptr && i < prev_groups_.size() && prev_groups_[i] != kNone &&
        matches(groups_[prev_groups_[i]], p, nullptr)) {
      cur_groups_[i] = prev_groups_[i];
      return groups_[prev_groups_[i]];
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const Used& u : used_) {
      h = (h ^ u.id) * 0x100000001b3ULL;
      h = hash_bytes(h, p.label_values[u.at]);
    }
    const uint32_t quantile_id = quantile != nullptr ? dim_name_id("quantile") : kNone;
    if (quantile != nullptr) h = hash_bytes((h ^ quantile_id) * 0x100000001b3ULL, *quantile);
    const std::size_t mask = slots_.size() - 1;
    std::size_t s = slots_.empty() ? 0 : static_cast<std::size_t>(h) & mask;
    if (!slots_.empty()) {
      for (; slots_[s] != 0; s = (s + 1) & mask) {
        const uint32_t gi = slots_[s] - 1;
        if (groups_[gi].hash == h && matches(groups_[gi], p, quantile)) {
          if (quantile == nullptr) cur_groups_[i] = gi;
          return groups_[gi];
        }
      }
    }
    // A new group.
    const auto gi = static_cast<uint32_t>(ngroups_);
    if (ngroups_ == groups_.size()) groups_.emplace_back();
    Group& g = groups_[ngroups_++];
    g.hash = h;
    g.dims.clear();
    g.entries.clear();
    for (const Used& u : used_) g.dims.push_back({u.id, p.label_values[u.at]});
    if (quantile != nullptr) g.dims.push_back({quantile_id, *quantile});
    if (ngroups_ * 2 > slots_.size()) {
      rehash();
    } else {
      slots_[s] = gi + 1;
    }
    if (quantile == nullptr) cur_groups_[i] = gi;
    return g;
  }

  void rehash() {
    slots_.assign(std::max<std::size_t>(64, slots_.size() * 2), 0);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t gi = 0; gi < ngroups_; ++gi) {
      std::size_t s = static_cast<std::size_t>(groups_[gi].hash) & mask;
      while (slots_[s] != 0) s = (s + 1) & mask;
      slots_[s] = static_cast<uint32_t>(gi + 1);
    }
  }

  // A metric name with its unit, prepared as JSON.
  uint32_t add_name(std::string_view plain, std::string_view unit) {
    if (nnames_ == names_.size()) names_.emplace_back();
    Name& n = names_[nnames_];
    n.plain.assign(plain);
    n.meta.assign("{\"Name\":");
    vigil::detail::append_json_string(n.meta, plain);
    n.meta.append(",\"Unit\":");
    vigil::detail::append_json_string(n.meta, unit);
    if (o_.high_resolution) n.meta.append(",\"StorageResolution\":1");
    n.meta.push_back('}');
    n.key.assign(",");
    vigil::detail::append_json_string(n.key, plain);
    n.key.push_back(':');
    return static_cast<uint32_t>(nnames_++);
  }

  // The unit of name `i` (the Unit member of its meta).
  std::string_view unit_of(uint32_t i) const {
    const std::string& meta = names_[i].meta;
    const std::size_t begin = meta.rfind(",\"Unit\":\"") + 9;
    return std::string_view(meta).substr(begin, meta.find('"', begin) - begin);
  }

  uint32_t prepare_histogram(const std::vector<double>& bounds) {
    if (nhists_ == hists_.size()) hists_.emplace_back();
    HistogramValues& h = hists_[nhists_];
    h.values.clear();
    h.text.clear();
    h.ends.clear();
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      const double v = bucket_value(bounds, i);
      h.values.push_back(v);
      vigil::detail::append_json_double(h.text, v);
      h.ends.push_back(static_cast<uint32_t>(h.text.size()));
    }
    return static_cast<uint32_t>(nhists_++);
  }

  // The entry of the current family's metric `sub` in `g` (created when new). A family's entries
  // are added while the family is encoded, so they are the last ones of the group.
  Entry& entry(Group& g, uint32_t name, uint8_t sub, Entry::Type type) {
    for (auto it = g.entries.rbegin(); it != g.entries.rend() && it->family == family_; ++it) {
      if (it->sub == sub) return *it;
    }
    Entry& e = g.entries.emplace_back();
    e.name = name;
    e.family = family_;
    e.sub = sub;
    e.type = type;
    const auto taken = [&](std::string_view n) {
      return n == "_aws" || std::any_of(g.dims.begin(), g.dims.end(), [&](const Dim& d) {
               return dimension_name(dim_names_[d.name].full) == n;
             });
    };
    if (maybe_taken_ && taken(names_[name].plain)) {
      // A name that collides with a dimension key gets trailing '_'.
      std::string renamed = names_[name].plain;
      while (taken(renamed)) {
        if (renamed.size() >= kMaxNameChars) renamed.pop_back();
        renamed.push_back('_');
      }
      const std::string unit(unit_of(name));
      e.name = add_name(renamed, unit);
    }
    return e;
  }

  void add_sum(Group& g, uint32_t name, uint8_t sub, double v) {
    if (!std::isfinite(v)) {
      ++skipped_;
      return;
    }
    Entry& e = entry(g, name, sub, Entry::Type::kSum);
    e.nvalues = 1;
    e.first += v;
    ++e.points;
  }

  void add_list(Group& g, uint32_t name, uint8_t sub, double v) {
    if (!std::isfinite(v)) {
      ++skipped_;
      return;
    }
    Entry& e = entry(g, name, sub, Entry::Type::kList);
    if (e.nvalues++ == 0) {
      e.first = v;
    } else {
      if (e.list == kNone) {
        if (nlists_ == lists_.size()) lists_.emplace_back();
        lists_[nlists_].clear();
        e.list = static_cast<uint32_t>(nlists_++);
      }
      lists_[e.list].push_back(v);
    }
    ++e.points;
  }

  void add_histogram(Group& g, uint32_t name, uint32_t hist, const MetricPoint& p) {
    Entry& e = entry(g, name, 0, Entry::Type::kHistogram);
    e.hist = hist;
    const auto n = static_cast<uint32_t>(p.buckets.size());
    if (e.ncounts < n) {
      // New, or more buckets than an earlier series of this entry: (re)placed at the end.
      const auto at = static_cast<uint32_t>(counts_.size());
      counts_.resize(counts_.size() + n, 0);
      std::copy_n(counts_.begin() + e.counts, e.ncounts, counts_.begin() + at);
      e.counts = at;
      e.ncounts = n;
    }
    uint64_t* counts = counts_.data() + e.counts;
    uint64_t below = 0;
    for (std::size_t i = 0; i < p.buckets.size(); ++i) {
      const uint64_t cum = p.buckets[i];
      counts[i] += cum >= below ? cum - below : 0;
      below = std::max(below, cum);
    }
    e.count += p.count;
    if (std::isfinite(p.sum)) e.sum += p.sum;
    ++e.points;
  }

  // The representative value of bucket i (see the header).
  static double bucket_value(const std::vector<double>& bounds, std::size_t i) {
    if (bounds.empty()) return 0;
    if (i >= bounds.size()) return bounds.back();
    const double upper = bounds[i];
    if (i == 0) return upper > 0 ? upper / 2 : upper;
    return (bounds[i - 1] + upper) / 2;
  }

  struct Chunk {
    const Entry* entry;
    std::size_t begin;  // kList: values [begin, end)
    std::size_t end;
  };

  void write_group(const Group& g, detail::EmfBatch& out) {
    // Round r holds chunk r of every entry that has one: one metric at most once per document.
    std::size_t nrounds = 0;
    const auto round = [&](std::size_t r) -> std::vector<Chunk>& {
      while (nrounds <= r) {
        if (nrounds == rounds_.size()) rounds_.emplace_back();
        rounds_[nrounds++].clear();
      }
      return rounds_[r];
    };
    for (const Entry& e : g.entries) {
      if (e.type == Entry::Type::kHistogram) {
        if (e.count == 0) continue;  // nothing observed since the previous export
        round(0).push_back({&e, 0, 0});
        continue;
      }
      for (std::size_t b = 0, r = 0; b < e.nvalues; b += kMaxValuesPerMetric, ++r) {
        round(r).push_back({&e, b, std::min(e.nvalues, b + kMaxValuesPerMetric)});
      }
    }
    if (nrounds == 0) return;
    // The group's dimension names (for the Dimensions array) and members.
    dims_list_.clear();
    dims_members_.clear();
    for (const Dim& d : g.dims) {
      const std::string& name = dim_names_[d.name].json;
      if (!dims_list_.empty()) dims_list_.push_back(',');
      dims_list_.append(name);
      dims_members_.push_back(',');
      dims_members_.append(name);
      dims_members_.push_back(':');
      vigil::detail::append_json_string(dims_members_,
                                        utf8_prefix(d.value, kMaxDimensionValueChars));
    }
    for (std::size_t r = 0; r < nrounds; ++r) {
      const std::vector<Chunk>& chunks = rounds_[r];
      for (std::size_t b = 0; b < chunks.size(); b += kMaxMetricsPerDocument) {
        const std::size_t end = std::min(chunks.size(), b + kMaxMetricsPerDocument);
        document(chunks.data() + b, chunks.data() + end, out);
      }
    }
  }

  void document(const Chunk* first, const Chunk* last, detail::EmfBatch& out) {
    std::string& t = out.text;
    detail::EmfBatch::Document doc;
    doc.offset = t.size();
    t.append(head_);
    t.append(dims_list_);
    t.append("]],\"Metrics\":[");
    for (const Chunk* c = first; c != last; ++c) {
      if (c != first) t.push_back(',');
      t.append(names_[c->entry->name].meta);
    }
    t.append("]}]}");
    t.append(dims_members_);
    for (const Chunk* c = first; c != last; ++c) {
      const Entry& e = *c->entry;
      t.append(names_[e.name].key);
      switch (e.type) {
        case Entry::Type::kSum:
          vigil::detail::append_json_double(t, e.first);
          doc.points += e.points;
          break;
        case Entry::Type::kList:
          if (e.nvalues == 1) {
            vigil::detail::append_json_double(t, e.first);
          } else {
            t.push_back('[');
            for (std::size_t i = c->begin; i < c->end; ++i) {
              if (i != c->begin) t.push_back(',');
              vigil::detail::append_json_double(t, i == 0 ? e.first : lists_[e.list][i - 1]);
            }
            t.push_back(']');
          }
          doc.points += c->end - c->begin;
          break;
        case Entry::Type::kHistogram:
          write_histogram(e, t);
          doc.points += e.points;
          break;
      }
    }
    t.push_back('}');
    doc.size = t.size() - doc.offset;
    t.push_back('\n');
    out.documents.push_back(doc);
  }

  // {"Values":[...],"Counts":[...],"Count":n,"Sum":s,"Min":a,"Max":b}: the non-empty buckets,
  // merged pairwise down to 100 when there are more.
  void write_histogram(const Entry& e, std::string& t) {
    const HistogramValues& h = hists_[e.hist];
    const uint64_t* counts = counts_.data() + e.counts;
    const std::size_t last_value = h.values.size() - 1;
    std::size_t nonempty = 0;
    for (std::size_t i = 0; i < e.ncounts; ++i) nonempty += counts[i] != 0 ? 1 : 0;
    t.append("{\"Values\":[");
    if (nonempty <= kMaxValuesPerMetric) {
      // The family's prepared values; Min and Max the first lowest and highest of them.
      std::size_t lo = kNone, hi = kNone;
      bool any = false;
      for (std::size_t i = 0; i < e.ncounts; ++i) {
        if (counts[i] == 0) continue;
        const std::size_t v = std::min(i, last_value);
        if (any) t.push_back(',');
        t.append(h.text_of(v));
        if (!any || h.values[v] < h.values[lo]) lo = v;
        if (!any || h.values[hi] < h.values[v]) hi = v;
        any = true;
      }
      t.append("],\"Counts\":[");
      any = false;
      for (std::size_t i = 0; i < e.ncounts; ++i) {
        if (counts[i] == 0) continue;
        if (any) t.push_back(',');
        append_uint(t, counts[i]);
        any = true;
      }
      t.append("],\"Count\":");
      append_uint(t, e.count);
      t.append(",\"Sum\":");
      vigil::detail::append_json_double(t, e.sum);
      t.append(",\"Min\":");
      if (lo == kNone) {
        t.append("0,\"Max\":0}");
      } else {
        t.append(h.text_of(lo));
        t.append(",\"Max\":");
        t.append(h.text_of(hi));
        t.push_back('}');
      }
      return;
    }
    // More than 100 non-empty buckets: merged pairwise (count-weighted mean values).
    values_.clear();
    merged_.clear();
    for (std::size_t i = 0; i < e.ncounts; ++i) {
      if (counts[i] == 0) continue;
      values_.push_back(h.values[std::min(i, last_value)]);
      merged_.push_back(counts[i]);
    }
    while (values_.size() > kMaxValuesPerMetric) {
      std::size_t out = 0;
      for (std::size_t i = 0; i < values_.size(); i += 2, ++out) {
        if (i + 1 < values_.size()) {
          const auto a = static_cast<double>(merged_[i]);
          const auto b = static_cast<double>(merged_[i + 1]);
          values_[out] = (values_[i] * a + values_[i + 1] * b) / (a + b);
          merged_[out] = merged_[i] + merged_[i + 1];
        } else {
          values_[out] = values_[i];
          merged_[out] = merged_[i];
        }
      }
      values_.resize(out);
      merged_.resize(out);
    }
    for (std::size_t i = 0; i < values_.size(); ++i) {
      if (i != 0) t.push_back(',');
      vigil::detail::append_json_double(t, values_[i]);
    }
    t.append("],\"Counts\":[");
    for (std::size_t i = 0; i < merged_.size(); ++i) {
      if (i != 0) t.push_back(',');
      append_uint(t, merged_[i]);
    }
    t.append("],\"Count\":");
    append_uint(t, e.count);
    t.append(",\"Sum\":");
    vigil::detail::append_json_double(t, e.sum);
    t.append(",\"Min\":");
    vigil::detail::append_json_double(t, *std::min_element(values_.begin(), values_.end()));
    t.append(",\"Max\":");
    vigil::detail::append_json_double(t, *std::max_element(values_.begin(), values_.end()));
    t.push_back('}');
  }

  const EmfExporterOptions o_;
  uint64_t skipped_ = 0;  // non-finite values left out
  uint32_t family_ = 0;
  std::string base_;  // scratch: the family's metric name
  struct Used {
    std::size_t at;  // label position
    uint32_t id;     // name id
  };
  struct DimName {
    std::string_view full;  // as the snapshot has it
    std::string json;       // as written: cut, "_aws" renamed, a JSON string
  };
  std::vector<std::size_t> positions_;
  std::vector<uint32_t> position_ids_;
  std::vector<Used> used_;
  std::vector<DimName> dim_names_;  // [0, ndim_names_) this export's
  std::size_t ndim_names_ = 0;
  bool maybe_taken_ = false;
  // Groups [0, ngroups_) are this export's; the rest keep their memory for the next.
  std::vector<Group> groups_;
  std::size_t ngroups_ = 0;
  std::vector<uint32_t> slots_;        // open addressing by Group::hash: group index + 1, 0 free
  std::vector<uint32_t> prev_groups_;  // group of each point of the previous family
  std::vector<uint32_t> cur_groups_;
  std::vector<Name> names_;
  std::size_t nnames_ = 0;
  std::vector<std::vector<double>> lists_;
  std::size_t nlists_ = 0;
  std::vector<HistogramValues> hists_;
  std::size_t nhists_ = 0;
  std::vector<uint64_t> counts_;
  std::deque<std::string> quantiles_;  // quantile dimension values (stable addresses)
  std::vector<std::vector<Chunk>> rounds_;
  std::string head_;
  std::string dims_list_;
  std::string dims_members_;
  std::vector<double> values_;
  std::vector<uint64_t> merged_;
};

}  // namespace

namespace detail {

struct EmfEncoder::Impl {
  explicit Impl(const EmfExporterOptions& o) : encoder(o) {}
  Encoder encoder;
};

EmfEncoder::EmfEncoder(const EmfExporterOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}

EmfEncoder::~EmfEncoder() = default;

void EmfEncoder::encode(const MetricsSnapshot& deltas, EmfBatch& out) {
  impl_->encoder.encode(deltas, out);
}

std::string_view emf_unit(std::string_view unit, bool is_count) noexcept {
  if (unit == "seconds") return "Seconds";
  if (unit == "milliseconds") return "Milliseconds";
  if (unit == "microseconds") return "Microseconds";
  if (unit == "bytes") return "Bytes";
  if (unit == "bits") return "Bits";
  if (unit == "percent") return "Percent";
  if (unit == "count") return "Count";
  if (unit.empty() && is_count) return "Count";
  return "None";
}

std::vector<EmfDocument> encode_emf(const MetricsSnapshot& deltas,
                                    const EmfExporterOptions& options) {
  EmfEncoder encoder(options);
  EmfBatch batch;
  encoder.encode(deltas, batch);
  std::vector<EmfDocument> docs;
  docs.reserve(batch.documents.size());
  for (std::size_t i = 0; i < batch.documents.size(); ++i) {
    docs.push_back({std::string(batch.json(i)), batch.documents[i].points});
  }
  return docs;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Options.

void EmfExporterOptions::validate() const {
  std::string error;
  parse_destination(destination, error);
  if (!error.empty()) {
    throw Error("EMF exporter: destination '" + destination + "' " + error);
  }
  if (namespace_.empty() || namespace_.size() > kMaxNameChars || has_control(namespace_) ||
      namespace_.front() == ':' || vigil::detail::starts_with_icase(namespace_, "AWS/")) {
    throw Error("EMF exporter: namespace '" + namespace_ +
                "' must be 1 to 255 characters without control characters, not start with ':' "
                "and not start with 'AWS/'");
  }
  if (dimensions.size() > kMaxDimensions) {
    throw Error("EMF exporter: at most 30 dimensions (CloudWatch's limit), got " +
                std::to_string(dimensions.size()));
  }
  for (std::size_t i = 0; i < dimensions.size(); ++i) {
    if (dimensions[i].empty() || has_control(dimensions[i])) {
      throw Error("EMF exporter: dimension names must be non-empty, without control characters");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (dimensions[j] == dimensions[i]) {
        throw Error("EMF exporter: dimension '" + dimensions[i] + "' is listed twice");
      }
    }
  }
  if (!printable_ascii(prefix)) {
    throw Error("EMF exporter: prefix must be printable ASCII (CloudWatch metric names are ASCII)");
  }
}

std::optional<EmfExporterOptions> EmfExporterOptions::from_environment(
    const trace::Environment& env) {
  auto dest = env.get("VIGIL_EMF");
  if (!dest) return std::nullopt;
  EmfExporterOptions o;
  std::string error;
  parse_destination(*dest, error);
  if (!error.empty()) {
    env.warn("VIGIL_EMF='" + *dest + "' " + error + ": EMF exporter off");
    return std::nullopt;
  }
  o.destination = std::move(*dest);
  auto ns = env.get("VIGIL_EMF_NAMESPACE");
  const char* ns_var = "VIGIL_EMF_NAMESPACE";
  if (!ns) {
    ns = env.get("OTEL_SERVICE_NAME");
    ns_var = "OTEL_SERVICE_NAME";
  }
  if (ns) {
    EmfExporterOptions probe;
    probe.namespace_ = *ns;
    try {
      probe.validate();
      o.namespace_ = std::move(*ns);
    } catch (const Error& e) {
      env.warn(std::string(ns_var) + ": " + e.what() + "; using 'vigil'");
    }
  }
  if (auto dims = env.get("VIGIL_EMF_DIMENSIONS")) {
    std::vector<std::string> list;
    if (vigil::detail::trim(*dims) != "none") {
      vigil::detail::for_each_list_member(*dims, ',', [&](std::string_view d) {
        if (has_control(d) || std::find(list.begin(), list.end(), d) != list.end()) {
          env.warn("VIGIL_EMF_DIMENSIONS: '" + std::string(d) + "' skipped (duplicate or bad)");
        } else {
          list.emplace_back(d);
        }
      });
    }
    if (list.size() > kMaxDimensions) {
      env.warn("VIGIL_EMF_DIMENSIONS lists more than 30 dimensions: the first 30 are used");
      list.resize(kMaxDimensions);
    }
    o.dimensions = std::move(list);
    o.all_labels_as_dimensions = false;
  }
  if (auto prefix = env.get("VIGIL_EMF_PREFIX")) {
    if (!printable_ascii(*prefix)) {
      env.warn("VIGIL_EMF_PREFIX must be printable ASCII: ignored");
    } else {
      o.prefix = std::move(*prefix);
    }
  }
  o.high_resolution = env.get_bool("VIGIL_EMF_HIGH_RESOLUTION", o.high_resolution);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The exporter.

struct EmfExporter::Impl {
  explicit Impl(const EmfExporterOptions& o) : encoder(o) {}
  Destination dest;
  DeltaTracker tracker;
  MetricsSnapshot deltas;  // the last deltas; kept so that the next ones reuse its memory
  detail::EmfEncoder encoder;
  detail::EmfBatch batch;  // the last export's documents; kept for its memory
  std::atomic<bool> aborted{false};
  std::mutex io_mu;  // fd / file (close() may come from another thread)
  FILE* file = nullptr;
  int fd = -1;
  mutable std::mutex mu;  // stats
  EmfExporterStats stats;

  ~Impl() { close_all(); }

  void close_all() {
    std::lock_guard lock(io_mu);
    if (file != nullptr) std::fclose(file);
    file = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  // Connects fd (TCP or UDP) to dest by `deadline`; "" or an error message.
  std::string connect(ExportDeadline deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = dest.kind == Kind::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(dest.port);
    if (const int rc = ::getaddrinfo(dest.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return "cannot resolve '" + dest.host + "': " + ::gai_strerror(rc);
    }
    std::string error = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      const int s =
          ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (s < 0) {
        error = std::strerror(errno);
        continue;
      }
      int rc = ::connect(s, a->ai_addr, a->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        rc = wait(s, POLLOUT, deadline) ? 0 : -1;
        if (rc == 0) {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            errno = err;
            rc = -1;
          }
        } else {
          errno = aborted.load() ? ECANCELED : ETIMEDOUT;
        }
      }
      if (rc == 0) {
        fd = s;
        ::freeaddrinfo(res);
        return {};
      }
      error = std::strerror(errno);
      ::close(s);
    }
    ::freeaddrinfo(res);
    return "cannot connect to " + dest.host + ":" + port + ": " + error;
  }

  // Waits for `events` on `s` until `deadline`, in slices so that abort() is seen.
  bool wait(int s, short events, ExportDeadline deadline) {
    while (!aborted.load(std::memory_order_acquire)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ExportClock::now());
      if (left.count() <= 0) return false;
      pollfd p{s, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
    return false;
  }

  // Sends all of `data` on the stream socket by `deadline`; "" or an error.
  std::string send_stream(std::string_view data, ExportDeadline deadline) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!wait(fd, POLLOUT, deadline)) {
          return aborted.load() ? "aborted by shutdown" : "send timed out";
        }
        continue;
      }
      return std::string("send failed: ") + std::strerror(errno);
    }
    return {};
  }
};

EmfExporter::EmfExporter(EmfExporterOptions options) : options_(std::move(options)) {
  options_.validate();
  impl_ = std::make_unique<Impl>(options_);
  std::string error;
  impl_->dest = parse_destination(options_.destination, error);
}

EmfExporter::~EmfExporter() = default;

void EmfExporter::abort() noexcept { impl_->aborted.store(true, std::memory_order_release); }

void EmfExporter::close() noexcept { impl_->close_all(); }

EmfExporterStats EmfExporter::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

ExportOutcome EmfExporter::export_metrics(const MetricsSnapshot& snapshot,
                                          ExportDeadline deadline) {
  ExportOutcome out;
  Impl& im = *impl_;
  im.tracker.deltas_into(snapshot, im.deltas);
  detail::EmfBatch& batch = im.batch;
  im.encoder.encode(im.deltas, batch);
  out.dropped_points += batch.skipped;  // NaN / Inf values
  const auto& docs = batch.documents;

  const std::string where = "EMF export to " + options_.destination + ": ";
  const auto fail = [&](std::string reason, std::string message, std::size_t from) {
    out.ok = false;
    out.reason = std::move(reason);
    out.error = where + message;
    for (std::size_t i = from; i < docs.size(); ++i) out.dropped_points += docs[i].points;
  };

  {
    std::lock_guard io(im.io_mu);
    const Destination& d = im.dest;
    if (im.aborted.load(std::memory_order_acquire)) {
      fail("shutdown", "aborted by shutdown", 0);
    } else if (d.kind == Kind::kStdout || d.kind == Kind::kFile) {
      FILE* f = stdout;
      if (d.kind == Kind::kFile) {
        if (im.file == nullptr) im.file = std::fopen(d.path.c_str(), "ae");
        f = im.file;
      }
      if (f == nullptr) {
        fail("io", "cannot open '" + d.path + "': " + std::strerror(errno), 0);
      } else {
        const std::string& text = batch.text;  // the documents, each followed by '\n'
        const std::size_t written = std::fwrite(text.data(), 1, text.size(), f);
        const bool flushed = std::fflush(f) == 0;
        if (written != text.size() || !flushed) {
          const int err = errno;
          fail("io", std::string("write failed: ") + std::strerror(err), 0);
          if (d.kind == Kind::kFile) {
            std::fclose(im.file);
            im.file = nullptr;  // reopened next time
          }
        } else {
          out.bytes += text.size();
          out.requests += docs.size();
          for (const auto& doc : docs) out.points += doc.points;
        }
      }
    } else {
      std::string error;
      if (im.fd < 0) error = im.connect(deadline);
      if (!error.empty()) {
        fail(im.aborted.load() ? "shutdown" : "connection", error, 0);
      } else {
        for (std::size_t i = 0; i < docs.size(); ++i) {
          const std::string_view json = batch.line(i);
          if (d.kind == Kind::kUdp) {
            if (json.size() > kMaxDatagramBytes) {
              out.dropped_points += docs[i].points;
              out.ok = false;
              out.reason = "limit";
              out.error = where + "a document exceeds the 65,000-byte datagram limit";
              continue;
            }
            const ssize_t n = ::send(im.fd, json.data(), json.size(), MSG_NOSIGNAL);
            if (n < 0) error = std::string("send failed: ") + std::strerror(errno);
          } else {
            error = im.send_stream(json, deadline);
          }
          if (!error.empty()) {
            ::close(im.fd);
            im.fd = -1;  // reconnect next time
            fail(im.aborted.load() ? "shutdown" : "connection", error, i);
            break;
          }
          out.bytes += json.size();
          ++out.requests;
          out.points += docs[i].points;
        }
      }
    }
  }

  std::lock_guard lock(im.mu);
  EmfExporterStats& st = im.stats;
  ++st.exports;
  if (!out.ok) {
    ++st.failed_exports;
    st.last_error = out.error;
  }
  st.documents += out.requests;
  st.points += out.points;
  st.dropped_points += out.dropped_points;
  st.bytes += out.bytes;
  return out;
}

}  // namespace vigil::exporters
