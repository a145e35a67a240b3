// Storage of the latest exemplar per counter series or histogram bucket (private).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vigil/metrics/collector.h"
#include "vigil/metrics/exemplar.h"

namespace vigil::metrics::detail {

class ExemplarStore {
 public:
  // The exemplars of one series, copied for one sink call. Reused between series.
  struct Snapshot {
    std::vector<ExemplarPoint> points;
    std::vector<const ExemplarPoint*> by_slot;  // null where a slot has none
    std::vector<std::pair<std::string_view, std::string_view>> labels;
    std::string text;
  };

  ExemplarStore();
  // Keeps the exemplar for `slot`; the labels were checked (valid_exemplar_labels).
  void record(const SeriesNode* node, uint32_t slot, uint32_t slots, double value,
              ExemplarLabels labels);
  // Unique per store in the process (the per-thread sampling table's key: a series address
  // reused by another registry's family is not mistaken for the old one).
  uint64_t id() const noexcept { return id_; }
  // Fills `out` with `node`'s exemplars; false when it has none.
  bool snapshot(const SeriesNode& node, uint32_t slots, Snapshot& out);
  // A collection starts: entries of series that two collections in a row did not visit (the
  // series is gone) are dropped.
  void begin_collection();

 private:
  struct Stored {
    bool set = false;
    double value = 0;
    double timestamp = 0;
    std::string text;            // names and values, back to back
    std::vector<uint32_t> ends;  // end offset of each name and each value in `text`
  };
  struct Entry {
    double created = 0;  // of the node, to tell a reused address from the same series
    uint64_t seen = 0;   // collection epoch when last visited
    std::vector<Stored> slots;
  };
  const uint64_t id_;
  std::mutex mu_;
  uint64_t epoch_ = 0;
  std::unordered_map<const SeriesNode*, Entry> entries_;
};

// The family's store, or null when it never had an exemplar.
inline ExemplarStore* exemplar_store(const RecordStats& stats) noexcept {
  return stats.exemplars.load(std::memory_order_acquire);
}

}  // namespace vigil::metrics::detail
