// Ids, trace state, attribute values and SpanData housekeeping.
#include "vigil/trace/span_data.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "core/detail/hex.h"
#include "core/detail/json_escape.h"
#include "core/detail/text.h"
#include "vigil/core/error.h"

namespace vigil::trace {
namespace {

bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

using vigil::detail::for_each_list_member;

void append_double(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec == std::errc()) out.append(buf, end);
}

}  // namespace

using vigil::detail::append_json_string;

// ---- ids ----

std::optional<TraceId> TraceId::from_hex(std::string_view hex) noexcept {
  std::array<uint8_t, kSize> bytes{};
  if (hex.size() != kHexSize ||
      !vigil::detail::parse_hex_lower_x4(hex.data(), bytes.data(), bytes.size())) {
    return std::nullopt;
  }
  return TraceId(bytes);
}
void TraceId::write_hex(char* out) const noexcept {
  vigil::detail::write_hex_lower_x4(bytes_.data(), bytes_.size(), out);
}
std::string TraceId::to_hex() const {
  std::string s(kHexSize, '0');
  write_hex(s.data());
  return s;
}

std::optional<SpanId> SpanId::from_hex(std::string_view hex) noexcept {
  std::array<uint8_t, kSize> bytes{};
  if (hex.size() != kHexSize ||
      !vigil::detail::parse_hex_lower_x4(hex.data(), bytes.data(), bytes.size())) {
    return std::nullopt;
  }
  return SpanId(bytes);
}
void SpanId::write_hex(char* out) const noexcept {
  vigil::detail::write_hex_lower_x4(bytes_.data(), bytes_.size(), out);
}
std::string SpanId::to_hex() const {
  std::string s(kHexSize, '0');
  write_hex(s.data());
  return s;
}

// ---- trace state ----

bool TraceState::valid_key(std::string_view key) noexcept {
  // key              = simple-key / multi-tenant-key
  // simple-key       = ( lcalpha / DIGIT ) 0*255 keychar
  // multi-tenant-key = tenant-id "@" system-id
  // tenant-id        = ( lcalpha / DIGIT ) 0*240 keychar
  // system-id        = lcalpha 0*13 keychar
  // keychar          = lcalpha / DIGIT / "_" / "-" / "*" / "/"
  // Level 2 lets a key start with a digit; the multi-tenant limits are those of level 1, which
  // the W3C test suite still checks at its strict level (docs/design.md).
  if (key.empty() || key.size() > 256) return false;
  const auto rest_ok = [](std::string_view s) {
    for (char c : s) {
      if (!is_lcalpha(c) && !is_digit(c) && c != '_' && c != '-' && c != '*' && c != '/') {
        return false;
      }
    }
    return true;
  };
  const std::size_t at = key.find('@');
  const std::string_view tenant = key.substr(0, at);
  if (tenant.empty() || (!is_lcalpha(tenant[0]) && !is_digit(tenant[0])) ||
      !rest_ok(tenant.substr(1))) {
    return false;
  }
  if (at == std::string_view::npos) return true;
  const std::string_view system = key.substr(at + 1);
  return tenant.size() <= 241 && !system.empty() && system.size() <= 14 && is_lcalpha(system[0]) &&
         rest_ok(system.substr(1));  // a second '@' fails here
}

