// Correlation ids in baggage and on spans.
#include "vigil/trace/correlation.h"

#include <utility>

#include "core/detail/hex.h"
#include "internal.h"

namespace vigil::trace {
namespace {

std::string value_of(const Baggage& baggage, std::string_view key) {
  std::optional<std::string_view> v = baggage.get(key);
  return v ? std::string(*v) : std::string();
}

Baggage correlated_current(const Correlation& ids) {
  return with_correlation(current_baggage(), ids);
}

}  // namespace

Correlation Correlation::from_baggage(const Baggage& baggage) {
  Correlation c;
  c.request_id = value_of(baggage, kRequestIdKey);
  c.user_id = value_of(baggage, kUserIdKey);
  c.session_id = value_of(baggage, kSessionIdKey);
  return c;
}

Correlation Correlation::current() { return from_baggage(current_baggage()); }

std::string new_request_id() {
  const uint64_t hi = (detail::random_u64() & 0xffffffffffff0fffull) | 0x0000000000004000ull;
  const uint64_t lo = (detail::random_u64() & 0x3fffffffffffffffull) | 0x8000000000000000ull;
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    const uint64_t word = i < 16 ? hi : lo;
    const int shift = 60 - 4 * (i % 16);
    out.push_back(vigil::detail::kHexLower[(word >> shift) & 0xf]);
  }
  return out;
}

Baggage with_correlation(Baggage baggage, const Correlation& ids) {
  if (!ids.request_id.empty()) baggage.set(kRequestIdKey, ids.request_id);
  if (!ids.user_id.empty()) baggage.set(kUserIdKey, ids.user_id);
  if (!ids.session_id.empty()) baggage.set(kSessionIdKey, ids.session_id);
  return baggage;
}

void annotate(Span& span, const Correlation& ids) noexcept {
  if (!span.recording()) return;
  if (!ids.request_id.empty()) span.set_attribute(kRequestIdKey, ids.request_id);
  if (!ids.user_id.empty()) span.set_attribute(kUserIdKey, ids.user_id);
  if (!ids.session_id.empty()) span.set_attribute(kSessionIdKey, ids.session_id);
}

void annotate_with_correlation(Span& span) noexcept {
  if (!span.recording()) return;
  const Baggage& b = current_baggage();
  for (std::string_view key : {kRequestIdKey, kUserIdKey, kSessionIdKey}) {
    if (std::optional<std::string_view> v = b.get(key)) span.set_attribute(key, *v);
  }
}

CorrelationScope::CorrelationScope(const Correlation& ids, Span* span)
    : scope_(correlated_current(ids)) {
  if (span != nullptr) annotate(*span, ids);
}

CorrelationSpanProcessor::CorrelationSpanProcessor()
    : keys_{std::string(kRequestIdKey), std::string(kUserIdKey), std::string(kSessionIdKey)} {}

CorrelationSpanProcessor::CorrelationSpanProcessor(std::vector<std::string> keys)
    : keys_(std::move(keys)) {}

void CorrelationSpanProcessor::on_start(const SpanData& span) noexcept {
  const Baggage& b = current_baggage();
  if (b.empty()) return;
  // on_start runs on the starting thread before start_span returns the span, so nothing else
  // can see the record yet: adding attributes here is race-free. The SpanData is not a const
  // object (the recording side owns it); the API hands it out as const so that processors that
  // only observe cannot change it by mistake.
  SpanData& data = const_cast<SpanData&>(span);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  try {
    for (const std::string& key : keys_) {
      std::optional<std::string_view> v = b.get(key);
      if (!v) continue;
      AttributeValue* slot = data.attributes.slot(key, SpanLimits().attribute_count);
      if (slot == nullptr) {
        ++data.dropped_attributes_count;
        continue;
      }
      assign(*slot, *v);
    }
  } catch (...) {
    // std::bad_alloc while growing a buffer: the span goes without the attribute.
  }
}

}  // namespace vigil::trace
