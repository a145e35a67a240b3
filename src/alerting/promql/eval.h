// src/alerting/promql/eval.h (internal): evaluates a parsed PromQL expression at one instant
// over a Storage, with Prometheus 2.42's semantics (promql/engine.go, promql/functions.go):
// lookback delta 5 m for instant selectors, staleness markers end a series, range selectors
// include both ends of the window [t - range - offset, t - offset], rate/increase/delta
// extrapolate exactly as Prometheus does, counter resets are handled, results drop __name__
// where Prometheus drops it.
//
//   vigil::alerting::promql::MemoryStorage store;
//   store.append({{"__name__", "up"}, {"job", "api"}}, 1000, 1);
//   auto expr = parse("up == 1");
//   EvalResult r = evaluate(**expr, store, 60'000);
//   if (!r.ok()) report(r.error);   // e.g. "vector cannot contain metrics with the same labelset"
//
// Thread-safety: evaluate() only reads the storage; MemoryStorage is safe for one writer and
// readers that hold no reference across a write (the rule engine writes and evaluates on one
// thread). Never throws (except std::bad_alloc); runtime errors come back in EvalResult::error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "alerting/promql/ast.h"

namespace vigil::alerting::promql {

// Where selectors read their data.
class Storage {
 public:
  virtual ~Storage() = default;
  // Appends to `out` every series matching all `matchers`, with only its samples whose time is in
  // [mint, maxt] (both inclusive); series with no sample in the window are not appended. Stale
  // markers inside the window are included (the evaluator interprets them).
  virtual void select(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                      Matrix& out) const = 0;
  // select() with __name__ left out of the appended series' labels (range functions drop it).
  // The default calls select() and removes it; a storage can avoid copying it.
  virtual void select_without_name(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                                   Matrix& out) const;

  // What visit() hands over of each series' samples in [mint, maxt].
  enum class Window : uint8_t {
    kAll,      // every sample, stale markers included (as select())
    kNoStale,  // the samples that are not stale markers (a range selector's view)
    kLast,     // the last sample only, possibly a stale marker (an instant selector's view)
  };
  // Calls fn(const Labels& labels, std::span<const Sample> samples) for every series select()
  // would return, in the same order, with its samples in the window as `window` says; a series
  // with none (for kNoStale: none but stale markers) is skipped. Nothing is copied per series:
  // `labels` is the storage's own and `samples` a buffer reused between calls, both valid during
  // the call only. Range functions and aggregations read the history through it (no window
  // vector and no label copy per series).
  template <class Fn>
  void visit(std::span<const Matcher> matchers, int64_t mint, int64_t maxt, Window window,
             Fn&& fn) const {
    using F = std::remove_reference_t<Fn>;
    visit_impl(
        matchers, mint, maxt, window,
        [](void* f, const Labels& labels, std::span<const Sample> samples) {
          (*static_cast<F*>(f))(labels, samples);
        },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  using VisitFn = void (*)(void* ctx, const Labels& labels, std::span<const Sample> samples);
  // visit()'s work: calls fn(ctx, ...) per series. The default selects into a Matrix and filters
  // it (copies); MemoryStorage reads its chunks in place.
  virtual void visit_impl(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                          Window window, VisitFn fn, void* ctx) const;
};

struct EvalOptions {
  int64_t lookback_delta_ms = 5 * 60 * 1000;
};

struct EvalResult {
  ValueType type = ValueType::kVector;
  double scalar = 0;   // kScalar
  Vector vector;       // kVector
  Matrix matrix;       // kMatrix (a bare range selector)
  std::string string;  // kString
  std::string error;   // non-empty: evaluation failed, the other fields are meaningless

  bool ok() const noexcept { return error.empty(); }
};

// Evaluates `expr` at time `t` (ms).
EvalResult evaluate(const Expr& expr, const Storage& storage, int64_t t,
                    const EvalOptions& options = {});

// An in-memory Storage: series indexed by label set, samples appended in time order.
// 12 bytes per sample plus the series' labels. Used by the rule engine (its history), by
// `vigil rules test` (input_series) and by tests.
//
// select() reads only the candidates of the most selective equality matcher (an index from
// __name__ and from every label pair to its series), copies only the samples inside the window,
// and returns series in creation order (as Prometheus' head block does, which decides topk ties).
class MemoryStorage : public Storage {
 public:
  MemoryStorage();
  ~MemoryStorage() override;
  MemoryStorage(MemoryStorage&&) noexcept;
  MemoryStorage& operator=(MemoryStorage&&) noexcept;

  // Appends a sample; `labels` must be sorted by name (use sort_labels). A sample not newer than
  // the series' last is ignored (returns false). A stale_nan() value marks the series stale.
  bool append(const Labels& labels, int64_t t, double v);

  // Where a series is, kept by a caller that appends to it every round (the registry sampler) so
  // that append() skips the hash of its label set. A reference is valid for the storage that set
  // it until a series is removed (trim_before dropping one, clear()); append() detects a stale
  // one (each storage's generation is unique in the process) and looks the series up again.
  struct SeriesRef {
    const void* series = nullptr;
    uint64_t generation = 0;
  };
  // append() through `ref` (set or refreshed here); `labels` are used only when it is stale.
  bool append(const Labels& labels, int64_t t, double v, SeriesRef& ref);
  // Drops samples older than `t` (and series left empty). Returns samples dropped.
  size_t trim_before(int64_t t);
  void clear();

  size_t series_count() const noexcept;
  size_t sample_count() const noexcept;
  // Bytes held by samples (12 each, in chunks of 64: at most two chunks partly used per series),
  // labels and the index, for the memory figures.
  size_t memory_bytes() const noexcept;

  void select(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
              Matrix& out) const override;
  void select_without_name(std::span<const Matcher> matchers, int64_t mint, int64_t maxt,
                           Matrix& out) const override;
  void visit_impl(std::span<const Matcher> matchers, int64_t mint, int64_t maxt, Window window,
                  VisitFn fn, void* ctx) const override;

 private:
  void select_impl(std::span<const Matcher> matchers, int64_t mint, int64_t maxt, Matrix& out,
                   bool drop_name) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sorts by name (stable for equal names, which a valid label set never has).
void sort_labels(Labels& labels);

}  // namespace vigil::alerting::promql