bool TraceState::valid_value(std::string_view value) noexcept {
  // value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr
  if (value.empty() || value.size() > 256) return false;
  if (value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

std::optional<TraceState> TraceState::parse(std::string_view header) {
  // The members kept, for the duplicate check and the result (at most 32: a linear scan).
  std::array<std::string_view, kMaxMembers> kept{};
  std::size_t n_kept = 0;
  std::size_t count = 0;  // list members, duplicates included
  const bool ok = for_each_list_member(header, ',', [&](std::string_view member) {
    const std::size_t eq = member.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view key = member.substr(0, eq);
    if (!valid_key(key) || !valid_value(member.substr(eq + 1))) return false;
    if (++count > kMaxMembers) return false;
    // A key seen before: only one entry per key is allowed, and the left-most one is the most
    // recent position (updated entries move to the left), so a later duplicate is dropped.
    for (std::size_t i = 0; i < n_kept; ++i) {
      if (kept[i].substr(0, kept[i].find('=')) == key) return true;
    }
    kept[n_kept++] = member;
    return true;
  });
  if (!ok) return std::nullopt;
  // Canonical form: members joined by ',' without OWS.
  TraceState ts;
  for (std::size_t i = 0; i < n_kept; ++i) {
    if (i != 0) ts.header_ += ',';
    ts.header_ += kept[i];
  }
  return ts;
}

std::optional<std::string_view> TraceState::get(std::string_view key) const noexcept {
  std::optional<std::string_view> found;
  for_each_list_member(std::string_view(header_), ',', [&](std::string_view member) {
    const std::size_t eq = member.find('=');
    if (member.substr(0, eq) == key) {
      found = member.substr(eq + 1);
      return false;
    }
    return true;
  });
  return found;
}

std::size_t TraceState::size() const noexcept {
  std::size_t n = 0;
  for_each_list_member(std::string_view(header_), ',', [&](std::string_view) {
    ++n;
    return true;
  });
  return n;
}

void TraceState::for_each(const std::function<void(std::string_view, std::string_view)>& fn) const {
  for_each_list_member(std::string_view(header_), ',', [&](std::string_view member) {
    const std::size_t eq = member.find('=');
    fn(member.substr(0, eq), member.substr(eq + 1));
    return true;
  });
}

TraceState TraceState::without(std::string_view key) const {
  TraceState out;
  for_each_list_member(std::string_view(header_), ',', [&](std::string_view member) {
    if (member.substr(0, member.find('=')) != key) {
      if (!out.header_.empty()) out.header_ += ',';
      out.header_ += member;
    }
    return true;
  });
  return out;
}

TraceState TraceState::with(std::string_view key, std::string_view value) const {
  if (!valid_key(key)) {
    throw Error("tracestate: invalid key '" + std::string(key) +
                "' (lowercase letter or digit first, then a-z 0-9 _ - * /, at most 256; or "
                "tenant@system with a tenant of at most 241 and a system of at most 14 "
                "characters, the system starting with a letter)");
  }
  if (!valid_value(value)) {
    throw Error("tracestate: invalid value for key '" + std::string(key) +
                "' (1 to 256 printable ASCII characters except ',' and '=', not ending in a "
                "space)");
  }
  TraceState out;
  out.header_.reserve(header_.size() + key.size() + value.size() + 2);
  out.header_.append(key).append(1, '=').append(value);
  std::size_t count = 1;
  for_each_list_member(std::string_view(header_), ',', [&](std::string_view member) {
    if (member.substr(0, member.find('=')) == key) return true;
    if (count == kMaxMembers) return false;  // the right-most members fall off
    out.header_ += ',';
    out.header_ += member;
    ++count;
    return true;
  });
  return out;
}

std::string TraceState::header_truncated(std::size_t max_size) const {
  if (header_.size() <= max_size) return header_;
  std::vector<std::string_view> members;
  for_each_list_member(std::string_view(header_), ',', [&](std::string_view m) {
    members.push_back(m);
    return true;
  });
  auto total = [&] {
    std::size_t n = 0;
    for (auto m : members) n += m.size();
    return members.empty() ? 0 : n + members.size() - 1;
  };
  // First entries longer than 128 characters, from the right; then from the right.
  for (std::size_t i = members.size(); i-- > 0 && total() > max_size;) {
    if (members[i].size() > 128) members.erase(members.begin() + static_cast<std::ptrdiff_t>(i));
  }
  while (!members.empty() && total() > max_size) members.pop_back();
  std::string out;
  for (auto m : members) {
    if (!out.empty()) out += ',';
    out += m;
  }
  return out;
}

// ---- enums ----

std::string_view to_string(SpanKind kind) noexcept {
  switch (kind) {
    case SpanKind::kInternal:
      return "internal";
    case SpanKind::kServer:
      return "server";
    case SpanKind::kClient:
      return "client";
    case SpanKind::kProducer:
      return "producer";
    case SpanKind::kConsumer:
      return "consumer";
  }
  return "internal";
}

std::string_view to_string(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kUnset:
      return "unset";
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kError:
      return "error";
  }
  return "unset";
}

// ---- attribute values ----

std::string to_string(const AttributeValue& value) {
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const {
      std::string out;
      append_double(out, v);
      return out;
    }
    std::string operator()(const std::vector<std::string>& v) const {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, v[i]);
      }
      return out + "]";
    }
    std::string operator()(const std::vector<bool>& v) const {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += v[i] ? "true" : "false";
      }
      return out + "]";
    }
    std::string operator()(const std::vector<int64_t>& v) const {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += std::to_string(v[i]);
      }
      return out + "]";
    }
    std::string operator()(const std::vector<double>& v) const {
      std::string out = "[";
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        append_double(out, v[i]);
      }
      return out + "]";
    }
  };
  return std::visit(Visitor{}, value);
}

void assign(AttributeValue& out, std::string_view v) {
  if (auto* s = std::get_if<std::string>(&out)) {
    detail::assign_string(*s, v);
  } else {
    out.emplace<std::string>(v);
  }
}

void assign(AttributeValue& out, const AttributeValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    assign(out, std::string_view(*s));
  } else {
    out = v;
  }
}

// ---- SpanData ----

void SpanData::clear() noexcept {
  name.clear();
  context.trace_id = TraceId();
  context.span_id = SpanId();
  context.flags = TraceFlags();
  context.trace_state.clear();
  context.remote = false;
  parent_span_id = SpanId();
  parent_remote = false;
  kind = SpanKind::kInternal;
  start_unix_nanos = 0;
  end_unix_nanos = 0;
  status.code = StatusCode::kUnset;
  status.message.clear();
  attributes.clear();
  events.clear();
  links.clear();
  dropped_attributes_count = 0;
  dropped_events_count = 0;
  dropped_links_count = 0;
  scope = nullptr;
  resource = nullptr;
}

namespace {
void copy_attributes(const AttributeList& from, AttributeList& to) {
  for (const KeyValue& kv : from) to.push_back(kv);
}
}  // namespace

SpanData SpanData::clone() const {
  SpanData out;
  out.name = name;
  out.context = context;
  out.parent_span_id = parent_span_id;
  out.parent_remote = parent_remote;
  out.kind = kind;
  out.start_unix_nanos = start_unix_nanos;
  out.end_unix_nanos = end_unix_nanos;
  out.status = status;
  copy_attributes(attributes, out.attributes);
  for (const Event& e : events) {
    Event& c = out.events.next_slot();
    c.name = e.name;
    c.time_unix_nanos = e.time_unix_nanos;
    copy_attributes(e.attributes, c.attributes);
    c.dropped_attributes_count = e.dropped_attributes_count;
  }
  for (const Link& l : links) {
    Link& c = out.links.next_slot();
    c.context = l.context;
    copy_attributes(l.attributes, c.attributes);
    c.dropped_attributes_count = l.dropped_attributes_count;
  }
  out.dropped_attributes_count = dropped_attributes_count;
  out.dropped_events_count = dropped_events_count;
  out.dropped_links_count = dropped_links_count;
  out.scope = scope;
  out.resource = resource;
  return out;
}

}  // namespace vigil::trace
