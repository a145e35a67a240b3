// tests/exporters/fake_metric_exporter.h: a MetricExporter for the engine's tests, scripted
// through a shared FakeExportState the test keeps (so it can be read after the engine destroyed
// the exporter): counts calls, keeps what it received, and can hang (until released, or until
// abort() unless it ignores aborts), throw, fail, or encode the snapshot as text.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vigil/exporters/metric_exporter.h"

namespace vigil::exporters::testing {

struct FakeExportState {
  std::mutex mu;
  std::condition_variable cv;
  // Script.
  bool hang = false;          // block in export_metrics until release() (or abort())
  bool ignore_abort = false;  // hang on through abort()
  bool throws = false;        // throw std::runtime_error("boom")
  bool encode = false;        // write every point as a text line (cost of a real exporter)
  ExportOutcome result;       // returned when not hanging/throwing; points default to series()
  bool result_points_from_snapshot = true;
  // What happened.
  int calls = 0;
  int returned = 0;
  int aborts = 0;
  int closes = 0;
  int calls_after_close = 0;
  bool in_export = false;
  bool released = false;
  std::vector<double> timestamps;  // snapshot timestamps, in call order
  std::vector<std::size_t> series;
  MetricsSnapshot last;                               // the last snapshot received
  std::chrono::steady_clock::duration last_budget{};  // deadline - time of the call
  std::size_t encoded_bytes = 0;

  void release() {
    std::lock_guard lock(mu);
    released = true;
    cv.notify_all();
  }
  // Waits (bounded) until `pred()` holds under the lock.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return pred(); });
  }
};

class FakeMetricExporter final : public MetricExporter {
 public:
  FakeMetricExporter(std::string name, std::shared_ptr<FakeExportState> state)
      : name_(std::move(name)), state_(std::move(state)) {}

  std::string_view name() const noexcept override { return name_; }

  ExportOutcome export_metrics(const MetricsSnapshot& snapshot, ExportDeadline deadline) override {
    FakeExportState& s = *state_;
    std::unique_lock lock(s.mu);
    ++s.calls;
    if (s.closes > 0) ++s.calls_after_close;
    s.timestamps.push_back(snapshot.timestamp);
    s.series.push_back(snapshot.series());
    s.last = snapshot;
    s.last_budget = deadline - ExportClock::now();
    s.in_export = true;
    s.cv.notify_all();
    ExportOutcome out = s.result;
    if (s.hang) {
      s.cv.wait(lock, [&] { return s.released || (s.aborts > 0 && !s.ignore_abort); });
      if (!s.released) {
        out = ExportOutcome{.ok = false, .error = "aborted", .reason = "timeout"};
        s.in_export = false;
        ++s.returned;
        s.cv.notify_all();
        return out;
      }
    }
    s.in_export = false;
    ++s.returned;
    s.cv.notify_all();
    if (s.throws) throw std::runtime_error("boom");
    if (s.encode) {
      std::string text;
      for (const auto& f : snapshot.families) {
        for (const auto& p : f.points) {
          text += f.name;
          for (const auto& v : p.label_values) text += "," + v;
          text += ' ';
          text += std::to_string(p.value + static_cast<double>(p.count));
          text += '\n';
        }
      }
      s.encoded_bytes = text.size();
      out.bytes = text.size();
    }
    if (out.ok && s.result_points_from_snapshot) out.points = snapshot.series();
    return out;
  }

  void abort() noexcept override {
    std::lock_guard lock(state_->mu);
    ++state_->aborts;
    state_->cv.notify_all();
  }

  void close() noexcept override {
    std::lock_guard lock(state_->mu);
    ++state_->closes;
    state_->cv.notify_all();
  }

 private:
  std::string name_;
  std::shared_ptr<FakeExportState> state_;
};

inline std::unique_ptr<MetricExporter> fake(std::string name,
                                            std::shared_ptr<FakeExportState> state) {
  return std::make_unique<FakeMetricExporter>(std::move(name), std::move(state));
}

}  // namespace vigil::exporters::testing
