// Propagators: W3C Trace Context, W3C Baggage, B3 single and multi, composite.
#include "vigil/trace/propagation.h"

#include <atomic>

#include "core/detail/hex.h"
#include "core/detail/text.h"
#include "vigil/core/error.h"

namespace vigil::trace {
namespace {

using vigil::detail::iequals;
using vigil::detail::trim;

bool lower_hex(std::string_view s) noexcept {
  for (char c : s) {
    if (vigil::detail::hex_value(c, vigil::detail::HexCase::kLower) < 0) return false;
  }
  return true;
}

int hex_byte(std::string_view two) noexcept {
  if (two.size() != 2) return -1;
  return vigil::detail::hex_byte(two[0], two[1], vigil::detail::HexCase::kLower);
}

class TraceContextPropagator final : public Propagator {
 public:
  void inject(const Context& ctx, CarrierWriter& carrier) const override {
    if (!ctx.span.valid()) return;
    carrier.set("traceparent", format_traceparent(ctx.span));
    if (!ctx.span.trace_state.empty()) {
      const std::string ts = ctx.span.trace_state.header_truncated(TraceState::kMaxHeaderSize);
      if (!ts.empty()) carrier.set("tracestate", ts);
    }
  }
  void extract(const CarrierReader& carrier, Context& ctx) const override {
    std::optional<std::string_view> traceparent;
    int count = 0;
    carrier.get_all("traceparent", [&](std::string_view v) {
      if (count++ == 0) traceparent = v;
    });
    if (count != 1) {  // absent, or several: invalid
      if (count > 1) ctx.span = SpanContext();
      return;
    }
    std::optional<SpanContext> parsed = parse_traceparent(*traceparent);
    if (!parsed) {
      ctx.span = SpanContext();  // a new trace; tracestate ignored
      return;
    }
    std::string joined;
    bool any = false;
    carrier.get_all("tracestate", [&](std::string_view v) {
      if (any) joined += ',';
      joined += v;
      any = true;
    });
    if (any) {
      if (auto ts = TraceState::parse(joined)) parsed->trace_state = std::move(*ts);
    }
    ctx.span = std::move(*parsed);
  }
  std::vector<std::string> fields() const override { return {"traceparent", "tracestate"}; }
};

class BaggagePropagator final : public Propagator {
 public:
  void inject(const Context& ctx, CarrierWriter& carrier) const override {
    if (ctx.baggage.empty()) return;
    const std::string h = ctx.baggage.header();
    if (!h.empty()) carrier.set("baggage", h);
  }
  void extract(const CarrierReader& carrier, Context& ctx) const override {
    std::string joined;
    bool any = false;
    carrier.get_all("baggage", [&](std::string_view v) {
      if (any) joined += ',';
      joined += v;
      any = true;
    });
    if (any) ctx.baggage = Baggage::parse(joined);
  }
  std::vector<std::string> fields() const override { return {"baggage"}; }
};

std::optional<TraceId> b3_trace_id(std::string_view s) noexcept {
  if (s.size() == 16) {
    if (!lower_hex(s)) return std::nullopt;
    std::string padded(16, '0');
    padded.append(s);
    return TraceId::from_hex(padded);
  }
  return TraceId::from_hex(s);
}

class B3Propagator final : public Propagator {
 public:
  explicit B3Propagator(bool multi) : multi_(multi) {}
  void inject(const Context& ctx, CarrierWriter& carrier) const override {
    if (!ctx.span.valid()) return;
    const std::string tid = ctx.span.trace_id.to_hex();
    const std::string sid = ctx.span.span_id.to_hex();
    if (multi_) {
      carrier.set("X-B3-TraceId", tid);
      carrier.set("X-B3-SpanId", sid);
      carrier.set("X-B3-Sampled", ctx.span.sampled() ? "1" : "0");
    } else {
      carrier.set("b3", tid + "-" + sid + (ctx.span.sampled() ? "-1" : "-0"));
    }
  }
  void extract(const CarrierReader& carrier, Context& ctx) const override {
    if (multi_) {
      const auto tid = carrier.get("X-B3-TraceId");
      const auto sid = carrier.get("X-B3-SpanId");
      if (!tid || !sid) return;
      const auto trace_id = b3_trace_id(trim(*tid));
      const auto span_id = SpanId::from_hex(trim(*sid));
      if (!trace_id || !span_id || !trace_id->valid() || !span_id->valid()) return;
      SpanContext c;
      c.trace_id = *trace_id;
      c.span_id = *span_id;
      c.remote = true;
      const auto sampled = carrier.get("X-B3-Sampled");
      const auto flags = carrier.get("X-B3-Flags");
      if ((sampled && (trim(*sampled) == "1" || iequals(trim(*sampled), "true"))) ||
          (flags && trim(*flags) == "1")) {
        c.flags.value = TraceFlags::kSampled;
      }
      ctx.span = std::move(c);
    } else {
      const auto v = carrier.get("b3");
      if (!v) return;
      if (auto c = parse_b3(*v)) ctx.span = std::move(*c);
    }
  }
  std::vector<std::string> fields() const override {
    if (multi_) return {"X-B3-TraceId", "X-B3-SpanId", "X-B3-Sampled", "X-B3-Flags"};
    return {"b3"};
  }

