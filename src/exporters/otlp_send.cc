#include "otlp_send.h"

#include <algorithm>
#include <utility>

#include "core/detail/gzip.h"
#include "otlp_encoding.h"

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
