// src/exporters/statsd_encoding.h (internal): StatsD / DogStatsD lines from a delta snapshot,
// packed into packets of a bounded size. The rules are in include/vigil/exporters/
// statsd_exporter.h. No sockets here (statsd_transport.h sends), so that the encoding is
// benchmarked and tested on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"
#include "vigil/exporters/statsd_exporter.h"

namespace vigil::exporters::statsd {

using Tags = std::vector<std::pair<std::string, std::string>>;

// Joins lines into packets of at most `max` bytes ('\n' between lines, none at the end). A
// unit is one value: one line, or the two lines of an Etsy negative gauge, which are never
// split. Calls sink(packet, units) for every full packet and at flush().
class Packer {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void packet(std::string_view packet, std::size_t units) = 0;
  };
  Packer(std::size_t max, Sink& sink);
  // False (and counted in oversized()) when `unit` alone is longer than max.
  bool add(std::string_view unit);
  void flush();
  uint64_t oversized() const noexcept { return oversized_; }

 private:
  std::size_t max_;
  Sink& sink_;
  std::string packet_;
  std::size_t units_ = 0;
  uint64_t oversized_ = 0;
};

// Appends `v` in the shortest form that reads back as the same double; "-0" is written "0".
// False (nothing appended) for NaN and infinities.
bool append_value(std::string& out, double v);

// Replaces in place: ':', '|', '@', '#', ',', whitespace and control characters by '_' (metric
// names).
void sanitize_name(std::string& s);
// DogStatsD tag key / value: ',', '|', '#', CR, LF, NUL by '_' (and ':' in keys).
void append_tag_part(std::string& out, std::string_view s, bool key);
// Etsy name segment: everything outside [A-Za-z0-9_-] by '_'; "" becomes "_".
void append_etsy_segment(std::string& out, std::string_view s);

// "k:v,k2:v2" (bare "k" when v is empty), sanitised, appended to `out` (no leading '#').
void append_tags(std::string& out, const Tags& tags);

// What one encode() did.
struct EncodeCounts {
  uint64_t units = 0;       // values handed to the packer (oversized ones included)
  uint64_t unsendable = 0;  // NaN / infinite values
};

// Turns delta snapshots (DeltaTracker output) into lines. Keeps per-family name caches between
// calls. Not thread-safe.
class Encoder {
 public:
  explicit Encoder(const StatsdOptions& options);
  void encode(const MetricsSnapshot& deltas, Packer& out, EncodeCounts& counts);

  // prefix + name as the options say (sanitised); for raw instruments and families.
  std::string metric_name(std::string_view name) const;
  // The part after "NAME:VALUE" for a raw instrument: "|ms|@0.5|#tags" (DogStatsD) and the
  // Etsy name suffix (labels appended) in `etsy_suffix`.
  std::string line_tail(std::string_view type, double sample_rate, const Tags& tags,
                        std::string* etsy_suffix) const;
  const std::string& constant_tags() const noexcept { return constant_tags_; }

 private:
  struct Family;
  void emit(const Family& fam, const MetricPoint& p, std::string_view suffix, double value,
            std::string_view type, std::string_view extra_key, std::string_view extra_value,
            Packer& out, EncodeCounts& counts);

  StatsdFlavor flavor_;
  StatsdEtsyLabels etsy_labels_;
  bool dots_;
  bool send_unchanged_;
  bool buckets_;
  bool quantiles_;
  std::string prefix_;         // with its trailing '.', or ""
  std::string constant_tags_;  // "k:v,..." or ""
  std::string line_;           // scratch
  std::string bound_;          // scratch
};

}  // namespace vigil::exporters::statsd