 private:
  bool multi_;
};

class CompositePropagator final : public Propagator {
 public:
  explicit CompositePropagator(std::vector<std::unique_ptr<Propagator>> parts)
      : parts_(std::move(parts)) {}
  void inject(const Context& ctx, CarrierWriter& carrier) const override {
    for (const auto& p : parts_) p->inject(ctx, carrier);
  }
  void extract(const CarrierReader& carrier, Context& ctx) const override {
    for (const auto& p : parts_) p->extract(carrier, ctx);
  }
  std::vector<std::string> fields() const override {
    std::vector<std::string> out;
    for (const auto& p : parts_) {
      for (auto& f : p->fields()) out.push_back(std::move(f));
    }
    return out;
  }

 private:
  std::vector<std::unique_ptr<Propagator>> parts_;
};

std::atomic<Propagator*>& default_slot() {
  static std::atomic<Propagator*> slot{propagator_from_names("tracecontext,baggage").release()};
  return slot;
}

}  // namespace

std::optional<std::string_view> CarrierReader::get(std::string_view name) const {
  std::optional<std::string_view> out;
  get_all(name, [&](std::string_view v) {
    if (!out) out = v;
  });
  return out;
}

void HeaderMapCarrier::get_all(std::string_view name,
                               const std::function<void(std::string_view)>& fn) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) fn(v);
  }
}

void HeaderMapCarrier::set(std::string_view name, std::string_view value) {
  for (auto& [k, v] : headers) {
    if (iequals(k, name)) {
      v.assign(value);
      return;
    }
  }
  headers.emplace_back(std::string(name), std::string(value));
}

