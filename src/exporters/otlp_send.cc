#include "otlp_send.h"

#include <algorithm>
#include <utility>

#include "core/detail/gzip.h"
#include "otlp_encoding.h"
#include "vigil/metrics/registry.h"
#include "vigil/trace/environment.h"

namespace vigil::exporters::detail {

OtlpFailure describe_send_failure(const vigil::detail::SendReport& report, std::string_view where,
                                  std::chrono::milliseconds budget) {
  using Code = trace::ExportResult::Code;
  const vigil::detail::HttpResult& last = report.last;
  const std::string attempts =
      " after " + std::to_string(report.attempts) + " attempt" + (report.attempts == 1 ? "" : "s");
  const std::string w(where);
  switch (report.outcome) {
    case vigil::detail::SendOutcome::kHttpError: {
      std::string m = w + "HTTP " + std::to_string(last.status);
      const std::string described = describe_error_body(last.body, last.content_type);
      if (!described.empty()) m += " (" + described + ")";
      m += attempts;
      if (!report.detail.empty()) m += "; " + report.detail;
      return {kHttpError,
              vigil::detail::retryable_status(last.status) ? Code::kRetryable : Code::kFailure,
              std::move(m)};
    }
    case vigil::detail::SendOutcome::kTimeout:
      return {kTimeout, Code::kRetryable,
              w + "deadline of " + std::to_string(budget.count()) + " ms exceeded" + attempts +
                  " (" + last.error + ")"};
    case vigil::detail::SendOutcome::kConnection:
      return {kConnection, Code::kRetryable,
              w + last.error + attempts + (report.detail.empty() ? "" : "; " + report.detail)};
    case vigil::detail::SendOutcome::kAborted:
      return {kShutdown, Code::kFailure, w + "aborted by shutdown"};
    case vigil::detail::SendOutcome::kDelivered:
      break;
  }
  return {kHttpError, Code::kFailure, w + "unexpected outcome"};
}

OtlpAccepted read_accepted(const vigil::detail::HttpResult& answer, uint64_t n, OtlpSignal signal,
                           std::string_view where, std::string_view noun) {
  OtlpAccepted out;
  const auto partial = parse_export_response(answer.body, answer.content_type, signal);
  if (!partial) return out;
  out.partial = true;
  out.rejected = static_cast<uint64_t>(
      std::clamp<int64_t>(partial->rejected_spans, 0, static_cast<int64_t>(n)));
  out.message = std::string(where) + "partial success: " + std::to_string(out.rejected) + " of " +
                std::to_string(n) + " " + std::string(noun) + " rejected" +
                (partial->error_message.empty() ? "" : ": " + partial->error_message);
  return out;
}

std::optional<std::string_view> otlp_payload(const std::string& body, OtlpCompression compression,
                                             std::optional<std::string>& storage) {
  if (compression != OtlpCompression::kGzip) return std::string_view(body);
  storage = vigil::detail::gzip_compress(body);
  if (!storage) return std::nullopt;
  return std::string_view(*storage);
}

OtlpBook::OtlpBook(metrics::Registry* registry, const OtlpBookNames& names) {
  if (registry == nullptr) return;  // the handles stay unbound: count nowhere
  exported_ =
      registry->counter(std::string(names.exported), std::string(names.exported_help)).get();
  auto& dropped =
      registry->counter(std::string(names.dropped), std::string(names.dropped_help), {"reason"});
  auto& failures =
      registry->counter(std::string(names.failures), std::string(names.failures_help), {"reason"});
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    dropped_[i] = dropped.labels({kDropReasonNames[i]});
    if (i != kRejected) failures_[i] = failures.labels({kDropReasonNames[i]});
  }
}

void OtlpBook::call() {
  std::lock_guard lock(mu_);
  ++counts_.export_calls;
}

void OtlpBook::sent(int attempts, std::size_t payload_bytes) {
  std::lock_guard lock(mu_);
  counts_.retries += static_cast<uint64_t>(std::max(0, attempts - 1));
  counts_.sent_bytes += payload_bytes * static_cast<uint64_t>(std::max(0, attempts));
}

bool OtlpBook::failed(OtlpDropReason reason, uint64_t n, const std::string& message) {
  dropped_[reason].inc(static_cast<double>(n));
  failures_[reason].inc();
  std::lock_guard lock(mu_);
  counts_.dropped += n;
  ++counts_.failed_exports;
  counts_.last_error = message;
  const bool warn = !warned_since_success_;
  warned_since_success_ = true;
  return warn;
}

bool OtlpBook::delivered(uint64_t n, const OtlpAccepted& accepted) {
  exported_.inc(static_cast<double>(n - accepted.rejected));
  if (accepted.rejected > 0) dropped_[kRejected].inc(static_cast<double>(accepted.rejected));
  std::lock_guard lock(mu_);
  counts_.exported += n - accepted.rejected;
  bool warn = false;
  if (accepted.partial) {
    ++counts_.partial_successes;
    counts_.rejected += accepted.rejected;
    counts_.dropped += accepted.rejected;
    counts_.last_error = accepted.message;
    warn = !warned_since_success_;
  }
  warned_since_success_ = accepted.partial;
  return warn;
}

OtlpCounts OtlpBook::counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

trace::ExportResult OtlpBook::fail(OtlpDropReason reason, uint64_t n,
                                   trace::ExportResult::Code code, std::string message,
                                   std::string_view noun) {
  // One warning per run of failures: the counters tell the rest.
  if (failed(reason, n, message) && reason != kShutdown) {
    trace::warn(message + " (" + std::to_string(n) + " " + std::string(noun) +
                " dropped; further failures are only counted until an export succeeds)");
  }
  return {code, std::move(message), 0};
}

trace::ExportResult otlp_post(const OtlpPost& post, const std::string& body, uint64_t n,
                              std::chrono::steady_clock::time_point start,
                              std::chrono::steady_clock::time_point deadline,
                              vigil::detail::SendReport* report_out) {
  using Code = trace::ExportResult::Code;
  const std::string where(post.where);
  std::optional<std::string> compressed;
  const std::optional<std::string_view> payload = otlp_payload(body, post.compression, compressed);
  if (!payload)
    return post.book.fail(kEncoding, n, Code::kFailure, where + "gzip failed", post.noun);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const vigil::detail::SendReport report = vigil::detail::send_with_retry(
      post.sender, *payload, deadline, post.retry, [&] { return unit(post.rng); });
  post.book.sent(report.attempts, payload->size());
  if (report_out != nullptr) *report_out = report;
  if (report.outcome != vigil::detail::SendOutcome::kDelivered) {
    OtlpFailure f = describe_send_failure(
        report, where, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - start));
    return post.book.fail(f.reason, n, f.code, std::move(f.message), post.noun);
  }
  OtlpAccepted accepted = read_accepted(report.last, n, post.signal, where, post.noun);
  if (post.book.delivered(n, accepted)) trace::warn(accepted.message);
  if (accepted.partial)
    return trace::ExportResult::partial(accepted.rejected, std::move(accepted.message));
  return trace::ExportResult::success();
}

OtlpInFlight::Guard OtlpInFlight::enter() {
  {
    std::lock_guard lock(mu_);
    ++running_;
  }
  return Guard(*this);
}

void OtlpInFlight::leave() {
  {
    std::lock_guard lock(mu_);
    --running_;
  }
  cv_.notify_all();
}

bool OtlpInFlight::shutdown(vigil::detail::HttpSender& sender, std::chrono::milliseconds timeout) {
  shut_down_.store(true, std::memory_order_release);
  sender.abort();
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return running_ == 0; });
}

}  // namespace vigil::exporters::detail
