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
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/detail/json_writer.h"
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

struct Entry {
  enum class Type : uint8_t { kSum, kList, kHistogram };
  uint32_t name = 0;    // index in Encoder::names_
  uint32_t family = 0;  // the family's ordinal, and which of its metrics (0 the family's own,
  uint8_t sub = 0;      // 1 _count, 2 _sum): how an entry is found again
  std::string_view unit;
  Type type = Type::kSum;
  // kSum: one value; kList: the values (the first inline, no allocation for one series).
  double first = 0;
  std::vector<double> more;
  std::size_t nvalues = 0;
  double value(std::size_t i) const { return i == 0 ? first : more[i - 1]; }
  void push(double v) {
    if (nvalues++ == 0) {
      first = v;
    } else {
      more.push_back(v);
    }
  }
  // kHistogram: observations per bucket (not cumulative), their count and sum.
  const std::vector<double>* bounds = nullptr;
  std::vector<uint64_t> counts;
  uint64_t count = 0;
  double sum = 0;
  uint64_t points = 0;  // series combined into this entry
};

// Lookups by string_view without a temporary std::string.
struct ViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using Index = std::unordered_map<std::string, std::size_t, ViewHash, std::equal_to<>>;

struct Group {
  std::vector<std::pair<std::string, std::string>> dims;
  std::vector<Entry> entries;
};

void append_key_part(std::string& key, std::string_view part) {
  const auto n = static_cast<uint32_t>(part.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof n);
  key.append(part);
}

std::string format_quantile(double q) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, q);
  return std::string(buf, r.ptr);
}