std::optional<SpanContext> parse_traceparent(std::string_view value) noexcept {
  value = trim(value);
  if (value.size() < 55) return std::nullopt;
  const int version = hex_byte(value.substr(0, 2));
  if (version < 0 || version == 0xff) return std::nullopt;
  if (version == 0 && value.size() != 55) return std::nullopt;
  if (version > 0 && value.size() > 55 && value[55] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  const auto trace_id = TraceId::from_hex(value.substr(3, 32));
  const auto span_id = SpanId::from_hex(value.substr(36, 16));
  const int flags = hex_byte(value.substr(53, 2));
  if (!trace_id || !span_id || flags < 0) return std::nullopt;
  if (!trace_id->valid() || !span_id->valid()) return std::nullopt;
  SpanContext c;
  c.trace_id = *trace_id;
  c.span_id = *span_id;
  c.flags.value = static_cast<uint8_t>(flags & (TraceFlags::kSampled | TraceFlags::kRandom));
  c.remote = true;
  return c;
}

std::string format_traceparent(const SpanContext& ctx) {
  std::string out(55, '-');
  out[0] = '0';
  out[1] = '0';
  ctx.trace_id.write_hex(out.data() + 3);
  ctx.span_id.write_hex(out.data() + 36);
  const uint8_t f = ctx.flags.value & (TraceFlags::kSampled | TraceFlags::kRandom);
  vigil::detail::write_hex(&f, 1, out.data() + 53);
  return out;
}

std::optional<SpanContext> parse_b3(std::string_view value) noexcept {
  value = trim(value);
  const std::size_t d1 = value.find('-');
  if (d1 == std::string_view::npos) return std::nullopt;  // "0", "1", "d": no ids
  const std::size_t d2 = value.find('-', d1 + 1);
  const std::string_view tid = value.substr(0, d1);
  const std::string_view sid =
      value.substr(d1 + 1, d2 == std::string_view::npos ? std::string_view::npos : d2 - d1 - 1);
  const auto trace_id = b3_trace_id(tid);
  const auto span_id = SpanId::from_hex(sid);
  if (!trace_id || !span_id || !trace_id->valid() || !span_id->valid()) return std::nullopt;
  SpanContext c;
  c.trace_id = *trace_id;
  c.span_id = *span_id;
  c.remote = true;
  if (d2 != std::string_view::npos) {
    const std::size_t d3 = value.find('-', d2 + 1);
    const std::string_view sampled =
        value.substr(d2 + 1, d3 == std::string_view::npos ? std::string_view::npos : d3 - d2 - 1);
    if (sampled == "1" || sampled == "d") {
      c.flags.value = TraceFlags::kSampled;
    } else if (sampled != "0") {
      return std::nullopt;
    }
    if (d3 != std::string_view::npos) {
      const auto parent = SpanId::from_hex(value.substr(d3 + 1));
      if (!parent) return std::nullopt;
    }
  }
  return c;
}

std::unique_ptr<Propagator> trace_context_propagator() {
  return std::make_unique<TraceContextPropagator>();
}
std::unique_ptr<Propagator> baggage_propagator() { return std::make_unique<BaggagePropagator>(); }
std::unique_ptr<Propagator> b3_propagator() { return std::make_unique<B3Propagator>(false); }
std::unique_ptr<Propagator> b3_multi_propagator() { return std::make_unique<B3Propagator>(true); }
std::unique_ptr<Propagator> composite_propagator(std::vector<std::unique_ptr<Propagator>> parts) {
  for (const auto& p : parts) {
    if (!p) throw Error("composite_propagator: a propagator is null");
  }
  return std::make_unique<CompositePropagator>(std::move(parts));
}

std::unique_ptr<Propagator> propagator_from_names(std::string_view names,
                                                  std::vector<std::string>* unknown) {
  std::vector<std::unique_ptr<Propagator>> parts;
  std::size_t pos = 0;
  while (pos <= names.size()) {
    std::size_t comma = names.find(',', pos);
    if (comma == std::string_view::npos) comma = names.size();
    const std::string_view n = trim(names.substr(pos, comma - pos));
    pos = comma + 1;
    if (n.empty() || n == "none") continue;
    if (n == "tracecontext") {
      parts.push_back(trace_context_propagator());
    } else if (n == "baggage") {
      parts.push_back(baggage_propagator());
    } else if (n == "b3") {
      parts.push_back(b3_propagator());
    } else if (n == "b3multi") {
      parts.push_back(b3_multi_propagator());
    } else if (unknown != nullptr) {
      unknown->emplace_back(n);
    }
  }
  return std::make_unique<CompositePropagator>(std::move(parts));
}

const Propagator& default_propagator() noexcept {
  return *default_slot().load(std::memory_order_acquire);
}

void set_default_propagator(std::unique_ptr<Propagator> propagator) {
  if (!propagator) throw Error("set_default_propagator: the propagator is null");
  // The previous one is leaked on purpose: other threads may still be using it.
  default_slot().store(propagator.release(), std::memory_order_release);
}

}  // namespace vigil::trace
