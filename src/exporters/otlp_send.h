// src/exporters/otlp_send.h (private): what the OTLP exporters of every signal share around one
// HTTP export call: the reasons a batch is dropped (label values of their self-metrics), the
// message and result code of a failed send, the optional gzip of the body, and the bookkeeping
// of calls in flight that shutdown() aborts and waits for.
//
//   detail::OtlpInFlight::Guard guard = in_flight.enter();   // in export
//   ...
//   in_flight.shutdown(sender, timeout);                     // from any thread
//
// Thread-safe where stated; never throws except std::bad_alloc.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/detail/http_sender.h"
#include "otlp_encoding.h"
#include "vigil/exporters/otlp_trace_exporter.h"
#include "vigil/metrics/counter.h"
#include "vigil/trace/exporter.h"

namespace vigil::metrics {
class Registry;
}  // namespace vigil::metrics

namespace vigil::exporters::detail {

// Why items (spans, log records) were not delivered: the `reason` label of the exporters'
// *_dropped_total and *_failures_total families.
enum OtlpDropReason : std::size_t {
  kRejected,
  kHttpError,
  kTimeout,
  kConnection,
  kShutdown,
  kEncoding,
  kDropReasons
};
inline constexpr std::string_view kDropReasonNames[kDropReasons] = {
    "rejected", "http_error", "timeout", "connection", "shutdown", "encoding"};

// A send that did not deliver: why, whether a later attempt may help, and what to say.
struct OtlpFailure {
  OtlpDropReason reason;
  trace::ExportResult::Code code;
  std::string message;
};

// The failure `report` (not kDelivered) describes, messages prefixed with `where`; `budget` is
// the call's time budget (for timeouts).
OtlpFailure describe_send_failure(const vigil::detail::SendReport& report, std::string_view where,
                                  std::chrono::milliseconds budget);

// What a 2xx answer said: whether it carried an OTLP partial success, how many of the `n` items
// it rejected (clamped to [0, n]) and the message ("<where>partial success: 2 of 5 <noun>
// rejected: <collector's message>").
struct OtlpAccepted {
  bool partial = false;
  uint64_t rejected = 0;
  std::string message;
};
OtlpAccepted read_accepted(const vigil::detail::HttpResult& answer, uint64_t n, OtlpSignal signal,
                           std::string_view where, std::string_view noun);

// `body`, or its gzip in `storage` when `compression` asks for it; nullopt when gzip fails.
std::optional<std::string_view> otlp_payload(const std::string& body, OtlpCompression compression,
                                             std::optional<std::string>& storage);

// The self-metric families of one OTLP exporter (names and help texts).
struct OtlpBookNames {
  std::string_view exported, exported_help;  // counter: items the collector accepted
  std::string_view dropped, dropped_help;    // counter{reason}: items not delivered
  std::string_view failures, failures_help;  // counter{reason}: calls that delivered nothing
};

// What one exporter has done (the figures every signal's stats struct holds).
struct OtlpCounts {
  uint64_t export_calls = 0;
  uint64_t exported = 0;
  uint64_t dropped = 0;
  uint64_t rejected = 0;
  uint64_t failed_exports = 0;
  uint64_t partial_successes = 0;
  uint64_t retries = 0;
  uint64_t sent_bytes = 0;
  std::string last_error;
};

// The counting of one OTLP exporter: its self-metrics (none when the registry is null), its
// counts, and the rule "warn once per run of failures or partial successes, until a clean
// success". Thread-safe.
class OtlpBook {
 public:
  OtlpBook(metrics::Registry* registry, const OtlpBookNames& names);
  void call();
  void sent(int attempts, std::size_t payload_bytes);
  // A call of `n` items that delivered nothing; true when this failure should be warned about.
  bool failed(OtlpDropReason reason, uint64_t n, const std::string& message);
  // A delivered call; true when its partial success should be warned about.
  bool delivered(uint64_t n, const OtlpAccepted& accepted);
  OtlpCounts counts() const;

  // Counts a failed call of `n` `noun` (failed()), warns once per run of failures (not for
  // shutdown), and returns the result with `code` and `message`.
  trace::ExportResult fail(OtlpDropReason reason, uint64_t n, trace::ExportResult::Code code,
                           std::string message, std::string_view noun);

 private:
  metrics::Counter exported_;
  metrics::Counter dropped_[kDropReasons];
  metrics::Counter failures_[kDropReasons];
  mutable std::mutex mu_;
  OtlpCounts counts_;
  bool warned_since_success_ = false;
};

// One encoded request of `n` items: gzipped when asked, POSTed with retries until `deadline`,
// counted in `book`, the answer turned into the export result (partial success included).
// `report` (optional) receives the send report, for callers that measure more.
struct OtlpPost {
  vigil::detail::HttpSender& sender;
  OtlpBook& book;
  const RetryOptions& retry;
  std::mt19937_64& rng;
  OtlpCompression compression;
  OtlpSignal signal;
  std::string_view noun;   // "spans", "log records"
  std::string_view where;  // message prefix, "OTLP export to <url>: "
};
trace::ExportResult otlp_post(const OtlpPost& post, const std::string& body, uint64_t n,
                              std::chrono::steady_clock::time_point start,
                              std::chrono::steady_clock::time_point deadline,
                              vigil::detail::SendReport* report = nullptr);

// Export calls in flight, and the shutdown that refuses new ones. Thread-safe.
class OtlpInFlight {
 public:
  class Guard {
   public:
    explicit Guard(OtlpInFlight& owner) : owner_(owner) {}
    ~Guard() { owner_.leave(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    OtlpInFlight& owner_;
  };

  bool shut_down() const noexcept { return shut_down_.load(std::memory_order_acquire); }
  // Counts a call in until the guard is destroyed.
  [[nodiscard]] Guard enter();
  // Refuses later calls (shut_down() turns true), aborts `sender`'s request in flight and waits
  // up to `timeout` for the calls in flight to return; false when one still runs.
  bool shutdown(vigil::detail::HttpSender& sender, std::chrono::milliseconds timeout);

 private:
  void leave();
  std::atomic<bool> shut_down_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  int running_ = 0;
};

}  // namespace vigil::exporters::detail