class Encoder {
 public:
  explicit Encoder(const EmfExporterOptions& o) : o_(o) {}

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
    ++family_;
    const std::string base = std::string(utf8_prefix(o_.prefix + f.name, kMaxNameChars));
    const std::string_view unit = f.unit;
    const uint32_t name = add_name(base);
    uint32_t count_name = 0, sum_name = 0;
    if (f.type == metrics::MetricType::kSummary) {
      count_name = add_name(cut(base + "_count"));
      sum_name = add_name(cut(base + "_sum"));
    }
    for (const auto& p : f.points) {
      switch (f.type) {
        case metrics::MetricType::kCounter:
          add_sum(group(f, p, nullptr), name, 0, detail::emf_unit(unit, true), p.value);
          break;
        case metrics::MetricType::kGauge:
          add_list(group(f, p, nullptr), name, 0, detail::emf_unit(unit, false), p.value);
          break;
        case metrics::MetricType::kInfo:
          add_list(group(f, p, nullptr), name, 0, "None", 1);
          break;
        case metrics::MetricType::kHistogram:
          add_histogram(group(f, p, nullptr), name, detail::emf_unit(unit, false), f, p);
          break;
        case metrics::MetricType::kSummary: {
          Group& g = group(f, p, nullptr);
          add_sum(g, count_name, 1, "Count", static_cast<double>(p.count));
          add_sum(g, sum_name, 2, detail::emf_unit(unit, false), p.sum);
          for (const auto& [q, v] : p.quantiles) {
            const std::string qs = format_quantile(q);
            add_list(group(f, p, &qs), name, 0, detail::emf_unit(unit, false), v);
          }
          break;
        }
      }
    }
  }

  std::vector<detail::EmfDocument> finish(double timestamp) {
    std::vector<detail::EmfDocument> docs;
    const auto ts = static_cast<int64_t>(std::llround(timestamp * 1000));
    for (Group& g : groups_) write_group(g, ts, docs);
    return docs;
  }

  uint64_t skipped = 0;  // non-finite values left out

 private:
  static std::string cut(std::string s) {
    if (s.size() > kMaxNameChars) s = std::string(utf8_prefix(s, kMaxNameChars));
    return s;
  }

  Group& group(const MetricFamily& f, const MetricPoint& p, const std::string* quantile) {
    // The key: the dimension (name, value) pairs in order, as they arrive.
    key_.clear();
    used_.clear();
    const std::size_t max = quantile != nullptr ? kMaxDimensions - 1 : kMaxDimensions;
    for (const std::size_t i : positions_) {
      if (used_.size() >= max) break;
      if (i >= p.label_values.size() || p.label_values[i].empty()) continue;
      used_.push_back(i);
      append_key_part(key_, f.label_names[i]);
      append_key_part(key_, p.label_values[i]);
    }
    if (quantile != nullptr) {
      append_key_part(key_, "quantile");
      append_key_part(key_, *quantile);
    }
    if (auto it = by_key_.find(std::string_view(key_)); it != by_key_.end()) {
      return groups_[it->second];
    }
    by_key_.emplace(key_, groups_.size());
    Group& g = groups_.emplace_back();
    for (const std::size_t i : used_) {
      std::string name(utf8_prefix(f.label_names[i], kMaxNameChars));
      if (name == "_aws") name.push_back('_');
      g.dims.emplace_back(std::move(name),
                          std::string(utf8_prefix(p.label_values[i], kMaxDimensionValueChars)));
    }
    if (quantile != nullptr) g.dims.emplace_back("quantile", *quantile);
    return g;
  }

  // The entry `name` of `g` (created with `type` when new); a name that collides with a
  // dimension key gets a trailing '_'.
  uint32_t add_name(std::string name) {
    names_.push_back(std::move(name));
    return static_cast<uint32_t>(names_.size() - 1);
  }

  // The entry of the current family's metric `sub` in `g` (created when new). A family's entries
  // are added while the family is encoded, so they are the last ones of the group.
  Entry& entry(Group& g, uint32_t name, uint8_t sub, std::string_view unit, Entry::Type type) {
    for (auto it = g.entries.rbegin(); it != g.entries.rend() && it->family == family_; ++it) {
      if (it->sub == sub) return *it;
    }
    Entry& e = g.entries.emplace_back();
    e.name = name;
    e.family = family_;
    e.sub = sub;
    e.unit = unit;
    e.type = type;
    const auto taken = [&](const std::string& n) {
      return n == "_aws" ||
             std::any_of(g.dims.begin(), g.dims.end(), [&](const auto& d) { return d.first == n; });
    };
    if (taken(names_[name])) {
      // A name that collides with a dimension key gets trailing '_'.
      std::string renamed = names_[name];
      while (taken(renamed)) {
        if (renamed.size() >= kMaxNameChars) renamed.pop_back();
        renamed.push_back('_');
      }
      e.name = add_name(std::move(renamed));
    }
    return e;
  }

  void add_sum(Group& g, uint32_t name, uint8_t sub, std::string_view unit, double v) {
    if (!std::isfinite(v)) {
      ++skipped;
      return;
    }
    Entry& e = entry(g, name, sub, unit, Entry::Type::kSum);
    e.nvalues = 1;
    e.first += v;
    ++e.points;
  }

  void add_list(Group& g, uint32_t name, uint8_t sub, std::string_view unit, double v) {
    if (!std::isfinite(v)) {
      ++skipped;
      return;
    }
    Entry& e = entry(g, name, sub, unit, Entry::Type::kList);
    e.push(v);
    ++e.points;
  }

  void add_histogram(Group& g, uint32_t name, std::string_view unit, const MetricFamily& f,
                     const MetricPoint& p) {
    Entry& e = entry(g, name, 0, unit, Entry::Type::kHistogram);
    e.bounds = &f.bounds;
    if (e.counts.size() < p.buckets.size()) e.counts.resize(p.buckets.size());
    uint64_t below = 0;
    for (std::size_t i = 0; i < p.buckets.size(); ++i) {
      const uint64_t cum = p.buckets[i];
      e.counts[i] += cum >= below ? cum - below : 0;
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

  // Values/Counts of a histogram entry: non-empty buckets, merged pairwise down to 100.
  static void histogram_values(const Entry& e, std::vector<double>& values,
                               std::vector<double>& counts) {
    values.clear();
    counts.clear();
    for (std::size_t i = 0; i < e.counts.size(); ++i) {
      if (e.counts[i] == 0) continue;
      values.push_back(bucket_value(*e.bounds, i));
      counts.push_back(static_cast<double>(e.counts[i]));
    }
    while (values.size() > kMaxValuesPerMetric) {
      std::size_t out = 0;
      for (std::size_t i = 0; i < values.size(); i += 2, ++out) {
        if (i + 1 < values.size()) {
          const double c = counts[i] + counts[i + 1];
          values[out] = (values[i] * counts[i] + values[i + 1] * counts[i + 1]) / c;
          counts[out] = c;
        } else {
          values[out] = values[i];
          counts[out] = counts[i];
        }
      }
      values.resize(out);
      counts.resize(out);
    }
  }

  struct Chunk {
    const Entry* entry;
    std::size_t begin;  // kList: values [begin, end)
    std::size_t end;
  };

  void write_group(const Group& g, int64_t ts, std::vector<detail::EmfDocument>& docs) {
    // Round r holds chunk r of every entry that has one: one metric at most once per document.
    std::vector<std::vector<Chunk>> rounds;
    for (const Entry& e : g.entries) {
      if (e.type == Entry::Type::kHistogram) {
        if (e.count == 0) continue;  // nothing observed since the previous export
        if (rounds.empty()) rounds.emplace_back();
        rounds[0].push_back({&e, 0, 0});
        continue;
      }
      for (std::size_t b = 0, r = 0; b < e.nvalues; b += kMaxValuesPerMetric, ++r) {
        if (rounds.size() <= r) rounds.emplace_back();
        rounds[r].push_back({&e, b, std::min(e.nvalues, b + kMaxValuesPerMetric)});
      }
    }
    for (const auto& round : rounds) {
      for (std::size_t b = 0; b < round.size(); b += kMaxMetricsPerDocument) {
        const std::size_t end = std::min(round.size(), b + kMaxMetricsPerDocument);
        docs.push_back(document(g, ts, round.data() + b, round.data() + end));
      }
    }
  }

  detail::EmfDocument document(const Group& g, int64_t ts, const Chunk* first, const Chunk* last) {
    detail::EmfDocument doc;
    std::string& out = doc.json;
    // Sized once: names twice, unit, numbers (histograms: two arrays), dimensions.
    std::size_t size = 200 + o_.namespace_.size();
    for (const auto& [k, v] : g.dims) size += 2 * k.size() + v.size() + 12;
    for (const Chunk* c = first; c != last; ++c) {
      const Entry& e = *c->entry;
      size += 2 * names_[e.name].size() + 48;
      size += e.type == Entry::Type::kHistogram ? 48 * e.counts.size() + 96
                                                : 24 * std::max<std::size_t>(1, c->end - c->begin);
    }
    out.reserve(size);
    vigil::detail::JsonWriter w(out);
    w.open_object();
    w.key("_aws");
    w.open_object();
    w.key("Timestamp");
    w.int64(ts);
    w.key("CloudWatchMetrics");
    w.open_array();
    w.element();
    w.open_object();
    w.string_member("Namespace", o_.namespace_);
    w.key("Dimensions");
    w.open_array();
    w.element();
    w.open_array();
    for (const auto& d : g.dims) {
      w.element();
      w.string(d.first);
    }
    w.close_array();
    w.close_array();
    w.key("Metrics");
    w.open_array();
    for (const Chunk* c = first; c != last; ++c) {
      w.element();
      w.open_object();
      w.string_member("Name", names_[c->entry->name]);
      w.string_member("Unit", c->entry->unit);
      if (o_.high_resolution) {
        w.key("StorageResolution");
        w.number(1);
      }
      w.close_object();
    }
    w.close_array();
    w.close_object();
    w.close_array();
    w.close_object();
    for (const auto& d : g.dims) {
      w.escaped_key(d.first);
      w.string(d.second);
    }
    for (const Chunk* c = first; c != last; ++c) {
      const Entry& e = *c->entry;
      w.escaped_key(names_[e.name]);
      switch (e.type) {
        case Entry::Type::kSum:
          w.dbl(e.first);
          doc.points += e.points;
          break;
        case Entry::Type::kList:
          if (e.nvalues == 1) {
            w.dbl(e.first);
          } else {
            w.open_array();
            for (std::size_t i = c->begin; i < c->end; ++i) {
              w.element();
              w.dbl(e.value(i));
            }
            w.close_array();
          }
          doc.points += c->end - c->begin;
          break;
        case Entry::Type::kHistogram: {
          histogram_values(e, values_, counts_);
          w.open_object();
          w.key("Values");
          write_array(w, values_);
          w.key("Counts");
          write_array(w, counts_);
          w.key("Count");
          w.uint64(e.count);
          w.key("Sum");
          w.dbl(e.sum);
          w.key("Min");
          w.dbl(values_.empty() ? 0 : *std::min_element(values_.begin(), values_.end()));
          w.key("Max");
          w.dbl(values_.empty() ? 0 : *std::max_element(values_.begin(), values_.end()));
          w.close_object();
          doc.points += e.points;
          break;
        }
      }
    }
    w.close_object();
    return doc;
  }

  static void write_array(vigil::detail::JsonWriter& w, const std::vector<double>& v) {
    w.open_array();
    for (const double x : v) {
      w.element();
      w.dbl(x);
    }
    w.close_array();
  }

  const EmfExporterOptions& o_;
  std::vector<std::size_t> positions_;
  std::vector<Group> groups_;
  Index by_key_;
  std::vector<std::string> names_;  // metric names, by Entry::name
  uint32_t family_ = 0;
  std::string key_;
  std::vector<std::size_t> used_;
  std::vector<double> values_;
  std::vector<double> counts_;
};

}  // namespace

namespace detail {

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
  Encoder enc(options);
  for (const auto& f : deltas.families) enc.family(f);
  return enc.finish(deltas.timestamp);
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
  Destination dest;
  DeltaTracker tracker;
  MetricsSnapshot deltas;  // the last deltas; kept so that the next ones reuse its memory
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
  impl_ = std::make_unique<Impl>();
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
  const MetricsSnapshot& deltas = im.deltas;
  Encoder enc(options_);
  for (const auto& f : deltas.families) enc.family(f);
  std::vector<detail::EmfDocument> docs = enc.finish(deltas.timestamp);
  if (enc.skipped > 0) out.dropped_points += enc.skipped;  // NaN / Inf values

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
        std::string text;
        std::size_t total = 0;
        for (const auto& doc : docs) total += doc.json.size() + 1;
        text.reserve(total);
        for (const auto& doc : docs) {
          text.append(doc.json);
          text.push_back('\n');
        }
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
          std::string& json = docs[i].json;
          json.push_back('\n');
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
