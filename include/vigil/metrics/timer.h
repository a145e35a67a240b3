// vigil/metrics/timer.h: measure elapsed seconds into a histogram or summary.
//
//   {
//     vigil::metrics::ScopedTimer t(request_latency);  // a Histogram or Summary handle
//     handle_request();
//   }  // observes the elapsed seconds here, also when an exception leaves the scope
//
//   auto result = vigil::metrics::time(llm_latency, [&] { return call_llm(prompt); });
//
// Uses the steady clock (~20 ns per read). Not thread-safe itself; the instrument is.
#pragma once

#include <chrono>
#include <concepts>
#include <type_traits>
#include <utility>

namespace vigil::metrics {

template <class T>
concept Observer = requires(T& t, double v) {
  t.observe(v);
};

template <Observer Instrument>
class ScopedTimer {
 public:
  explicit ScopedTimer(Instrument instrument) noexcept
      : instrument_(std::move(instrument)), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { stop(); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

  // Seconds since the timer started.
  double elapsed() const noexcept {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  // Observes now instead of at the end of the scope; later calls do nothing.
  void stop() noexcept {
    if (!stopped_) {
      stopped_ = true;
      instrument_.observe(elapsed());
    }
  }
  // Drops the measurement: nothing is observed.
  void cancel() noexcept { stopped_ = true; }

 private:
  Instrument instrument_;
  std::chrono::steady_clock::time_point start_;
  bool stopped_ = false;
};

// Runs `fn`, observes its duration in seconds (also when it throws) and returns its result.
template <Observer Instrument, class Fn>
decltype(auto) time(Instrument instrument, Fn&& fn) {
  ScopedTimer<Instrument> timer(std::move(instrument));
  return std::forward<Fn>(fn)();
}

}  // namespace vigil::metrics
