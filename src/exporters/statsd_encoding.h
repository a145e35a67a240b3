// src/exporters/statsd_encoding.h (internal): StatsD / DogStatsD lines from a delta snapshot,
// packed into packets of a bounded size. The rules are in include/vigil/exporters/
// statsd_exporter.h. No sockets here (statsd_transport.h sends), so that the encoding is
// benchmarked and tested on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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
  // Writing a unit in place: begin_unit() returns the packet buffer to append the unit to (a
  // separator already written when needed); end_unit() checks its size as add() does;
  // cancel_unit() takes it back out. Saves a copy per line.
  std::string& begin_unit() {
    mark_ = packet_.size();
    if (!packet_.empty()) packet_ += '\n';
    start_ = packet_.size();
    return packet_;
  }
  std::size_t unit_start() const noexcept { return start_; }
  bool end_unit() {
    if (packet_.size() <= max_) {
      ++units_;
      return true;
    }
    return place_unit(packet_.size() - start_);
  }
  void cancel_unit() { packet_.resize(mark_); }
  void flush();
  uint64_t oversized() const noexcept { return oversized_; }

 private:
  // end_unit() for a unit of `len` bytes that overflows the packet.
  bool place_unit(std::size_t len);

  std::size_t max_;
  Sink& sink_;
  std::string packet_;
  std::string moved_;      // a unit that did not fit in the current packet
  std::size_t mark_ = 0;   // packet size before the unit (separator included)
  std::size_t start_ = 0;  // where the unit begins
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

// Turns cumulative snapshots into lines: counters, histogram and summary counts and sums as
// the change since the previous encode() (DeltaTracker's rules: a series seen for the first time
// sends its whole value, a value below the previous one is a reset and sends the new value),
// gauges and quantiles as they are. Keeps, per series, the previous values and its labels
// already encoded (DogStatsD: the whole "|#..." tag field), in the previous snapshot's order: a
// series where the previous snapshot had it costs a comparison of its label values with the
// stored key and a few appends (about 0.6 k instructions per series, bench/README.md); others
// a hash lookup. The snapshot is not copied, as DeltaTracker::deltas would. Series and families
// absent from a snapshot are forgotten. Not thread-safe.
class Encoder {
 public:
  explicit Encoder(const StatsdOptions& options);
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  ~Encoder();
  void encode(const MetricsSnapshot& cumulative, Packer& out, EncodeCounts& counts);

  // prefix + name as the options say (sanitised); for raw instruments and families.
  std::string metric_name(std::string_view name) const;
  // The part after "NAME:VALUE" for a raw instrument: "|ms|@0.5|#tags" (DogStatsD) and the
  // Etsy name suffix (labels appended) in `etsy_suffix`.
  std::string line_tail(std::string_view type, double sample_rate, const Tags& tags,
                        std::string* etsy_suffix) const;
  const std::string& constant_tags() const noexcept { return constant_tags_; }
  std::size_t tracked_series() const noexcept;

 private:
  struct Series;
  struct FamilyState;
  void emit(const FamilyState& fam, const Series& s, std::string_view suffix, double value,
            std::string_view type, std::string_view extra_key, std::string_view extra_value,
            Packer& out, EncodeCounts& counts);
  std::string encode_labels(const FamilyState& fam, const MetricPoint& p) const;

  StatsdFlavor flavor_;
  StatsdEtsyLabels etsy_labels_;
  bool dots_;
  bool send_unchanged_;
  bool buckets_;
  bool quantiles_;
  std::string prefix_;         // with its trailing '.', or ""
  std::string constant_tags_;  // "k:v,..." or ""
  std::string bound_;          // scratch
  std::string key_;            // scratch
  uint64_t generation_ = 0;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::exporters::statsd
